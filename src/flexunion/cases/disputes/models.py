"""争议处置's tables (migration 0030 has the policies). No relationships are declared: every
read is an explicit query in repository.py."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Text, UniqueConstraint
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk, uuid_ref


class CaseDispute(TenantScoped, Base):
    """A case's dispute record: its kind, the partner it is addressed to, the union's
    statement to it, and the ladder step reached (None: evidence being fixed). `tenant_id`
    is the case's tenant; `case_no` is copied for the partner, who does not see the case."""

    __tablename__ = "case_disputes"
    __table_args__ = (
        in_federation("case_disputes"),
        UniqueConstraint("case_id", name="uq_case_disputes_case_id"),
        Index("ix_case_disputes_partner", "partner_id", "opened_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    case_id: Mapped[uuid.UUID] = uuid_ref("cases")
    case_no: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    partner_id: Mapped[uuid.UUID] = uuid_ref("platform_partners")
    statement: Mapped[str] = mapped_column(Text)
    step: Mapped[str | None] = mapped_column(Text, nullable=True)
    opened_by: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = timestamp()
    updated_at: Mapped[datetime] = timestamp()


class DisputeRequest(TenantScoped, Base):
    """A request to the partner for evidence of one slot, due at a working-day deadline."""

    __tablename__ = "dispute_requests"
    __table_args__ = (
        in_federation("dispute_requests"),
        Index("ix_dispute_requests_dispute", "dispute_id", "requested_at"),
        # The SLA sweep's open requests by deadline (migration 0038).
        Index("ix_dispute_requests_open", "due_at", postgresql_where=sql("fulfilled_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    dispute_id: Mapped[uuid.UUID] = uuid_ref("case_disputes")
    slot: Mapped[str] = mapped_column(Text)
    partner_id: Mapped[uuid.UUID] = uuid_ref("platform_partners")
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    due_at: Mapped[datetime] = timestamp()
    requested_by: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = timestamp()
    fulfilled_at: Mapped[datetime | None] = timestamp(nullable=True)
    fulfilled_by: Mapped[str | None] = mapped_column(Text, nullable=True)


class DisputeEvidence(TenantScoped, Base):
    """An evidence item in a slot: a case attachment with its hash, supplier and time."""

    __tablename__ = "dispute_evidence"
    __table_args__ = (
        in_federation("dispute_evidence"),
        UniqueConstraint("dispute_id", "slot", "attachment_id",
                         name="uq_dispute_evidence_slot_attachment"),
        UniqueConstraint("request_id", name="uq_dispute_evidence_request_id"),
        Index("ix_dispute_evidence_dispute", "dispute_id", "slot"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    dispute_id: Mapped[uuid.UUID] = uuid_ref("case_disputes")
    slot: Mapped[str] = mapped_column(Text)
    attachment_id: Mapped[uuid.UUID] = uuid_ref("case_attachments")
    sha256: Mapped[str] = mapped_column(Text)
    supplier: Mapped[str] = mapped_column(Text)
    supplied_by: Mapped[str] = mapped_column(Text)
    supplied_at: Mapped[datetime] = timestamp()
    request_id: Mapped[uuid.UUID | None] = uuid_ref("dispute_requests", nullable=True)
    linked_by: Mapped[str] = mapped_column(Text)
    linked_at: Mapped[datetime] = timestamp()


class DisputeStep(TenantScoped, Base):
    """One rung of the ladder, append-only; one per step (no step is taken twice)."""

    __tablename__ = "dispute_steps"
    __table_args__ = (
        in_federation("dispute_steps"),
        UniqueConstraint("dispute_id", "step", name="uq_dispute_steps_dispute_step"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    dispute_id: Mapped[uuid.UUID] = uuid_ref("case_disputes")
    step: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = timestamp()
    actor: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)


class DisputeReply(TenantScoped, Base):
    """The partner's answer to a step (one per step)."""

    __tablename__ = "dispute_replies"
    __table_args__ = (
        in_federation("dispute_replies"),
        UniqueConstraint("step_id", name="uq_dispute_replies_step_id"),
        Index("ix_dispute_replies_dispute", "dispute_id", "at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    dispute_id: Mapped[uuid.UUID] = uuid_ref("case_disputes")
    step_id: Mapped[uuid.UUID] = uuid_ref("dispute_steps")
    partner_id: Mapped[uuid.UUID] = uuid_ref("platform_partners")
    text: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = timestamp()


class DisputeReferral(TenantScoped, Base):
    """衔接: to whom the dispute was handed over, and what was sent (the evidence index)."""

    __tablename__ = "dispute_referrals"
    __table_args__ = (
        in_federation("dispute_referrals"),
        UniqueConstraint("step_id", name="uq_dispute_referrals_step_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    dispute_id: Mapped[uuid.UUID] = uuid_ref("case_disputes")
    step_id: Mapped[uuid.UUID] = uuid_ref("dispute_steps")
    to_kind: Mapped[str] = mapped_column(Text)
    to_name: Mapped[str] = mapped_column(Text)
    sent: Mapped[list[Any]] = mapped_column(JSONB)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    by: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = timestamp()


class DisputeDecision(TenantScoped, Base):
    """An algorithmic decision under appeal (封号/限单, 罚款/扣分; migration 0033): the
    platform's written reasons, due by `reply_due_at` (working days on the case's calendar),
    and the union's human review with its outcome. One per dispute of such a kind, made
    when it opens."""

    __tablename__ = "dispute_decisions"
    __table_args__ = (
        in_federation("dispute_decisions"),
        UniqueConstraint("dispute_id", name="uq_dispute_decisions_dispute_id"),
        Index("ix_dispute_decisions_due", "reply_due_at"),
        # The SLA sweep's decisions awaiting reasons by deadline (migration 0038).
        Index("ix_dispute_decisions_awaiting", "reply_due_at",
              postgresql_where=sql("reasons_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    dispute_id: Mapped[uuid.UUID] = uuid_ref("case_disputes")
    reply_due_at: Mapped[datetime] = timestamp()
    reasons: Mapped[str | None] = mapped_column(Text, nullable=True)
    reasons_by: Mapped[str | None] = mapped_column(Text, nullable=True)
    reasons_at: Mapped[datetime | None] = timestamp(nullable=True)
    reviewer: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_at: Mapped[datetime | None] = timestamp(nullable=True)


class DisputeResolution(TenantScoped, Base):
    """分类处置 (migration 0033): the cause sorted, the path taken (a settlement with its
    terms, a transfer with its addressee), the 回访 it schedules (next node, due, unit), and
    for a settlement the later check that its terms were kept. One per dispute."""

    __tablename__ = "dispute_resolutions"
    __table_args__ = (
        in_federation("dispute_resolutions"),
        UniqueConstraint("dispute_id", name="uq_dispute_resolutions_dispute_id"),
        Index("ix_dispute_resolutions_due", "followup_due_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    dispute_id: Mapped[uuid.UUID] = uuid_ref("case_disputes")
    cause: Mapped[str] = mapped_column(Text)
    path: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    terms: Mapped[str | None] = mapped_column(Text, nullable=True)
    transfer_to: Mapped[str | None] = mapped_column(Text, nullable=True)
    followup_node: Mapped[str] = mapped_column(Text)
    followup_due_at: Mapped[datetime] = timestamp()
    followup_tenant_id: Mapped[uuid.UUID] = uuid_ref("tenants")
    by: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = timestamp()
    kept: Mapped[str | None] = mapped_column(Text, nullable=True)
    check_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    checked_by: Mapped[str | None] = mapped_column(Text, nullable=True)
    checked_at: Mapped[datetime | None] = timestamp(nullable=True)
