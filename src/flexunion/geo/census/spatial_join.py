"""Bulk point → zone assignment for the coverage census (摸清人员底数).

Every worker point goes to at most one zone, so the census adds up: a point on the
border of two zones, or inside overlapping zones, goes to the zone with the lowest
*positional* index; a point in a hole of a zone is not in that zone. Both frames are
WGS84 lon/lat (EPSG:4326).

One join serves both engines (`_lowest_of`): an STRtree over the points gives the
(zone, point) pairs whose bounding boxes meet, grouped by zone, and each pair is tested
with `shapely.intersects_xy` on the prepared zone (GEOS' indexed point-in-polygon
locator, no Point object per test; border points count). That is the predicate
geopandas' `sjoin(zones, points, predicate="intersects")` evaluates, in ~0.45 of its
time (1M points × 100k zones: 0.86 s against 1.9 s, same answers; bench/geo.py row 4).
engine="pandas" runs it in the calling process (the zones are prepared in place).
engine="dask" runs it on strips of the points on a dask.distributed cluster, a local
one by default or an existing scheduler. The zones are kept on the workers: each worker
process holds the last few zone sets by key, prepared and indexed, so a call on a
running cluster ships only the points' coordinates (16 bytes each) and gets back one
int32 zone position per point; a worker that lacks the zones gets them once, as WKB.
Each strip is pinned to a worker so every worker is busy, and only zones whose box meets
the strip's are tested. Both engines give the same answer (bench/geo.py row 4).

The census has coordinates, not Point objects (roster and check-in lon/lat), so it calls
`zone_of_xy`: the points are built (vectorised `shapely.points`) only where the join runs,
in the calling process for pandas, on the workers with Dask. On Dask the points are kept
on the workers as well: the first call sends each worker its strip (by longitude) and the
worker keeps the strip's coordinates, Points and STRtree under a key (a digest of the
coordinates unless the caller names their version), while the caller keeps which rows
went to which strip. A repeat call with the same points ships only the zones' and points'
keys, each worker joins what it holds, and one int32 per point comes back; changed
coordinates are a new key, so a kept strip never answers for other points. A worker that
lacks its strip (new, restarted, or it forgot the set) is sent it with its task. The
figures are in bench/geo.py row 4 and docs/geo-census.md.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections import Counter, OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from typing import Any, Literal

import geopandas
import numpy as np
import pandas
import shapely
from pyproj import CRS

WGS84 = CRS.from_epsg(4326)
_NONE = np.iinfo(np.int64).max  # "no zone" while taking minima


def zone_of_points(points: geopandas.GeoDataFrame, zones: geopandas.GeoDataFrame, *,
                   engine: Literal["pandas", "dask"] = "pandas", npartitions: int | None = None,
                   scheduler: str | None = None, workers: int = 2,
                   zones_key: str | None = None) -> pandas.Series:
    """The positional index (0..len(zones)-1, Int64) of the zone covering each point, or <NA>.

    The result is aligned with `points.index`. `engine="dask"` splits the points into
    strips by longitude (`npartitions`, default one per worker of the cluster) and joins
    them on a dask.distributed cluster: `scheduler=None` starts a local cluster of
    `workers` single-threaded processes for the call and closes it afterwards; a string is
    the address of an existing scheduler ("tcp://10.0.0.5:8786"), which is left running.
    The zones are sent to each worker once and kept there under `zones_key` (a name of
    this version of the zones, e.g. federation, kind and geo version), or, without one,
    under a digest of their WKB computed once per `zones` frame; do not change a frame's
    geometries in place between calls without a new key. (Worker processes are spawned: a
    calling script needs the `if __name__ == "__main__":` guard.)
    """
    left = _positional(points, "points")
    right = _positional(zones, "zones")
    if engine == "pandas":
        positions = _lowest_zone(right, left)
    elif engine == "dask":
        positions = _dask_positions(left, right, npartitions=npartitions, scheduler=scheduler,
                                    workers=workers, zones_key=zones_key, zones_frame=zones)
    else:
        raise ValueError(f"unknown engine {engine!r}: 'pandas' or 'dask'")
    values = pandas.array(positions, dtype="Int64")
    values[positions == _NONE] = pandas.NA
    return pandas.Series(values, index=points.index, name="zone")


def zone_of_xy(xy: np.ndarray, zones: geopandas.GeoDataFrame, *,
               engine: Literal["pandas", "dask"] = "pandas", npartitions: int | None = None,
               scheduler: str | None = None, workers: int = 2,
               zones_key: str | None = None, points_key: str | None = None) -> np.ndarray:
    """`zone_of_points` for points given as WGS84 lon/lat coordinates (n × 2; a row with a
    NaN is no point): each one's zone position as int64, -1 for none. The Point objects
    are built only where the join runs (see the module docstring); same engines, options
    and answers as `zone_of_points`.

    With Dask the points are kept on the workers too: each worker holds its strip (its
    coordinates, Points and their STRtree) under `points_key`, or, without one, under a
    digest of `xy` (so changed coordinates are a new set, never a stale answer; a given
    `points_key` must name exactly these coordinates, as `zones_key` its zones). A repeat
    call with the same points ships only the two keys and gets back the int32 positions."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    right = _positional(zones, "zones")
    usable = np.isfinite(xy).all(axis=1)
    if engine == "pandas":
        positions = np.full(len(xy), _NONE, dtype=np.int64)
        if usable.any() and len(right):
            shapely.prepare(right)
            positions[usable] = _lowest_of(right, np.arange(len(right)), xy[usable], None,
                                           int(usable.sum()))
    elif engine == "dask":
        positions = _dask_positions(None, right, npartitions=npartitions, scheduler=scheduler,
                                    workers=workers, zones_key=zones_key, zones_frame=zones,
                                    given_xy=(xy, usable), points_key=points_key)
    else:
        raise ValueError(f"unknown engine {engine!r}: 'pandas' or 'dask'")
    return np.where(positions == _NONE, -1, positions)


def _positional(frame: geopandas.GeoDataFrame, what: str) -> np.ndarray:
    """The geometries in row order (position i = row i), checked to be WGS84 (a frame
    without a CRS is taken as WGS84)."""
    if not isinstance(frame, geopandas.GeoDataFrame):
        raise TypeError(f"{what} must be a geopandas.GeoDataFrame")
    if frame.crs is not None and not WGS84.equals(frame.crs):
        raise ValueError(f"{what} must be WGS84 lon/lat (EPSG:4326), not {frame.crs}")
    return np.asarray(frame.geometry.values)


def _lowest_zone(zones: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(In process.) For each point, the lowest zone position it intersects, or _NONE. The
    zones are prepared in place, as GEOS needs for the indexed point-in-area test."""
    if not len(zones) or not len(points):
        return np.full(len(points), _NONE, dtype=np.int64)
    shapely.prepare(zones)
    xy, usable = _coordinates(points)
    out = np.full(len(points), _NONE, dtype=np.int64)
    idx = np.flatnonzero(usable)  # without a NaN coordinate: one would spoil the STRtree
    out[idx] = _lowest_of(zones, np.arange(len(zones)), xy[idx] if xy is not None else None,
                          points[idx], len(idx))
    return out


def _coordinates(points: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """(xy, usable): when every geometry is a point or missing, each one's coordinates
    (NaN where missing or empty) and which have them, both finite (a Point(x, NaN) is no
    point: in an STRtree its NaN box loses other points); else (None, which are usable)."""
    kind = shapely.get_type_id(points)
    if np.all(kind <= 0):
        coords, which = shapely.get_coordinates(points, return_index=True)  # not of empty ones
        xy = np.full((len(points), 2), np.nan)
        xy[which] = coords
        usable = np.isfinite(xy).all(axis=1)
        return xy, usable
    return None, (kind >= 0) & ~shapely.is_empty(points)


def _lowest_of(zones: np.ndarray, positions: np.ndarray, xy: np.ndarray | None,
               geoms: np.ndarray | None, n: int,
               tree: shapely.STRtree | None = None) -> np.ndarray:
    """The join itself, the same in process and on a Dask worker. For each of n points,
    given as coordinates `xy` (n × 2, NaN where missing), as geometries, or both, the
    lowest of `positions` (one per zone) among the prepared `zones` it intersects, or
    _NONE.

    An STRtree over the points gives the (zone, point) pairs whose boxes meet, grouped by
    zone; each pair is then tested exactly, for coordinates with intersects_xy: the
    prepared zone's indexed point-in-area test, without a Point object per test (the same
    GEOS predicate as sjoin's, ~2× faster per join: bench/geo.py row 4). A point on a
    border intersects; a point in a hole does not. `tree`: the points' STRtree when it is
    already built (points kept on a Dask worker; then `xy` is given)."""
    out = np.full(n, _NONE, dtype=np.int64)
    if not len(zones) or not n:
        return out
    if tree is None:
        points = shapely.points(xy) if geoms is None else geoms
        tree = shapely.STRtree(points)
    zone, point = tree.query(zones)  # missing and empty ones: no pairs
    if xy is not None:
        hit = shapely.intersects_xy(zones[zone], xy[point, 0], xy[point, 1])
    else:
        assert geoms is not None
        hit = shapely.intersects(zones[zone], geoms[point])
    np.minimum.at(out, point[hit], positions[zone[hit]])
    return out


def _distributed() -> Any:
    """dask.distributed, imported when a join needs it. Its functions carry no annotations,
    so it is used as an untyped module here."""
    import distributed

    return distributed


@contextmanager
def local_cluster(workers: int) -> Iterator[Any]:
    """A local dask.distributed cluster of `workers` single-threaded processes, closed after."""
    with _distributed().LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                     dashboard_address=None) as cluster:
        yield cluster


def _dask_positions(points: np.ndarray | None, zones: np.ndarray, *, npartitions: int | None,
                    scheduler: str | None, workers: int, zones_key: str | None,
                    zones_frame: geopandas.GeoDataFrame,
                    given_xy: tuple[np.ndarray, np.ndarray] | None = None,
                    points_key: str | None = None) -> np.ndarray:
    """Positions (or _NONE) of `points` (geometries), or of `given_xy` = (coordinates,
    which rows are usable) when the points come as coordinates (then kept on the workers
    under `points_key` or their digest)."""
    if workers < 1:
        raise ValueError("workers must be at least 1")
    n = len(given_xy[0]) if given_xy is not None else len(points) if points is not None else 0
    if n == 0:
        return np.empty(0, dtype=np.int64)
    key = zones_key or _fingerprint(zones_frame, zones)
    if given_xy is not None:
        kept = points_key or _xy_digest(given_xy[0])
        if scheduler is None:
            with local_cluster(workers) as cluster, _distributed().Client(cluster) as client:
                return _run_kept(client, zones, key, kept, npartitions, given_xy)
        return _run_kept(_client(scheduler), zones, key, kept, npartitions, given_xy)
    if scheduler is None:
        with local_cluster(workers) as cluster, _distributed().Client(cluster) as client:
            return _run_dask(client, points, zones, key, npartitions, given_xy)
    return _run_dask(_client(scheduler), points, zones, key, npartitions, given_xy)


_CLIENTS: dict[str, Any] = {}
_CLIENTS_LOCK = threading.Lock()


def _client(address: str) -> Any:
    """A Client of the scheduler at `address`, kept for the next call (connecting costs
    ~0.1–0.3 s); a closed one is replaced. Clients are safe to share between threads."""
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(address)
        if client is None or client.status not in ("running", "connecting"):
            client = _CLIENTS[address] = _distributed().Client(address, set_as_default=False)
        return client


# ---- the zones, kept on the workers ------------------------------------------------------------
# Each worker process holds the last few zone sets it was given, by key, prepared and with
# their STRtree; a call ships only the points (as coordinates) and gets back each point's
# lowest zone position. A worker that lacks the key (new, restarted) is sent the zones once.

_KEPT_ZONE_SETS = 4
_ON_WORKER: OrderedDict[str, tuple[np.ndarray, shapely.STRtree]] = OrderedDict()
_RECEIVED: Counter[str] = Counter()  # how often this process was sent each key (tests)
_FINGERPRINTS: dict[int, tuple[weakref.ref[Any], tuple[int, bytes], str]] = {}


class ZonesMissing(LookupError):
    """A worker was asked to join against zones it does not hold (it restarted)."""


def _fingerprint(frame: geopandas.GeoDataFrame, geoms: np.ndarray) -> str:
    """A key naming the zones by their content (WKB digest), computed once per frame object
    while its length and bounds stay the same. Callers that know the zones' version pass
    `zones_key` instead."""
    cheap = (len(geoms), hashlib.blake2b(shapely.bounds(geoms).tobytes(), digest_size=16)
             .digest())
    known = _FINGERPRINTS.get(id(frame))
    if known is not None and known[0]() is frame and known[1] == cheap:
        return known[2]
    digest = hashlib.blake2b(digest_size=20)
    for wkb in shapely.to_wkb(geoms).tolist():
        digest.update(b"-" if wkb is None else wkb)
    token = "wkb:" + digest.hexdigest()
    for stale in [k for k, (ref, _, _) in _FINGERPRINTS.items() if ref() is None]:
        del _FINGERPRINTS[stale]
    _FINGERPRINTS[id(frame)] = (weakref.ref(frame), cheap, token)
    return token


def _holds_zones(key: str) -> bool:
    """(On a worker.) Whether this process holds the zones `key`."""
    return key in _ON_WORKER


def _keep_zones(key: str, wkb: np.ndarray) -> None:
    """(On a worker.) Keep the zones `key` (sent as WKB: ~4× cheaper to pickle and read
    than geometry objects), prepared, with their tree; forget the oldest."""
    _RECEIVED[key] += 1
    if key not in _ON_WORKER:
        geoms = shapely.from_wkb(wkb)
        shapely.prepare(geoms)
        # GEOS builds a prepared polygon's point-in-area index on its first test: test each
        # zone once now (with its box's centre), not during the first census that uses it.
        box = shapely.bounds(geoms)
        shapely.intersects_xy(geoms, (box[:, 0] + box[:, 2]) / 2, (box[:, 1] + box[:, 3]) / 2)
        _ON_WORKER[key] = (geoms, shapely.STRtree(geoms))
    _ON_WORKER.move_to_end(key)
    while len(_ON_WORKER) > _KEPT_ZONE_SETS:
        _ON_WORKER.popitem(last=False)


def _received() -> dict[str, int]:
    """(On a worker.) How often it was sent each zone set."""
    return dict(_RECEIVED)


def _chunk_lowest(key: str, xy: np.ndarray | None, geoms: np.ndarray | None) -> np.ndarray:
    """(On a worker.) The lowest position of the zones `key` each point of the chunk lies in
    (as coordinates `xy`, or geometries), or -1; int32 (half the bytes back) while the
    positions fit."""
    held = _ON_WORKER.get(key)
    if held is None:
        raise ZonesMissing(key)
    zones, zone_tree = held
    n = len(xy) if xy is not None else len(geoms) if geoms is not None else 0
    dtype = np.int32 if len(zones) < np.iinfo(np.int32).max else np.int64
    if n == 0:
        return np.empty(0, dtype=dtype)
    box = (shapely.box(*xy.min(axis=0), *xy.max(axis=0)) if xy is not None
           else shapely.box(*shapely.total_bounds(geoms)))
    # Only the zones whose box meets the chunk's: the chunks are strips of the plane.
    near = np.sort(zone_tree.query(box))
    lowest = _lowest_of(zones[near], near, xy, geoms, n)
    return np.where(lowest == _NONE, -1, lowest).astype(dtype)


def _run_dask(client: Any, points: np.ndarray | None, zones: np.ndarray, key: str,
              npartitions: int | None,
              given_xy: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """`client`: a dask.distributed Client. The points go as coordinates (geometries if
    any is not a point), split by longitude into one strip per worker (or `npartitions`),
    each strip pinned to a worker so all of them work; the zones stay on the workers."""
    workers = sorted(client.scheduler_info()["workers"])
    if not workers:
        raise OSError("the Dask cluster has no workers")
    xy_all: np.ndarray | None
    if given_xy is not None:  # coordinates: the workers build the points
        xy_all, usable = given_xy
        geoms = np.empty(0, dtype=object)
    else:
        assert points is not None
        xy_all, usable = _coordinates(points)
        geoms = points
    n = len(usable)
    as_points = xy_all is not None
    idx = np.flatnonzero(usable)
    xy = xy_all[idx] if xy_all is not None else shapely.bounds(geoms[idx])
    parts = max(1, min(len(idx), npartitions or len(workers)))
    bounds = np.linspace(0, len(idx), parts + 1).astype(int)
    if parts > 1:  # strips by longitude (each strip's order does not matter)
        order = np.argpartition(xy[:, 0], bounds[1:-1])
        idx, xy = idx[order], xy[order]
    chunks = [idx[a:b] for a, b in pairwise(bounds) if b > a]
    out = np.full(n, _NONE, dtype=np.int64)
    for attempt in (1, 2):
        held = client.run(_holds_zones, key, workers=workers)
        missing = [w for w in workers if not held.get(w)]
        if missing:
            client.run(_keep_zones, key, shapely.to_wkb(zones), workers=missing)
        futures = [client.submit(
            _chunk_lowest, key, xy[a:b, :2] if as_points else None,
            None if as_points else geoms[chunk], workers=[workers[i % len(workers)]],
            allow_other_workers=False, pure=False)
            for i, (chunk, (a, b)) in enumerate(zip(chunks, pairwise(bounds), strict=False))]
        try:
            results = client.gather(futures)
        except ZonesMissing:  # a worker restarted between the check and the task
            if attempt == 2:
                raise
            continue
        for chunk, got in zip(chunks, results, strict=True):
            found = got >= 0
            out[chunk[found]] = got[found]
        return out
    raise AssertionError("unreachable")


# ---- the points, kept on the workers too ------------------------------------------------------
# From coordinates (the census's call), each worker also keeps its strip of the points, by
# key: the coordinates, their STRtree and the strip's box. The caller keeps which rows went
# to which strip. A repeat call ships the keys, each worker joins what it holds against the
# zones it holds, and sends back one int32 per point of its strip. A worker that lacks its
# strip (new, restarted, or it forgot the set) is sent it with the task.

_KEPT_POINT_SETS = 3
_POINTS_ON_WORKER: OrderedDict[str, dict[int, tuple[np.ndarray, shapely.STRtree,
                                                    shapely.Geometry]]] = OrderedDict()
_POINTS_RECEIVED: Counter[str] = Counter()  # strips this process was sent, by key (tests)
# (caller) points key, workers, parts -> the rows of each strip
_LAYOUTS: OrderedDict[tuple[str, tuple[str, ...], int], list[np.ndarray]] = OrderedDict()
_LAYOUTS_LOCK = threading.Lock()


class PointsMissing(LookupError):
    """A worker was asked to join a strip of points it does not hold."""


def _xy_digest(xy: np.ndarray) -> str:
    """A key naming coordinates by their content (~20 ms per 1M points)."""
    data = np.ascontiguousarray(xy, dtype=float)
    return "xy:" + hashlib.blake2b(data.tobytes(), digest_size=20,
                                   person=str(data.shape).encode()[:16]).hexdigest()


def _holds_strips(zones_key: str, points_key: str) -> tuple[bool, list[int]]:
    """(On a worker.) Whether it holds the zones, and which strips of the points it holds."""
    return zones_key in _ON_WORKER, sorted(_POINTS_ON_WORKER.get(points_key, {}))


def _points_received() -> dict[str, int]:
    """(On a worker.) How many strips it was sent, by points key."""
    return dict(_POINTS_RECEIVED)


def _kept_lowest(zones_key: str, points_key: str, part: int,
                 xy: np.ndarray | None) -> np.ndarray:
    """(On a worker.) `_chunk_lowest` of strip `part` of the points `points_key`, kept here
    (sent as `xy` when this worker lacks it: then kept for the next call)."""
    held = _ON_WORKER.get(zones_key)
    if held is None:
        raise ZonesMissing(zones_key)
    strips = _POINTS_ON_WORKER.get(points_key)
    if xy is not None:
        _POINTS_RECEIVED[points_key] += 1
        if strips is None:
            strips = _POINTS_ON_WORKER[points_key] = {}
        box = (shapely.box(*xy.min(axis=0), *xy.max(axis=0)) if len(xy)
               else shapely.Polygon())
        strips[part] = (xy, shapely.STRtree(shapely.points(xy)), box)
        while len(_POINTS_ON_WORKER) > _KEPT_POINT_SETS:
            _POINTS_ON_WORKER.popitem(last=False)
    if strips is None or part not in strips:
        raise PointsMissing(points_key)
    _POINTS_ON_WORKER.move_to_end(points_key)
    zones, zone_tree = held
    xy, tree, box = strips[part]
    dtype = np.int32 if len(zones) < np.iinfo(np.int32).max else np.int64
    if not len(xy):
        return np.empty(0, dtype=dtype)
    near = np.sort(zone_tree.query(box))
    lowest = _lowest_of(zones[near], near, xy, None, len(xy), tree)
    return np.where(lowest == _NONE, -1, lowest).astype(dtype)


def _layout(points_key: str, workers: tuple[str, ...], parts: int, xy: np.ndarray,
            usable: np.ndarray) -> list[np.ndarray]:
    """(Caller.) The rows of each strip by longitude, split once per points key."""
    at = (points_key, workers, parts)
    with _LAYOUTS_LOCK:
        known = _LAYOUTS.get(at)
        if known is not None:
            _LAYOUTS.move_to_end(at)
            return known
    idx = np.flatnonzero(usable)
    parts = max(1, min(len(idx), parts))
    bounds = np.linspace(0, len(idx), parts + 1).astype(int)
    if parts > 1:
        idx = idx[np.argpartition(xy[idx, 0], bounds[1:-1])]
    strips = [idx[a:b] for a, b in pairwise(bounds)]
    with _LAYOUTS_LOCK:
        _LAYOUTS[at] = strips
        while len(_LAYOUTS) > 4 * _KEPT_POINT_SETS:
            _LAYOUTS.popitem(last=False)
    return strips


def _run_kept(client: Any, zones: np.ndarray, zones_key: str, points_key: str,
              npartitions: int | None, given_xy: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """`_run_dask` from coordinates with the points kept on the workers: strip i lives on
    worker i mod w; only strips a worker lacks travel, with their task."""
    workers = tuple(sorted(client.scheduler_info()["workers"]))
    if not workers:
        raise OSError("the Dask cluster has no workers")
    xy, usable = given_xy
    out = np.full(len(usable), _NONE, dtype=np.int64)
    if not usable.any():
        return out
    strips = _layout(points_key, workers, npartitions or len(workers), xy, usable)
    points_key = f"{points_key}#{len(strips)}"  # a strip's rows depend on the strip count
    for attempt in (1, 2):
        held = client.run(_holds_strips, zones_key, points_key, workers=list(workers))
        missing = [w for w in workers if not held.get(w, (False,))[0]]
        if missing:
            client.run(_keep_zones, zones_key, shapely.to_wkb(zones), workers=missing)
        futures = []
        for part, rows in enumerate(strips):
            worker = workers[part % len(workers)]
            has = part in held.get(worker, (False, []))[1]
            futures.append(client.submit(
                _kept_lowest, zones_key, points_key, part, None if has else xy[rows],
                workers=[worker], allow_other_workers=False, pure=False))
        try:
            results = client.gather(futures)
        except (ZonesMissing, PointsMissing):  # a worker restarted or forgot meanwhile
            if attempt == 2:
                raise
            continue
        for rows, got in zip(strips, results, strict=True):
            found = got >= 0
            out[rows[found]] = got[found]
        return out
    raise AssertionError("unreachable")
