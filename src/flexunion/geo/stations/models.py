"""驿站/服务点 and their upkeep: duty rosters (值班排班), seasonal supplies, weekly checks.

Coordinates are stored in WGS84 (EPSG:4326, lon/lat); inputs in GCJ-02 or BD-09 are
converted on the way in (geo/crs.py)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk
from flexunion.db.base import created_at as now  # the models have a column `created_at`

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


class ServicePoint(TenantScoped, Base):
    """A 驿站/服务点: where riders actually stop. Kept by its tenant's officers."""

    __tablename__ = "service_points"
    __table_args__ = (
        in_federation("service_points"),
        UniqueConstraint("federation_id", "code", name="uq_service_points_code"),
        Index("ix_service_points_tenant", "tenant_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(Text)
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(Text)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    amenities: Mapped[list[str]] = mapped_column(ARRAY(Text))
    # {"mon": [["07:00", "22:00"]], ...}; an interval may end at "24:00"; a day may be absent.
    opening_hours: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # Local times where the platform's shifts change, e.g. ["06:00", "10:30", "14:00", "17:00"];
    # duty slots run from one change to the next.
    shift_changes: Mapped[list[str]] = mapped_column(JSONB)
    phone: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = now()
    updated_at: Mapped[datetime] = now()


class StationDuty(TenantScoped, Base):
    """One officer on duty at a station for one shift slot (值班排班)."""

    __tablename__ = "station_duties"
    __table_args__ = (
        in_federation("station_duties"),
        UniqueConstraint("point_id", "duty_date", "shift_no", "officer_name",
                         name="uq_station_duties_slot_officer"),
        Index("ix_station_duties_point_start", "point_id", "starts_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    point_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("service_points.id"))
    duty_date: Mapped[date] = mapped_column(Date)
    shift_no: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = timestamp()
    ends_at: Mapped[datetime] = timestamp()
    officer_name: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = now()


class StationSupply(TenantScoped, Base):
    """Seasonal supplies (高温/寒潮 …) stocked at a station for a date range."""

    __tablename__ = "station_supplies"
    __table_args__ = (
        in_federation("station_supplies"),
        Index("ix_station_supplies_point_to", "point_id", "valid_to"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    point_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("service_points.id"))
    season: Mapped[str] = mapped_column(Text)
    item: Mapped[str] = mapped_column(Text)
    quantity: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = now()


class StationCheck(TenantScoped, Base):
    """The weekly check of a station by its officer (补货、保洁、设备状态): one per ISO week."""

    __tablename__ = "station_checks"
    __table_args__ = (
        in_federation("station_checks"),
        UniqueConstraint("point_id", "iso_week", name="uq_station_checks_week"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    point_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("service_points.id"))
    iso_week: Mapped[str] = mapped_column(Text)
    restocked: Mapped[bool] = mapped_column(Boolean)
    cleaned: Mapped[bool] = mapped_column(Boolean)
    equipment: Mapped[str] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    checked_by: Mapped[str] = mapped_column(Text)
    checked_at: Mapped[datetime] = now()
