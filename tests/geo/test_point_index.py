"""PointIndex (geo/index.py) against the plain definition: a geodesic (pyproj) to every
station, ordered by metres then position, cut at the radius and the limit. Every way
into the index (the precomputed grid, the KD-tree scan, the ball query) must give that
answer exactly, with filters, duplicate stations, sparse and dense places, points off
the grid and tiny indexes."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import numpy as np
import pytest
from pyproj import Geod

from flexunion.geo import index as index_module
from flexunion.geo.index import PointIndex, PointRef

GEOD = Geod(ellps="WGS84")
TENANT = uuid.UUID(int=7)


def refs_at(xy: np.ndarray) -> list[PointRef]:
    return [PointRef(id=uuid.UUID(int=i + 1), code=f"s{i}", name_zh=f"驿站{i}",
                     name_en=f"Station {i}", tenant_id=TENANT, tenant_code="t", address="",
                     lon=float(lon), lat=float(lat),
                     amenities=frozenset({"toilet"} if i % 3 == 0 else set()))
            for i, (lon, lat) in enumerate(xy.tolist())]


def city(rng: np.random.Generator, n: int) -> np.ndarray:
    """A dense core, a second one and a sparse remainder (like bench/geo.py), plus a few
    stations placed twice (ties)."""
    core = rng.normal((121.47, 31.23), 0.02, (n // 2, 2))
    other = rng.normal((121.60, 31.10), 0.05, (n // 4, 2))
    rest = rng.uniform((120.9, 30.7), (122.0, 31.9), (n - n // 2 - n // 4, 2))
    xy = np.concatenate([core, other, rest])
    xy[-5:] = xy[:5]  # duplicates: equal distances, ordered by position
    return xy


def brute(ix: PointIndex, lon: float, lat: float, radius_m: float, limit: int,
          keep: Callable[[PointRef], bool] | None = None) -> list[tuple[int, float]]:
    n = len(ix)
    _, _, dist = GEOD.inv(np.full(n, lon), np.full(n, lat), ix.lons, ix.lats)
    dist = np.asarray(dist)
    out = []
    for i in np.lexsort((np.arange(n), dist)).tolist():
        if dist[i] > radius_m:
            break
        if keep is None or keep(ix.refs[i]):
            out.append((i, float(dist[i])))
            if len(out) == max(limit, 1):
                break
    return out


def positions(found: list[tuple[PointRef, float]]) -> list[tuple[int, float]]:
    return [(ref.id.int - 1, d) for ref, d in found]


def same(got: list[tuple[int, float]], want: list[tuple[int, float]]) -> bool:
    return [i for i, _ in got] == [i for i, _ in want] and all(
        abs(a - b) < 1e-6 for (_, a), (_, b) in zip(got, want, strict=True))


def toilets(ref: PointRef) -> bool:
    return "toilet" in ref.amenities


@pytest.mark.parametrize("stations", [3_000, 40, 5, 2])
def test_every_path_gives_the_geodesic_answer(stations: int) -> None:
    rng = np.random.default_rng(stations)
    ix = PointIndex(refs_at(city(rng, stations)))
    if stations >= 5:
        assert ix._cells is not None  # the grid is used, not only the tree
    # Query points: where the stations are, on stations themselves, off the grid, far away.
    queries = np.concatenate([city(rng, 300), np.column_stack([ix.lons[:20], ix.lats[:20]]),
                              [[118.0, 30.0], [121.47, 35.0], [-70.0, -33.0]]])
    asked = 0
    for lon, lat in queries.tolist():
        for radius, limit, keep in ((200_000, 5, None), (3_000, 5, None), (500, 1, None),
                                    (3_000, 10, None), (3_000, 10, toilets),
                                    (50_000, 3, toilets), (3_000, 10_000, toilets),
                                    (3_000, 0, None)):
            got = positions(ix.nearby(lon, lat, radius_m=radius, limit=limit, keep=keep))
            assert same(got, brute(ix, lon, lat, radius, limit, keep)), (lon, lat, radius,
                                                                         limit)
            asked += 1
        assert same(positions(ix.nearest(lon, lat, 5)), brute(ix, lon, lat, 200_000, 5))
        idx, dist = ix.within(lon, lat, 2_000)
        want = brute(ix, lon, lat, 2_000, 10**9)
        assert same(list(zip(idx.tolist(), dist.tolist(), strict=True)), want)
    assert asked > 2_000


def test_grid_cells_list_few_stations_and_the_scan_grows_when_needed() -> None:
    rng = np.random.default_rng(3)
    ix = PointIndex(refs_at(city(rng, 3_000)))
    assert ix._cells is not None and ix._cells.mean_listed < 20
    # 8 toilets (a third of the stations have one) take more than the stations a scan
    # starts with: it must look further rather than stop short.
    assert 8 * 3 > 2 * 8 >= index_module._SCAN_START
    for lon, lat in city(rng, 50).tolist():
        got = positions(ix.nearby(lon, lat, radius_m=5_000, limit=8, keep=toilets))
        assert same(got, brute(ix, lon, lat, 5_000, 8, toilets))


def test_an_empty_index_finds_nothing() -> None:
    ix = PointIndex([])
    assert ix.nearest(121.0, 31.0, 5) == [] and ix.nearby(121.0, 31.0, radius_m=1e5,
                                                          limit=3) == []
    idx, dist = ix.within(121.0, 31.0, 1e5)
    assert idx.size == 0 and dist.size == 0
