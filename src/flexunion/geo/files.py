"""Areas and stations in a federation's folder, planned and applied with its tenants.

In `federation.yaml`:

    areas:                               # files beside federation.yaml
      - file: areas/jurisdictions.geojson
        kind: jurisdiction               # jurisdiction | delivery_zone | station_coverage
        crs: gcj02                       # of lon/lat files; projected files are reprojected
        layer: zones                     # GeoPackage layer (optional)
        repair: false                    # refuse invalid shapes unless true
    service_points:                      # 驿站/服务点
      - code: sh-xuhui-caohejing
        tenant: sh-xuhui-mt-caohejing    # the station or regional union that keeps it
        name_zh: … ; name_en: … ; address: …
        location: {lon: 121.40, lat: 31.17, crs: gcj02}
        amenities: [drinking_water, charging]
        opening_hours: {mon: [["07:00", "22:00"]], …}
        shift_changes: ["06:00", "10:30", "14:00", "17:00", "21:00"]

GeoJSON, GeoPackage and Shapefile are read through geopandas. Features carry
`code`, `name_zh`, `name_en`, `tenant` and (zones) `partner` as attributes.
Like tenants, areas and stations are created or updated, never deleted here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import shapely
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.core.errors import OperatorError
from flexunion.geo.areas import service as area_service
from flexunion.geo.areas.models import ServiceArea
from flexunion.geo.crs import AbsurdCoordinate, Crs, to_wgs84
from flexunion.geo.shapes import FeatureProblems, features_from_file
from flexunion.geo.stations import hours
from flexunion.geo.stations import service as station_service
from flexunion.geo.stations.models import AMENITIES, ServicePoint

Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}(?!\n)$")]


class AreaFileSpec(msgspec.Struct, forbid_unknown_fields=True):
    file: str
    kind: Literal["jurisdiction", "delivery_zone", "station_coverage"]
    # The lon/lat system of the file: wgs84, gcj02 (Amap, Tencent) or bd09 (Baidu). Omitted
    # means WGS84, and `tenants plan` warns, since GCJ-02 data read as WGS84 is ~500 m off.
    crs: Crs | None = None
    layer: str | None = None
    repair: bool = False


def warnings(path: Path, areas: list[AreaFileSpec]) -> list[str]:
    """What a plan should point out without refusing: area files whose system is assumed."""
    return [f"{path}: $.areas[{i}] ({spec.file}): no `crs:`, read as WGS84. Amap or Tencent "
            "data is GCJ-02 and Baidu BD-09 (about 500 m apart): write `crs: gcj02`, `bd09`, "
            "or `crs: wgs84` to say so"
            for i, spec in enumerate(areas) if spec.crs is None]


class LocationSpec(msgspec.Struct, forbid_unknown_fields=True):
    lon: float
    lat: float
    crs: Crs = Crs.WGS84


class PointSpec(msgspec.Struct, forbid_unknown_fields=True):
    code: Code
    tenant: str
    name_zh: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    name_en: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    address: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    location: LocationSpec
    opening_hours: dict[str, Any]
    amenities: list[str] = []
    shift_changes: list[str] = msgspec.field(default_factory=lambda: ["06:00", "14:00", "22:00"])
    phone: str | None = None


class GeoFileError(OperatorError):
    pass


# change(action, what, label, delta=None): how `plan` reports each area and station it would
# create, update or leave unchanged (the provisioning plan prints these).
Change = Callable[..., None]


def _area_values(path: Path, i: int, spec: AreaFileSpec, tenants: dict[str, tuple[uuid.UUID, str]],
                 partners: dict[str, uuid.UUID | None]) -> list[dict[str, Any]]:
    where = f"{path}: $.areas[{i}]"
    source = path.parent / spec.file
    if not source.is_file():
        raise GeoFileError(f"{where}.file: {source} does not exist")
    try:
        features = features_from_file(str(source), spec.crs or Crs.WGS84, layer=spec.layer,
                                      repair=spec.repair)
    except FeatureProblems as exc:
        listed = "; ".join(f"feature #{p.feature} ({p.code}): {p.problem}: {p.detail}"
                           for p in exc.problems[:10])
        raise GeoFileError(f"{where}: {source.name}: {listed}") from exc
    except Exception as exc:
        raise GeoFileError(f"{where}: {source.name}: cannot read: {exc}") from exc
    rows = []
    for f in features:
        owner = tenants.get(f.tenant or "")
        name = f"{where}: {source.name} feature #{f.index} ({f.code})"
        if owner is None:
            raise GeoFileError(f"{name}: `tenant` {f.tenant!r} is not a tenant of this federation")
        owners = area_service.OWNER_KINDS[spec.kind]
        if owner[1] not in owners:
            raise GeoFileError(f"{name}: a {spec.kind} belongs to a {' or '.join(owners)}, "
                               f"not a {owner[1]}")
        if spec.kind == "delivery_zone" and f.partner not in partners:
            raise GeoFileError(f"{name}: `partner` {f.partner!r} is not in $.partners")
        minx, miny, maxx, maxy = f.geom.bounds
        rows.append({"kind": spec.kind, "code": f.code, "tenant_id": owner[0],
                     "name_zh": f.name_zh, "name_en": f.name_en,
                     "partner_id": partners.get(f.partner) if f.partner else None,
                     "geom_wkb": shapely.to_wkb(f.geom), "min_lon": minx, "min_lat": miny,
                     "max_lon": maxx, "max_lat": maxy, "area_m2": f.area_m2,
                     "vertices": f.vertices, "source": f"file:{spec.file}",
                     "repaired": f.repaired})
    return rows


def _point_values(path: Path, i: int, spec: PointSpec,
                  tenants: dict[str, tuple[uuid.UUID, str]]) -> dict[str, Any]:
    where = f"{path}: $.service_points[{i}]"
    owner = tenants.get(spec.tenant)
    if owner is None or owner[1] == "hq":
        raise GeoFileError(f"{where}.tenant: {spec.tenant!r} is not a region or station here")
    unknown = sorted(set(spec.amenities) - set(AMENITIES))
    if unknown:
        raise GeoFileError(f"{where}.amenities: unknown {unknown}; known: {sorted(AMENITIES)}")
    try:
        lon, lat = to_wgs84(spec.location.lon, spec.location.lat, spec.location.crs)
        opening = hours.parse_opening_hours(spec.opening_hours)
        shifts = hours.parse_shift_changes(spec.shift_changes)
    except (AbsurdCoordinate, ValueError) as exc:
        raise GeoFileError(f"{where}: {exc}") from exc
    return {"code": spec.code, "tenant_id": owner[0], "name_zh": spec.name_zh,
            "name_en": spec.name_en, "address": spec.address, "lon": lon, "lat": lat,
            "amenities": sorted(spec.amenities), "opening_hours": opening,
            "shift_changes": shifts, "phone": spec.phone, "active": True}


def _differs(row: Any, values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    out: dict[str, tuple[Any, Any]] = {}
    for k, v in values.items():
        old = getattr(row, k)
        if k == "geom_wkb":
            same = shapely.from_wkb(old).equals_exact(shapely.from_wkb(v), 1e-12)
            if not same:
                out[k] = ("…", "(new shape)")
        elif isinstance(v, float):
            if abs((old or 0.0) - v) > 1e-9 * max(1.0, abs(v)):
                out[k] = (old, v)
        elif old != v:
            out[k] = (old, v)
    return out


async def plan(session: AsyncSession, path: Path, areas: list[AreaFileSpec],
               points: list[PointSpec], fed_id: uuid.UUID,
               tenants: dict[str, tuple[uuid.UUID, str]], partners: dict[str, uuid.UUID | None],
               apply: bool, change: Change) -> None:
    """Check every file first, then create/update what differs (when applying)."""
    wanted_areas = [row for i, spec in enumerate(areas)
                    for row in _area_values(path, i, spec, tenants, partners)]
    seen: dict[tuple[str, str], int] = {}
    for row in wanted_areas:
        key = (row["kind"], row["code"])
        if key in seen:
            raise GeoFileError(f"{path}: $.areas: {row['kind']} code {row['code']!r} appears twice")
        seen[key] = 1
    wanted_points = [_point_values(path, i, spec, tenants) for i, spec in enumerate(points)]
    if len({p["code"] for p in wanted_points}) != len(wanted_points):
        raise GeoFileError(f"{path}: $.service_points: a code appears twice")

    have_areas = {(a.kind, a.code): a
                  for a in await area_service.federation_areas(session, fed_id)}
    for row in wanted_areas:
        area = have_areas.get((row["kind"], row["code"]))
        label = f"{row['kind']}:{row['code']}"
        if area is None:
            change("create", "area", label)
            if apply:
                area_service.add(session, ServiceArea(id=uuid.uuid4(), federation_id=fed_id,
                                                      **row))
            continue
        delta = _differs(area, {k: v for k, v in row.items() if k not in ("kind", "code")})
        change("update" if delta else "unchanged", "area", label, delta)
        if apply:
            for k, (_, new) in delta.items():
                setattr(area, k, row[k] if k == "geom_wkb" else new)
    have_points = {p.code: p for p in await station_service.federation_points(session, fed_id)}
    for row in wanted_points:
        point = have_points.get(row["code"])
        if point is None:
            change("create", "point", row["code"])
            if apply:
                station_service.add(session, ServicePoint(id=uuid.uuid4(), federation_id=fed_id,
                                                          **row))
            continue
        delta = _differs(point, {k: v for k, v in row.items() if k != "code"})
        change("update" if delta else "unchanged", "point", row["code"], delta)
        if apply:
            for k, (_, new) in delta.items():
                setattr(point, k, new)
    if apply:
        await area_service.flush(session)
