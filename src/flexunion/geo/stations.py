"""驿站/服务点: stations kept by their officers, read by workers.

Staff of a federation can *read* every station of it (RLS `federation_read`), but the admin
API only shows and changes the caller's subtree: every query here narrows to
`flexunion_tenant_scope()`, so a station of a sibling region or of another station officer
answers 404 like a missing one (and RLS refuses writes outside the subtree anyway).
Workers read stations from the in-process index (nearby) and a station's board through the
federation-wide read-only connection, public columns only.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import phonenumbers
from msgspec import UNSET
from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.core.clock import BEIJING
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict, InvalidInput, NotFound
from flexunion.federation.models import Tenant
from flexunion.geo import hours as h
from flexunion.geo.index import PointRef
from flexunion.geo.models import AMENITIES, ServicePoint, StationCheck, StationDuty, StationSupply
from flexunion.geo.registry import GeoRegistry, GeoSnapshot
from flexunion.geo.service import wgs84_point
from flexunion.geo.station_schemas import (
    CheckCreate,
    DutyIn,
    StationCreate,
    StationUpdate,
    SupplyCreate,
)

IN_SCOPE = text("service_points.tenant_id = ANY (flexunion_tenant_scope())")
MAX_ROSTER_DAYS = 62
RESERVED_CODES = frozenset({"nearby"})  # GET /v1/geo/stations/nearby is not a station
_SUBTREE = text("""
WITH RECURSIVE sub AS (SELECT id FROM tenants WHERE code = :code
                       UNION ALL SELECT t.id FROM tenants t JOIN sub ON t.parent_id = sub.id)
SELECT coalesce(array_agg(id), '{}') FROM sub""")


class StationNotFound(NotFound):
    code, title, title_en = "station_not_found", "未找到该驿站", "Station not found"


# ---- pure checks (also for the tenants/ loader) ---------------------------------------------


def check_amenities(codes: Sequence[str]) -> list[str]:
    """Known amenity codes, deduplicated, in the vocabulary's order; 422 on an unknown one."""
    unknown = sorted({c for c in codes if c not in AMENITIES})
    if unknown:
        raise InvalidInput(f"Unknown amenity {', '.join(unknown)}; known: "
                           f"{', '.join(AMENITIES)}.", code="amenity_unknown",
                           extra={"unknown": unknown})
    return [c for c in AMENITIES if c in set(codes)]


def checked_hours(obj: Any) -> dict[str, list[list[str]]]:
    try:
        return h.parse_opening_hours(obj)
    except h.HoursError as exc:
        raise InvalidInput(str(exc), code="opening_hours_invalid") from exc


def checked_shifts(obj: Any) -> list[str]:
    try:
        return h.parse_shift_changes(obj)
    except h.HoursError as exc:
        raise InvalidInput(str(exc), code="shift_changes_invalid") from exc


def clean_text(value: str, field: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput(f"{field} is blank.", code="validation_failed",
                           extra={"errors": [{"key": field, "message": "blank"}]})
    return value


def station_phone(raw: str) -> str:
    """A Chinese landline or mobile number (or an international one with +), as E.164."""
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"The phone number {raw!r} cannot be read.", code="phone_invalid") \
            from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(f"{raw!r} is not a valid phone number.", code="phone_invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# ---- stations -----------------------------------------------------------------------------


async def access_station(session: AsyncSession, code: str, *, lock: bool = False) -> ServicePoint:
    """A station of the caller's subtree by code; 404 for any other (missing or not mine)."""
    stmt = select(ServicePoint).where(ServicePoint.code == code, IN_SCOPE)
    if lock:
        stmt = stmt.with_for_update()
    point = await session.scalar(stmt)
    if point is None:
        raise StationNotFound(f"No station '{code}' in your area.")
    return point


async def tenant_codes(session: AsyncSession) -> dict[uuid.UUID, str]:
    """Codes of the tenants the caller sees (its subtree: where its stations live)."""
    return {r.id: r.code for r in await session.execute(select(Tenant.id, Tenant.code))}


async def subtree_of(session: AsyncSession, code: str) -> list[uuid.UUID]:
    ids = (await session.execute(_SUBTREE, {"code": code})).scalar_one()
    if not ids:
        raise NotFound(f"No tenant '{code}' in your area.", code="tenant_not_found")
    return list(ids)


async def create(session: AsyncSession, caller: Caller, data: StationCreate,
                 now: datetime) -> ServicePoint:
    if data.code in RESERVED_CODES:
        raise InvalidInput(f"'{data.code}' is a reserved word of the API; choose another code.",
                           code="station_code_reserved")
    owner_id = caller.tenant_id
    if data.tenant is not None:
        owner_id = await session.scalar(select(Tenant.id).where(Tenant.code == data.tenant))
        if owner_id is None:  # missing, or not in the caller's subtree: the same answer
            raise InvalidInput(f"'{data.tenant}' is not your tenant or one of its subtree.",
                               code="station_tenant_invalid")
    federation_id = await session.scalar(select(Tenant.federation_id)
                                         .where(Tenant.id == owner_id))
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
    taken = await session.scalar(select(ServicePoint.id).where(
        ServicePoint.federation_id == federation_id, ServicePoint.code == data.code))
    if taken is not None:
        raise _code_taken(data.code)
    try:
        async with session.begin_nested():
            session.add(point)
            await session.flush()
    except IntegrityError as exc:  # a concurrent create of the same code won
        raise _code_taken(data.code) from exc
    await audit.record(session, "station.created", tenant_id=owner_id, object_type="station",
                       object_id=point.code, payload={"lon": lon, "lat": lat,
                                                      "amenities": point.amenities})
    return point


def _code_taken(code: str) -> Conflict:
    return Conflict(f"The federation already has a station '{code}'.", code="station_code_taken")


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
        await session.flush()
        await audit.record(session, "station.updated", tenant_id=point.tenant_id,
                           object_type="station", object_id=point.code,
                           payload={"fields": changed})
    return point


async def _reslot_future_duties(session: AsyncSession, point: ServicePoint, shifts: list[str],
                                today: date) -> None:
    """New shift times move today's and later duties with them; a duty in a slot that would
    no longer exist must be cleared from its roster first."""
    duties = (await session.scalars(select(StationDuty).where(
        StationDuty.point_id == point.id, StationDuty.duty_date >= today))).all()
    orphans = sorted({d.duty_date.isoformat() for d in duties if d.shift_no >= len(shifts)})
    if orphans:
        raise Conflict(f"Rosters on {', '.join(orphans)} use a slot that the new shift times "
                       "do not have; change those rosters first.", code="shift_changes_in_use",
                       extra={"dates": orphans})
    for d in duties:
        d.starts_at, d.ends_at = h.slot_bounds(shifts, d.duty_date, d.shift_no)


async def set_active(session: AsyncSession, code: str, active: bool,
                     now: datetime) -> ServicePoint:
    point = await access_station(session, code, lock=True)
    if point.active != active:
        point.active, point.updated_at = active, now
        await session.flush()
        await audit.record(session, "station.reactivated" if active else "station.deactivated",
                           tenant_id=point.tenant_id, object_type="station", object_id=point.code)
    return point


async def page(session: AsyncSession, *, tenant: str | None, active: bool | None,
               after: str | None, limit: int) -> Sequence[ServicePoint]:
    stmt = select(ServicePoint).where(IN_SCOPE).order_by(ServicePoint.code).limit(limit)
    if tenant is not None:
        stmt = stmt.where(ServicePoint.tenant_id.in_(await subtree_of(session, tenant)))
    if active is not None:
        stmt = stmt.where(ServicePoint.active.is_(active))
    if after is not None:
        stmt = stmt.where(ServicePoint.code > after)
    return (await session.scalars(stmt)).all()


# ---- duty roster (值班排班) ------------------------------------------------------------------


async def set_roster(session: AsyncSession, caller: Caller, code: str, day: date,
                     duties: Sequence[DutyIn], now: datetime) -> ServicePoint:
    point = await access_station(session, code, lock=True)
    seen: set[tuple[int, str]] = set()
    rows = []
    for d in duties:
        name = clean_text(d.officer_name, "officer_name")
        if (d.shift_no, name) in seen:
            raise InvalidInput(f"{name} is listed twice for slot {d.shift_no}.",
                               code="roster_duplicate")
        seen.add((d.shift_no, name))
        try:
            starts, ends = h.slot_bounds(point.shift_changes, day, d.shift_no)
        except h.HoursError as exc:
            raise InvalidInput(str(exc), code="shift_no_invalid",
                               extra={"shift_changes": point.shift_changes}) from exc
        rows.append(StationDuty(id=uuid.uuid4(), federation_id=point.federation_id,
                                tenant_id=point.tenant_id, point_id=point.id, duty_date=day,
                                shift_no=d.shift_no, starts_at=starts, ends_at=ends,
                                officer_name=name, created_by=caller.principal, created_at=now))
    await session.execute(delete(StationDuty).where(StationDuty.point_id == point.id,
                                                    StationDuty.duty_date == day))
    session.add_all(rows)
    await session.flush()
    await audit.record(session, "station.roster_set", tenant_id=point.tenant_id,
                       object_type="station", object_id=point.code,
                       payload={"date": day.isoformat(), "duties": len(rows)})
    return point


async def roster(session: AsyncSession, point: ServicePoint, start: date,
                 end: date) -> Sequence[StationDuty]:
    if end < start or (end - start).days >= MAX_ROSTER_DAYS:
        raise InvalidInput(f"Ask for 1 to {MAX_ROSTER_DAYS} days, 'from' not after 'to'.",
                           code="date_range_invalid")
    return (await session.scalars(select(StationDuty).where(
        StationDuty.point_id == point.id, StationDuty.duty_date >= start,
        StationDuty.duty_date <= end).order_by(
        StationDuty.starts_at, StationDuty.shift_no, StationDuty.officer_name))).all()


# ---- seasonal supplies (高温/寒潮) ----------------------------------------------------------


async def add_supply(session: AsyncSession, caller: Caller, code: str, data: SupplyCreate,
                     now: datetime) -> tuple[ServicePoint, StationSupply]:
    if data.valid_to < data.valid_from:
        raise InvalidInput("valid_to is before valid_from.", code="supply_dates_invalid")
    item, unit = clean_text(data.item, "item"), clean_text(data.unit, "unit")
    point = await access_station(session, code)
    supply = StationSupply(id=uuid.uuid4(), federation_id=point.federation_id,
                           tenant_id=point.tenant_id, point_id=point.id, season=data.season,
                           item=item, quantity=data.quantity, unit=unit,
                           valid_from=data.valid_from, valid_to=data.valid_to,
                           created_by=caller.principal, created_at=now)
    session.add(supply)
    await session.flush()
    await audit.record(session, "station.supply_added", tenant_id=point.tenant_id,
                       object_type="station", object_id=point.code,
                       payload={"season": data.season, "item": supply.item,
                                "quantity": data.quantity, "unit": supply.unit})
    return point, supply


async def supplies(session: AsyncSession, point: ServicePoint, active_on: date | None,
                   limit: int) -> Sequence[StationSupply]:
    stmt = (select(StationSupply).where(StationSupply.point_id == point.id)
            .order_by(StationSupply.valid_to.desc(), StationSupply.created_at.desc())
            .limit(limit))
    if active_on is not None:
        stmt = stmt.where(StationSupply.valid_from <= active_on,
                          StationSupply.valid_to >= active_on)
    return (await session.scalars(stmt)).all()


# ---- weekly checks (每周巡检) ----------------------------------------------------------------


def week_for(week: str | None, now: datetime) -> str:
    """The ISO week asked for (this one by default); 422 for a bad or future week."""
    this_monday, _ = h.week_of(h.local_today(now))
    if week is None:
        return h.iso_week(this_monday)
    try:
        monday = h.parse_iso_week(week)
    except h.HoursError as exc:
        raise InvalidInput(str(exc), code="check_week_invalid") from exc
    if monday > this_monday:
        raise InvalidInput(f"{week} has not begun yet; record a check during its week.",
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
        async with session.begin_nested():
            session.add(check)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"Station '{code}' already has its check for {week}.",
                       code="check_exists", extra={"week": week}) from exc
    await audit.record(session, "station.checked", tenant_id=point.tenant_id,
                       object_type="station", object_id=point.code,
                       payload={"week": week, "restocked": data.restocked,
                                "cleaned": data.cleaned, "equipment": data.equipment})
    return point, check


async def checks(session: AsyncSession, point: ServicePoint, limit: int) -> Sequence[StationCheck]:
    return (await session.scalars(select(StationCheck).where(StationCheck.point_id == point.id)
                                  .order_by(StationCheck.iso_week.desc()).limit(limit))).all()


_MISSING = """
SELECT p.code, p.tenant_id, p.name_zh, p.name_en, last.iso_week AS last_week,
       last.checked_at AS last_checked_at
  FROM service_points p
  LEFT JOIN LATERAL (SELECT c.iso_week, c.checked_at FROM station_checks c
                      WHERE c.point_id = p.id ORDER BY c.iso_week DESC LIMIT 1) last ON true
 WHERE p.active AND p.tenant_id = ANY (flexunion_tenant_scope())
   AND p.created_at < :week_end
   AND NOT EXISTS (SELECT 1 FROM station_checks c WHERE c.point_id = p.id AND c.iso_week = :week)
   AND (CAST(:after AS text) IS NULL OR p.code > :after)
   {tenant}
 ORDER BY p.code
 LIMIT :limit
"""


async def missing_checks(session: AsyncSession, *, week: str, tenant: str | None,
                         after: str | None, limit: int) -> list[Any]:
    """Active stations of my subtree (that existed by the end of `week`) with no check for it."""
    monday = h.parse_iso_week(week)
    week_end = datetime.combine(monday + timedelta(days=7), datetime.min.time(), BEIJING)
    params: dict[str, Any] = {"week": week, "week_end": week_end, "after": after, "limit": limit}
    sql = _MISSING.format(tenant="")
    if tenant is not None:
        sql = _MISSING.format(tenant="AND p.tenant_id = ANY (:subtree)")
        params["subtree"] = await subtree_of(session, tenant)
    return list((await session.execute(text(sql), params)).all())


# ---- workers: nearby stations and a station's board -------------------------------------------


def nearby(snapshot: GeoSnapshot, lon: float, lat: float, *, radius_m: float, limit: int,
           amenities: frozenset[str], open_now: bool,
           at: datetime) -> list[tuple[PointRef, float]]:
    """Active stations within `radius_m` of a WGS84 point, nearest first, from the index."""
    def keep(ref: PointRef) -> bool:
        return amenities <= ref.amenities and (not open_now or h.is_open(ref.opening_hours, at))

    return snapshot.points.nearby(lon, lat, radius_m=radius_m, limit=limit,
                                  keep=keep if amenities or open_now else None)


def public_station(snapshot: GeoSnapshot, code: str) -> PointRef:
    """An active station of the federation by code, from the index; 404 otherwise."""
    ref = snapshot.points.by_code(code)
    if ref is None:
        raise StationNotFound(f"No station '{code}'.")
    return ref


_BOARD_DUTIES = """
SELECT duty_date, shift_no, starts_at, ends_at, officer_name FROM station_duties
 WHERE point_id = $1 AND starts_at < $3 AND ends_at > $2
 ORDER BY starts_at, shift_no, officer_name"""
_BOARD_SUPPLIES = """
SELECT season, item, quantity, unit, valid_to FROM station_supplies
 WHERE point_id = $1 AND valid_from <= $2 AND valid_to >= $2
 ORDER BY season, item, valid_to"""
_BOARD_CHECK = """
SELECT iso_week, restocked, cleaned, equipment, checked_at FROM station_checks
 WHERE point_id = $1 ORDER BY iso_week DESC LIMIT 1"""


async def board(geo: GeoRegistry, federation_id: uuid.UUID, point_id: uuid.UUID,
                now: datetime) -> tuple[list[Any], list[Any], Any | None]:
    """This week's duties (and any running now), supplies valid today and the latest check:
    read federation-wide, public columns only (no notes, no officers' accounts)."""
    today = h.local_today(now)
    monday, _ = h.week_of(today)
    week_start = datetime.combine(monday, datetime.min.time(), BEIJING)
    week_end = week_start + timedelta(days=7)
    async with geo.federation_reader(federation_id) as conn:
        duties = await conn.fetch(_BOARD_DUTIES, point_id, min(week_start, now),
                                  max(week_end, now))
        supplies = await conn.fetch(_BOARD_SUPPLIES, point_id, today)
        check = await conn.fetchrow(_BOARD_CHECK, point_id)
    return list(duties), list(supplies), check
