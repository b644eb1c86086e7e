"""Geo tables: service areas, stations (驿站) and their upkeep, check-ins, rosters, census.

Coordinates are stored in one canonical system, WGS84 (EPSG:4326, lon/lat);
inputs in GCJ-02 or BD-09 are converted on the way in (see crs.py). Areas are
stored as WKB: the embedded PostgreSQL has no PostGIS, and every spatial
question is answered by the in-process index (index.py), not by SQL.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, uuid_pk
from flexunion.db.base import created_at as _now

AREA_KINDS = {
    "jurisdiction": "工会辖区",
    "delivery_zone": "配送片区",
    "station_coverage": "站点服务范围",
}

AMENITIES = {
    "drinking_water": ("饮水", "Drinking water"),
    "hot_meals": ("热饭", "Food heating"),
    "charging": ("充电", "Phone and battery charging"),
    "first_aid": ("应急药品", "First-aid kit"),
    "work_supplies": ("劳保补给", "Protective supplies"),
    "rest": ("休息", "Rest area"),
    "toilet": ("卫生间", "Toilet"),
    "legal_advice": ("法律咨询", "Legal advice"),
    "counselling": ("心理疏导", "Counselling"),
    "air_conditioning": ("空调纳凉", "Air conditioning"),
    "heating": ("取暖", "Heating"),
    "repair": ("车辆维修", "Vehicle repair"),
    "wifi": ("无线网络", "Wi-Fi"),
    "lockers": ("储物", "Lockers"),
}

SEASONS = {"heat": ("高温", "Heatwave"), "cold_wave": ("寒潮", "Cold wave"),
           "rainstorm": ("暴雨台风", "Rainstorm and typhoon")}
EQUIPMENT = {"ok": ("正常", "Working"), "needs_repair": ("待维修", "Needs repair"),
             "out_of_service": ("停用", "Out of service")}
SUGGESTION_STATUSES = {"offered": "待确认", "accepted": "已申请接转", "dismissed": "已忽略"}


def _ts(nullable: bool = False) -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=nullable)


def _in_federation(table: str, column: str = "tenant_id") -> ForeignKeyConstraint:
    return ForeignKeyConstraint([column, "federation_id"], ["tenants.id", "tenants.federation_id"],
                                name=f"fk_{table}_{column}_in_federation")


class ServiceArea(Base):
    """A polygon or multipolygon: a union's jurisdiction, a platform's 配送片区, a station's reach."""

    __tablename__ = "service_areas"
    __table_args__ = (
        _in_federation("service_areas"),
        UniqueConstraint("federation_id", "kind", "code", name="uq_service_areas_code"),
        Index("ix_service_areas_tenant_kind", "tenant_id", "kind"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    federation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(Text)
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    partner_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("platform_partners.id"))
    geom_wkb: Mapped[bytes] = mapped_column(LargeBinary)
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    area_m2: Mapped[float] = mapped_column(Float)
    vertices: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    repaired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


class GeoVersion(Base):
    """Bumped by trigger on every area or station change; instances compare and reload."""

    __tablename__ = "geo_versions"

    federation_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id"), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[datetime] = _now()


class ServicePoint(Base):
    """A 驿站/服务点: where riders actually stop. Kept by its tenant's officers."""

    __tablename__ = "service_points"
    __table_args__ = (
        _in_federation("service_points"),
        UniqueConstraint("federation_id", "code", name="uq_service_points_code"),
        Index("ix_service_points_tenant", "tenant_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    federation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    code: Mapped[str] = mapped_column(Text)
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(Text)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    amenities: Mapped[list[str]] = mapped_column(ARRAY(Text))
    # {"mon": [["07:00", "22:00"]], ...}; an interval may end at "24:00"; a day may be absent.
    opening_hours: Mapped[dict] = mapped_column(JSONB)
    # Local times where the platform's shifts change, e.g. ["06:00", "10:30", "14:00", "17:00"];
    # duty slots run from one change to the next.
    shift_changes: Mapped[list[str]] = mapped_column(JSONB)
    phone: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


class StationDuty(Base):
    """One officer on duty at a station for one shift slot (值班排班)."""

    __tablename__ = "station_duties"
    __table_args__ = (
        _in_federation("station_duties"),
        UniqueConstraint("point_id", "duty_date", "shift_no", "officer_name",
                         name="uq_station_duties_slot_officer"),
        Index("ix_station_duties_point_start", "point_id", "starts_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    federation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    point_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("service_points.id"))
    duty_date: Mapped[date] = mapped_column(Date)
    shift_no: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = _ts()
    ends_at: Mapped[datetime] = _ts()
    officer_name: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()


class StationSupply(Base):
    """Seasonal supplies (高温/寒潮 …) stocked at a station for a date range."""

    __tablename__ = "station_supplies"
    __table_args__ = (
        _in_federation("station_supplies"),
        Index("ix_station_supplies_point_to", "point_id", "valid_to"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    federation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    point_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("service_points.id"))
    season: Mapped[str] = mapped_column(Text)
    item: Mapped[str] = mapped_column(Text)
    quantity: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()


class StationCheck(Base):
    """The weekly check of a station by its officer (补货、保洁、设备状态): one per ISO week."""

    __tablename__ = "station_checks"
    __table_args__ = (
        _in_federation("station_checks"),
        UniqueConstraint("point_id", "iso_week", name="uq_station_checks_week"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    federation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    point_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("service_points.id"))
    iso_week: Mapped[str] = mapped_column(Text)
    restocked: Mapped[bool] = mapped_column(Boolean)
    cleaned: Mapped[bool] = mapped_column(Boolean)
    equipment: Mapped[str] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    checked_by: Mapped[str] = mapped_column(Text)
    checked_at: Mapped[datetime] = _now()


class LocationCheckin(Base):
    """An opt-in location check-in of a member. Only the worker sees it; kept a limited time."""

    __tablename__ = "location_checkins"
    __table_args__ = (
        _in_federation("location_checkins"),
        Index("ix_location_checkins_member_at", "member_id", "recorded_at"),
        Index("ix_location_checkins_recorded_at", "recorded_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    federation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))  # home when checked in
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("members.id"))
    worker_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("worker_accounts.id"))
    recorded_at: Mapped[datetime] = _ts()
    local_day: Mapped[date] = mapped_column(Date)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    jurisdiction_tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id"))
    created_at: Mapped[datetime] = _now()


class TransferSuggestion(Base):
    """'You seem to work in another city now: move your membership there?' — at most one open."""

    __tablename__ = "transfer_suggestions"
    __table_args__ = (
        _in_federation("transfer_suggestions"),
        Index("uq_transfer_suggestions_one_open", "member_id", unique=True,
              postgresql_where=text("status = 'offered'")),
        Index("ix_transfer_suggestions_member_to", "member_id", "to_tenant_id", "decided_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    federation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))  # the member's home
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("members.id"))
    worker_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("worker_accounts.id"))
    to_tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("tenants.id"))
    days_away: Mapped[int] = mapped_column(Integer)
    window_days: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Text)
    transfer_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("transfers.id"))
    offered_at: Mapped[datetime] = _ts()
    decided_at: Mapped[datetime | None] = _ts(nullable=True)


class RosterUpload(Base):
    """A partner's roster (花名册) of pseudonymous workers with their last zone or location."""

    __tablename__ = "roster_uploads"
    __table_args__ = (
        _in_federation("roster_uploads"),
        Index("ix_roster_uploads_partner_at", "partner_id", "uploaded_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    federation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    partner_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("platform_partners.id"))
    source: Mapped[str] = mapped_column(Text)  # api | csv
    crs: Mapped[str] = mapped_column(Text)
    rows: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[str] = mapped_column(Text)
    uploaded_at: Mapped[datetime] = _now()


class RosterEntry(Base):
    __tablename__ = "roster_entries"
    __table_args__ = (
        _in_federation("roster_entries"),
        UniqueConstraint("upload_id", "worker_ref", name="uq_roster_entries_worker"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    upload_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("roster_uploads.id", ondelete="CASCADE"))
    federation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    worker_ref: Mapped[str] = mapped_column(Text)
    platform: Mapped[str] = mapped_column(Text)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    zone_code: Mapped[str | None] = mapped_column(Text)
    active_days: Mapped[int] = mapped_column(Integer)


class CensusRun(Base):
    """One 摸清人员底数 run: per-zone counts as of a moment, for an admin's subtree."""

    __tablename__ = "census_runs"
    __table_args__ = (
        _in_federation("census_runs"),
        Index("ix_census_runs_tenant_at", "tenant_id", "started_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    federation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    requested_by: Mapped[str] = mapped_column(Text)
    engine: Mapped[str] = mapped_column(Text)  # pandas | dask
    params: Mapped[dict] = mapped_column(JSONB)
    zones: Mapped[list] = mapped_column(JSONB)
    totals: Mapped[dict] = mapped_column(JSONB)
    started_at: Mapped[datetime] = _ts()
    finished_at: Mapped[datetime] = _ts()
