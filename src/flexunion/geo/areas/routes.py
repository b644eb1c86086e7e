"""Admins keep service areas: upload GeoJSON (checked, or repaired on request), list,
export, delete. Workers and staff ask which union's jurisdiction holds a point."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Response, Router, delete, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import AUDIENCE_ADMIN, AUDIENCE_MOBILE
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.fastlane import LaneRequest, decimal, lane, member
from flexunion.core.http import BEARER, PAGING, STAFF, Paging, access, problems
from flexunion.core.pagination import Page, decode_cursor, page_of
from flexunion.core.uow import UnitOfWork
from flexunion.geo.areas import service
from flexunion.geo.areas.schemas import (
    AreaRead,
    AreaUploadResult,
    Kind,
    Position,
    Resolution,
    area_feature,
    area_read,
    resolution,
)
from flexunion.geo.crs import Crs, wgs84_point
from flexunion.geo.registry import GeoRegistry

MAX_UPLOAD = service.MAX_UPLOAD
Lat = Annotated[float, QueryParameter(description="纬度 latitude, in `crs`")]
Lon = Annotated[float, QueryParameter(description="经度 longitude, in `crs`")]
AreaCode = Annotated[str, PathParameter(max_length=64)]


def _geojson(body: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(body, media_type="application/geo+json")


@put("/", status_code=200, request_max_body_size=MAX_UPLOAD,
     responses=problems({401: "token_tenant_unknown: the token's tenant no longer exists",
                         422: "invalid_features (with `errors`, one per feature problem), "
                              "area_kind_not_allowed"}),
     summary="上传服务区域 Upload areas of one kind as a GeoJSON FeatureCollection "
             "(upsert by code)",
     description=(
         "Feature properties: `code` (required), `name_zh` (required), `name_en`, `tenant` (owner "
         "tenant code, default your own), `partner` (platform code, required for delivery_zone). "
         "Every feature is checked; any problem refuses the whole upload with 422 "
         "`invalid_features` listing each feature's problem, unless `repair=true` closes rings and "
         "makes shapes valid (the area is then marked repaired). `replace=true` also deletes "
         "areas of this kind owned by the uploaded features' tenants that the upload omits."))
async def upload_areas(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], data: JSONBody[dict[str, Any]],
    kind: Annotated[Kind, QueryParameter()],
    crs: Annotated[Crs, QueryParameter()] = Crs.WGS84,
    repair: Annotated[bool, QueryParameter()] = False,
    replace: Annotated[bool, QueryParameter()] = False,
) -> AreaUploadResult:
    result = await service.upload(session, caller, kind, data, crs=crs, repair=repair,
                                  replace=replace, now=clock.now())
    return AreaUploadResult(kind=kind, crs=crs.value,
                            created=sorted(a.code for a in result.created),
                            updated=sorted(a.code for a in result.updated),
                            deleted=result.deleted,
                            repaired=sorted(f.code for f in result.features if f.repaired))


@get("/", dependencies=PAGING,
     summary="服务区域列表 Areas of my federation (no geometry; by kind and code)",
     responses=problems({
         401: "token_tenant_unknown: the token's tenant no longer exists",
         422: "cursor_invalid"}))
async def list_areas(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    paging: NamedDependency[Paging],
    kind: Annotated[Kind | None, QueryParameter()] = None,
    tenant: Annotated[str | None, QueryParameter(max_length=64)] = None,
) -> Page[AreaRead]:
    after = decode_cursor(paging.cursor, 2)
    rows, codes = await service.page(
        session, caller, kind=kind, tenant=tenant,
        after=(str(after[0]), str(after[1])) if after else None, limit=paging.size + 1)
    return page_of(rows, paging.size, lambda a: area_read(a, codes), lambda a: (a.kind, a.code))


@get("/export", media_type="application/geo+json",
     summary="导出服务区域 All areas of a kind as GeoJSON, in the coordinate system asked for",
     responses=problems({401: "token_tenant_unknown: the token's tenant no longer exists"}))
async def export_areas(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    kind: Annotated[Kind, QueryParameter()],
    crs: Annotated[Crs, QueryParameter()] = Crs.WGS84,
) -> Response[dict[str, Any]]:
    rows, codes = await service.export(session, caller, kind)
    return _geojson({"type": "FeatureCollection", "crs_name": crs.value,
                     "features": [area_feature(a, codes, crs) for a in rows]})


@get("/{kind:str}/{code:str}", media_type="application/geo+json",
     responses=problems({401: "token_tenant_unknown: the token's tenant no longer exists",
                         404: "area_not_found"}),
     summary="单个服务区域 One area as a GeoJSON Feature, in the coordinate system asked for")
async def get_area(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    kind: Annotated[Kind, PathParameter()], code: AreaCode,
    crs: Annotated[Crs, QueryParameter()] = Crs.WGS84,
) -> Response[dict[str, Any]]:
    area, codes = await service.one(session, caller, kind, code)
    return _geojson(area_feature(area, codes, crs))


@delete("/{kind:str}/{code:str}",
        responses=problems({401: "token_tenant_unknown: the token's tenant no longer exists",
                            404: "area_not_found (also another subtree's area)"}),
        summary="删除服务区域 Delete an area my subtree owns")
async def delete_area(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    kind: Annotated[Kind, PathParameter()], code: AreaCode,
) -> None:
    await service.remove(session, caller, kind, code)


@get("/",
     responses=problems({401: "token_tenant_unknown: the token's tenant no longer exists",
                         422: "coordinate_out_of_range"}),
     summary="定位所属工会与片区 Which union's jurisdiction, delivery zones and station coverages "
             "hold this point",
     description=(
         "Served from an in-process spatial index of the caller's federation. A point exactly "
         "on a border is inside every area it touches (`on_border: true`); `jurisdiction` then "
         "picks one by a stable rule (lowest code) and says so, while `jurisdictions` lists all. "
         "`jurisdiction.adcode` is the union's 6-digit administrative division code "
         "(行政区划代码)."))
async def resolve(
    uow: NamedDependency[UnitOfWork], caller: NamedDependency[Caller],
    geo: NamedDependency[GeoRegistry], lat: Lat, lon: Lon,
    crs: Annotated[Crs, QueryParameter()] = Crs.WGS84,
) -> Resolution:
    return await _resolve(uow, caller, geo, lat, lon, crs)


async def _resolve(uow: UnitOfWork, caller: Caller, geo: GeoRegistry, lat: float, lon: float,
                   crs: Crs) -> Resolution:
    wlon, wlat = wgs84_point(lon, lat, crs)
    snap = await geo.for_caller(uow, caller)  # from memory: no session unless staff asks
    hits = snap.areas.resolve(wlon, wlat)
    return resolution(snap, hits, service.jurisdiction_of(hits),
                      point=Position(lon=lon, lat=lat, crs=crs.value),
                      wgs84=Position(lon=round(wlon, 7), lat=round(wlat, 7),
                                     crs=Crs.WGS84.value))


async def _resolve_lane(request: LaneRequest) -> Resolution:
    """The fast lane of GET /v1/geo/resolve (core/fastlane.py): plain decimal lat/lon and a
    known crs, else the pipeline's."""
    query = request.query
    assert request.caller is not None
    return await _resolve(request.uow, request.caller, request.state.geo,
                          decimal(query.get("lat")), decimal(query.get("lon")),
                          member(query.get("crs"), Crs, Crs.WGS84))


RESOLVERS = access(AUDIENCE_MOBILE, AUDIENCE_ADMIN)
router = Router("/", tags=["geo 服务区域"], security=BEARER, route_handlers=[
    Router("/v1/admin/geo/areas", opt=STAFF,
           route_handlers=[upload_areas, list_areas, export_areas, get_area, delete_area]),
    Router("/v1/geo/resolve", opt=RESOLVERS, route_handlers=[resolve]),
])
# Answered before the router when the request is of the plainest shape (core/fastlane.py);
# the route above documents the operation and answers everything else.
LANES = [lane("GET", "/v1/geo/resolve", _resolve_lane, RESOLVERS,
              query=frozenset({"lat", "lon", "crs"}))]
