"""Bargaining tables: reports, representatives, proposals, the agenda board, rounds,
partner responses, attachments and ratification ballots (migration 0005 has the policies).

Relationships are not declared: every read is an explicit query in a repository."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, uuid_pk

TOPICS: dict[str, tuple[str, str]] = {
    "dispatch_rules": ("派单规则", "Dispatch rules"),
    "commission_rates": ("抽成比例", "Commission rates"),
    "overtime": ("超时判定", "Late and overtime determination"),
    "appeals": ("申诉复核", "Appeal review"),
    "rest": ("休息安排", "Rest arrangements"),
    "rewards_penalties": ("奖惩口径", "Rewards and penalties"),
    "other": ("其他", "Other"),
}
REP_KINDS = {"station": ("站点代表", "Station representative"),
             "zone": ("片区代表", "Delivery-zone representative"),
             "platform": ("平台代表", "Platform representative")}
PROPOSAL_STATUSES = {"submitted": "已提交", "taken": "已采纳", "declined": "未采纳"}
CHOICES = {"yes": ("赞成", "Yes"), "no": ("反对", "No"), "abstain": ("弃权", "Abstain")}
BALLOT_RESULTS = {"passed": ("通过", "Passed"), "failed_quorum": ("未达法定人数", "Quorum not met"),
                  "failed_threshold": ("赞成票未过半", "Threshold not met")}


def _ts(nullable: bool = False) -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=nullable)


def _uuid(target: str | None = None, nullable: bool = False) -> Mapped[uuid.UUID]:
    if target is None:
        return mapped_column(UUID(as_uuid=True), nullable=nullable)
    return mapped_column(UUID(as_uuid=True), ForeignKey(f"{target}.id"), nullable=nullable)


def _in_federation(table: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id", "federation_id"], ["tenants.id", "tenants.federation_id"],
                                name=f"fk_{table}_tenant_id_in_federation")


class WorkerRepresentative(Base):
    """A member designated 骑手/司机代表 for a station, a delivery zone or a platform."""

    __tablename__ = "worker_representatives"
    __table_args__ = (
        _in_federation("worker_representatives"),
        Index("uq_worker_representatives_open", "member_id", "kind", "ref_code", unique=True,
              postgresql_where=text("ended_at IS NULL")),
        Index("ix_worker_representatives_worker", "worker_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    federation_id: Mapped[uuid.UUID] = _uuid()
    tenant_id: Mapped[uuid.UUID] = _uuid()
    member_id: Mapped[uuid.UUID] = _uuid("members")
    worker_id: Mapped[uuid.UUID] = _uuid("worker_accounts")
    kind: Mapped[str] = mapped_column(Text)
    ref_code: Mapped[str] = mapped_column(Text)
    partner_id: Mapped[uuid.UUID | None] = _uuid("platform_partners", nullable=True)
    designated_by: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = _ts()
    ended_at: Mapped[datetime | None] = _ts(nullable=True)
    ended_by: Mapped[str | None] = mapped_column(Text)


class ProblemReport(Base):
    """问题提报: one worker's report of a problem with a platform's labour rules."""

    __tablename__ = "problem_reports"
    __table_args__ = (
        _in_federation("problem_reports"),
        Index("ix_problem_reports_tenant_at", "tenant_id", "created_at"),
        Index("ix_problem_reports_worker", "worker_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    federation_id: Mapped[uuid.UUID] = _uuid()
    tenant_id: Mapped[uuid.UUID] = _uuid()  # the reporter's home when reporting
    region_id: Mapped[uuid.UUID] = _uuid("tenants")  # its regional union (for remits)
    member_id: Mapped[uuid.UUID] = _uuid("members")
    worker_id: Mapped[uuid.UUID] = _uuid("worker_accounts")
    topic: Mapped[str] = mapped_column(Text)
    partner_id: Mapped[uuid.UUID] = _uuid("platform_partners")
    station_code: Mapped[str | None] = mapped_column(Text)
    zone_code: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = _ts()


class RepProposal(Base):
    """A representative's grouping of reports into one proposal for the board."""

    __tablename__ = "rep_proposals"
    __table_args__ = (
        _in_federation("rep_proposals"),
        Index("ix_rep_proposals_tenant_status", "tenant_id", "status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    federation_id: Mapped[uuid.UUID] = _uuid()
    tenant_id: Mapped[uuid.UUID] = _uuid()  # the representative's designating tenant
    representative_id: Mapped[uuid.UUID] = _uuid("worker_representatives")
    worker_id: Mapped[uuid.UUID] = _uuid("worker_accounts")
    topic: Mapped[str] = mapped_column(Text)
    partner_id: Mapped[uuid.UUID] = _uuid("platform_partners")
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(Text)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _ts()
    decided_at: Mapped[datetime | None] = _ts(nullable=True)


class RepProposalReport(Base):
    __tablename__ = "rep_proposal_reports"
    __table_args__ = (
        _in_federation("rep_proposal_reports"),
        Index("ix_rep_proposal_reports_report", "report_id"),
    )

    proposal_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("rep_proposals.id"), primary_key=True)
    report_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("problem_reports.id"), primary_key=True)
    federation_id: Mapped[uuid.UUID] = _uuid()
    tenant_id: Mapped[uuid.UUID] = _uuid()


class AgendaItem(Base):
    """One item of the collective-bargaining agenda board (协商清单事项).

    `tenant_id` is its scope: a regional union, or the HQ for a federation-wide item."""

    __tablename__ = "agenda_items"
    __table_args__ = (
        _in_federation("agenda_items"),
        Index("ix_agenda_items_tenant_status", "tenant_id", "status"),
        Index("ix_agenda_items_partner_status", "partner_id", "status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    federation_id: Mapped[uuid.UUID] = _uuid()
    tenant_id: Mapped[uuid.UUID] = _uuid()
    partner_id: Mapped[uuid.UUID] = _uuid("platform_partners")
    topic: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text)
    support_count: Mapped[int] = mapped_column(Integer)
    support_threshold: Mapped[int] = mapped_column(Integer)
    merged_into_id: Mapped[uuid.UUID | None] = _uuid("agenda_items", nullable=True)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _ts()
    updated_at: Mapped[datetime] = _ts()


class AgendaItemEvent(Base):
    """The item's timeline: every transition (actor, reason), merge, split, answer, round,
    partner response and ballot. `audience` 'union' keeps an entry from workers and partners."""

    __tablename__ = "agenda_item_events"
    __table_args__ = (
        _in_federation("agenda_item_events"),
        Index("ix_agenda_item_events_item_seq", "item_id", "seq"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    seq: Mapped[int] = mapped_column(BigInteger, Identity())
    federation_id: Mapped[uuid.UUID] = _uuid()
    tenant_id: Mapped[uuid.UUID] = _uuid()
    item_id: Mapped[uuid.UUID] = _uuid("agenda_items")
    partner_id: Mapped[uuid.UUID] = _uuid("platform_partners")
    kind: Mapped[str] = mapped_column(Text)
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict] = mapped_column(JSONB)
    audience: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _ts()


class AgendaItemSource(Base):
    """What fed an item: a report, a proposal, or another item (merged in, split off).
    A source moved to another item by a split keeps its row, with `moved_to_item_id` set."""

    __tablename__ = "agenda_item_sources"
    __table_args__ = (
        _in_federation("agenda_item_sources"),
        Index("ix_agenda_item_sources_item", "item_id"),
        Index("ix_agenda_item_sources_report", "report_id"),
        Index("ix_agenda_item_sources_proposal", "proposal_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    federation_id: Mapped[uuid.UUID] = _uuid()
    tenant_id: Mapped[uuid.UUID] = _uuid()
    item_id: Mapped[uuid.UUID] = _uuid("agenda_items")
    report_id: Mapped[uuid.UUID | None] = _uuid("problem_reports", nullable=True)
    proposal_id: Mapped[uuid.UUID | None] = _uuid("rep_proposals", nullable=True)
    from_item_id: Mapped[uuid.UUID | None] = _uuid("agenda_items", nullable=True)
    moved_to_item_id: Mapped[uuid.UUID | None] = _uuid("agenda_items", nullable=True)
    via: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _ts()


class AgendaSupport(Base):
    """One member's support (附议) for one item; the primary key makes it one."""

    __tablename__ = "agenda_supports"
    __table_args__ = (
        _in_federation("agenda_supports"),
        Index("ix_agenda_supports_worker", "worker_id"),
    )

    item_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("agenda_items.id"), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("members.id"), primary_key=True)
    worker_id: Mapped[uuid.UUID] = _uuid("worker_accounts")
    federation_id: Mapped[uuid.UUID] = _uuid()
    tenant_id: Mapped[uuid.UUID] = _uuid()
    created_at: Mapped[datetime] = _ts()


class AgendaTemplate(Base):
    """答复模板: a reply, optionally with a status to move to, for answering items in bulk."""

    __tablename__ = "agenda_templates"
    __table_args__ = (
        _in_federation("agenda_templates"),
        UniqueConstraint("tenant_id", "code", name="uq_agenda_templates_code"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    federation_id: Mapped[uuid.UUID] = _uuid()
    tenant_id: Mapped[uuid.UUID] = _uuid()
    code: Mapped[str] = mapped_column(Text)
    title_zh: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    to_status: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _ts()
    updated_at: Mapped[datetime] = _ts()


class NegotiationRound(Base):
    """One sitting of 集体协商 with a platform: who was there, minutes, next steps."""

    __tablename__ = "negotiation_rounds"
    __table_args__ = (
        _in_federation("negotiation_rounds"),
        Index("ix_negotiation_rounds_tenant_held", "tenant_id", "held_on"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    federation_id: Mapped[uuid.UUID] = _uuid()
    tenant_id: Mapped[uuid.UUID] = _uuid()
    partner_id: Mapped[uuid.UUID] = _uuid("platform_partners")
    held_on: Mapped[date] = mapped_column(Date)
    location: Mapped[str | None] = mapped_column(Text)
    parties: Mapped[list] = mapped_column(JSONB)
    minutes: Mapped[str] = mapped_column(Text)
    next_steps: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _ts()


class NegotiationRoundItem(Base):
    """Each side's position on one item in one round."""

    __tablename__ = "negotiation_round_items"
    __table_args__ = (
        _in_federation("negotiation_round_items"),
        Index("ix_negotiation_round_items_item", "item_id"),
    )

    round_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("negotiation_rounds.id"), primary_key=True)
    item_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("agenda_items.id"), primary_key=True)
    federation_id: Mapped[uuid.UUID] = _uuid()
    tenant_id: Mapped[uuid.UUID] = _uuid()
    partner_id: Mapped[uuid.UUID] = _uuid("platform_partners")
    union_position: Mapped[str] = mapped_column(Text)
    platform_position: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)


class PartnerResponse(Base):
    """A platform's answer on an item, posted through its machine API (may deliver a promise)."""

    __tablename__ = "partner_responses"
    __table_args__ = (
        _in_federation("partner_responses"),
        Index("ix_partner_responses_item", "item_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    federation_id: Mapped[uuid.UUID] = _uuid()
    tenant_id: Mapped[uuid.UUID] = _uuid()
    item_id: Mapped[uuid.UUID] = _uuid("agenda_items")
    partner_id: Mapped[uuid.UUID] = _uuid("platform_partners")
    client_id: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSONB)
    promise_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("data_promises.id", use_alter=True), nullable=True)
    created_at: Mapped[datetime] = _ts()


class DataPromise(Base):
    """Data the platform promised in a round (工资总额、考勤工时…), and by when."""

    __tablename__ = "data_promises"
    __table_args__ = (
        _in_federation("data_promises"),
        Index("ix_data_promises_tenant_due", "tenant_id", "due_on"),
        Index("ix_data_promises_item", "item_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    federation_id: Mapped[uuid.UUID] = _uuid()
    tenant_id: Mapped[uuid.UUID] = _uuid()
    round_id: Mapped[uuid.UUID] = _uuid("negotiation_rounds")
    item_id: Mapped[uuid.UUID] = _uuid("agenda_items")
    partner_id: Mapped[uuid.UUID] = _uuid("platform_partners")
    description: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date] = mapped_column(Date)
    delivered_at: Mapped[datetime | None] = _ts(nullable=True)
    response_id: Mapped[uuid.UUID | None] = _uuid("partner_responses", nullable=True)
    created_at: Mapped[datetime] = _ts()


class AgendaAttachment(Base):
    """Evidence on an item (staff, partner) or a report (its worker); bytes in the store."""

    __tablename__ = "agenda_attachments"
    __table_args__ = (
        _in_federation("agenda_attachments"),
        Index("ix_agenda_attachments_item", "item_id"),
        Index("ix_agenda_attachments_report", "report_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    federation_id: Mapped[uuid.UUID] = _uuid()
    tenant_id: Mapped[uuid.UUID] = _uuid()
    item_id: Mapped[uuid.UUID | None] = _uuid("agenda_items", nullable=True)
    report_id: Mapped[uuid.UUID | None] = _uuid("problem_reports", nullable=True)
    partner_id: Mapped[uuid.UUID | None] = _uuid("platform_partners", nullable=True)
    storage_key: Mapped[str] = mapped_column(Text, unique=True)
    filename: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(Text)
    shared_with_partner: Mapped[bool] = mapped_column(Boolean)
    uploaded_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _ts()


class Ballot(Base):
    """A ratification ballot (表决) on an agreed item; the roll is frozen when it opens."""

    __tablename__ = "ballots"
    __table_args__ = (
        _in_federation("ballots"),
        Index("uq_ballots_one_open", "item_id", unique=True,
              postgresql_where=text("status = 'open'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    federation_id: Mapped[uuid.UUID] = _uuid()
    tenant_id: Mapped[uuid.UUID] = _uuid()
    item_id: Mapped[uuid.UUID] = _uuid("agenda_items")
    question: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    quorum: Mapped[Decimal] = mapped_column(Numeric(4, 3))
    threshold: Mapped[Decimal] = mapped_column(Numeric(4, 3))
    electorate: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[datetime] = _ts()
    closes_at: Mapped[datetime] = _ts()
    closed_at: Mapped[datetime | None] = _ts(nullable=True)
    opened_by: Mapped[str] = mapped_column(Text)
    closed_by: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    tally: Mapped[dict | None] = mapped_column(JSONB)
    tally_digest: Mapped[str | None] = mapped_column(Text)


class BallotElector(Base):
    """Who may vote on a ballot, and whether they have (never what they chose)."""

    __tablename__ = "ballot_electors"
    __table_args__ = (
        _in_federation("ballot_electors"),
        Index("ix_ballot_electors_worker", "worker_id"),
    )

    ballot_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("ballots.id"), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("members.id"), primary_key=True)
    worker_id: Mapped[uuid.UUID] = _uuid("worker_accounts")
    federation_id: Mapped[uuid.UUID] = _uuid()
    tenant_id: Mapped[uuid.UUID] = _uuid()
    voted_at: Mapped[datetime | None] = _ts(nullable=True)


class BallotPaper(Base):
    """What was voted: a choice and the hash of the voter's receipt code. Nothing names the
    voter or the time. Written with a plain INSERT (the app role cannot read this table)."""

    __tablename__ = "ballot_papers"
    __table_args__ = (UniqueConstraint("ballot_id", "receipt_hash", name="uq_ballot_papers_receipt"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    ballot_id: Mapped[uuid.UUID] = _uuid("ballots")
    choice: Mapped[str] = mapped_column(Text)
    receipt_hash: Mapped[str] = mapped_column(Text)
