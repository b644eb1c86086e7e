"""Bulk point → zone assignment for the coverage census (摸清人员底数).

Every worker point goes to at most one zone, so the census adds up: a point on the
border of two zones, or inside overlapping zones, goes to the zone with the lowest
*positional* index; a point in a hole of a zone is not in that zone. Both frames are
WGS84 lon/lat (EPSG:4326).

The join is geopandas' `sjoin` with the "intersects" predicate (border points
count), written zones-on-the-left: geopandas then builds its STRtree over the
points and tests each zone (prepared once, with an indexed point-in-polygon
locator) against the points in its bounding box: ~2× faster than points on the
left, where every point is tested against unprepared polygons (bench/geo.py).
engine="dask" runs the same join (the same STRtree "intersects" query, zones
prepared) on strips of the points on a dask.distributed cluster, a local one by
default or an existing scheduler. The zones are kept on the workers: each worker
process holds the last few zone sets by key, prepared and indexed, so a call on a
running cluster ships only the points' coordinates (16 bytes each) and gets back one
zone position per point; a worker that lacks the zones gets them once. Each strip is
pinned to a worker so every worker is busy, and only zones whose box meets the strip's
are tested. Both engines give the same answer (bench/geo.py row 4).
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
        positions = _lowest_zone(right, left, len(left))
    elif engine == "dask":
        positions = _dask_positions(left, right, npartitions=npartitions, scheduler=scheduler,
                                    workers=workers, zones_key=zones_key, zones_frame=zones)
    else:
        raise ValueError(f"unknown engine {engine!r}: 'pandas' or 'dask'")
    values = pandas.array(positions, dtype="Int64")
    values[positions == _NONE] = pandas.NA
    return pandas.Series(values, index=points.index, name="zone")


def _positional(frame: geopandas.GeoDataFrame, what: str) -> geopandas.GeoDataFrame:
    """Only the geometry, indexed 0..n-1, in WGS84 (a frame without a CRS is taken as WGS84)."""
    if not isinstance(frame, geopandas.GeoDataFrame):
        raise TypeError(f"{what} must be a geopandas.GeoDataFrame")
    if frame.crs is not None and not WGS84.equals(frame.crs):
        raise ValueError(f"{what} must be WGS84 lon/lat (EPSG:4326), not {frame.crs}")
    return geopandas.GeoDataFrame(geometry=geopandas.GeoSeries(
        np.asarray(frame.geometry.values), index=pandas.RangeIndex(len(frame)), crs=WGS84))


def _lowest_zone(zones: geopandas.GeoDataFrame, points: geopandas.GeoDataFrame,
                 n: int, offset: int = 0) -> np.ndarray:
    """For points[offset:offset+n] (index = global position), the lowest zone position
    each one intersects, or _NONE."""
    out = np.full(n, _NONE, dtype=np.int64)
    if len(zones) and len(points):
        joined = geopandas.sjoin(zones, points, how="inner", predicate="intersects")
        zone = np.asarray(joined.index, dtype=np.int64)
        point = np.asarray(joined["index_right"], dtype=np.int64) - offset
        np.minimum.at(out, point, zone)
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


def _dask_positions(left: geopandas.GeoDataFrame, right: geopandas.GeoDataFrame, *,
                    npartitions: int | None, scheduler: str | None, workers: int,
                    zones_key: str | None, zones_frame: geopandas.GeoDataFrame) -> np.ndarray:
    if workers < 1:
        raise ValueError("workers must be at least 1")
    if len(left) == 0:
        return np.empty(0, dtype=np.int64)
    geoms = np.asarray(right.geometry.values)
    key = zones_key or _fingerprint(zones_frame, geoms)
    if scheduler is None:
        with local_cluster(workers) as cluster, _distributed().Client(cluster) as client:
            return _run_dask(client, np.asarray(left.geometry.values), geoms, key, npartitions)
    return _run_dask(_client(scheduler), np.asarray(left.geometry.values), geoms, key,
                     npartitions)


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


def _keep_zones(key: str, geoms: np.ndarray) -> None:
    """(On a worker.) Keep the zones `key`, prepared, with their tree; forget the oldest."""
    _RECEIVED[key] += 1
    if key not in _ON_WORKER:
        shapely.prepare(geoms)
        # GEOS builds a prepared polygon's point-in-area index on its first test: test each
        # zone once now (with its box's centre), not during the first census that uses it.
        box = shapely.bounds(geoms)
        shapely.intersects(geoms, shapely.points((box[:, 0] + box[:, 2]) / 2,
                                                 (box[:, 1] + box[:, 3]) / 2))
        _ON_WORKER[key] = (geoms, shapely.STRtree(geoms))
    _ON_WORKER.move_to_end(key)
    while len(_ON_WORKER) > _KEPT_ZONE_SETS:
        _ON_WORKER.popitem(last=False)


def _received() -> dict[str, int]:
    """(On a worker.) How often it was sent each zone set."""
    return dict(_RECEIVED)


def _chunk_lowest(key: str, xy: np.ndarray | None, geoms: np.ndarray | None) -> np.ndarray:
    """(On a worker.) The lowest position of the zones `key` each point of the chunk lies in
    (as coordinates `xy`, or geometries), or _NONE."""
    held = _ON_WORKER.get(key)
    if held is None:
        raise ZonesMissing(key)
    zones, zone_tree = held
    points = shapely.points(xy) if xy is not None else geoms
    assert points is not None
    out = np.full(len(points), _NONE, dtype=np.int64)
    if len(points) == 0:
        return out
    tree = shapely.STRtree(points)
    # Only the zones whose box meets the chunk's: the chunks are strips of the plane.
    near = np.sort(zone_tree.query(shapely.box(*shapely.total_bounds(points))))
    if near.size:
        zone, point = tree.query(zones[near], predicate="intersects")
        np.minimum.at(out, point, near[zone])
    return out


def _run_dask(client: Any, points: np.ndarray, zones: np.ndarray, key: str,
              npartitions: int | None) -> np.ndarray:
    """`client`: a dask.distributed Client. The points go as coordinates (geometries if
    any is not a point), sorted by longitude into one strip per worker (or `npartitions`),
    each strip pinned to a worker so all of them work; the zones stay on the workers."""
    workers = sorted(client.scheduler_info()["workers"])
    if not workers:
        raise OSError("the Dask cluster has no workers")
    n = len(points)
    kind = shapely.get_type_id(points)
    usable = (kind >= 0) & ~shapely.is_empty(points)
    as_points = bool(np.all(kind[usable] == 0))
    idx = np.flatnonzero(usable)
    xy = shapely.get_coordinates(points[idx]) if as_points else shapely.bounds(points[idx])
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
            client.run(_keep_zones, key, zones, workers=missing)
        futures = [client.submit(
            _chunk_lowest, key, xy[a:b, :2] if as_points else None,
            None if as_points else points[chunk], workers=[workers[i % len(workers)]],
            allow_other_workers=False, pure=False)
            for i, (chunk, (a, b)) in enumerate(zip(chunks, pairwise(bounds), strict=False))]
        try:
            results = client.gather(futures)
        except ZonesMissing:  # a worker restarted between the check and the task
            if attempt == 2:
                raise
            continue
        for chunk, got in zip(chunks, results, strict=True):
            out[chunk] = got
        return out
    raise AssertionError("unreachable")
