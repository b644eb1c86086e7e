"""The federation's calendar, append-only: every change is a new version (migration 0013).

- `calendar_versions`: one row per change of a federation's calendar, numbered 1, 2, … per
  federation, naming the tenant whose layer changed (the HQ, or a region for its local days).
- `calendar_settings`: the weekly hours, make-up day hours and covered years, as set at a
  version (the HQ's); in force at version V: the row with the largest version ≤ V.
- `calendar_days`: a dated day of a tenant's layer as set at a version: `holiday`, `workday`
  or `cleared` (the day removed); in force at V: per (tenant, day) the row with the largest
  version ≤ V, unless it is `cleared`.

Nothing is updated or deleted, so a deadline computed under version N can be recomputed
from the same rows later."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, uuid_pk

DAY_KINDS = ("holiday", "workday", "cleared")


def _of_version(table: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["federation_id", "version"],
                                ["calendar_versions.federation_id", "calendar_versions.version"],
                                name=f"fk_{table}_version")


class CalendarVersion(TenantScoped, Base):
    __tablename__ = "calendar_versions"
    __table_args__ = (
        in_federation("calendar_versions"),
        UniqueConstraint("federation_id", "version", name="uq_calendar_versions_version"),
        CheckConstraint("version > 0", name="version_positive"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    version: Mapped[int] = mapped_column(BigInteger)
    change: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=text("now()"))


class CalendarSettings(TenantScoped, Base):
    __tablename__ = "calendar_settings"
    __table_args__ = (
        in_federation("calendar_settings"),
        _of_version("calendar_settings"),
        UniqueConstraint("federation_id", "version", name="uq_calendar_settings_version"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    version: Mapped[int] = mapped_column(BigInteger)
    weekly_hours: Mapped[dict[str, Any]] = mapped_column(JSONB)
    makeup_day_hours: Mapped[list[str]] = mapped_column(JSONB)
    covered_years: Mapped[list[int]] = mapped_column(ARRAY(Integer))


class CalendarDay(TenantScoped, Base):
    __tablename__ = "calendar_days"
    __table_args__ = (
        in_federation("calendar_days"),
        _of_version("calendar_days"),
        UniqueConstraint("tenant_id", "day", "version", name="uq_calendar_days_version"),
        CheckConstraint("kind IN ('holiday', 'workday', 'cleared')", name="kind"),
        Index("ix_calendar_days_federation", "federation_id", "version"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    version: Mapped[int] = mapped_column(BigInteger)
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(Text)
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
