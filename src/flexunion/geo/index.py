"""In-process spatial indexes: which areas cover a point, which stations are near it.

Built once per federation and version (see registry.py) from WGS84 geometries.
Areas sit in a shapely 2 STRtree over *prepared* polygons: the tree query with
the "intersects" predicate yields the areas covering a point, then a prepared
`contains_properly` tells the interior from the border. Border points count as
covered by every area they touch, and are flagged, so callers can decide rather
than flip a coin. Distances are geodesic on the WGS84 ellipsoid (pyproj.Geod), in
metres; stations are scanned nearest-first by their straight-line (chord) distance
through the Earth, which is never longer than the geodesic one, so only the few
stations that can still make the cut get the exact geodesic computation.
The hot paths call shapely's ufuncs with scalars: a lookup costs ~10–30 µs
(bench/geo.py).
"""

from __future__ import annotations

import bisect
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from pyproj import Geod

GEOD = Geod(ellps="WGS84")
# Metres per degree of latitude is at least this anywhere (at the equator).
_M_PER_DEG_LAT_MIN = 110_574.0
_M_PER_DEG_LON_EQ = 111_320.0
# WGS84, for straight-line (chord) distances between points on the ellipsoid.
_A = 6_378_137.0
_E2 = 6.694_379_990_14e-3
# A chord is never longer than the geodesic; this slack (metres) covers float rounding.
_CHORD_SLACK_M = 1e-3
# Stations examined one by one (scalar geodesics) before the rest go in one vector call.
_SCALAR_SCAN = 16


def _point_maker() -> Callable[[float, float], shapely.Point]:
    """shapely.Point(lon, lat) costs ~2.5 µs; the points ufunc called directly ~1 µs."""
    try:
        from shapely.creation import HandleNaN

        ufunc, allow = shapely.lib.points, np.intc(int(HandleNaN.allow))
        probe = ufunc((1.5, -2.5), allow)
        if isinstance(probe, shapely.Point) and (probe.x, probe.y) == (1.5, -2.5):
            return lambda lon, lat: ufunc((lon, lat), allow)
    except (AttributeError, ImportError, TypeError, ValueError):  # another shapely
        pass
    point: Callable[[float, float], shapely.Point] = shapely.Point
    return point


_point = _point_maker()
_contains_properly = getattr(shapely.lib, "contains_properly", shapely.contains_properly)


def _ecef(lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """(n, 3) earth-centred coordinates in metres of points on the WGS84 ellipsoid."""
    lam, phi = np.radians(lons), np.radians(lats)
    sin_phi = np.sin(phi)
    n = _A / np.sqrt(1 - _E2 * sin_phi * sin_phi)
    return np.column_stack([n * np.cos(phi) * np.cos(lam), n * np.cos(phi) * np.sin(lam),
                            n * (1 - _E2) * sin_phi])


def _ecef_point(lon: float, lat: float) -> np.ndarray:
    lam, phi = math.radians(lon), math.radians(lat)
    sin_phi, cos_phi = math.sin(phi), math.cos(phi)
    n = _A / math.sqrt(1 - _E2 * sin_phi * sin_phi)
    return np.array([n * cos_phi * math.cos(lam), n * cos_phi * math.sin(lam),
                     n * (1 - _E2) * sin_phi])


@dataclass(frozen=True, slots=True)
class AreaRef:
    id: uuid.UUID
    kind: str
    code: str
    name_zh: str
    name_en: str
    tenant_id: uuid.UUID
    tenant_code: str
    partner_code: str | None = None


@dataclass(frozen=True, slots=True)
class AreaHit:
    area: AreaRef
    on_border: bool


class AreaIndex:
    """Point → covering areas. `geoms` are WGS84 (Multi)Polygons aligned with `refs`."""

    def __init__(self, refs: Sequence[AreaRef], geoms: np.ndarray) -> None:
        if len(refs) != len(geoms):
            raise ValueError("one geometry per area")
        self.refs = list(refs)
        self.geoms = np.asarray(geoms, dtype=object)
        shapely.prepare(self.geoms)
        self._tree = shapely.STRtree(self.geoms)

    def __len__(self) -> int:
        return len(self.refs)

    def _covering(self, lon: float, lat: float) -> tuple[np.ndarray, shapely.Point]:
        one = np.empty(1, dtype=object)
        one[0] = point = _point(lon, lat)
        # A one-element array skips STRtree.query's scalar handling (~1 µs); row 1 holds
        # the indices of the tree geometries.
        return self._tree.query(one, predicate="intersects")[1], point

    def covering(self, lon: float, lat: float) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the areas covering the point, and whether it lies on each one's border."""
        hits, point = self._covering(lon, lat)
        # Covered and not in the interior: on the border (of the shell or of a hole).
        border = np.array([not _contains_properly(self.geoms[i], point) for i in hits.tolist()],
                          dtype=bool)
        return hits, border

    def resolve(self, lon: float, lat: float) -> list[AreaHit]:
        hits, point = self._covering(lon, lat)
        geoms, refs = self.geoms, self.refs
        found = [AreaHit(refs[i], not _contains_properly(geoms[i], point)) for i in hits.tolist()]
        if len(found) > 1:
            found.sort(key=lambda h: (h.area.kind, h.area.code))
        return found

    def geometry(self, area_id: uuid.UUID) -> shapely.Geometry | None:
        if not hasattr(self, "_position"):
            self._position = {ref.id: i for i, ref in enumerate(self.refs)}
        i = self._position.get(area_id)
        return None if i is None else self.geoms[i]


@dataclass(frozen=True, slots=True)
class PointRef:
    id: uuid.UUID
    code: str
    name_zh: str
    name_en: str
    tenant_id: uuid.UUID
    tenant_code: str
    address: str
    lon: float
    lat: float
    amenities: frozenset[str] = frozenset()
    opening_hours: dict[str, Any] = field(default_factory=dict, hash=False)
    phone: str | None = None


def degree_box(lon: float, lat: float, radius_m: float) -> tuple[float, float, float, float]:
    """A lon/lat box that surely contains every point within `radius_m` of (lon, lat)."""
    dlat = radius_m / _M_PER_DEG_LAT_MIN
    far_lat = min(89.9, abs(lat) + dlat)
    dlon = min(180.0, radius_m / (_M_PER_DEG_LON_EQ * math.cos(math.radians(far_lat))))
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


class PointIndex:
    """Stations by geodesic distance. Candidates come from an STRtree box query."""

    def __init__(self, refs: Sequence[PointRef]) -> None:
        self.refs = list(refs)
        self.lons = np.array([r.lon for r in self.refs], dtype=float)
        self.lats = np.array([r.lat for r in self.refs], dtype=float)
        self._tree = shapely.STRtree(shapely.points(self.lons, self.lats)) if self.refs else None
        self._xyz = _ecef(self.lons, self.lats)
        self._lon_list, self._lat_list = self.lons.tolist(), self.lats.tolist()
        self._by_code = {r.code: r for r in self.refs}

    def __len__(self) -> int:
        return len(self.refs)

    def by_code(self, code: str) -> PointRef | None:
        return self._by_code.get(code)

    def within(self, lon: float, lat: float, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
        """(indices, metres) of the points within `radius_m`, nearest first."""
        if self._tree is None:
            return np.empty(0, dtype=int), np.empty(0)
        candidates = self._tree.query(shapely.box(*degree_box(lon, lat, radius_m)))
        if candidates.size == 0:
            return candidates, np.empty(0)
        dist = self._geodesic(lon, lat, candidates)
        keep = dist <= radius_m
        candidates, dist = candidates[keep], dist[keep]
        order = np.lexsort((candidates, dist))
        return candidates[order], dist[order]

    def _geodesic(self, lon: float, lat: float, idx: np.ndarray) -> np.ndarray:
        n = idx.size
        _, _, dist = GEOD.inv(np.full(n, lon), np.full(n, lat), self.lons[idx], self.lats[idx])
        return np.asarray(dist, dtype=float).reshape(n)

    def nearby(self, lon: float, lat: float, *, radius_m: float, limit: int,
               keep: Callable[[PointRef], bool] | None = None) -> list[tuple[PointRef, float]]:
        """The first `limit` points of `within()` that `keep` accepts (nearest first).

        Same answer as filtering `within()`, but the points in the box are examined in
        order of their chord (straight-line) distance, and the scan stops at the first
        chord longer than the radius or than the limit-th geodesic distance found so
        far: a chord is never longer than the geodesic, so nothing farther can make the
        cut. Usually only `limit` + 1 or 2 geodesics are computed instead of hundreds.
        `keep` may be asked about a few stations more than before; it must not have effects."""
        if self._tree is None:
            return []
        limit = max(limit, 1)  # as before: a limit below 1 still gave the nearest point
        one = np.empty(1, dtype=object)
        one[0] = shapely.box(*degree_box(lon, lat, radius_m))
        candidates = self._tree.query(one)[1]  # (array input: cheaper than a scalar one)
        n = candidates.size
        if n == 0:
            return []
        d = self._xyz.take(candidates, axis=0)
        d -= _ecef_point(lon, lat)
        chord2 = np.einsum("ij,ij->i", d, d)
        head = min(n, _SCALAR_SCAN)
        first = np.argpartition(chord2, head - 1)[:head] if head < n else np.arange(n)
        first = first[np.argsort(chord2[first])]
        refs, lons, lats = self.refs, self._lon_list, self._lat_list
        found: list[tuple[float, int]] = []  # (metres, index), sorted
        bound2 = (radius_m + _CHORD_SLACK_M) ** 2  # chords beyond this cannot qualify
        for i, c2 in zip(candidates[first].tolist(), chord2[first].tolist(), strict=True):
            if c2 > bound2:
                break
            dist = GEOD.inv(lon, lat, lons[i], lats[i])[2]
            if dist <= radius_m and (keep is None or keep(refs[i])):
                bisect.insort(found, (dist, i))
                if len(found) >= limit:
                    bound2 = min(bound2, (found[limit - 1][0] + _CHORD_SLACK_M) ** 2)
        else:
            if head < n:  # the scan ran out: the rest in one vector call
                rest = np.ones(n, dtype=bool)
                rest[first] = False
                rest &= chord2 <= bound2
                idx = candidates[rest]
                if idx.size:
                    for dist, i in zip(self._geodesic(lon, lat, idx).tolist(), idx.tolist(),
                                       strict=True):
                        if dist <= radius_m and (keep is None or keep(refs[i])):
                            found.append((dist, i))
                    found.sort()
        return [(refs[i], dist) for dist, i in found[:limit]]

    def nearest(self, lon: float, lat: float, k: int, *, start_m: float = 2_000.0,
                max_m: float = 200_000.0) -> list[tuple[PointRef, float]]:
        """k nearest within `max_m`: search a growing radius until k are found."""
        radius = start_m
        while True:
            found = self.nearby(lon, lat, radius_m=radius, limit=k)
            if len(found) >= k or radius >= max_m:
                return found
            radius = min(max_m, radius * 4)
