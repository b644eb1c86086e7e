"""The assistance ledger's tables (migration 0053 has the policies and the step trigger)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk, uuid_ref


class AssistancePolicy(TenantScoped, Base):
    """A federation's rules for the ledger (HQ's row; absent: settings.assistance)."""

    __tablename__ = "assistance_policies"
    __table_args__ = (
        in_federation("assistance_policies"),
        UniqueConstraint("federation_id", name="uq_assistance_policies_federation_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    yearly_cap_fen: Mapped[int] = mapped_column(BigInteger)
    urgent_step_hours: Mapped[int] = mapped_column(Integer)
    ordinary_step_days: Mapped[int] = mapped_column(Integer)
    retention_days: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = timestamp()


class AssistanceCase(TenantScoped, Base):
    """A hardship case (帮扶件) at the tenant handling it; the step is lifecycle.py's."""

    __tablename__ = "assistance_cases"
    __table_args__ = (
        in_federation("assistance_cases"),
        UniqueConstraint("federation_id", "source", "source_ref",
                         name="uq_assistance_cases_source_ref"),
        Index("ix_assistance_cases_tenant_step", "tenant_id", "step", "step_due_at"),
        Index("ix_assistance_cases_worker", "worker_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    member_id: Mapped[uuid.UUID] = uuid_ref("members")
    worker_id: Mapped[uuid.UUID] = uuid_ref()
    kind: Mapped[str] = mapped_column(Text)
    urgent: Mapped[bool] = mapped_column(Boolean)
    step: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)  # app | walk_in | event
    source_ref: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    asked_zh: Mapped[str | None] = mapped_column(Text)
    opened_by: Mapped[str] = mapped_column(Text)
    accepted_by: Mapped[str | None] = mapped_column(Text)
    accepted_at: Mapped[datetime | None] = timestamp(nullable=True)
    verified_by: Mapped[str | None] = mapped_column(Text)
    verified_at: Mapped[datetime | None] = timestamp(nullable=True)
    verify_note: Mapped[str | None] = mapped_column(Text)
    committee_members: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    committee_note: Mapped[str | None] = mapped_column(Text)
    approved_fen: Mapped[int | None] = mapped_column(BigInteger)
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = timestamp(nullable=True)
    granted_fen: Mapped[int] = mapped_column(BigInteger)
    followup_by: Mapped[str | None] = mapped_column(Text)
    followup_at: Mapped[datetime | None] = timestamp(nullable=True)
    followup_note: Mapped[str | None] = mapped_column(Text)
    step_due_at: Mapped[datetime | None] = timestamp(nullable=True)
    closed_at: Mapped[datetime | None] = timestamp(nullable=True)
    details_purged_at: Mapped[datetime | None] = timestamp(nullable=True)
    created_at: Mapped[datetime] = timestamp()
    updated_at: Mapped[datetime] = timestamp()


class AssistanceDetails(TenantScoped, Base):
    """The special-category details of a case, sealed (services.assistance.schemas.Details)."""

    __tablename__ = "assistance_details"
    __table_args__ = (
        in_federation("assistance_details"),
        UniqueConstraint("case_id", name="uq_assistance_details_case_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    case_id: Mapped[uuid.UUID] = uuid_ref("assistance_cases")
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    fields: Mapped[list[str]] = mapped_column(ARRAY(Text))
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()


class BudgetLine(TenantScoped, Base):
    """经费科目: a region's budget line for a year, allocated and used (fen)."""

    __tablename__ = "assistance_budget_lines"
    __table_args__ = (
        in_federation("assistance_budget_lines"),
        UniqueConstraint("tenant_id", "year", "code",
                         name="uq_assistance_budget_lines_tenant_year_code"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    year: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(Text)
    name_zh: Mapped[str] = mapped_column(Text)
    allocated_fen: Mapped[int] = mapped_column(BigInteger)
    used_fen: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()


class Grant(TenantScoped, Base):
    """A grant (发放) of a case from a budget line."""

    __tablename__ = "assistance_grants"
    __table_args__ = (
        in_federation("assistance_grants"),
        Index("ix_assistance_grants_case", "case_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    case_id: Mapped[uuid.UUID] = uuid_ref("assistance_cases")
    member_id: Mapped[uuid.UUID] = uuid_ref("members")
    budget_line_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("assistance_budget_lines.id"))
    year: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)
    granted_by: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime] = timestamp()


class MemberTotal(TenantScoped, Base):
    """A member's granted total in a year, federation-wide (locked by every grant)."""

    __tablename__ = "assistance_member_totals"
    __table_args__ = (
        in_federation("assistance_member_totals"),
        UniqueConstraint("member_id", "year", name="uq_assistance_member_totals_member_year"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    member_id: Mapped[uuid.UUID] = uuid_ref("members")
    year: Mapped[int] = mapped_column(Integer)
    total_fen: Mapped[int] = mapped_column(BigInteger)
