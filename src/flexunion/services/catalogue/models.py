"""The service catalogue's tables (migration 0052 has the policies)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Index, Integer, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk, uuid_ref


class ServiceEntry(TenantScoped, Base):
    """服务目录 entry: `tenant_id` is its keeper (HQ: federation-wide; a region: its subtree)."""

    __tablename__ = "service_catalogue"
    __table_args__ = (
        in_federation("service_catalogue"),
        UniqueConstraint("federation_id", "code", name="uq_service_catalogue_code"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    title_zh: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    summary_zh: Mapped[str] = mapped_column(Text)
    eligibility: Mapped[dict[str, Any]] = mapped_column(JSONB)
    materials: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    reviewing_unit: Mapped[str] = mapped_column(Text)
    time_limit_days: Mapped[int] = mapped_column(Integer)
    apply_links: Mapped[dict[str, Any]] = mapped_column(JSONB)
    active: Mapped[bool] = mapped_column(Boolean)
    revision: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()
    updated_at: Mapped[datetime] = timestamp()


class ServiceEvent(TenantScoped, Base):
    """文体活动 / 看护点: one session of an `events` service with its places."""

    __tablename__ = "service_events"
    __table_args__ = (
        in_federation("service_events"),
        Index("ix_service_events_service", "service_id", "starts_on"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    service_id: Mapped[uuid.UUID] = uuid_ref("service_catalogue")
    title_zh: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    place: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date] = mapped_column(Date)
    places: Mapped[int] = mapped_column(Integer)
    taken: Mapped[int] = mapped_column(Integer, server_default="0")
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()
