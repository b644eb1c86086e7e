"""驿站/服务点: stations kept by their officers, read by workers.

Officers keep their subtree's stations, duty rosters (值班排班), seasonal supplies
(高温/寒潮) and weekly checks (每周巡检); a station of a sibling region or of another
station officer answers 404 like a missing one, and RLS refuses writes outside the subtree
anyway. Workers read stations from the in-process index (nearby) and a station's board
through the federation-wide read-only connection, public columns only. Every change is
audited in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import phonenumbers
from msgspec import UNSET
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.core.clock import BEIJING
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict, InvalidInput, NotFound
from flexunion.db import rls
from flexunion.federation import directory
from flexunion.geo.crs import wgs84_point
from flexunion.geo.index import PointRef
from flexunion.geo.registry import GeoRegistry, GeoSnapshot, TenantRef
from flexunion.geo.stations import hours as h
from flexunion.geo.stations import repository
from flexunion.geo.stations.models import (
    AMENITIES,
    ServicePoint,
    StationCheck,
    StationDuty,
    StationSupply,
)
from flexunion.geo.stations.schemas import (
    CheckCreate,
    DutyIn,
    StationCreate,
    StationUpdate,
    SupplyCreate,
    prepared,
)

MAX_ROSTER_DAYS = 62
# Paths beside /{code} that are no station: GET /v1/geo/stations/nearby, and the console's
# /console/stations/missing (the stations without this week's check).
RESERVED_CODES = frozenset({"nearby", "missing"})


class StationNotFound(NotFound):
    code, title, title_en = "station_not_found", "未找到该驿站", "Station not found"


# ---- pure checks (also for the tenants/ loader) ---------------------------------------------


def check_amenities(codes: Sequence[str]) -> list[str]:
    """Known amenity codes, deduplicated, in the vocabulary's order; 422 on an unknown one."""
    unknown = sorted({c for c in codes if c not in AMENITIES})
    if unknown:
        raise InvalidInput(f"未知的设施代码：{'、'.join(unknown)}。",
                           f"Unknown amenity {', '.join(unknown)}; known: "
                           f"{', '.join(AMENITIES)}.", code="amenity_unknown",
                           extra={"unknown": unknown})
    return [c for c in AMENITIES if c in set(codes)]


def checked_hours(obj: Any) -> dict[str, list[list[str]]]:
    try:
        return h.parse_opening_hours(obj)
    except h.HoursError as exc:
        raise InvalidInput(f"营业时间填写有误：{exc}", str(exc),
                           code="opening_hours_invalid") from exc


def checked_shifts(obj: Any) -> list[str]:
    try:
        return h.parse_shift_changes(obj)
    except h.HoursError as exc:
        raise InvalidInput(f"交接班时间填写有误：{exc}", str(exc),
                           code="shift_changes_invalid") from exc


def clean_text(value: str, field: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput(f"{field} 不能为空。", f"{field} is blank.", code="validation_failed",
                           extra={"errors": [{"key": field, "message": "blank"}]})
    return value


def station_phone(raw: str) -> str:
    """A Chinese landline or mobile number (or an international one with +), as E.164."""
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"无法识别电话号码 {raw!r}。",
                           f"The phone number {raw!r} cannot be read.",
                           code="phone_invalid") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(f"{raw!r} 不是有效的电话号码。", f"{raw!r} is not a valid phone number.",
                           code="phone_invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# ---- stations -----------------------------------------------------------------------------


async def access_station(session: AsyncSession, code: str, *, lock: bool = False) -> ServicePoint:
    """A station of the caller's subtree by code; 404 for any other (missing or not mine)."""
    point = await repository.in_scope(session, code, lock=lock)
    if point is None:
        raise StationNotFound(f"你的管辖范围内没有驿站 {code}。",
                              f"No station '{code}' in your area.")
    return point


async def tenant_codes(session: AsyncSession, caller: Caller) -> dict[uuid.UUID, str]:
    """Codes of the federation's tenants by id (where its stations live)."""
    return {e.id: e.code for e in (await directory.my_directory(session, caller)).values()}


async def _subtree(session: AsyncSession, caller: Caller,
                   tenant: str | None) -> list[uuid.UUID] | None:
    if tenant is None:
        return None
    return await directory.subtree_in_scope(
        session, await directory.federation_of(session, caller), tenant)


def _code_taken(code: str) -> Conflict:
    return Conflict(f"本联合会已有编码为 {code} 的驿站。",
                    f"The federation already has a station '{code}'.", code="station_code_taken")


async def create(session: AsyncSession, caller: Caller, data: StationCreate,
                 now: datetime) -> ServicePoint:
    if data.code in RESERVED_CODES:
        raise InvalidInput(f"「{data.code}」是接口保留字，请换一个编码。",
                           f"'{data.code}' is a reserved word of the API; choose another code.",
                           code="station_code_reserved")
    federation_id = await directory.federation_of(session, caller)
    owner_id = caller.tenant_id
    if data.tenant is not None:
        entry = (await directory.my_directory(session, caller)).get(data.tenant)
        if entry is None or not await rls.in_scope(session, entry.id):
            # missing, or not in the caller's subtree: the same answer
            raise InvalidInput(f"{data.tenant} 不是你的单位或其下级单位。",
                               f"'{data.tenant}' is not your tenant or one of its subtree.",
                               code="station_tenant_invalid")
        owner_id = entry.id
    lon, lat = wgs84_point(data.location.lon, data.location.lat, data.location.crs)
    point = ServicePoint(
        id=uuid.uuid4(), federation_id=federation_id, tenant_id=owner_id, code=data.code,
        name_zh=clean_text(data.name_zh, "name_zh"), name_en=clean_text(data.name_en, "name_en"),
        address=clean_text(data.address, "address"),
        lon=lon, lat=lat, amenities=check_amenities(data.amenities),
        opening_hours=checked_hours(data.opening_hours),
        shift_changes=checked_shifts(data.shift_changes),
        phone=station_phone(data.phone) if data.phone else None, active=True,
        created_at=now, updated_at=now)
    if await repository.code_taken(session, federation_id, data.code):
        raise _code_taken(data.code)
    try:
        await repository.insert(session, point)
    except IntegrityError as exc:  # a concurrent create of the same code won
        raise _code_taken(data.code) from exc
    await audit.record(session, "station.created", tenant_id=owner_id, object_type="station",
                       object_id=point.code, payload={"lon": lon, "lat": lat,
                                                      "amenities": point.amenities})
    return point


async def update(session: AsyncSession, code: str, data: StationUpdate,
                 now: datetime) -> ServicePoint:
    point = await access_station(session, code, lock=True)
    changed: list[str] = []
    for field in ("name_zh", "name_en", "address"):
        value = getattr(data, field)
        if value is not UNSET:
            setattr(point, field, clean_text(value, field))
            changed.append(field)
    if data.location is not UNSET:
        point.lon, point.lat = wgs84_point(data.location.lon, data.location.lat,
                                           data.location.crs)
        changed.append("location")
    if data.amenities is not UNSET:
        point.amenities = check_amenities(data.amenities)
        changed.append("amenities")
    if data.opening_hours is not UNSET:
        point.opening_hours = checked_hours(data.opening_hours)
        changed.append("opening_hours")
    if data.phone is not UNSET:
        point.phone = station_phone(data.phone) if data.phone else None
        changed.append("phone")
    if data.shift_changes is not UNSET:
        shifts = checked_shifts(data.shift_changes)
        if shifts != point.shift_changes:
            await _reslot_future_duties(session, point, shifts, h.local_today(now))
            point.shift_changes = shifts
        changed.append("shift_changes")
    if changed:
        point.updated_at = now
        await repository.flush(session)
        await audit.record(session, "station.updated", tenant_id=point.tenant_id,
                           object_type="station", object_id=point.code,
                           payload={"fields": changed})
    return point


async def _reslot_future_duties(session: AsyncSession, point: ServicePoint, shifts: list[str],
                                today: date) -> None:
    """New shift times move today's and later duties with them; a duty in a slot that would
    no longer exist must be cleared from its roster first."""
    duties = await repository.duties_from(session, point.id, today)
    orphans = sorted({d.duty_date.isoformat() for d in duties if d.shift_no >= len(shifts)})
    if orphans:
        raise Conflict(f"{'、'.join(orphans)} 的排班用到了新交接班时间里没有的时段，"
                       "请先修改这些排班。",
                       f"Rosters on {', '.join(orphans)} use a slot that the new shift times "
                       "do not have; change those rosters first.", code="shift_changes_in_use",
                       extra={"dates": orphans})
    for d in duties:
        d.starts_at, d.ends_at = h.slot_bounds(shifts, d.duty_date, d.shift_no)


async def set_active(session: AsyncSession, code: str, active: bool,
                     now: datetime) -> ServicePoint:
    point = await access_station(session, code, lock=True)
    if point.active != active:
        point.active, point.updated_at = active, now
        await repository.flush(session)
        await audit.record(session, "station.reactivated" if active else "station.deactivated",
                           tenant_id=point.tenant_id, object_type="station", object_id=point.code)
    return point


async def page(session: AsyncSession, caller: Caller, *, tenant: str | None,
               active: bool | None, after: str | None, limit: int) -> Sequence[ServicePoint]:
    """Stations of the caller's subtree (of `tenant`'s subtree, if named), by code."""
    return await repository.page(session, tenant_ids=await _subtree(session, caller, tenant),
                                 active=active, after=after, limit=limit)


# ---- duty roster (值班排班) ------------------------------------------------------------------


async def set_roster(session: AsyncSession, caller: Caller, code: str, day: date,
                     duties: Sequence[DutyIn], now: datetime) -> ServicePoint:
    point = await access_station(session, code, lock=True)
    seen: set[tuple[int, str]] = set()
    rows = []
    for d in duties:
        name = clean_text(d.officer_name, "officer_name")
        if (d.shift_no, name) in seen:
            raise InvalidInput(f"{name} 在时段 {d.shift_no} 中重复出现。",
                               f"{name} is listed twice for slot {d.shift_no}.",
                               code="roster_duplicate")
        seen.add((d.shift_no, name))
        try:
            starts, ends = h.slot_bounds(point.shift_changes, day, d.shift_no)
        except h.HoursError as exc:
            raise InvalidInput(f"时段编号有误：{exc}", str(exc), code="shift_no_invalid",
                               extra={"shift_changes": point.shift_changes}) from exc
        rows.append(StationDuty(id=uuid.uuid4(), federation_id=point.federation_id,
                                tenant_id=point.tenant_id, point_id=point.id, duty_date=day,
                                shift_no=d.shift_no, starts_at=starts, ends_at=ends,
                                officer_name=name, created_by=caller.principal, created_at=now))
    await repository.replace_roster(session, point.id, day, rows)
    await audit.record(session, "station.roster_set", tenant_id=point.tenant_id,
                       object_type="station", object_id=point.code,
                       payload={"date": day.isoformat(), "duties": len(rows)})
    return point


async def roster(session: AsyncSession, point: ServicePoint, start: date,
                 end: date) -> Sequence[StationDuty]:
    if end < start or (end - start).days >= MAX_ROSTER_DAYS:
        raise InvalidInput(f"请查询 1 到 {MAX_ROSTER_DAYS} 天，开始日期不能晚于结束日期。",
                           f"Ask for 1 to {MAX_ROSTER_DAYS} days, 'from' not after 'to'.",
                           code="date_range_invalid")
    return await repository.duties(session, point.id, start, end)


def this_week(now: datetime) -> tuple[date, date]:
    """Monday and Sunday of the current week, Beijing time."""
    return h.week_of(h.local_today(now))


# ---- seasonal supplies (高温/寒潮) ----------------------------------------------------------


async def add_supply(session: AsyncSession, caller: Caller, code: str, data: SupplyCreate,
                     now: datetime) -> tuple[ServicePoint, StationSupply]:
    if data.valid_to < data.valid_from:
        raise InvalidInput("有效期的结束日期早于开始日期。", "valid_to is before valid_from.",
                           code="supply_dates_invalid")
    item, unit = clean_text(data.item, "item"), clean_text(data.unit, "unit")
    point = await access_station(session, code)
    supply = StationSupply(id=uuid.uuid4(), federation_id=point.federation_id,
                           tenant_id=point.tenant_id, point_id=point.id, season=data.season,
                           item=item, quantity=data.quantity, unit=unit,
                           valid_from=data.valid_from, valid_to=data.valid_to,
                           created_by=caller.principal, created_at=now)
    repository.add(session, supply)
    await repository.flush(session)
    await audit.record(session, "station.supply_added", tenant_id=point.tenant_id,
                       object_type="station", object_id=point.code,
                       payload={"season": data.season, "item": supply.item,
                                "quantity": data.quantity, "unit": supply.unit})
    return point, supply


async def supplies(session: AsyncSession, point: ServicePoint, active_on: date | None,
                   limit: int) -> Sequence[StationSupply]:
    return await repository.supplies(session, point.id, active_on, limit)


# ---- weekly checks (每周巡检) ----------------------------------------------------------------


def week_for(week: str | None, now: datetime) -> str:
    """The ISO week asked for (this one by default); 422 for a bad or future week."""
    this_monday, _ = this_week(now)
    if week is None:
        return h.iso_week(this_monday)
    try:
        monday = h.parse_iso_week(week)
    except h.HoursError as exc:
        raise InvalidInput(f"巡检周填写有误：{exc}", str(exc), code="check_week_invalid") from exc
    if monday > this_monday:
        raise InvalidInput(f"{week} 尚未开始，请在当周登记巡检。",
                           f"{week} has not begun yet; record a check during its week.",
                           code="check_week_future")
    return week


async def record_check(session: AsyncSession, caller: Caller, code: str, data: CheckCreate,
                       now: datetime) -> tuple[ServicePoint, StationCheck]:
    week = week_for(data.week, now)
    point = await access_station(session, code)
    check = StationCheck(id=uuid.uuid4(), federation_id=point.federation_id,
                         tenant_id=point.tenant_id, point_id=point.id, iso_week=week,
                         restocked=data.restocked, cleaned=data.cleaned,
                         equipment=data.equipment, notes=(data.notes or "").strip() or None,
                         checked_by=caller.principal, checked_at=now)
    try:
        await repository.insert(session, check)
    except IntegrityError as exc:
        raise Conflict(f"驿站 {code} 已登记过 {week} 的巡检。",
                       f"Station '{code}' already has its check for {week}.",
                       code="check_exists", extra={"week": week}) from exc
    await audit.record(session, "station.checked", tenant_id=point.tenant_id,
                       object_type="station", object_id=point.code,
                       payload={"week": week, "restocked": data.restocked,
                                "cleaned": data.cleaned, "equipment": data.equipment})
    return point, check


async def checks(session: AsyncSession, point: ServicePoint, limit: int) -> Sequence[StationCheck]:
    return await repository.checks(session, point.id, limit)


async def missing_checks(session: AsyncSession, caller: Caller, *, week: str,
                         tenant: str | None, after: str | None, limit: int) -> list[Any]:
    """Active stations of my subtree (that existed by the end of `week`) with no check for it."""
    monday = h.parse_iso_week(week)
    week_end = datetime.combine(monday + timedelta(days=7), datetime.min.time(), BEIJING)
    return await repository.missing_checks(
        session, week=week, week_end=week_end, tenant_ids=await _subtree(session, caller, tenant),
        after=after, limit=limit)


# ---- workers: nearby stations and a station's board -------------------------------------------


def nearby(snapshot: GeoSnapshot, lon: float, lat: float, *, radius_m: float, limit: int,
           amenities: frozenset[str], open_now: bool,
           at: datetime) -> list[tuple[PointRef, float]]:
    """Active stations within `radius_m` of a WGS84 point, nearest first, from the index."""
    points, local = snapshot.points, h.beijing(at)

    def keep(ref: PointRef) -> bool:
        return amenities <= ref.amenities and (
            not open_now or prepared(points, ref).hours.is_open(local))

    return points.nearby(lon, lat, radius_m=radius_m, limit=limit,
                         keep=keep if amenities or open_now else None)


def closed_nearby(snapshot: GeoSnapshot, lon: float, lat: float, *, radius_m: float,
                  amenities: frozenset[str], at: datetime) -> int:
    """How many active stations within `radius_m` have the amenities but are closed at `at`."""
    points, local = snapshot.points, h.beijing(at)

    def keep(ref: PointRef) -> bool:
        return amenities <= ref.amenities and not prepared(points, ref).hours.is_open(local)

    return len(points.nearby(lon, lat, radius_m=radius_m, limit=10_000, keep=keep))


@dataclass(frozen=True, slots=True)
class Board:
    """What any worker of the federation may see of a station this week."""

    station: PointRef
    operator: TenantRef | None
    duties: list[Any]
    supplies: list[Any]
    latest_check: Any | None


async def board(geo: GeoRegistry, snapshot: GeoSnapshot, code: str, now: datetime) -> Board:
    """An active station of the federation by code (404 otherwise), with this week's duties
    (and any running now), supplies valid today and the latest check: read federation-wide,
    public columns only (no notes, no officers' accounts)."""
    ref = snapshot.points.by_code(code)
    if ref is None:
        raise StationNotFound(f"没有驿站 {code}。", f"No station '{code}'.")
    today = h.local_today(now)
    monday, _ = h.week_of(today)
    week_start = datetime.combine(monday, datetime.min.time(), BEIJING)
    week_end = week_start + timedelta(days=7)
    async with geo.federation_reader(snapshot.federation_id) as conn:
        duties, supplies, check = await repository.board(
            conn, ref.id, start=min(week_start, now), end=max(week_end, now), today=today)
    return Board(ref, snapshot.tenants.get(ref.tenant_id), duties, supplies, check)


# ---- for the census and the federation's files ------------------------------------------------


async def active_positions(session: AsyncSession,
                           federation_id: uuid.UUID) -> list[tuple[float, float]]:
    """(lon, lat) in WGS84 of every active station of the federation."""
    return await repository.active_positions(session, federation_id)


async def federation_points(session: AsyncSession,
                            federation_id: uuid.UUID) -> Sequence[ServicePoint]:
    return await repository.of_federation(session, federation_id)


def add(session: AsyncSession, point: ServicePoint) -> None:
    repository.add(session, point)
