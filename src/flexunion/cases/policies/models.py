"""The policy library and the hotline platforms allowed to push work orders (migration 0015)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk, uuid_ref


class CasePolicy(TenantScoped, Base):
    """政策库: a policy the HQ keeps, cited by a 政策释明 answer."""

    __tablename__ = "case_policies"
    __table_args__ = (
        in_federation("case_policies"),
        UniqueConstraint("federation_id", "code", name="uq_case_policies_federation_code"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(Text)
    title_zh: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()
    updated_at: Mapped[datetime] = timestamp()


class CaseIntakePartner(TenantScoped, Base):
    """A platform partner whose machine clients may push work orders (12351 工单平台)."""

    __tablename__ = "case_intake_partners"
    __table_args__ = (
        in_federation("case_intake_partners"),
        UniqueConstraint("partner_id", "kind", name="uq_case_intake_partners_partner_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_id: Mapped[uuid.UUID] = uuid_ref("platform_partners")
    kind: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()
