"""The agenda board's tables: items, their timeline and sources, supports and answer
templates (migration 0005 has the policies and the transition trigger).

Relationships are not declared: every read is an explicit query in board/repository.py."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, Integer, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk, uuid_ref


class AgendaItem(TenantScoped, Base):
    """One item of the collective-bargaining agenda board (协商清单事项).

    `tenant_id` is its scope: a regional union, or the HQ for a federation-wide item."""

    __tablename__ = "agenda_items"
    __table_args__ = (
        in_federation("agenda_items"),
        Index("ix_agenda_items_tenant_status", "tenant_id", "status"),
        Index("ix_agenda_items_partner_status", "partner_id", "status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_id: Mapped[uuid.UUID] = uuid_ref("platform_partners")
    topic: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text)
    support_count: Mapped[int] = mapped_column(Integer)
    support_threshold: Mapped[int] = mapped_column(Integer)
    merged_into_id: Mapped[uuid.UUID | None] = uuid_ref("agenda_items", nullable=True)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()
    updated_at: Mapped[datetime] = timestamp()


class AgendaItemEvent(TenantScoped, Base):
    """The item's timeline: every transition (actor, reason), merge, split, answer, round,
    partner response and ballot. `audience` 'union' keeps an entry from workers and partners."""

    __tablename__ = "agenda_item_events"
    __table_args__ = (
        in_federation("agenda_item_events"),
        Index("ix_agenda_item_events_item_seq", "item_id", "seq"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    seq: Mapped[int] = mapped_column(BigInteger, Identity())
    item_id: Mapped[uuid.UUID] = uuid_ref("agenda_items")
    partner_id: Mapped[uuid.UUID] = uuid_ref("platform_partners")
    kind: Mapped[str] = mapped_column(Text)
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    audience: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()


class AgendaItemSource(TenantScoped, Base):
    """What fed an item: a report, a proposal, or another item (merged in, split off).
    A source moved to another item by a split keeps its row, with `moved_to_item_id` set."""

    __tablename__ = "agenda_item_sources"
    __table_args__ = (
        in_federation("agenda_item_sources"),
        Index("ix_agenda_item_sources_item", "item_id"),
        Index("ix_agenda_item_sources_report", "report_id"),
        Index("ix_agenda_item_sources_proposal", "proposal_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    item_id: Mapped[uuid.UUID] = uuid_ref("agenda_items")
    report_id: Mapped[uuid.UUID | None] = uuid_ref("problem_reports", nullable=True)
    proposal_id: Mapped[uuid.UUID | None] = uuid_ref("rep_proposals", nullable=True)
    from_item_id: Mapped[uuid.UUID | None] = uuid_ref("agenda_items", nullable=True)
    moved_to_item_id: Mapped[uuid.UUID | None] = uuid_ref("agenda_items", nullable=True)
    via: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()


class AgendaSupport(TenantScoped, Base):
    """One member's support (附议) for one item; the primary key makes it one."""

    __tablename__ = "agenda_supports"
    __table_args__ = (
        in_federation("agenda_supports"),
        Index("ix_agenda_supports_worker", "worker_id"),
    )

    item_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("agenda_items.id"), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("members.id"), primary_key=True)
    worker_id: Mapped[uuid.UUID] = uuid_ref("worker_accounts")
    created_at: Mapped[datetime] = timestamp()


class AgendaTemplate(TenantScoped, Base):
    """答复模板: a reply, optionally with a status to move to, for answering items in bulk."""

    __tablename__ = "agenda_templates"
    __table_args__ = (
        in_federation("agenda_templates"),
        UniqueConstraint("tenant_id", "code", name="uq_agenda_templates_code"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(Text)
    title_zh: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    to_status: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()
    updated_at: Mapped[datetime] = timestamp()
