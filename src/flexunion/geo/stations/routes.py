"""驿站/服务点: officers keep stations, rosters, supplies and weekly checks (admin API);
workers find the nearest stations and read a station's board (mobile API)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from litestar import Router, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import AUDIENCE_ADMIN, AUDIENCE_MOBILE
from flexunion.core.clock import Clock
from flexunion.core.context import ADMIN_ROLES, Caller, Role
from flexunion.core.fastlane import (
    Declined,
    LaneRequest,
    boolean,
    decimal,
    integer,
    lane,
    member,
)
from flexunion.core.http import BEARER, PAGING, STAFF, Paging, access, problems
from flexunion.core.pagination import Page, clamp, decode_cursor, page_of
from flexunion.core.uow import UnitOfWork
from flexunion.geo.crs import Crs, wgs84_point
from flexunion.geo.registry import GeoRegistry
from flexunion.geo.stations import service
from flexunion.geo.stations.models import ServicePoint
from flexunion.geo.stations.schemas import (
    AmenityCode,
    CheckCreate,
    CheckRead,
    MissingCheck,
    NearbyStations,
    RosterRead,
    RosterSet,
    StationBoard,
    StationCreate,
    StationRead,
    StationUpdate,
    SupplyCreate,
    SupplyRead,
    board_read,
    check_read,
    duty_reads,
    missing_check,
    nearby_answer,
    station_read,
    supply_read,
)

StationCode = Annotated[str, PathParameter(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}(?!\n)$")]
CrsParam = Annotated[Crs, QueryParameter(description="坐标系 coordinate system of the answer "
                                                     "(and of lat/lon asked about)")]
Limit = Annotated[int | None, QueryParameter()]


async def _read(session: AsyncSession, caller: Caller, point: ServicePoint,
                crs: Crs = Crs.WGS84) -> StationRead:
    return station_read(point, await service.tenant_codes(session, caller), crs)


# ---- stations -----------------------------------------------------------------------------


@post("/", summary="新建驿站 Create a station in my tenant or its subtree",
      responses=problems({
          401: "token_tenant_unknown: the token's tenant no longer exists",
          409: "station_code_taken",
          422: "amenity_unknown, coordinate_out_of_range, opening_hours_invalid, "
               "phone_invalid, shift_changes_invalid, station_code_reserved, "
               "station_tenant_invalid"}))
async def create_station(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                         clock: NamedDependency[Clock], data: JSONBody[StationCreate],
                         crs: CrsParam = Crs.WGS84) -> StationRead:
    return await _read(session, caller, await service.create(session, caller, data, clock.now()),
                       crs)


@get("/", dependencies=PAGING, summary="驿站列表 Stations of my subtree, by code",
     responses=problems({
         401: "token_tenant_unknown: the token's tenant no longer exists",
         404: "tenant_not_found: `tenant` names no tenant of my subtree",
         422: "cursor_invalid"}))
async def list_stations(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    paging: NamedDependency[Paging],
    tenant: Annotated[str | None, QueryParameter(
        max_length=64, description="只看该单位及其下级 only this tenant and its subtree")] = None,
    active: Annotated[bool | None, QueryParameter()] = None,
    crs: CrsParam = Crs.WGS84,
) -> Page[StationRead]:
    after = decode_cursor(paging.cursor, 1)
    rows = await service.page(session, caller, tenant=tenant, active=active,
                              after=str(after[0]) if after else None, limit=paging.size + 1)
    codes = await service.tenant_codes(session, caller)
    return page_of(rows, paging.size, lambda p: station_read(p, codes, crs), lambda p: (p.code,))


@get("/{code:str}", summary="驿站详情 One station of my subtree",
     responses=problems({404: "station_not_found"}))
async def get_station(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                      code: StationCode, crs: CrsParam = Crs.WGS84) -> StationRead:
    return await _read(session, caller, await service.access_station(session, code), crs)


@patch("/{code:str}", summary="修改驿站 Change a station (only the fields sent)",
       responses=problems({
           404: "station_not_found",
           409: "shift_changes_in_use",
           422: "amenity_unknown, coordinate_out_of_range, opening_hours_invalid, "
                "phone_invalid, shift_changes_invalid"}))
async def update_station(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                         clock: NamedDependency[Clock], code: StationCode,
                         data: JSONBody[StationUpdate], crs: CrsParam = Crs.WGS84) -> StationRead:
    return await _read(session, caller, await service.update(session, code, data, clock.now()),
                       crs)


@post("/{code:str}/deactivate", status_code=200,
      summary="停用驿站 Take a station off the map (its records stay)",
      responses=problems({404: "station_not_found"}))
async def deactivate_station(session: NamedDependency[AsyncSession],
                             caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                             code: StationCode) -> StationRead:
    return await _read(session, caller,
                       await service.set_active(session, code, False, clock.now()))


@post("/{code:str}/reactivate", status_code=200,
      summary="恢复驿站 Put a deactivated station back on the map",
      responses=problems({404: "station_not_found"}))
async def reactivate_station(session: NamedDependency[AsyncSession],
                             caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                             code: StationCode) -> StationRead:
    return await _read(session, caller,
                       await service.set_active(session, code, True, clock.now()))


# ---- roster, supplies, checks ---------------------------------------------------------------


@put("/{code:str}/roster", summary="排班 Set the duty roster of one date (replaces that date)",
     responses=problems({
         404: "station_not_found",
         422: "date_range_invalid, roster_duplicate, shift_no_invalid"}))
async def set_roster(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                     clock: NamedDependency[Clock], code: StationCode,
                     data: JSONBody[RosterSet]) -> RosterRead:
    point = await service.set_roster(session, caller, code, data.date, data.duties, clock.now())
    duties = await service.roster(session, point, data.date, data.date)
    return RosterRead(station=point.code, from_=data.date, to=data.date,
                      duties=duty_reads(duties))


@get("/{code:str}/roster",
     summary="排班表 The roster of a date range (default: this week, Monday to Sunday)",
     responses=problems({404: "station_not_found", 422: "date_range_invalid"}))
async def get_roster(
    session: NamedDependency[AsyncSession], clock: NamedDependency[Clock], code: StationCode,
    from_: Annotated[date | None, QueryParameter(name="from")] = None,
    to: Annotated[date | None, QueryParameter()] = None,
) -> RosterRead:
    start = from_ or service.this_week(clock.now())[0]
    end = to or start + timedelta(days=6)
    point = await service.access_station(session, code)
    duties = await service.roster(session, point, start, end)
    return RosterRead(station=point.code, from_=start, to=end, duties=duty_reads(duties))


@post("/{code:str}/supplies", summary="登记季节性物资 Add seasonal supplies (高温/寒潮/暴雨台风)",
      responses=problems({404: "station_not_found", 422: "supply_dates_invalid"}))
async def add_supply(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                     clock: NamedDependency[Clock], code: StationCode,
                     data: JSONBody[SupplyCreate]) -> SupplyRead:
    _, supply = await service.add_supply(session, caller, code, data, clock.now())
    return supply_read(supply)


@get("/{code:str}/supplies",
     summary="季节性物资 Seasonal supplies, latest first (active_on: valid that day)",
     responses=problems({404: "station_not_found"}))
async def list_supplies(session: NamedDependency[AsyncSession], code: StationCode,
                        active_on: Annotated[date | None, QueryParameter()] = None,
                        limit: Limit = None) -> list[SupplyRead]:
    point = await service.access_station(session, code)
    rows = await service.supplies(session, point, active_on, clamp(limit, 50, 200))
    return [supply_read(s) for s in rows]


@post("/{code:str}/checks",
      summary="每周巡检 Record this week's check (补货、保洁、设备状态); one per ISO week",
      responses=problems({
          404: "station_not_found",
          409: "check_exists",
          422: "check_week_invalid, check_week_future"}))
async def record_check(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                       clock: NamedDependency[Clock], code: StationCode,
                       data: JSONBody[CheckCreate]) -> CheckRead:
    point, check = await service.record_check(session, caller, code, data, clock.now())
    return check_read(point.code, check)


@get("/{code:str}/checks", summary="巡检记录 Recent weekly checks, newest week first",
     responses=problems({404: "station_not_found"}))
async def list_checks(session: NamedDependency[AsyncSession], code: StationCode,
                      limit: Limit = None) -> list[CheckRead]:
    point = await service.access_station(session, code)
    return [check_read(point.code, c)
            for c in await service.checks(session, point, clamp(limit, 10, 104))]


@get("/", dependencies=PAGING,
     summary="未巡检驿站 Active stations of my subtree without a check for the week",
     responses=problems({
         401: "token_tenant_unknown: the token's tenant no longer exists",
         404: "tenant_not_found: `tenant` names no tenant of my subtree",
         422: "check_week_invalid, check_week_future, cursor_invalid"}))
async def missing_checks(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], paging: NamedDependency[Paging],
    week: Annotated[str | None, QueryParameter(
        max_length=16,
        description='ISO 周 e.g. "2026-W05"; default this week (Beijing time)')] = None,
    tenant: Annotated[str | None, QueryParameter(max_length=64)] = None,
) -> Page[MissingCheck]:
    wk = service.week_for(week, clock.now())
    after = decode_cursor(paging.cursor, 1)
    rows = await service.missing_checks(session, caller, week=wk, tenant=tenant,
                                        after=str(after[0]) if after else None,
                                        limit=paging.size + 1)
    codes = await service.tenant_codes(session, caller)
    return page_of(rows, paging.size, lambda r: missing_check(r, codes, wk), lambda r: (r.code,))


# ---- workers ------------------------------------------------------------------------------


@get("/nearby", summary="附近驿站 Nearest stations: geodesic distance, open now, amenities",
     responses=problems({
         401: "token_tenant_unknown: the token's tenant no longer exists",
         422: "amenity_unknown, coordinate_out_of_range"}))
async def nearby_stations(
    uow: NamedDependency[UnitOfWork], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], geo: NamedDependency[GeoRegistry],
    lat: Annotated[float, QueryParameter(description="纬度 latitude")],
    lon: Annotated[float, QueryParameter(description="经度 longitude")],
    crs: CrsParam = Crs.WGS84,
    radius_m: Annotated[int, QueryParameter(ge=1, le=50_000)] = 3000,
    limit: Annotated[int, QueryParameter(ge=1, le=50)] = 10,
    amenity: Annotated[list[AmenityCode] | None, QueryParameter(
        description="设施 required amenities (repeatable; a station must have all)")] = None,
    open_now: Annotated[bool | None, QueryParameter(
        description="true: only stations open now; otherwise all, each saying open_now")] = None,
) -> NearbyStations:
    return await _nearby(uow, caller, clock, geo, lat, lon, crs, radius_m, limit, amenity,
                         open_now)


async def _nearby(uow: UnitOfWork, caller: Caller, clock: Clock, geo: GeoRegistry,
                  lat: float, lon: float, crs: Crs, radius_m: int, limit: int,
                  amenity: list[str] | None, open_now: bool | None) -> NearbyStations:
    x, y = wgs84_point(lon, lat, crs)
    wanted = frozenset(service.check_amenities(amenity or []))
    now = clock.now()
    snapshot = await geo.for_caller(uow, caller)  # from memory: no session unless staff asks
    found = service.nearby(snapshot, x, y, radius_m=radius_m, limit=limit, amenities=wanted,
                           open_now=bool(open_now), at=now)
    closed = service.closed_nearby(snapshot, x, y, radius_m=radius_m, amenities=wanted,
                                   at=now) if open_now else 0
    return nearby_answer(snapshot.points, found, crs, now, closed)


@get("/{code:str}",
     summary="驿站公示 A station's board: hours, amenities, who is on duty, supplies, checks",
     responses=problems({
         401: "token_tenant_unknown: the token's tenant no longer exists",
         404: "station_not_found"}))
async def station_board(
    uow: NamedDependency[UnitOfWork], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], geo: NamedDependency[GeoRegistry], code: StationCode,
    crs: CrsParam = Crs.WGS84,
) -> StationBoard:
    now = clock.now()
    board = await service.board(geo, await geo.for_caller(uow, caller), code, now)
    return board_read(board.station, board.operator, board.duties, board.supplies,
                         board.latest_check, crs=crs, now=now)


async def _nearby_lane(request: LaneRequest) -> NearbyStations:
    """The fast lane of GET /v1/geo/stations/nearby (core/fastlane.py): plain decimal
    lat/lon, a known crs, radius and limit in decimal digits within the route's bounds,
    `true`/`false`, known amenity codes; else the pipeline's."""
    query = request.query
    assert request.caller is not None
    amenity = request.lists.get("amenity")
    if amenity and any(len(code) > 32 for code in amenity):  # AmenityCode's max_length
        raise Declined
    return await _nearby(
        request.uow, request.caller, request.state.clock, request.state.geo,
        decimal(query.get("lat")), decimal(query.get("lon")),
        member(query.get("crs"), Crs, Crs.WGS84),
        integer(query.get("radius_m"), 3000, 1, 50_000), integer(query.get("limit"), 10, 1, 50),
        amenity, boolean(query.get("open_now")))


FINDERS = access(AUDIENCE_MOBILE, AUDIENCE_ADMIN, roles={Role.WORKER, *ADMIN_ROLES})
router = Router("/", tags=["stations 驿站"], security=BEARER, route_handlers=[
    Router("/v1/admin/geo/stations", opt=STAFF, route_handlers=[
        create_station, list_stations, get_station, update_station, deactivate_station,
        reactivate_station, set_roster, get_roster, add_supply, list_supplies, record_check,
        list_checks]),
    Router("/v1/admin/geo/station-checks/missing", opt=STAFF, route_handlers=[missing_checks]),
    Router("/v1/geo/stations", opt=FINDERS, route_handlers=[nearby_stations, station_board]),
])
# Answered before the router when the request is of the plainest shape (core/fastlane.py);
# the route above documents the operation and answers everything else.
LANES = [lane("GET", "/v1/geo/stations/nearby", _nearby_lane, FINDERS,
              query=frozenset({"lat", "lon", "crs", "radius_m", "limit", "amenity", "open_now"}),
              repeated=frozenset({"amenity"}))]
