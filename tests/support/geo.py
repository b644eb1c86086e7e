"""Geo fixtures: shapes, and areas/stations put straight into a test federation.

`seed_area`/`seed_point` write through an owner session (behind the API's back), for
tests about something else that only need areas or stations to exist. Tests of the
areas API itself go through `PUT /v1/admin/geo/areas`."""

from __future__ import annotations

import uuid
from typing import Any

import shapely
from pyproj import Geod
from shapely.geometry import box, mapping
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.federation.models import PlatformPartner
from flexunion.geo.areas.models import ServiceArea
from flexunion.geo.stations.models import ServicePoint
from tests.support.factories import Federation

# Two test regions far apart, in WGS84: r1 ≈ 上海徐汇, r2 ≈ 杭州西湖 (boxes, 0.1° a side).
SHANGHAI = (121.40, 31.15, 121.50, 31.25)
HANGZHOU = (120.10, 30.22, 120.20, 30.32)
_GEOD = Geod(ellps="WGS84")


def square(minx: float, miny: float, maxx: float, maxy: float) -> shapely.Polygon:
    return box(minx, miny, maxx, maxy)


def feature(code: str, geom: Any, **props: Any) -> dict[str, Any]:
    geometry = geom if isinstance(geom, dict) else mapping(geom)
    return {"type": "Feature", "geometry": geometry,
            "properties": {"code": code, "name_zh": f"区域{code}", "name_en": f"Area {code}"}
            | props}


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def offset(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    """A point so many metres east and north of (lon, lat), geodesically."""
    lon2, lat2, _ = _GEOD.fwd(lon, lat, 90.0, east_m)
    lon3, lat3, _ = _GEOD.fwd(lon2, lat2, 0.0, north_m)
    return lon3, lat3


async def seed_area(owner: async_sessionmaker[AsyncSession], fed: Federation, tenant: str,
                    kind: str, code: str, geom: shapely.Geometry,
                    partner: str | None = None) -> uuid.UUID:
    geod_area, _ = _GEOD.geometry_area_perimeter(geom)
    async with owner() as s, s.begin():
        partner_id = None
        if partner:
            partner_id = await s.scalar(select(PlatformPartner.id).where(
                PlatformPartner.tenant_id == fed.ids[fed.hq], PlatformPartner.code == partner))
        minx, miny, maxx, maxy = geom.bounds
        area = ServiceArea(
            id=uuid.uuid4(), federation_id=fed.ids[fed.hq], tenant_id=fed.ids[tenant], kind=kind,
            code=code, name_zh=f"区域{code}", name_en=f"Area {code}", partner_id=partner_id,
            geom_wkb=shapely.to_wkb(geom), min_lon=minx, min_lat=miny, max_lon=maxx,
            max_lat=maxy, area_m2=abs(geod_area), vertices=int(shapely.get_num_coordinates(geom)),
            source="test", repaired=False)
        s.add(area)
    return area.id


async def seed_point(owner: async_sessionmaker[AsyncSession], fed: Federation, tenant: str,
                     code: str, lon: float, lat: float, **over: Any) -> uuid.UUID:
    values: dict[str, Any] = {
        "name_zh": f"驿站{code}", "name_en": f"Rest point {code}", "address": f"测试路 {code} 号",
        "amenities": ["drinking_water", "charging", "rest"],
        "opening_hours": {d: [["00:00", "24:00"]]
                          for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        "shift_changes": ["06:00", "14:00", "22:00"], "phone": None, "active": True,
    } | over
    async with owner() as s, s.begin():
        point = ServicePoint(id=uuid.uuid4(), federation_id=fed.ids[fed.hq],
                             tenant_id=fed.ids[tenant], code=code, lon=lon, lat=lat, **values)
        s.add(point)
    return point.id
