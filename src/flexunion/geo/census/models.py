"""Partner rosters (花名册) of pseudonymous workers, and the census runs (摸清人员底数)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk
from flexunion.db.base import created_at as now  # the models have a column `created_at`


class RosterUpload(TenantScoped, Base):
    """A partner's roster (花名册) of pseudonymous workers with their last zone or location."""

    __tablename__ = "roster_uploads"
    __table_args__ = (
        in_federation("roster_uploads"),
        Index("ix_roster_uploads_partner_at", "partner_id", "uploaded_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("platform_partners.id"))
    source: Mapped[str] = mapped_column(Text)  # api | csv
    crs: Mapped[str] = mapped_column(Text)
    rows: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[str] = mapped_column(Text)
    uploaded_at: Mapped[datetime] = now()


class RosterEntry(TenantScoped, Base):
    """One worker of a roster, filed under the tenant owning the place the worker is in."""

    __tablename__ = "roster_entries"
    __table_args__ = (
        in_federation("roster_entries"),
        UniqueConstraint("upload_id", "worker_ref", name="uq_roster_entries_worker"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    upload_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("roster_uploads.id", ondelete="CASCADE"))
    worker_ref: Mapped[str] = mapped_column(Text)
    platform: Mapped[str] = mapped_column(Text)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    zone_code: Mapped[str | None] = mapped_column(Text)
    active_days: Mapped[int] = mapped_column(Integer)


class CensusRun(TenantScoped, Base):
    """One 摸清人员底数 run: per-zone counts as of a moment, for an admin's subtree."""

    __tablename__ = "census_runs"
    __table_args__ = (
        in_federation("census_runs"),
        Index("ix_census_runs_tenant_at", "tenant_id", "started_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    requested_by: Mapped[str] = mapped_column(Text)
    engine: Mapped[str] = mapped_column(Text)  # pandas | dask
    params: Mapped[dict[str, Any]] = mapped_column(JSONB)
    zones: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    totals: Mapped[dict[str, Any]] = mapped_column(JSONB)
    started_at: Mapped[datetime] = timestamp()
    finished_at: Mapped[datetime] = timestamp()
