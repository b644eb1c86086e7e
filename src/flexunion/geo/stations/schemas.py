"""驿站/服务点 — what callers send and see: stations, duty rosters, seasonal supplies,
weekly checks (admin), and nearby stations and a station's board (workers); and the
functions that build those answers from rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal, cast

import msgspec
from msgspec import UNSET, UnsetType

from flexunion.geo.crs import Crs, from_wgs84
from flexunion.geo.index import PointIndex, PointRef
from flexunion.geo.registry import TenantRef
from flexunion.geo.stations import hours as h
from flexunion.geo.stations.models import (
    AMENITIES,
    EQUIPMENT,
    SEASONS,
    ServicePoint,
    StationCheck,
    StationDuty,
    StationSupply,
)

Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}(?!\n)$",
                                   description="小写字母、数字、_ . - lowercase code")]
TenantCode = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{1,62}(?!\n)$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Address = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
Phone = Annotated[str, msgspec.Meta(min_length=3, max_length=32,
                                    description="固定电话或手机 landline or mobile, e.g. "
                                                "021-64001234; answered in E.164")]
AmenityCode = Annotated[str, msgspec.Meta(max_length=32)]
# "HH:MM"; the rules (a real time, end may be 24:00) are geo/stations/hours.py's.
HourMinute = Annotated[str, msgspec.Meta(max_length=8)]
AmenityCodes = Annotated[list[AmenityCode], msgspec.Meta(
    max_length=32, description="设施代码 amenity codes: drinking_water 饮水, hot_meals 热饭, "
    "charging 充电, first_aid 应急药品, work_supplies 劳保补给, rest 休息, toilet 卫生间, "
    "legal_advice 法律咨询, counselling 心理疏导, air_conditioning 空调纳凉, heating 取暖, "
    "repair 车辆维修, wifi 无线网络, lockers 储物")]
OpeningHours = Annotated[dict[str, list[list[HourMinute]]], msgspec.Meta(
    description='营业时间 {"mon": [["07:00", "22:00"]], …}: days mon…sun (absent = closed), '
    '"HH:MM" intervals, end may be "24:00"; ["22:00", "02:00"] crosses midnight and is '
    'split into the next day')]
ShiftChanges = Annotated[list[HourMinute], msgspec.Meta(
    description='交接班时间 sorted "HH:MM", at least one: slot i (shift_no, from 0) runs from '
    "change i to change i+1, the last to the first change of the next day")]
Season = Literal["heat", "cold_wave", "rainstorm"]
Equipment = Literal["ok", "needs_repair", "out_of_service"]
IsoWeek = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4}-W[0-9]{2}(?!\n)$",
                                      description='ISO 周 ISO week, e.g. "2026-W05"')]
OfficerName = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
Interval = list[str]


class Location(msgspec.Struct, forbid_unknown_fields=True):
    """A point and the coordinate system it is written in (stored as WGS84)."""

    lon: float
    lat: float
    crs: Crs = Crs.WGS84


class Amenity(msgspec.Struct):
    code: str
    name_zh: str
    name_en: str


class Slot(msgspec.Struct):
    shift_no: int
    starts: str
    ends: str


# ---- admin: stations --------------------------------------------------------------------


class StationCreate(msgspec.Struct, forbid_unknown_fields=True):
    """新建驿站 — `tenant`: the owning union or station (default: the caller's own tenant);
    it must be the caller's tenant or in its subtree."""

    code: Code
    name_zh: Name
    name_en: Name
    address: Address
    location: Location
    opening_hours: OpeningHours
    shift_changes: ShiftChanges
    amenities: AmenityCodes = msgspec.field(default_factory=list)
    phone: Phone | None = None
    tenant: TenantCode | None = None


class StationUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """修改驿站 — only the fields sent change; `phone: null` removes the phone."""

    name_zh: Name | UnsetType = UNSET
    name_en: Name | UnsetType = UNSET
    address: Address | UnsetType = UNSET
    location: Location | UnsetType = UNSET
    opening_hours: OpeningHours | UnsetType = UNSET
    shift_changes: ShiftChanges | UnsetType = UNSET
    amenities: AmenityCodes | UnsetType = UNSET
    phone: Phone | UnsetType | None = UNSET


class StationRead(msgspec.Struct):
    code: str
    tenant: str
    name_zh: str
    name_en: str
    address: str
    location: Location
    amenities: list[Amenity]
    opening_hours: dict[str, list[Interval]]
    shift_changes: list[str]
    slots: list[Slot]
    phone: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


# ---- admin: roster, supplies, checks ------------------------------------------------------


class DutyIn(msgspec.Struct, forbid_unknown_fields=True):
    shift_no: Annotated[int, msgspec.Meta(ge=0, le=23)]
    officer_name: OfficerName


class RosterSet(msgspec.Struct, forbid_unknown_fields=True):
    """排班 — replaces the whole roster of `date` (an empty list clears it)."""

    date: date
    duties: Annotated[list[DutyIn], msgspec.Meta(max_length=200)]


class DutyRead(msgspec.Struct):
    date: date
    shift_no: int
    starts_at: datetime
    ends_at: datetime
    officer_name: str


class RosterRead(msgspec.Struct):
    station: str
    from_: date = msgspec.field(name="from")
    to: date
    duties: list[DutyRead]


class SupplyCreate(msgspec.Struct, forbid_unknown_fields=True):
    """季节性物资 — heat 高温, cold_wave 寒潮, rainstorm 暴雨台风."""

    season: Season
    item: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    quantity: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
    unit: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    valid_from: date
    valid_to: date


class SupplyRead(msgspec.Struct):
    id: str
    season: Season
    season_zh: str
    season_en: str
    item: str
    quantity: int
    unit: str
    valid_from: date
    valid_to: date
    created_by: str
    created_at: datetime


class CheckCreate(msgspec.Struct, forbid_unknown_fields=True):
    """每周巡检 — `week` defaults to this ISO week (Beijing time); future weeks are refused."""

    restocked: bool
    cleaned: bool
    equipment: Equipment
    notes: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    week: IsoWeek | None = None


class CheckRead(msgspec.Struct):
    station: str
    week: str
    restocked: bool
    cleaned: bool
    equipment: Equipment
    equipment_zh: str
    equipment_en: str
    notes: str | None
    checked_by: str
    checked_at: datetime


class MissingCheck(msgspec.Struct):
    """A station of my subtree without a check for `week`, and when it was last checked."""

    code: str
    tenant: str
    name_zh: str
    name_en: str
    week: str
    last_week: str | None
    last_checked_at: datetime | None


# ---- workers: nearby and the station board -----------------------------------------------


class NearbyStation(msgspec.Struct):
    code: str
    name_zh: str
    name_en: str
    address: str
    location: Location
    distance_m: int
    open_now: bool
    hours_today: list[Interval]
    amenities: list[Amenity]
    phone: str | None


class NearbyStations(msgspec.Struct):
    """Nearest first, within `radius_m` of the point asked about; `at` is the moment
    `open_now` was judged (Beijing time decides). With `open_now=true`, `closed_now` counts
    the stations in range that would match but are closed now (at night the list can be
    empty while stations are near: ask again without `open_now` to see their hours)."""

    at: datetime
    items: list[NearbyStation]
    closed_now: int = 0


class Operator(msgspec.Struct):
    code: str
    name_zh: str
    name_en: str


class BoardSlot(msgspec.Struct):
    date: date
    shift_no: int
    starts_at: datetime
    ends_at: datetime
    officers: list[str]


class BoardSupply(msgspec.Struct):
    season: Season
    season_zh: str
    season_en: str
    item: str
    quantity: int
    unit: str
    valid_to: date


class BoardCheck(msgspec.Struct):
    week: str
    restocked: bool
    cleaned: bool
    equipment: Equipment
    equipment_zh: str
    equipment_en: str
    checked_at: datetime


class StationBoard(msgspec.Struct):
    """驿站详情 — what any worker of the federation may see of a station."""

    code: str
    name_zh: str
    name_en: str
    address: str
    location: Location
    operator: Operator | None
    phone: str | None
    amenities: list[Amenity]
    open_now: bool
    hours_today: list[Interval]
    opening_hours: dict[str, list[Interval]]
    on_duty_now: list[str]
    roster_this_week: list[BoardSlot]
    supplies: list[BoardSupply]
    latest_check: BoardCheck | None
    at: datetime


# ---- building answers -------------------------------------------------------------------


def location(lon: float, lat: float, crs: Crs) -> Location:
    """A stored WGS84 point in the caller's system, to 1e-7° (about a centimetre)."""
    x, y = from_wgs84(lon, lat, crs)
    return Location(lon=round(x, 7), lat=round(y, 7), crs=crs)


def amenities(codes: Iterable[str]) -> list[Amenity]:
    have = set(codes)
    return [Amenity(code=c, name_zh=zh, name_en=en) for c, (zh, en) in AMENITIES.items()
            if c in have]


def station_read(point: ServicePoint, tenant_codes: dict[uuid.UUID, str], crs: Crs) -> StationRead:
    return StationRead(
        code=point.code, tenant=tenant_codes.get(point.tenant_id, ""), name_zh=point.name_zh,
        name_en=point.name_en, address=point.address, location=location(point.lon, point.lat, crs),
        amenities=amenities(point.amenities), opening_hours=point.opening_hours,
        shift_changes=point.shift_changes,
        slots=[Slot(shift_no=i, starts=a, ends=b)
               for i, a, b in h.slots_of(point.shift_changes)],
        phone=point.phone, active=point.active, created_at=point.created_at,
        updated_at=point.updated_at)


def supply_read(s: StationSupply) -> SupplyRead:
    zh, en = SEASONS[s.season]
    return SupplyRead(id=str(s.id), season=cast(Season, s.season), season_zh=zh, season_en=en,
                      item=s.item, quantity=s.quantity, unit=s.unit, valid_from=s.valid_from,
                      valid_to=s.valid_to, created_by=s.created_by, created_at=s.created_at)


def board_supply(row: Mapping[str, Any]) -> BoardSupply:
    zh, en = SEASONS[row["season"]]
    return BoardSupply(season=row["season"], season_zh=zh, season_en=en, item=row["item"],
                       quantity=row["quantity"], unit=row["unit"], valid_to=row["valid_to"])


def board_check(row: Mapping[str, Any]) -> BoardCheck:
    zh, en = EQUIPMENT[row["equipment"]]
    return BoardCheck(week=row["iso_week"], restocked=row["restocked"], cleaned=row["cleaned"],
                      equipment=row["equipment"], equipment_zh=zh, equipment_en=en,
                      checked_at=row["checked_at"])


def check_read(code: str, c: StationCheck) -> CheckRead:
    zh, en = EQUIPMENT[c.equipment]
    return CheckRead(station=code, week=c.iso_week, restocked=c.restocked, cleaned=c.cleaned,
                     equipment=cast(Equipment, c.equipment), equipment_zh=zh, equipment_en=en,
                     notes=c.notes, checked_by=c.checked_by, checked_at=c.checked_at)


def duty_reads(duties: Iterable[StationDuty]) -> list[DutyRead]:
    return [DutyRead(date=d.duty_date, shift_no=d.shift_no, starts_at=d.starts_at,
                     ends_at=d.ends_at, officer_name=d.officer_name) for d in duties]


def missing_check(row: Any, codes: Mapping[uuid.UUID, str], week: str) -> MissingCheck:
    return MissingCheck(code=row.code, tenant=codes.get(row.tenant_id, ""), name_zh=row.name_zh,
                        name_en=row.name_en, week=week, last_week=row.last_week,
                        last_checked_at=row.last_checked_at)


class Prepared:
    """What every answer about one station of an index snapshot repeats, built on the first
    answer and kept with the snapshot: its hours read, its amenities, its WGS84 location.
    (Shared between answers: never changed.)"""

    __slots__ = ("amenities", "hours", "wgs84")

    def __init__(self, ref: PointRef) -> None:
        self.hours = h.WeekHours(ref.opening_hours)
        self.amenities = amenities(ref.amenities)
        self.wgs84 = location(ref.lon, ref.lat, Crs.WGS84)


def prepared(points: PointIndex, ref: PointRef) -> Prepared:
    memo: dict[str, Prepared] = points.memo.setdefault("stations.prepared", {})
    got = memo.get(ref.code)
    if got is None:
        got = memo[ref.code] = Prepared(ref)
    return got


def nearby_answer(points: PointIndex, found: Iterable[tuple[PointRef, float]], crs: Crs,
                    now: datetime, closed: int = 0) -> NearbyStations:
    local = h.beijing(now)
    today = local.date()
    items = []
    for ref, distance_m in found:
        p = prepared(points, ref)
        items.append(NearbyStation(
            code=ref.code, name_zh=ref.name_zh, name_en=ref.name_en, address=ref.address,
            location=p.wgs84 if crs is Crs.WGS84 else location(ref.lon, ref.lat, crs),
            distance_m=round(distance_m), open_now=p.hours.is_open(local),
            hours_today=p.hours.on(today), amenities=p.amenities, phone=ref.phone))
    return NearbyStations(at=now, items=items, closed_now=closed)


def board_read(ref: PointRef, operator: TenantRef | None, duties: Iterable[Mapping[str, Any]],
                  supplies: Iterable[Mapping[str, Any]], check: Mapping[str, Any] | None, *,
                  crs: Crs, now: datetime) -> StationBoard:
    """The board from the index's station and the federation-wide reads of its week."""
    duties = list(duties)
    monday, sunday = h.week_of(h.local_today(now))
    slots: dict[tuple[date, int], BoardSlot] = {}
    for d in duties:
        if monday <= d["duty_date"] <= sunday:
            slot = slots.setdefault((d["duty_date"], d["shift_no"]), BoardSlot(
                date=d["duty_date"], shift_no=d["shift_no"], starts_at=d["starts_at"],
                ends_at=d["ends_at"], officers=[]))
            slot.officers.append(d["officer_name"])
    on_duty = sorted({d["officer_name"] for d in duties if d["starts_at"] <= now < d["ends_at"]})
    return StationBoard(
        code=ref.code, name_zh=ref.name_zh, name_en=ref.name_en, address=ref.address,
        location=location(ref.lon, ref.lat, crs),
        operator=Operator(code=operator.code, name_zh=operator.name_zh,
                          name_en=operator.name_en) if operator else None,
        phone=ref.phone, amenities=amenities(ref.amenities),
        open_now=h.is_open(ref.opening_hours, now),
        hours_today=h.hours_on(ref.opening_hours, h.local_today(now)),
        opening_hours=ref.opening_hours, on_duty_now=on_duty,
        roster_this_week=list(slots.values()),
        supplies=[board_supply(s) for s in supplies],
        latest_check=board_check(check) if check else None, at=now)
