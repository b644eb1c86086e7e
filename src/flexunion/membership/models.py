"""Memberships (会籍): one person's membership in one federation, its homes over time,
and the federation-wide numbering."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, created_at, uuid_pk, uuid_ref

EmploymentForm = Literal["dedicated", "crowdsourced", "franchise", "direct", "outsourced"]
MemberStatus = Literal["applicant", "active", "suspended", "parked", "left", "rejected"]

EMPLOYMENT_FORMS = {
    "dedicated": "专送",
    "crowdsourced": "众包",
    "franchise": "加盟",
    "direct": "直营",
    "outsourced": "外包",
}
STATUSES = {
    "applicant": "申请中",
    "active": "正常",
    "suspended": "暂停",
    "parked": "保留会籍",
    "left": "已退会",
    "rejected": "未通过",
}


class Member(Base):
    """One person's membership in one federation. `tenant_id` is the one home
    (a regional union or station); the ID number is kept sealed, hashed and masked."""

    __tablename__ = "members"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "federation_id"],
                             ["tenants.id", "tenants.federation_id"],
                             name="fk_members_home_in_federation"),
        UniqueConstraint("federation_id", "status_idx", name="uq_members_status_idx"),
        UniqueConstraint("federation_id", "member_no", name="uq_members_member_no"),
        Index("uq_members_person", "federation_id", "id_hash", unique=True,
              postgresql_where=text("status <> 'rejected'")),
        Index("uq_members_worker", "federation_id", "worker_id", unique=True,
              postgresql_where=text("status <> 'rejected'")),
        # The member list's keyset order per tenant, and the policy's worker arm (0008).
        # INCLUDE worker_id: every column the policy reads is in the index, so a page is an
        # index-only range per tenant (the planner then never prefers the policy's BitmapOr).
        Index("ix_members_tenant_created", "tenant_id", "created_at", "id",
              postgresql_include=["worker_id"]),
        Index("ix_members_tenant_status_created", "tenant_id", "status", "created_at", "id",
              postgresql_include=["worker_id"]),
        # The console's name search (0012): one ordered range per tenant and masked form.
        Index("ix_members_tenant_name_created", "tenant_id", "name_masked", "created_at", "id",
              postgresql_include=["worker_id"]),
        Index("ix_members_worker", "worker_id"),
        # A partner's rider id → the member (flexunion_partner_rider, 0054).
        Index("ix_members_platforms", "platforms", postgresql_using="gin",
              postgresql_ops={"platforms": "jsonb_path_ops"}),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    federation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    worker_id: Mapped[uuid.UUID] = uuid_ref("worker_accounts")
    name_cipher: Mapped[bytes] = mapped_column(LargeBinary)
    name_masked: Mapped[str] = mapped_column(Text)
    id_hash: Mapped[str] = mapped_column(Text)
    id_cipher: Mapped[bytes] = mapped_column(LargeBinary)
    id_masked: Mapped[str] = mapped_column(Text)
    employment_form: Mapped[EmploymentForm] = mapped_column(Text)  # CHECK constraint
    platforms: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    city: Mapped[str] = mapped_column(Text)
    status: Mapped[MemberStatus] = mapped_column(Text)  # CHECK constraint
    member_no: Mapped[str | None] = mapped_column(Text)
    member_since: Mapped[date | None] = mapped_column(Date)
    # From the resident ID at join (identity.demographics): 女骑手 and 大龄 need no more.
    birth_month: Mapped[date | None] = mapped_column(Date, nullable=True)
    sex: Mapped[str | None] = mapped_column(Text, nullable=True)  # 'F' | 'M'
    status_idx: Mapped[int] = mapped_column(BigInteger)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class MemberHome(Base):
    """Where a member belonged, and since when; exactly one row is open (ended_at NULL)."""

    __tablename__ = "member_homes"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "federation_id"],
                             ["tenants.id", "tenants.federation_id"],
                             name="fk_member_homes_home_in_federation"),
        Index("uq_member_homes_one_open", "member_id", unique=True,
              postgresql_where=text("ended_at IS NULL")),
        Index("ix_member_homes_member", "member_id", "started_at", "id"),  # 0008
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("members.id"))
    federation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    transfer_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("transfers.id", use_alter=True)
    )
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MemberCounter(Base):
    """Federation-wide numbering; written only by SECURITY DEFINER functions."""

    __tablename__ = "member_counters"

    federation_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id"), primary_key=True
    )
    last_member_no: Mapped[int] = mapped_column(BigInteger, default=0)
    last_status_idx: Mapped[int] = mapped_column(BigInteger, default=-1)


class CardVersion(Base):
    """A counter per federation, bumped by the members triggers whenever a card's validity
    may have changed (migration 0009); instances compare it when LISTEN is down. No app
    rows: only SECURITY DEFINER functions read or write it."""

    __tablename__ = "card_versions"

    federation_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id"), primary_key=True
    )
    version: Mapped[int] = mapped_column(BigInteger)
