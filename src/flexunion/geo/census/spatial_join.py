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
in the calling process for pandas, on each worker for its strip with Dask. Building them
is ~0.5 µs a point, a third of the join, and on Dask it is split across the workers
instead of done once by the caller and again by the workers. From coordinates, 2 worker
processes gave 1.41–1.56× one process on a shared 2-core box (medians; single rounds up to
1.8×); from a frame of Point objects already built (`zone_of_points`) they only tie
(bench/geo.py row 4, docs/geo-census.md).
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
               zones_key: str | None = None) -> np.ndarray:
    """`zone_of_points` for points given as WGS84 lon/lat coordinates (n × 2; a row with a
    NaN is no point): each one's zone position as int64, -1 for none. The Point objects
    are built only where the join runs (see the module docstring); same engines, options
    and answers as `zone_of_points`."""
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
                                    given_xy=(xy, usable))
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
               geoms: np.ndarray | None, n: int) -> np.ndarray:
    """The join itself, the same in process and on a Dask worker. For each of n points,
    given as coordinates `xy` (n × 2, NaN where missing), as geometries, or both, the
    lowest of `positions` (one per zone) among the prepared `zones` it intersects, or
    _NONE.

    An STRtree over the points gives the (zone, point) pairs whose boxes meet, grouped by
    zone; each pair is then tested exactly, for coordinates with intersects_xy: the
    prepared zone's indexed point-in-area test, without a Point object per test (the same
    GEOS predicate as sjoin's, ~2× faster per join: bench/geo.py row 4). A point on a
    border intersects; a point in a hole does not."""
    out = np.full(n, _NONE, dtype=np.int64)
    if not len(zones) or not n:
        return out
    points = shapely.points(xy) if geoms is None else geoms
    zone, point = shapely.STRtree(points).query(zones)  # missing and empty ones: no pairs
    if xy is not None:
        hit = shapely.intersects_xy(zones[zone], xy[point, 0], xy[point, 1])
    else:
        hit = shapely.intersects(zones[zone], points[point])
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
                    given_xy: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Positions (or _NONE) of `points` (geometries), or of `given_xy` = (coordinates,
    which rows are usable) when the points come as coordinates."""
    if workers < 1:
        raise ValueError("workers must be at least 1")
    n = len(given_xy[0]) if given_xy is not None else len(points) if points is not None else 0
    if n == 0:
        return np.empty(0, dtype=np.int64)
    key = zones_key or _fingerprint(zones_frame, zones)
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
