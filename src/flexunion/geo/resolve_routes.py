"""Where am I? A point → its union's jurisdiction, delivery zones and station coverages."""

from __future__ import annotations

from typing import Annotated

from litestar import get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import AUDIENCE_ADMIN, AUDIENCE_MOBILE
from flexunion.core.context import Caller
from flexunion.geo.area_schemas import Jurisdiction, Position, Resolution, ResolvedArea, UnionRef
from flexunion.geo.crs import Crs
from flexunion.geo.index import AreaHit
from flexunion.geo.registry import GeoRegistry
from flexunion.geo.service import jurisdiction_of, snapshot_for, wgs84_point

READERS = {"audiences": (AUDIENCE_MOBILE, AUDIENCE_ADMIN)}
TAGS = ["geo 服务区域"]
SECURITY = [{"bearer": []}]
Lat = Annotated[float, QueryParameter(description="纬度 latitude, in `crs`")]
Lon = Annotated[float, QueryParameter(description="经度 longitude, in `crs`")]


def _area(hit: AreaHit) -> ResolvedArea:
    a = hit.area
    return ResolvedArea(kind=a.kind, code=a.code, name_zh=a.name_zh, name_en=a.name_en,
                        tenant=a.tenant_code, partner=a.partner_code, on_border=hit.on_border)


@get("/v1/geo/resolve", opt=READERS, tags=TAGS, security=SECURITY,
     summary="定位所属工会与片区 Which union's jurisdiction, delivery zones and station coverages "
             "hold this point",
     description=(
         "Served from an in-process spatial index of the caller's federation. A point exactly "
         "on a border is inside every area it touches (`on_border: true`); `jurisdiction` then "
         "picks one by a stable rule (lowest code) and says so, while `jurisdictions` lists all."))
async def resolve(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    geo: NamedDependency[GeoRegistry], lat: Lat, lon: Lon,
    crs: Annotated[Crs, QueryParameter()] = Crs.WGS84,
) -> Resolution:
    wlon, wlat = wgs84_point(lon, lat, crs)
    snap = await snapshot_for(session, caller, geo)
    hits = snap.areas.resolve(wlon, wlat)
    chosen = jurisdiction_of(hits)
    jurisdiction = None
    if chosen is not None:
        union = snap.tenants.get(chosen.area.tenant_id)
        jurisdiction = Jurisdiction(
            union=UnionRef(code=chosen.area.tenant_code,
                           name_zh=union.name_zh if union else chosen.area.name_zh,
                           name_en=union.name_en if union else chosen.area.name_en,
                           city=union.city if union else None),
            area=_area(chosen), on_border=chosen.on_border)
    targets: list[UnionRef] = []
    for hit in hits:
        tenant = snap.tenants.get(hit.area.tenant_id)
        if hit.area.kind == "station_coverage" and tenant is not None:
            targets.append(UnionRef(code=tenant.code, name_zh=tenant.name_zh,
                                    name_en=tenant.name_en, city=tenant.city))
    if jurisdiction is not None:
        targets.append(jurisdiction.union)
    return Resolution(
        point=Position(lon=lon, lat=lat, crs=crs.value),
        wgs84=Position(lon=round(wlon, 7), lat=round(wlat, 7), crs=Crs.WGS84.value),
        jurisdiction=jurisdiction,
        jurisdictions=[_area(h) for h in hits if h.area.kind == "jurisdiction"],
        delivery_zones=[_area(h) for h in hits if h.area.kind == "delivery_zone"],
        station_coverages=[_area(h) for h in hits if h.area.kind == "station_coverage"],
        join_targets=list({t.code: t for t in targets}.values()), index_version=snap.version)


ROUTES = [resolve]
