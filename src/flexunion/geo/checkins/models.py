"""Opt-in location check-ins of members and the transfer suggestions drawn from them.
Only the worker sees either (row-level security); check-ins are kept a limited time."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, Text, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk
from flexunion.db.base import created_at as now  # the models have a column `created_at`

SUGGESTION_STATUSES = {"offered": "待确认", "accepted": "已申请接转", "dismissed": "已忽略"}


class LocationCheckin(TenantScoped, Base):
    """An opt-in location check-in of a member; `tenant_id` is the home when checked in."""

    __tablename__ = "location_checkins"
    __table_args__ = (
        in_federation("location_checkins"),
        Index("ix_location_checkins_member_at", "member_id", "recorded_at"),
        Index("ix_location_checkins_recorded_at", "recorded_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("members.id"))
    worker_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("worker_accounts.id"))
    recorded_at: Mapped[datetime] = timestamp()
    local_day: Mapped[date] = mapped_column(Date)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    jurisdiction_tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id"))
    created_at: Mapped[datetime] = now()


class TransferSuggestion(TenantScoped, Base):
    """'You seem to work in another city now: move your membership there?' — at most one
    open per member; `tenant_id` is the member's home."""

    __tablename__ = "transfer_suggestions"
    __table_args__ = (
        in_federation("transfer_suggestions"),
        Index("uq_transfer_suggestions_one_open", "member_id", unique=True,
              postgresql_where=text("status = 'offered'")),
        Index("ix_transfer_suggestions_member_to", "member_id", "to_tenant_id", "decided_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("members.id"))
    worker_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("worker_accounts.id"))
    to_tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("tenants.id"))
    days_away: Mapped[int] = mapped_column(Integer)
    window_days: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Text)
    transfer_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("transfers.id"))
    offered_at: Mapped[datetime] = timestamp()
    decided_at: Mapped[datetime | None] = timestamp(nullable=True)
