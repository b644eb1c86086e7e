"""驿站/服务点: officers keep stations, rosters, supplies and weekly checks (admin API);
workers find the nearest stations and read a station's board (mobile API)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from litestar import get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import AUDIENCE_ADMIN, AUDIENCE_MOBILE, Settings
from flexunion.core.clock import Clock
from flexunion.core.context import ADMIN_ROLES, Caller, Role
from flexunion.core.pagination import Page, clamp, decode_cursor, encode_cursor
from flexunion.geo import hours as h
from flexunion.geo import stations as service
from flexunion.geo.crs import Crs
from flexunion.geo.registry import GeoRegistry
from flexunion.geo.service import federation_of, wgs84_point
from flexunion.geo.station_schemas import (
    BoardSlot,
    CheckCreate,
    CheckRead,
    MissingCheck,
    NearbyStation,
    NearbyStations,
    Operator,
    RosterRead,
    RosterSet,
    StationBoard,
    StationCreate,
    StationRead,
    StationUpdate,
    SupplyCreate,
    SupplyRead,
    amenities,
    board_check,
    board_supply,
    check_read,
    duty_reads,
    location,
    station_read,
    supply_read,
)

STAFF = {"audiences": (AUDIENCE_ADMIN,), "roles": ADMIN_ROLES}
ANYONE = {"audiences": (AUDIENCE_MOBILE, AUDIENCE_ADMIN), "roles": {Role.WORKER, *ADMIN_ROLES}}
TAGS = ["stations 驿站"]
SECURITY = [{"bearer": []}]
BASE = "/v1/admin/geo/stations"
StationCode = Annotated[str, PathParameter(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
CrsParam = Annotated[Crs, QueryParameter(description="坐标系 coordinate system of the answer "
                                                     "(and of lat/lon asked about)")]
Limit = Annotated[int | None, QueryParameter()]


# ---- stations -----------------------------------------------------------------------------


@post(BASE, opt=STAFF, tags=TAGS, security=SECURITY,
      summary="新建驿站 Create a station in my tenant or its subtree")
async def create_station(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                         clock: NamedDependency[Clock], data: JSONBody[StationCreate],
                         crs: CrsParam = Crs.WGS84) -> StationRead:
    point = await service.create(session, caller, data, clock.now())
    return station_read(point, await service.tenant_codes(session), crs)


@get(BASE, opt=STAFF, tags=TAGS, security=SECURITY,
     summary="驿站列表 Stations of my subtree, by code")
async def list_stations(
    session: NamedDependency[AsyncSession], settings: NamedDependency[Settings],
    tenant: Annotated[str | None, QueryParameter(
        description="只看该单位及其下级 only this tenant and its subtree")] = None,
    active: Annotated[bool | None, QueryParameter()] = None,
    crs: CrsParam = Crs.WGS84,
    cursor: Annotated[str | None, QueryParameter(max_length=512)] = None, limit: Limit = None,
) -> Page[StationRead]:
    size = clamp(limit, settings.api.page_size_default, settings.api.page_size_max)
    after = decode_cursor(cursor, 1)
    rows = await service.page(session, tenant=tenant, active=active,
                              after=str(after[0]) if after else None, limit=size + 1)
    codes = await service.tenant_codes(session)
    items = [station_read(p, codes, crs) for p in rows[:size]]
    return Page(items=items, next_cursor=encode_cursor(rows[size - 1].code)
                if len(rows) > size else None)


@get(f"{BASE}/{{code:str}}", opt=STAFF, tags=TAGS, security=SECURITY,
     summary="驿站详情 One station of my subtree")
async def get_station(session: NamedDependency[AsyncSession], code: StationCode,
                      crs: CrsParam = Crs.WGS84) -> StationRead:
    point = await service.access_station(session, code)
    return station_read(point, await service.tenant_codes(session), crs)


@patch(f"{BASE}/{{code:str}}", opt=STAFF, tags=TAGS, security=SECURITY,
       summary="修改驿站 Change a station (only the fields sent)")
async def update_station(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                         code: StationCode, data: JSONBody[StationUpdate],
                         crs: CrsParam = Crs.WGS84) -> StationRead:
    point = await service.update(session, code, data, clock.now())
    return station_read(point, await service.tenant_codes(session), crs)


@post(f"{BASE}/{{code:str}}/deactivate", opt=STAFF, tags=TAGS, security=SECURITY,
      status_code=200, summary="停用驿站 Take a station off the map (its records stay)")
async def deactivate_station(session: NamedDependency[AsyncSession],
                             clock: NamedDependency[Clock], code: StationCode) -> StationRead:
    point = await service.set_active(session, code, False, clock.now())
    return station_read(point, await service.tenant_codes(session), Crs.WGS84)


@post(f"{BASE}/{{code:str}}/reactivate", opt=STAFF, tags=TAGS, security=SECURITY,
      status_code=200, summary="恢复驿站 Put a deactivated station back on the map")
async def reactivate_station(session: NamedDependency[AsyncSession],
                             clock: NamedDependency[Clock], code: StationCode) -> StationRead:
    point = await service.set_active(session, code, True, clock.now())
    return station_read(point, await service.tenant_codes(session), Crs.WGS84)


# ---- roster, supplies, checks ---------------------------------------------------------------


@put(f"{BASE}/{{code:str}}/roster", opt=STAFF, tags=TAGS, security=SECURITY,
     summary="排班 Set the duty roster of one date (replaces that date)")
async def set_roster(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                     clock: NamedDependency[Clock], code: StationCode,
                     data: JSONBody[RosterSet]) -> RosterRead:
    point = await service.set_roster(session, caller, code, data.date, data.duties, clock.now())
    duties = await service.roster(session, point, data.date, data.date)
    return RosterRead(station=point.code, from_=data.date, to=data.date,
                      duties=duty_reads(duties))


@get(f"{BASE}/{{code:str}}/roster", opt=STAFF, tags=TAGS, security=SECURITY,
     summary="排班表 The roster of a date range (default: this week, Monday to Sunday)")
async def get_roster(
    session: NamedDependency[AsyncSession], clock: NamedDependency[Clock], code: StationCode,
    from_: Annotated[date | None, QueryParameter(name="from")] = None,
    to: Annotated[date | None, QueryParameter()] = None,
) -> RosterRead:
    start = from_ or h.week_of(h.local_today(clock.now()))[0]
    end = to or start + timedelta(days=6)
    point = await service.access_station(session, code)
    duties = await service.roster(session, point, start, end)
    return RosterRead(station=point.code, from_=start, to=end, duties=duty_reads(duties))


@post(f"{BASE}/{{code:str}}/supplies", opt=STAFF, tags=TAGS, security=SECURITY,
      summary="登记季节性物资 Add seasonal supplies (高温/寒潮/暴雨台风)")
async def add_supply(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                     clock: NamedDependency[Clock], code: StationCode,
                     data: JSONBody[SupplyCreate]) -> SupplyRead:
    _, supply = await service.add_supply(session, caller, code, data, clock.now())
    return supply_read(supply)


@get(f"{BASE}/{{code:str}}/supplies", opt=STAFF, tags=TAGS, security=SECURITY,
     summary="季节性物资 Seasonal supplies, latest first (active_on: valid that day)")
async def list_supplies(session: NamedDependency[AsyncSession], code: StationCode,
                        active_on: Annotated[date | None, QueryParameter()] = None,
                        limit: Limit = None) -> list[SupplyRead]:
    point = await service.access_station(session, code)
    rows = await service.supplies(session, point, active_on, clamp(limit, 50, 200))
    return [supply_read(s) for s in rows]


@post(f"{BASE}/{{code:str}}/checks", opt=STAFF, tags=TAGS, security=SECURITY,
      summary="每周巡检 Record this week's check (补货、保洁、设备状态); one per ISO week")
async def record_check(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                       clock: NamedDependency[Clock], code: StationCode,
                       data: JSONBody[CheckCreate]) -> CheckRead:
    point, check = await service.record_check(session, caller, code, data, clock.now())
    return check_read(point.code, check)


@get(f"{BASE}/{{code:str}}/checks", opt=STAFF, tags=TAGS, security=SECURITY,
     summary="巡检记录 Recent weekly checks, newest week first")
async def list_checks(session: NamedDependency[AsyncSession], code: StationCode,
                      limit: Limit = None) -> list[CheckRead]:
    point = await service.access_station(session, code)
    return [check_read(point.code, c)
            for c in await service.checks(session, point, clamp(limit, 10, 104))]


@get("/v1/admin/geo/station-checks/missing", opt=STAFF, tags=TAGS, security=SECURITY,
     summary="未巡检驿站 Active stations of my subtree without a check for the week")
async def missing_checks(
    session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
    settings: NamedDependency[Settings],
    week: Annotated[str | None, QueryParameter(
        description='ISO 周 e.g. "2026-W05"; default this week (Beijing time)')] = None,
    tenant: Annotated[str | None, QueryParameter()] = None,
    cursor: Annotated[str | None, QueryParameter(max_length=512)] = None, limit: Limit = None,
) -> Page[MissingCheck]:
    wk = service.week_for(week, clock.now())
    size = clamp(limit, settings.api.page_size_default, settings.api.page_size_max)
    after = decode_cursor(cursor, 1)
    rows = await service.missing_checks(session, week=wk, tenant=tenant,
                                        after=str(after[0]) if after else None, limit=size + 1)
    codes = await service.tenant_codes(session)
    items = [MissingCheck(code=r.code, tenant=codes.get(r.tenant_id, ""), name_zh=r.name_zh,
                          name_en=r.name_en, week=wk, last_week=r.last_week,
                          last_checked_at=r.last_checked_at) for r in rows[:size]]
    return Page(items=items, next_cursor=encode_cursor(rows[size - 1].code)
                if len(rows) > size else None)


# ---- workers ------------------------------------------------------------------------------


@get("/v1/geo/stations/nearby", opt=ANYONE, tags=TAGS, security=SECURITY,
     summary="附近驿站 Nearest stations: geodesic distance, open now, amenities")
async def nearby_stations(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], geo: NamedDependency[GeoRegistry],
    lat: Annotated[float, QueryParameter(description="纬度 latitude")],
    lon: Annotated[float, QueryParameter(description="经度 longitude")],
    crs: CrsParam = Crs.WGS84,
    radius_m: Annotated[int, QueryParameter(ge=1, le=50_000)] = 3000,
    limit: Annotated[int, QueryParameter(ge=1, le=50)] = 10,
    amenity: Annotated[list[str] | None, QueryParameter(
        description="设施 required amenities (repeatable; a station must have all)")] = None,
    open_now: Annotated[bool | None, QueryParameter(
        description="true: only stations open now; otherwise all, each saying open_now")] = None,
) -> NearbyStations:
    x, y = wgs84_point(lon, lat, crs)
    wanted = frozenset(service.check_amenities(amenity or []))
    now = clock.now()
    snapshot = await geo.get(await federation_of(session, caller))
    found = service.nearby(snapshot, x, y, radius_m=radius_m, limit=limit, amenities=wanted,
                           open_now=bool(open_now), at=now)
    today = h.local_today(now)
    return NearbyStations(at=now, items=[NearbyStation(
        code=ref.code, name_zh=ref.name_zh, name_en=ref.name_en, address=ref.address,
        location=location(ref.lon, ref.lat, crs), distance_m=round(dist),
        open_now=h.is_open(ref.opening_hours, now),
        hours_today=h.hours_on(ref.opening_hours, today),
        amenities=amenities(ref.amenities), phone=ref.phone) for ref, dist in found])


@get("/v1/geo/stations/{code:str}", opt=ANYONE, tags=TAGS, security=SECURITY,
     summary="驿站公示 A station's board: hours, amenities, who is on duty, supplies, checks")
async def station_board(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], geo: NamedDependency[GeoRegistry], code: StationCode,
    crs: CrsParam = Crs.WGS84,
) -> StationBoard:
    federation_id = await federation_of(session, caller)
    snapshot = await geo.get(federation_id)
    ref = service.public_station(snapshot, code)
    now = clock.now()
    duties, supplies, check = await service.board(geo, federation_id, ref.id, now)
    monday, sunday = h.week_of(h.local_today(now))
    slots: dict[tuple[date, int], BoardSlot] = {}
    for d in duties:
        if monday <= d["duty_date"] <= sunday:
            slot = slots.setdefault((d["duty_date"], d["shift_no"]), BoardSlot(
                date=d["duty_date"], shift_no=d["shift_no"], starts_at=d["starts_at"],
                ends_at=d["ends_at"], officers=[]))
            slot.officers.append(d["officer_name"])
    on_duty = sorted({d["officer_name"] for d in duties if d["starts_at"] <= now < d["ends_at"]})
    tenant = snapshot.tenants.get(ref.tenant_id)
    return StationBoard(
        code=ref.code, name_zh=ref.name_zh, name_en=ref.name_en, address=ref.address,
        location=location(ref.lon, ref.lat, crs),
        operator=Operator(code=tenant.code, name_zh=tenant.name_zh, name_en=tenant.name_en)
        if tenant else None,
        phone=ref.phone, amenities=amenities(ref.amenities),
        open_now=h.is_open(ref.opening_hours, now),
        hours_today=h.hours_on(ref.opening_hours, h.local_today(now)),
        opening_hours=ref.opening_hours, on_duty_now=on_duty,
        roster_this_week=list(slots.values()),
        supplies=[board_supply(s) for s in supplies],
        latest_check=board_check(check) if check else None, at=now)


ROUTES = [create_station, list_stations, get_station, update_station, deactivate_station,
          reactivate_station, set_roster, get_roster, add_supply, list_supplies, record_check,
          list_checks, missing_checks, nearby_stations, station_board]
