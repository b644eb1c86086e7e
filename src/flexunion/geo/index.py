"""In-process spatial indexes: which areas cover a point, which stations are near it.

Built once per federation and version (see registry.py) from WGS84 geometries.
Areas sit in a shapely 2 STRtree over *prepared* polygons: the tree narrows a
point to the few areas whose bounding box holds it, then the prepared
point-in-polygon test decides. Border points count as covered by every area
they touch, and are flagged, so callers can decide rather than flip a coin.
Distances are geodesic on the WGS84 ellipsoid (pyproj.Geod), in metres.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from pyproj import Geod

GEOD = Geod(ellps="WGS84")
# Metres per degree of latitude is at least this anywhere (at the equator).
_M_PER_DEG_LAT_MIN = 110_574.0
_M_PER_DEG_LON_EQ = 111_320.0


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

    def covering(self, lon: float, lat: float) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the areas covering the point, and whether it lies on each one's border."""
        point = shapely.Point(lon, lat)
        candidates = self._tree.query(point)
        if candidates.size == 0:
            return candidates, candidates.astype(bool)
        hits = candidates[shapely.intersects(self.geoms[candidates], point)]
        return hits, shapely.touches(self.geoms[hits], point)

    def resolve(self, lon: float, lat: float) -> list[AreaHit]:
        hits, border = self.covering(lon, lat)
        found = [AreaHit(self.refs[i], bool(b)) for i, b in zip(hits.tolist(), border.tolist())]
        found.sort(key=lambda h: (h.area.kind, h.area.code))
        return found

    def geometry(self, area_id: uuid.UUID) -> shapely.Geometry | None:
        for ref, geom in zip(self.refs, self.geoms):
            if ref.id == area_id:
                return geom
        return None


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
    opening_hours: dict = field(default_factory=dict, hash=False)
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

    def __len__(self) -> int:
        return len(self.refs)

    def within(self, lon: float, lat: float, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
        """(indices, metres) of the points within `radius_m`, nearest first."""
        if self._tree is None:
            return np.empty(0, dtype=int), np.empty(0)
        candidates = self._tree.query(shapely.box(*degree_box(lon, lat, radius_m)))
        if candidates.size == 0:
            return candidates, np.empty(0)
        n = candidates.size
        _, _, dist = GEOD.inv(np.full(n, lon), np.full(n, lat),
                              self.lons[candidates], self.lats[candidates])
        dist = np.asarray(dist, dtype=float)
        keep = dist <= radius_m
        candidates, dist = candidates[keep], dist[keep]
        order = np.lexsort((candidates, dist))
        return candidates[order], dist[order]

    def nearby(self, lon: float, lat: float, *, radius_m: float, limit: int,
               keep: Callable[[PointRef], bool] | None = None) -> list[tuple[PointRef, float]]:
        idx, dist = self.within(lon, lat, radius_m)
        out: list[tuple[PointRef, float]] = []
        for i, d in zip(idx.tolist(), dist.tolist()):
            ref = self.refs[i]
            if keep is None or keep(ref):
                out.append((ref, d))
                if len(out) >= limit:
                    break
        return out

    def nearest(self, lon: float, lat: float, k: int, *, start_m: float = 2_000.0,
                max_m: float = 200_000.0) -> list[tuple[PointRef, float]]:
        """k nearest within `max_m`: search a growing radius until k are found."""
        radius = start_m
        while True:
            found = self.nearby(lon, lat, radius_m=radius, limit=k)
            if len(found) >= k or radius >= max_m:
                return found
            radius = min(max_m, radius * 4)
