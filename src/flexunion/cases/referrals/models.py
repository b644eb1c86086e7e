"""Referral providers and case referrals (migration 0031 has the policies). No relationships:
every read is an explicit query in repository.py."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    Double,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk, uuid_ref


class ReferralProvider(TenantScoped, Base):
    """调解组织 / 法律援助站 / 劳动人事争议仲裁: a provider kept by a region (`tenant_id`), with
    the tenants it serves, its hours (the stations' shape) and, when it takes bookings, the
    length of a slot."""

    __tablename__ = "referral_providers"
    __table_args__ = (
        in_federation("referral_providers"),
        UniqueConstraint("federation_id", "code", name="uq_referral_providers_federation_code"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(Text)
    lon: Mapped[float] = mapped_column(Double)
    lat: Mapped[float] = mapped_column(Double)
    serves: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)))
    opening_hours: Mapped[dict[str, Any]] = mapped_column(JSONB)
    phone: Mapped[str | None] = mapped_column(Text)
    slot_minutes: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()
    updated_at: Mapped[datetime] = timestamp()


class CaseReferral(TenantScoped, Base):
    """A case referred to a provider: a booked slot or a recorded hand-over. `tenant_id` is
    the case's (handling) tenant. A slot is booked once while the booking stands (partial
    UNIQUE on provider and start)."""

    __tablename__ = "case_referrals"
    __table_args__ = (
        in_federation("case_referrals"),
        Index("ix_case_referrals_case", "case_id", "created_at"),
        Index("uq_case_referrals_slot", "provider_id", "slot_start", unique=True,
              postgresql_where=text("status = 'booked'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    case_id: Mapped[uuid.UUID] = uuid_ref("cases")
    provider_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True),
                                                   ForeignKey("referral_providers.id"))
    mode: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    slot_start: Mapped[datetime | None] = timestamp(nullable=True)
    slot_end: Mapped[datetime | None] = timestamp(nullable=True)
    sent_what: Mapped[str | None] = mapped_column(Text)
    sent_to: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = timestamp(nullable=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()
    cancelled_by: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None] = timestamp(nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(Text)


class ReferralReceipt(TenantScoped, Base):
    """机构回执: the provider's receipt of a referral, one step a row (migration 0041):
    received → accepted / declined (`reason`); accepted → closed (`outcome`). `seq` 1, 2, …
    per referral (UNIQUE); a trigger refuses a step out of that table and puts each receipt on
    the case's timeline. Written only by the referral's provider, as itself."""

    __tablename__ = "referral_receipts"
    __table_args__ = (
        in_federation("referral_receipts"),
        UniqueConstraint("referral_id", "seq", name="uq_referral_receipts_referral_seq"),
        Index("ix_referral_receipts_case", "case_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    referral_id: Mapped[uuid.UUID] = uuid_ref("case_referrals")
    case_id: Mapped[uuid.UUID] = uuid_ref("cases")
    provider_id: Mapped[uuid.UUID] = uuid_ref("referral_providers")
    seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = timestamp()
