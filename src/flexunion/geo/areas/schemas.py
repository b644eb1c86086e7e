"""Service areas — what admins send and see, and where a point lies (resolve); with the
functions that build those answers from rows and index hits."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
import shapely

from flexunion.geo.areas.models import AREA_KINDS, ServiceArea
from flexunion.geo.crs import Crs, geometry_from_wgs84
from flexunion.geo.index import AreaHit
from flexunion.geo.registry import GeoSnapshot, TenantRef

Kind = Literal["jurisdiction", "delivery_zone", "station_coverage"]


class AreaRead(msgspec.Struct):
    id: uuid.UUID
    kind: str
    kind_zh: str
    code: str
    name_zh: str
    name_en: str
    tenant: str
    partner: str | None
    bbox_wgs84: list[float]
    area_km2: float
    vertices: int
    repaired: bool
    source: str
    updated_at: datetime


class AreaUploadResult(msgspec.Struct):
    kind: str
    crs: str
    created: list[str]
    updated: list[str]
    deleted: list[str]
    repaired: list[str]


class Position(msgspec.Struct):
    lon: float
    lat: float
    crs: str


class UnionRef(msgspec.Struct):
    code: str
    name_zh: str
    name_en: str
    city: str | None


class ResolvedArea(msgspec.Struct):
    kind: str
    code: str
    name_zh: str
    name_en: str
    tenant: str
    partner: str | None
    on_border: bool


class Jurisdiction(msgspec.Struct):
    """The regional union whose territory holds the point (工会辖区), with its 6-digit
    administrative division code (行政区划代码, e.g. "310104" for 上海市徐汇区)."""

    union: UnionRef
    adcode: str | None
    area: ResolvedArea
    on_border: bool


class Resolution(msgspec.Struct):
    point: Position
    wgs84: Position
    jurisdiction: Jurisdiction | None
    jurisdictions: list[ResolvedArea]
    delivery_zones: list[ResolvedArea]
    station_coverages: list[ResolvedArea]
    # Where a worker here could join (线上入会 `join`): stations whose reach holds the point,
    # then the jurisdiction's union.
    join_targets: list[UnionRef]
    index_version: int


# ---- building answers -----------------------------------------------------------------------


def area_read(a: ServiceArea, codes: Mapping[uuid.UUID, str]) -> AreaRead:
    return AreaRead(id=a.id, kind=a.kind, kind_zh=AREA_KINDS[a.kind], code=a.code,
                    name_zh=a.name_zh, name_en=a.name_en, tenant=codes.get(a.tenant_id, "?"),
                    partner=codes.get(a.partner_id) if a.partner_id else None,
                    bbox_wgs84=[a.min_lon, a.min_lat, a.max_lon, a.max_lat],
                    area_km2=round(a.area_m2 / 1e6, 4), vertices=a.vertices,
                    repaired=a.repaired, source=a.source,
                    updated_at=a.updated_at.astimezone(UTC))


def area_feature(a: ServiceArea, codes: Mapping[uuid.UUID, str], crs: Crs) -> dict[str, Any]:
    """One area as a GeoJSON Feature, its geometry in `crs`."""
    geom = geometry_from_wgs84(shapely.from_wkb(a.geom_wkb), crs)
    return {"type": "Feature", "id": a.code,
            "properties": {"kind": a.kind, "code": a.code, "name_zh": a.name_zh,
                           "name_en": a.name_en, "tenant": codes.get(a.tenant_id),
                           "partner": codes.get(a.partner_id) if a.partner_id else None,
                           "repaired": a.repaired},
            "geometry": shapely.geometry.mapping(geom)}


def resolved_area(hit: AreaHit) -> ResolvedArea:
    a = hit.area
    return ResolvedArea(kind=a.kind, code=a.code, name_zh=a.name_zh, name_en=a.name_en,
                        tenant=a.tenant_code, partner=a.partner_code, on_border=hit.on_border)


def union_ref(tenant: TenantRef) -> UnionRef:
    return UnionRef(code=tenant.code, name_zh=tenant.name_zh, name_en=tenant.name_en,
                    city=tenant.city)


def resolution(snap: GeoSnapshot, hits: list[AreaHit], chosen: AreaHit | None, *,
               point: Position, wgs84: Position) -> Resolution:
    """What covers a point: `hits` from the index, `chosen` the one jurisdiction."""
    jurisdiction = None
    if chosen is not None:
        union = snap.tenants.get(chosen.area.tenant_id)
        jurisdiction = Jurisdiction(
            union=union_ref(union) if union else UnionRef(
                code=chosen.area.tenant_code, name_zh=chosen.area.name_zh,
                name_en=chosen.area.name_en, city=None),
            adcode=union.adcode if union else None,
            area=resolved_area(chosen), on_border=chosen.on_border)
    targets = [union_ref(tenant) for hit in hits if hit.area.kind == "station_coverage"
               and (tenant := snap.tenants.get(hit.area.tenant_id)) is not None]
    if jurisdiction is not None:
        targets.append(jurisdiction.union)
    return Resolution(
        point=point, wgs84=wgs84, jurisdiction=jurisdiction,
        jurisdictions=[resolved_area(h) for h in hits if h.area.kind == "jurisdiction"],
        delivery_zones=[resolved_area(h) for h in hits if h.area.kind == "delivery_zone"],
        station_coverages=[resolved_area(h) for h in hits if h.area.kind == "station_coverage"],
        join_targets=list({t.code: t for t in targets}.values()), index_version=snap.version)
