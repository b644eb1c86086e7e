"""Partners' events, the work signals derived from shifts, and weather warnings (migration
0054 has the policies)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Numeric, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk, uuid_ref


class PlatformEvent(TenantScoped, Base):
    """One fact a partner pushed, append-only, once per (partner, event_id). `tenant_id` is
    the matched member's home, else the federation (`member_id` NULL: unmatched)."""

    __tablename__ = "platform_events"
    __table_args__ = (
        in_federation("platform_events"),
        UniqueConstraint("partner_id", "event_id", name="uq_platform_events_partner_event"),
        Index("ix_platform_events_member", "member_id", "occurred_at"),
        Index("ix_platform_events_tenant", "tenant_id", "received_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_id: Mapped[uuid.UUID] = uuid_ref("platform_partners")
    event_id: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    rider_id: Mapped[str] = mapped_column(Text)
    member_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("members.id"), nullable=True)
    occurred_at: Mapped[datetime] = timestamp()
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_by: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = timestamp()


class WorkSignal(TenantScoped, Base):
    """A matched member's day of work from one shift event (hours, night, heat, zone)."""

    __tablename__ = "work_signals"
    __table_args__ = (
        in_federation("work_signals"),
        UniqueConstraint("event_ref", name="uq_work_signals_event_ref"),
        Index("ix_work_signals_member_day", "member_id", "day"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    member_id: Mapped[uuid.UUID] = uuid_ref("members")
    partner_id: Mapped[uuid.UUID] = uuid_ref("platform_partners")
    event_ref: Mapped[uuid.UUID] = uuid_ref("platform_events")
    day: Mapped[date] = mapped_column(Date)
    hours: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    night_hours: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    heat_hours: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    zone_code: Mapped[str | None] = mapped_column(Text, nullable=True)


class WeatherWarning(TenantScoped, Base):
    """An official warning a region loaded: kind, level, area (codes or a polygon), validity."""

    __tablename__ = "weather_warnings"
    __table_args__ = (
        in_federation("weather_warnings"),
        UniqueConstraint("tenant_id", "source_ref", name="uq_weather_warnings_tenant_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    source_ref: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(Text)
    title_zh: Mapped[str] = mapped_column(Text)
    area_codes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    polygon: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    valid_from: Mapped[datetime] = timestamp()
    valid_to: Mapped[datetime] = timestamp()
    loaded_by: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = timestamp()
