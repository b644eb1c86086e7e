"""The ledger's tables (migration 0015 has the policies). No relationships are declared:
every read is an explicit query in each sub-package's repository.py."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk, uuid_ref


class Case(TenantScoped, Base):
    """One demand (诉求) in the ledger; `tenant_id` is where the worker works (the handling
    tenant). An anonymous suggestion has no worker, member or contact (CHECK constraint)."""

    __tablename__ = "cases"
    __table_args__ = (
        in_federation("cases"),
        UniqueConstraint("federation_id", "case_no", name="uq_cases_federation_case_no"),
        Index("uq_cases_external_ref", "intake_partner_id", "external_ref", unique=True,
              postgresql_where=text("external_ref IS NOT NULL")),
        Index("uq_cases_pickup_hash", "pickup_hash", unique=True,
              postgresql_where=text("pickup_hash IS NOT NULL")),
        Index("ix_cases_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_cases_worker", "worker_id", "created_at", "id"),
        Index("ix_cases_open_dupes", "worker_id", "category",
              postgresql_where=text("status NOT IN ('answered', 'merged', 'closed')")),
        Index("ix_cases_returned", "tenant_id", "updated_at", "id",
              postgresql_where=text("status = 'returned'")),
        Index("ix_cases_open", "tenant_id", "created_at", "id",
              postgresql_where=text("status NOT IN ('answered', 'merged', 'closed')")),
        # The hotline platform's arm of the clocks' read policy (migration 0022).
        Index("ix_cases_intake_partner", "intake_partner_id",
              postgresql_where=text("intake_partner_id IS NOT NULL")),
        # A member's open cases when their transfer completes (cases/moves/, migration 0029).
        Index("ix_cases_member", "member_id", postgresql_where=text("member_id IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    case_no: Mapped[str] = mapped_column(Text)
    worker_id: Mapped[uuid.UUID | None] = uuid_ref("worker_accounts", nullable=True)
    member_id: Mapped[uuid.UUID | None] = uuid_ref("members", nullable=True)
    is_member: Mapped[bool] = mapped_column(Boolean)
    contact: Mapped[dict[str, Any]] = mapped_column(JSONB)
    partner_id: Mapped[uuid.UUID | None] = uuid_ref("platform_partners", nullable=True)
    category: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    employment_form: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text))
    tier: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text)
    place: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text)
    route: Mapped[str | None] = mapped_column(Text)
    route_details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    agenda_item_id: Mapped[uuid.UUID | None] = uuid_ref("agenda_items", nullable=True)
    answer: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("cases.id"), nullable=True)
    intake_partner_id: Mapped[uuid.UUID | None] = uuid_ref("platform_partners", nullable=True)
    external_ref: Mapped[str | None] = mapped_column(Text)
    intake_digest: Mapped[str | None] = mapped_column(Text)
    pickup_hash: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()
    updated_at: Mapped[datetime] = timestamp()
    answered_at: Mapped[datetime | None] = timestamp(nullable=True)
    closed_at: Mapped[datetime | None] = timestamp(nullable=True)
    reopen_until: Mapped[datetime | None] = timestamp(nullable=True)
    closings: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    reopens: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_due_at: Mapped[datetime | None] = timestamp(nullable=True)
    next_unit_id: Mapped[uuid.UUID | None] = uuid_ref("tenants", nullable=True)
    satisfaction: Mapped[str | None] = mapped_column(Text)
    source_case_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("cases.id"), nullable=True)


class CaseEvent(TenantScoped, Base):
    """One handling step, append-only (the app role may not UPDATE or DELETE): the SLA
    clocks are derived from these rows."""

    __tablename__ = "case_events"
    __table_args__ = (
        in_federation("case_events"),
        # In the order they happened: `at`, then `seq` for steps of one instant (migration 0023).
        Index("ix_case_events_case", "case_id", "at", "seq"),
        # 督办: escalations newest first (migration 0020).
        Index("ix_case_events_escalations", "at", "id",
              postgresql_where=text("kind = 'escalation'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    # The order of writing: two steps in one request share their `at` (one clock reading).
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True))
    case_id: Mapped[uuid.UUID] = uuid_ref("cases")
    kind: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = timestamp()
    actor: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)


class CaseAssignment(TenantScoped, Base):
    """会办单: a lead unit (a tenant) or an assisting unit (a tenant or a platform), its
    order of handling, feedback deadline and the evidence it must provide."""

    __tablename__ = "case_assignments"
    __table_args__ = (
        in_federation("case_assignments"),
        Index("ix_case_assignments_case", "case_id", "seq"),
        Index("uq_case_assignments_one_lead", "case_id", unique=True,
              postgresql_where=text("role = 'lead' AND ended_at IS NULL")),
        Index("ix_case_assignments_open_tenant", "unit_tenant_id",
              postgresql_where=text("ended_at IS NULL")),
        Index("ix_case_assignments_open_partner", "unit_partner_id",
              postgresql_where=text("ended_at IS NULL")),
        # flexunion_case_units(): open assignments to a unit other than the case's own tenant
        # (migration 0034).
        Index("ix_case_assignments_open_cross", "unit_tenant_id",
              postgresql_include=["case_tenant_id", "case_id"],
              postgresql_where=text("ended_at IS NULL AND unit_tenant_id <> case_tenant_id")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    case_id: Mapped[uuid.UUID] = uuid_ref("cases")
    # The case's own tenant, kept by a trigger when the case moves (migration 0034).
    case_tenant_id: Mapped[uuid.UUID] = uuid_ref("tenants")
    role: Mapped[str] = mapped_column(Text)
    seq: Mapped[int] = mapped_column(Integer)
    unit_tenant_id: Mapped[uuid.UUID | None] = uuid_ref("tenants", nullable=True)
    unit_partner_id: Mapped[uuid.UUID | None] = uuid_ref("platform_partners", nullable=True)
    evidence_required: Mapped[list[str]] = mapped_column(ARRAY(Text))
    feedback_due_at: Mapped[datetime | None] = timestamp(nullable=True)
    status: Mapped[str] = mapped_column(Text)
    feedback: Mapped[str | None] = mapped_column(Text)
    assigned_by: Mapped[str] = mapped_column(Text)
    assigned_at: Mapped[datetime] = timestamp()
    accepted_at: Mapped[datetime | None] = timestamp(nullable=True)
    ended_at: Mapped[datetime | None] = timestamp(nullable=True)
    end_reason: Mapped[str | None] = mapped_column(Text)


class CaseFollowup(TenantScoped, Base):
    """回访复核: one follow-up of a case. 已解决 closes it; 阶段推进 / 暂难解决 keep a next
    node, its due date and a responsible unit (a CHECK constraint)."""

    __tablename__ = "case_followups"
    __table_args__ = (
        in_federation("case_followups"),
        Index("ix_case_followups_case", "case_id", "at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    case_id: Mapped[uuid.UUID] = uuid_ref("cases")
    closing: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(Text)
    worker_informed: Mapped[bool] = mapped_column(Boolean)
    worker_accepts: Mapped[bool] = mapped_column(Boolean)
    new_problem: Mapped[str | None] = mapped_column(Text)
    new_case_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("cases.id"), nullable=True)
    next_node: Mapped[str | None] = mapped_column(Text)
    next_due_at: Mapped[datetime | None] = timestamp(nullable=True)
    responsible_tenant_id: Mapped[uuid.UUID | None] = uuid_ref("tenants", nullable=True)
    note: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = timestamp()


class CaseSight(TenantScoped, Base):
    """A tenant that reads a case it does not handle: `moved` — 跟随转会, it handled the case
    before it moved with the worker's transfer (cases/moves/, written by
    `flexunion_case_move()`, 0029); `home` — 会员所属工会, the member's home union of a case
    handled where the member works (written by 0045's trigger and
    `flexunion_case_home_sight()`). That tenant's staff (and its ancestors') read the case and
    its history (the `origin_read` arms), never act on it."""

    __tablename__ = "case_sight"
    __table_args__ = (
        in_federation("case_sight"),
        UniqueConstraint("case_id", "tenant_id", name="uq_case_sight_case_tenant"),
        Index("ix_case_sight_tenant", "tenant_id", "case_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    case_id: Mapped[uuid.UUID] = uuid_ref("cases")
    transfer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    reason: Mapped[str] = mapped_column(Text, server_default=text("'moved'"))  # CHECK: 0045
    moved_at: Mapped[datetime] = timestamp()
    moved_by: Mapped[str] = mapped_column(Text)
