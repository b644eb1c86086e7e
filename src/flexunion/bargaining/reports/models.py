"""Workers' reports (问题提报), representatives (骑手/司机代表) and their proposals (代表提案)
(migration 0005 has the policies).

Relationships are not declared: every read is an explicit query in reports/repository.py."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk, uuid_ref

REP_KINDS: dict[str, tuple[str, str]] = {
    "station": ("站点代表", "Station representative"),
    "zone": ("片区代表", "Delivery-zone representative"),
    "platform": ("平台代表", "Platform representative"),
}
PROPOSAL_STATUSES: dict[str, tuple[str, str]] = {
    "submitted": ("已提交", "Submitted"),
    "taken": ("已采纳", "Taken onto the board"),
    "declined": ("未采纳", "Declined"),
}


class WorkerRepresentative(TenantScoped, Base):
    """A member designated 骑手/司机代表 for a station, a delivery zone or a platform.
    `tenant_id` is the designating union (a regional union or the HQ)."""

    __tablename__ = "worker_representatives"
    __table_args__ = (
        in_federation("worker_representatives"),
        Index("uq_worker_representatives_open", "member_id", "kind", "ref_code", unique=True,
              postgresql_where=text("ended_at IS NULL")),
        Index("ix_worker_representatives_worker", "worker_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    member_id: Mapped[uuid.UUID] = uuid_ref("members")
    worker_id: Mapped[uuid.UUID] = uuid_ref("worker_accounts")
    kind: Mapped[str] = mapped_column(Text)
    ref_code: Mapped[str] = mapped_column(Text)
    partner_id: Mapped[uuid.UUID | None] = uuid_ref("platform_partners", nullable=True)
    designated_by: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = timestamp()
    ended_at: Mapped[datetime | None] = timestamp(nullable=True)
    ended_by: Mapped[str | None] = mapped_column(Text)


class ProblemReport(TenantScoped, Base):
    """问题提报: one worker's report of a problem with a platform's labour rules.
    `tenant_id` is the reporter's home when reporting, `region_id` its regional union. One
    filed from a demand-ledger case (集体协商, cases/handling/service.py `route`) has the case
    as `source_case_id`, the staff principal that filed it as `filed_by`, and the case's
    tenant (where the worker works) with its region (migration 0028)."""

    __tablename__ = "problem_reports"
    __table_args__ = (
        in_federation("problem_reports"),
        Index("ix_problem_reports_tenant_at", "tenant_id", "created_at"),
        Index("ix_problem_reports_worker", "worker_id", "created_at"),
        Index("ix_problem_reports_source_case", "source_case_id",
              postgresql_where=text("source_case_id IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    region_id: Mapped[uuid.UUID] = uuid_ref("tenants")
    member_id: Mapped[uuid.UUID] = uuid_ref("members")
    worker_id: Mapped[uuid.UUID] = uuid_ref("worker_accounts")
    topic: Mapped[str] = mapped_column(Text)
    partner_id: Mapped[uuid.UUID] = uuid_ref("platform_partners")
    station_code: Mapped[str | None] = mapped_column(Text)
    zone_code: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = timestamp()
    source_case_id: Mapped[uuid.UUID | None] = uuid_ref("cases", nullable=True)
    filed_by: Mapped[str | None] = mapped_column(Text)


class RepProposal(TenantScoped, Base):
    """A representative's grouping of reports into one proposal for the board.
    `tenant_id` is the representative's designating tenant."""

    __tablename__ = "rep_proposals"
    __table_args__ = (
        in_federation("rep_proposals"),
        Index("ix_rep_proposals_tenant_status", "tenant_id", "status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    representative_id: Mapped[uuid.UUID] = uuid_ref("worker_representatives")
    worker_id: Mapped[uuid.UUID] = uuid_ref("worker_accounts")
    topic: Mapped[str] = mapped_column(Text)
    partner_id: Mapped[uuid.UUID] = uuid_ref("platform_partners")
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(Text)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()
    decided_at: Mapped[datetime | None] = timestamp(nullable=True)


class RepProposalReport(TenantScoped, Base):
    """A report in a proposal; the row lives with the report's tenant, so staff who see the
    report see that it is grouped."""

    __tablename__ = "rep_proposal_reports"
    __table_args__ = (
        in_federation("rep_proposal_reports"),
        Index("ix_rep_proposal_reports_report", "report_id"),
    )

    proposal_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("rep_proposals.id"), primary_key=True)
    report_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("problem_reports.id"), primary_key=True)
