"""In-process spatial indexes: which areas cover a point, which stations are near it.

Built once per federation and version (see registry.py) from WGS84 geometries.
Areas sit in a shapely 2 STRtree over *prepared* polygons: the tree query with
the "intersects" predicate yields the areas covering a point, then a prepared
`contains_properly` tells the interior from the border. Border points count as
covered by every area they touch, and are flagged, so callers can decide rather
than flip a coin. Distances are geodesic on the WGS84 ellipsoid (pyproj.Geod), in
metres. Stations sit in a KD-tree (scipy's cKDTree) of their earth-centred (ECEF)
positions, found nearest-first by their straight-line (chord) distance through the
Earth, which is never longer than the geodesic one, so only the few stations that can
still make the cut get the exact geodesic computation; the unfiltered k-nearest query
the app asks most has its candidates precomputed per grid cell at load.
The hot paths call shapely's ufuncs with scalars: a lookup costs ~5–30 µs
(bench/geo.py).
"""

from __future__ import annotations

import array
import bisect
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from pyproj import Geod
from scipy.spatial import cKDTree

GEOD = Geod(ellps="WGS84")
# Metres per degree of latitude is at least this anywhere (at the equator).
_M_PER_DEG_LAT_MIN = 110_574.0
_M_PER_DEG_LON_EQ = 111_320.0
# WGS84, for straight-line (chord) distances between points on the ellipsoid.
_A = 6_378_137.0
_E2 = 6.694_379_990_14e-3
# A chord is never longer than the geodesic; this slack (metres) covers float rounding.
_CHORD_SLACK_M = 1e-3
# The smallest radius of curvature of the ellipsoid (meridional, at the equator), metres.
_M0 = _A * (1 - _E2)
# Queries for up to this many nearest stations (unfiltered) use the precomputed grid.
_CELL_K = 5
_COARSE_DEG = 0.02
# A fine cell's half-diagonal is about the local k-th nearest distance / _FINENESS.
_FINENESS = 3.0
_MAX_SPLIT = 48
# At most this many stations listed per fine cell.
_CELL_CAP = 24
# KD-tree scans start with this many stations; limits from this size use a ball query.
_SCAN_START = 16
_BALL_LIMIT = 200


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
    """Stations by geodesic distance, found through a KD-tree of their ECEF positions.

    Every way in is exact: the same answer as a geodesic to every station, ordered by
    metres, then by position in `refs`.
    - `nearest()`/`nearby()` for up to `_CELL_K` stations and no filter use a grid built
      at load (`_Cells`): each cell lists the ~10 stations that can be among the k
      nearest of any point inside it, so a query finds its cell with a little arithmetic
      and computes geodesics for those alone.
    - With a filter, a larger k, or outside the grid, the KD-tree (scipy's cKDTree over
      earth-centred coordinates) yields stations in chord order and the scan stops at the
      first chord longer than the limit-th geodesic found: a chord is never longer than
      the geodesic.
    - `within()` and large limits use the tree's ball query and one vector geodesic call.
    """

    def __init__(self, refs: Sequence[PointRef]) -> None:
        self.refs = list(refs)
        self.lons = np.array([r.lon for r in self.refs], dtype=float)
        self.lats = np.array([r.lat for r in self.refs], dtype=float)
        self._xyz = _ecef(self.lons, self.lats) if self.refs else np.empty((0, 3))
        self._tree = cKDTree(self._xyz) if self.refs else None
        self._lon_list, self._lat_list = self.lons.tolist(), self.lats.tolist()
        self._x, self._y, self._z = (self._xyz[:, j].tolist() for j in range(3))
        self._by_code = {r.code: r for r in self.refs}
        # What callers derive from the refs once per snapshot (stations/schemas.py).
        self.memo: dict[str, Any] = {}
        self._cells = _Cells(self, _CELL_K) if len(self.refs) >= _CELL_K else None

    def __len__(self) -> int:
        return len(self.refs)

    def by_code(self, code: str) -> PointRef | None:
        return self._by_code.get(code)

    def within(self, lon: float, lat: float, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
        """(indices, metres) of the points within `radius_m`, nearest first."""
        if self._tree is None:
            return np.empty(0, dtype=int), np.empty(0)
        candidates = np.asarray(self._tree.query_ball_point(
            _ecef_tuple(lon, lat), radius_m + _CHORD_SLACK_M), dtype=np.intp)
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

        `keep` is asked only about points within the radius, nearest (by chord) first,
        and may be asked about a few more than make the answer; it must not have effects."""
        if self._tree is None:
            return []
        limit = max(limit, 1)  # as before: a limit below 1 still gave the nearest point
        if keep is None and limit <= _CELL_K and self._cells is not None:
            found = self._cells.nearest(lon, lat, limit)
            if found is not None:
                refs = self.refs
                return [(refs[i], d) for d, i in found if d <= radius_m]
        if limit >= _BALL_LIMIT:
            idx, dist = self.within(lon, lat, radius_m)
            refs = self.refs
            out = [(refs[i], d) for i, d in zip(idx.tolist(), dist.tolist(), strict=True)
                   if keep is None or keep(refs[i])]
            return out[:limit]
        return self._scan(lon, lat, radius_m, limit, keep)

    def _scan(self, lon: float, lat: float, radius_m: float, limit: int,
              keep: Callable[[PointRef], bool] | None) -> list[tuple[PointRef, float]]:
        """Stations in chord order from the KD-tree, until nothing farther can make the cut."""
        assert self._tree is not None
        n = len(self.refs)
        p = _ecef_tuple(lon, lat)
        refs, lons, lats = self.refs, self._lon_list, self._lat_list
        inv = GEOD.inv
        want = min(n, max(2 * limit, _SCAN_START))
        while True:
            chords, idx = (np.atleast_1d(a) for a in self._tree.query(
                p, k=want, distance_upper_bound=radius_m + _CHORD_SLACK_M))
            found: list[tuple[float, int]] = []  # (metres, index), sorted
            bound = radius_m + _CHORD_SLACK_M  # chords beyond this cannot qualify
            done = False
            for c, i in zip(chords.tolist(), idx.tolist(), strict=True):
                if c > bound:  # also the tree's inf: no more points within the radius
                    done = True
                    break
                dist = inv(lon, lat, lons[i], lats[i])[2]
                if dist <= radius_m and (keep is None or keep(refs[i])):
                    bisect.insort(found, (dist, i))
                    if len(found) >= limit:
                        bound = min(bound, found[limit - 1][0] + _CHORD_SLACK_M)
            if done or want >= n:
                return [(refs[i], dist) for dist, i in found[:limit]]
            want = min(n, want * 4)  # every station examined could still be beaten: look further

    def nearest(self, lon: float, lat: float, k: int, *, start_m: float = 2_000.0,
                max_m: float = 200_000.0) -> list[tuple[PointRef, float]]:
        """The k nearest within `max_m` (`start_m` is no longer needed and ignored)."""
        del start_m
        if k <= _CELL_K and self._cells is not None:
            found = self._cells.nearest(lon, lat, max(k, 1))
            if found is not None:
                refs = self.refs
                return [(refs[i], d) for d, i in found if d <= max_m]
        return self.nearby(lon, lat, radius_m=max_m, limit=k)


def _ecef_tuple(lon: float, lat: float) -> tuple[float, float, float]:
    lam, phi = math.radians(lon), math.radians(lat)
    sin_phi, cos_phi = math.sin(phi), math.cos(phi)
    n = _A / math.sqrt(1 - _E2 * sin_phi * sin_phi)
    return (n * cos_phi * math.cos(lam), n * cos_phi * math.sin(lam),
            n * (1 - _E2) * sin_phi)


def _arc_bound(chord: float) -> float:
    """The longest a geodesic with this chord can be: no geodesic of the ellipsoid bends
    more sharply than a circle of radius M0 (its smallest radius of curvature, meridional
    at the equator), and of all curves with curvature at most 1/M0 joining two points,
    such a circle's arc is the longest (Schur's comparison theorem)."""
    return 2 * _M0 * math.asin(min(1.0, chord / (2 * _M0)))


class _Cells:
    """For k nearest without a filter: a two-level lon/lat grid over the stations (with a
    margin) whose every cell lists the stations that can be among the k nearest of any
    point inside it.

    Coarse cells of `_COARSE_DEG` are split into m × m fine cells, m chosen so a fine cell
    is small against the local k-th nearest distance (few candidates per cell). A fine
    cell with centre c and every point within chord h of c lists the stations within
    chord `_arc_bound(d_k(c) + h) + h` of c: for any p in the cell, its k-th nearest chord
    is at most d_k(c) + h, so its k-th nearest geodesic at most `_arc_bound` of that, and
    every station at most that far (in chord, hence in geodesic) is listed."""

    def __init__(self, index: PointIndex, k: int) -> None:
        assert index._tree is not None
        self.k = k
        self._index = index
        tree = index._tree
        lons, lats = index.lons, index.lats
        step = _COARSE_DEG
        x0 = math.floor(float(lons.min()) / step) * step - step
        y0 = math.floor(float(lats.min()) / step) * step - step
        nx = math.ceil((float(lons.max()) + step - x0) / step) + 1
        ny = math.ceil((float(lats.max()) + step - y0) / step) + 1
        ny = min(ny, int((90.0 - y0) / step))  # no cell past a pole
        self._x0, self._y0, self._nx, self._ny, self._inv = x0, y0, nx, ny, 1.0 / step
        # How finely each coarse cell is split: by the smallest k-th nearest distance at
        # 3 × 3 sample points of it.
        mx, my = np.meshgrid(np.arange(nx), np.arange(ny))
        gx, gy = mx.ravel(), my.ravel()
        fractions = np.array([0.0, 0.5, 1.0])
        sx = (x0 + (gx[:, None, None] + fractions[None, :, None]) * step)
        sy = (y0 + (gy[:, None, None] + fractions[None, None, :]) * step)
        sx, sy = np.broadcast_arrays(sx, sy)
        d_k = tree.query(_ecef(sx.ravel(), sy.ravel()), k=[k], workers=-1)[0]
        d_k = d_k.reshape(len(gx), 9).min(1)
        width = step * _M_PER_DEG_LON_EQ * np.cos(np.radians(y0 + gy * step))
        height = step * _M_PER_DEG_LAT_MIN
        diagonal = np.hypot(width, height)
        # fine half-diagonal ≈ diagonal / (2m) ≤ d_k / _FINENESS
        split = np.ceil(diagonal * _FINENESS / (2 * np.maximum(d_k, 1.0)))
        split = np.clip(split, 1, _MAX_SPLIT).astype(np.int64)
        self._split = split.tolist()
        base = np.concatenate([[0], np.cumsum(split * split)])
        self._base = base[:-1].tolist()
        # Fine cells: their corners and centres.
        cell = np.repeat(np.arange(len(gx)), split * split)
        local = np.arange(int(base[-1])) - base[:-1][cell]
        m = split[cell]
        fx, fy = local % m, local // m
        size = step / m
        left = x0 + gx[cell] * step + fx * size
        bottom = y0 + gy[cell] * step + fy * size
        centre = _ecef(left + size / 2, bottom + size / 2)
        h = np.zeros(len(cell))
        for cx, cy in ((0, 0), (1, 0), (0, 1), (1, 1)):
            corner = _ecef(left + cx * size, bottom + cy * size)
            h = np.maximum(h, np.linalg.norm(corner - centre, axis=1))
        h = h * (1 + 1e-6) + 1e-3  # a cell of the ellipsoid bulges a hair past its corners
        # The first _CELL_CAP stations in chord order from each centre, cut at its reach; a
        # cell whose reach holds more (so coarse that it would list too many) is marked and
        # left to the KD-tree scan.
        chords, idx = tree.query(centre, k=_CELL_CAP, workers=-1)
        d_fine = chords[:, k - 1]
        reach = 2 * _M0 * np.arcsin(np.minimum(1.0, (d_fine + h) / (2 * _M0))) + h + 1e-2
        listed = chords <= reach[:, None]
        counts = listed.sum(axis=1)
        full = counts >= _CELL_CAP
        counts[full] = 0
        listed[full] = False
        starts = np.concatenate([[0], np.cumsum(counts)])
        self._starts = array.array("q", starts.tolist())
        self._data = array.array("i", idx[listed].astype(np.int32).tobytes())
        self._full = bytes(full.astype(np.uint8))
        self.mean_listed = float(counts[~full].mean()) if (~full).any() else 0.0
        self.unlisted = int(full.sum())

    def __len__(self) -> int:
        return len(self._starts) - 1

    def nearest(self, lon: float, lat: float, k: int) -> list[tuple[float, int]] | None:
        """(metres, index) of the k (≤ self.k) nearest, nearest first; None when the point's
        cell lists nothing (outside the grid, or too coarse a cell)."""
        u = (lon - self._x0) * self._inv
        v = (lat - self._y0) * self._inv
        ix, iy = int(u), int(v)
        if not (0 <= ix < self._nx and 0 <= iy < self._ny and u >= 0 and v >= 0):
            return None
        c = iy * self._nx + ix
        m = self._split[c]
        f = self._base[c] + min(int((v - iy) * m), m - 1) * m + min(int((u - ix) * m), m - 1)
        if self._full[f]:
            return None
        index = self._index
        lons, lats, inv = index._lon_list, index._lat_list, GEOD.inv
        # ~2 k candidates: their geodesics cost less than ranking them by chord first.
        found = sorted([(inv(lon, lat, lons[i], lats[i])[2], i)
                        for i in self._data[self._starts[f]:self._starts[f + 1]]])
        return found[:k]
