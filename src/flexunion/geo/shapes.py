"""Checking area features before they are stored: every problem names its feature.

Input comes as GeoJSON (admin API, tenants/*.geojson) or as geometries read by
geopandas (GeoPackage, Shapefile). A feature must be a Polygon or MultiPolygon
with closed rings of ≥ 4 positions, finite coordinates on Earth, and be valid
(no self-intersection). Invalid shapes are refused, unless the caller asks for
repair: then rings are closed and `shapely.make_valid` keeps the polygonal
parts — and the feature is marked repaired so nobody forgets it was.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import shapely
from pyproj import Geod
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from flexunion.geo.crs import Crs, geometry_to_wgs84

CODE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
MAX_FEATURES = 5_000
_GEOD = Geod(ellps="WGS84")

PROBLEMS = {
    "not_a_feature": "不是 GeoJSON Feature",
    "bad_property": "属性缺失或格式错误",
    "duplicate_code": "同一批次中编码重复",
    "not_polygonal": "几何类型必须是 Polygon 或 MultiPolygon",
    "empty": "几何为空或面积为零",
    "malformed_coordinates": "坐标结构错误",
    "absurd_coordinate": "坐标超出地球范围（经纬度是否颠倒？）",
    "unclosed_ring": "环未闭合（首尾坐标须相同）",
    "too_few_points": "环至少需要 4 个坐标点",
    "self_intersection": "自相交",
    "invalid_geometry": "几何无效",
}
PROBLEMS_EN = {
    "not_a_feature": "Not a GeoJSON Feature",
    "bad_property": "A property is missing or malformed",
    "duplicate_code": "The code appears twice in this upload",
    "not_polygonal": "The geometry must be a Polygon or MultiPolygon",
    "empty": "The geometry is empty or has no area",
    "malformed_coordinates": "The coordinates are malformed",
    "absurd_coordinate": "A coordinate is not on Earth (longitude and latitude swapped?)",
    "unclosed_ring": "A ring is not closed (its first and last positions must be equal)",
    "too_few_points": "A ring needs at least 4 positions",
    "self_intersection": "The shape intersects itself",
    "invalid_geometry": "The geometry is invalid",
}


@dataclass(frozen=True, slots=True)
class Problem:
    feature: int
    code: str | None
    problem: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "code": self.code, "problem": self.problem,
                "title": PROBLEMS[self.problem],
                "title_en": PROBLEMS_EN[self.problem], "detail": self.detail}


@dataclass(frozen=True, slots=True)
class AreaFeature:
    index: int
    code: str
    name_zh: str
    name_en: str
    tenant: str | None
    partner: str | None
    geom: BaseGeometry  # WGS84, valid, Polygon or MultiPolygon
    repaired: bool

    @property
    def vertices(self) -> int:
        return int(shapely.get_num_coordinates(self.geom))

    @property
    def area_m2(self) -> float:
        return abs(_GEOD.geometry_area_perimeter(self.geom)[0])


class FeatureProblems(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} feature problem(s)")
        self.problems = problems


def geojson_features(doc: Any) -> list[Any]:
    """The features of a FeatureCollection, or a single Feature as a list of one."""
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features")
        if isinstance(features, list):
            return features
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        return [doc]
    raise FeatureProblems([Problem(0, None, "not_a_feature",
                                   "expected a GeoJSON FeatureCollection or Feature")])


def _text(props: dict[str, Any], key: str) -> str | None:
    value = props.get(key)
    if value is None:
        return None
    return str(value).strip() or None


def _check_rings(coords: Any, depth: int, repair: bool,
                 fail: Callable[[str, str], NoReturn]) -> Any:
    """Walk polygon (depth 1) or multipolygon (depth 2) coordinates; close rings if repairing."""
    if not isinstance(coords, list):
        return fail("malformed_coordinates", "coordinates must be nested arrays")
    if depth == 2:
        return [_check_rings(p, 1, repair, fail) for p in coords]
    rings = []
    for r, ring in enumerate(coords):
        if not isinstance(ring, list) or not all(
                isinstance(p, list) and len(p) >= 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p[:2])
                for p in ring):
            return fail("malformed_coordinates", f"ring {r} is not a list of [lon, lat] positions")
        for p in ring:
            lon, lat = float(p[0]), float(p[1])
            if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lon) > 180 or abs(lat) > 90:
                return fail("absurd_coordinate", f"ring {r} has position [{p[0]}, {p[1]}]")
        ring = [[float(p[0]), float(p[1])] for p in ring]
        if ring and ring[0] != ring[-1]:
            if not repair:
                return fail("unclosed_ring", f"ring {r} starts at {ring[0]} but ends at {ring[-1]}")
            ring = [*ring, ring[0]]
        if len(ring) < 4:
            return fail("too_few_points", f"ring {r} has {len(ring)} positions")
        rings.append(ring)
    return rings


class _Stop(Exception):
    pass


def check_geometry(geom: BaseGeometry, crs: Crs, repair: bool) -> tuple[BaseGeometry, bool]:
    """Validate (or repair) a parsed geometry and convert it to WGS84.
    Raises ValueError(problem, detail) on a problem."""
    if geom.is_empty:
        raise ValueError("empty", "the geometry has no coordinates")
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValueError("not_polygonal", f"got {geom.geom_type}")
    lo = shapely.get_coordinates(geom)
    if not (abs(lo[:, 0]) <= 180).all() or not (abs(lo[:, 1]) <= 90).all():
        raise ValueError("absurd_coordinate", "a position lies outside ±180 / ±90")
    wgs = geometry_to_wgs84(geom, crs)
    repaired = False
    if not wgs.is_valid:
        reason = shapely.is_valid_reason(wgs)
        if not repair:
            problem = "self_intersection" if "Self-intersection" in reason else "invalid_geometry"
            raise ValueError(problem, reason)
        parts = [p for p in shapely.get_parts(shapely.make_valid(wgs))
                 if p.geom_type in ("Polygon", "MultiPolygon")]
        polys = [q for p in parts for q in shapely.get_parts(p)]
        wgs = shapely.MultiPolygon(polys) if len(polys) > 1 else (polys[0] if polys else None)
        repaired = True
        if wgs is None or wgs.is_empty:
            raise ValueError("empty", f"nothing polygonal is left after repair ({reason})")
    if wgs.area == 0:
        raise ValueError("empty", "the polygon has no area")
    return wgs, repaired


def check_features(raw: list[Any], crs: Crs, *, repair: bool = False,
                   default_tenant: str | None = None) -> list[AreaFeature]:
    """Check GeoJSON features. All problems are collected; any problem refuses the batch."""
    if len(raw) > MAX_FEATURES:
        raise FeatureProblems([Problem(MAX_FEATURES, None, "not_a_feature",
                                       f"at most {MAX_FEATURES} features per upload")])
    problems: list[Problem] = []
    good: list[AreaFeature] = []
    seen: set[str] = set()
    for i, f in enumerate(raw):
        props = f.get("properties") if isinstance(f, dict) else None
        code = _text(props, "code") if isinstance(props, dict) else None

        def fail(problem: str, detail: str, i: int = i, code: str | None = code) -> NoReturn:
            problems.append(Problem(i, code, problem, detail))
            raise _Stop

        try:
            if not isinstance(f, dict) or f.get("type") != "Feature" or not isinstance(props, dict):
                fail("not_a_feature", "expected {'type': 'Feature', 'properties': {...}, ...}")
            assert isinstance(props, dict)
            if code is None or not CODE.match(code):
                fail("bad_property", "`code` must match ^[a-z0-9][a-z0-9_.-]{0,63}$")
            if code in seen:
                fail("duplicate_code", f"code {code!r} appears twice")
            seen.add(code)
            name_zh = _text(props, "name_zh")
            if name_zh is None:
                fail("bad_property", "`name_zh` (中文名称) is required")
            geometry = f.get("geometry")
            if not isinstance(geometry, dict) or geometry.get("type") not in (
                    "Polygon", "MultiPolygon"):
                kind = geometry.get("type") if isinstance(geometry, dict) else geometry
                fail("not_polygonal", f"got {kind!r}")
            assert isinstance(geometry, dict)
            coords = geometry.get("coordinates")
            if coords in (None, []) or coords == [[]]:
                fail("empty", "the geometry has no coordinates")
            depth = 2 if geometry["type"] == "MultiPolygon" else 1
            fixed = _check_rings(coords, depth, repair, fail)
            try:
                geom = shape({"type": geometry["type"], "coordinates": fixed})
                wgs, repaired = check_geometry(geom, crs, repair)
            except ValueError as exc:
                if len(exc.args) == 2 and exc.args[0] in PROBLEMS:
                    fail(exc.args[0], exc.args[1])
                fail("malformed_coordinates", str(exc))
            good.append(AreaFeature(
                index=i, code=code, name_zh=name_zh, name_en=_text(props, "name_en") or code,
                tenant=_text(props, "tenant") or default_tenant,
                partner=_text(props, "partner"), geom=wgs,
                repaired=repaired or (fixed != coords)))
        except _Stop:
            continue
    if problems:
        raise FeatureProblems(problems)
    return good


def features_from_file(path: str, crs: Crs, *, layer: str | None = None, repair: bool = False,
                       default_tenant: str | None = None) -> list[AreaFeature]:
    """GeoJSON, GeoPackage or Shapefile through geopandas/pyogrio. A projected file is
    reprojected to EPSG:4326 first; lon/lat files are taken to be in `crs`."""
    import geopandas

    frame = geopandas.read_file(path, layer=layer) if layer else geopandas.read_file(path)
    if frame.crs is not None and not frame.crs.is_geographic:
        frame = frame.to_crs(4326)
    raw = []
    for props, geom in zip(frame.drop(columns="geometry").to_dict("records"), frame.geometry,
                           strict=True):
        props = {k: (None if v is None or (isinstance(v, float) and math.isnan(v)) else v)
                 for k, v in props.items()}
        raw.append({"type": "Feature", "properties": props,
                    "geometry": None if geom is None else shapely.geometry.mapping(geom)})
    # Binary formats close their rings themselves; shapely's mapping gives tuples: normalise.
    for f in raw:
        if f["geometry"] is not None:
            f["geometry"] = _listify(f["geometry"])
    return check_features(raw, crs, repair=repair, default_tenant=default_tenant)


def _listify(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _listify(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_listify(v) for v in obj]
    return obj
