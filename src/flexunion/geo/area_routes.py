"""Admins keep service areas: upload GeoJSON (checked, or repaired on request), list, export."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any, Literal

import shapely
from litestar import Response, delete, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import AUDIENCE_ADMIN, Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller, Role
from flexunion.core.errors import InvalidInput
from flexunion.core.pagination import Page, clamp, decode_cursor, encode_cursor
from flexunion.geo import areas
from flexunion.geo.area_schemas import AreaRead, AreaUploadResult
from flexunion.geo.crs import Crs, geometry_from_wgs84
from flexunion.geo.models import AREA_KINDS, ServiceArea
from flexunion.geo.service import federation_of
from flexunion.geo.shapes import FeatureProblems, check_features, geojson_features

STAFF = {"audiences": (AUDIENCE_ADMIN,),
         "roles": {Role.HQ_ADMIN, Role.REGIONAL_ADMIN, Role.STATION_OFFICER}}
TAGS = ["geo 服务区域"]
SECURITY = [{"bearer": []}]
Kind = Literal["jurisdiction", "delivery_zone", "station_coverage"]
MAX_UPLOAD = 20 * 1024 * 1024


def area_read(a: ServiceArea, codes: dict) -> AreaRead:
    return AreaRead(id=a.id, kind=a.kind, kind_zh=AREA_KINDS[a.kind], code=a.code,
                    name_zh=a.name_zh, name_en=a.name_en, tenant=codes.get(a.tenant_id, "?"),
                    partner=codes.get(a.partner_id) if a.partner_id else None,
                    bbox_wgs84=[a.min_lon, a.min_lat, a.max_lon, a.max_lat],
                    area_km2=round(a.area_m2 / 1e6, 4), vertices=a.vertices,
                    repaired=a.repaired, source=a.source,
                    updated_at=a.updated_at.astimezone(UTC))


def _feature(a: ServiceArea, codes: dict, crs: Crs) -> dict[str, Any]:
    geom = geometry_from_wgs84(shapely.from_wkb(a.geom_wkb), crs)
    return {"type": "Feature", "id": a.code,
            "properties": {"kind": a.kind, "code": a.code, "name_zh": a.name_zh,
                           "name_en": a.name_en, "tenant": codes.get(a.tenant_id),
                           "partner": codes.get(a.partner_id) if a.partner_id else None,
                           "repaired": a.repaired},
            "geometry": shapely.geometry.mapping(geom)}


def _geojson(body: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(body, media_type="application/geo+json")


@put("/v1/admin/geo/areas", opt=STAFF, tags=TAGS, security=SECURITY, status_code=200,
     request_max_body_size=MAX_UPLOAD,
     summary="上传服务区域 Upload areas of one kind as a GeoJSON FeatureCollection (upsert by code)",
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
    if caller.role is Role.STATION_OFFICER and kind != "station_coverage":
        raise InvalidInput("A station officer uploads only its station_coverage.",
                           code="area_kind_not_allowed")
    try:
        features = check_features(geojson_features(data), crs, repair=repair)
    except FeatureProblems as exc:
        raise areas.feature_problems(exc.problems) from exc
    fed = await federation_of(session, caller)
    result = await areas.upsert(session, caller, fed, kind, features, replace=replace,
                                source=f"api:{caller.principal}", now=clock.now())
    return AreaUploadResult(kind=kind, crs=crs.value,
                            created=sorted(a.code for a in result.created),
                            updated=sorted(a.code for a in result.updated),
                            deleted=result.deleted,
                            repaired=sorted(f.code for f in features if f.repaired))


@get("/v1/admin/geo/areas", opt=STAFF, tags=TAGS, security=SECURITY,
     summary="服务区域列表 Areas of my federation (no geometry; by kind and code)")
async def list_areas(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    settings: NamedDependency[Settings],
    kind: Annotated[Kind | None, QueryParameter()] = None,
    tenant: Annotated[str | None, QueryParameter(max_length=64)] = None,
    cursor: Annotated[str | None, QueryParameter(max_length=512)] = None,
    limit: Annotated[int | None, QueryParameter()] = None,
) -> Page[AreaRead]:
    fed = await federation_of(session, caller)
    codes = await areas.codes_by_id(session, fed)
    tenant_id = None
    if tenant is not None:
        tenant_id = next((i for i, c in codes.items() if c == tenant), None)
        if tenant_id is None:
            return Page(items=[])
    size = clamp(limit, settings.api.page_size_default, settings.api.page_size_max)
    after = decode_cursor(cursor, 2)
    rows = await areas.page(session, fed, kind=kind, tenant_id=tenant_id,
                            after=(str(after[0]), str(after[1])) if after else None,
                            limit=size + 1)
    last = rows[size - 1] if len(rows) > size else None
    return Page(items=[area_read(a, codes) for a in rows[:size]],
                next_cursor=encode_cursor(last.kind, last.code) if last else None)


@get("/v1/admin/geo/areas/export", opt=STAFF, tags=TAGS, security=SECURITY,
     media_type="application/geo+json",
     summary="导出服务区域 All areas of a kind as GeoJSON, in the coordinate system asked for")
async def export_areas(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    kind: Annotated[Kind, QueryParameter()],
    crs: Annotated[Crs, QueryParameter()] = Crs.WGS84,
) -> Response[dict[str, Any]]:
    fed = await federation_of(session, caller)
    codes = await areas.codes_by_id(session, fed)
    rows = await areas.page(session, fed, kind=kind, tenant_id=None, after=None, limit=100_000)
    return _geojson({"type": "FeatureCollection", "crs_name": crs.value,
                     "features": [_feature(a, codes, crs) for a in rows]})


@get("/v1/admin/geo/areas/{kind:str}/{code:str}", opt=STAFF, tags=TAGS, security=SECURITY,
     media_type="application/geo+json",
     summary="单个服务区域 One area as a GeoJSON Feature, in the coordinate system asked for")
async def get_area(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    kind: Annotated[Kind, PathParameter()], code: Annotated[str, PathParameter(max_length=64)],
    crs: Annotated[Crs, QueryParameter()] = Crs.WGS84,
) -> Response[dict[str, Any]]:
    fed = await federation_of(session, caller)
    area = await areas.one(session, fed, kind, code)
    return _geojson(_feature(area, await areas.codes_by_id(session, fed), crs))


@delete("/v1/admin/geo/areas/{kind:str}/{code:str}", opt=STAFF, tags=TAGS, security=SECURITY,
        summary="删除服务区域 Delete an area my subtree owns")
async def delete_area(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    kind: Annotated[Kind, PathParameter()], code: Annotated[str, PathParameter(max_length=64)],
) -> None:
    await areas.remove(session, caller, await federation_of(session, caller), kind, code)


ROUTES = [upload_areas, list_areas, export_areas, get_area, delete_area]
