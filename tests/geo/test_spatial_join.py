"""zone_of_points: one zone per point (the lowest position on ties), holes exclude."""

from __future__ import annotations

import geopandas
import numpy as np
import pandas
import pytest
import shapely
import shapely.affinity
from shapely.geometry import MultiPolygon, Point, Polygon, box

from flexunion.geo.census.spatial_join import zone_of_points, zone_of_xy


def frame(geoms: object, index: object = None, crs: int = 4326) -> geopandas.GeoDataFrame:
    geometry = geopandas.GeoSeries(list(geoms), index=index, crs=crs)
    return geopandas.GeoDataFrame({"label": range(len(geoms))}, geometry=geometry,
                                  index=geometry.index)


def points(*xy: tuple[float, float], index: object = None) -> geopandas.GeoDataFrame:
    return frame([Point(x, y) for x, y in xy], index=index)


def as_list(series: pandas.Series) -> list[int | None]:
    return [None if pandas.isna(v) else int(v) for v in series]


def test_squares_sharing_a_border_lowest_position_wins() -> None:
    left, right = box(0, 0, 1, 1), box(1, 0, 2, 1)
    pts = points((0.5, 0.5), (1.5, 0.5), (1.0, 0.5), (1.0, 1.0), (2.0, 0.25), (0.0, 0.0),
                 (3.0, 3.0), (1.0, 1.5))
    got = zone_of_points(pts, frame([left, right]))
    assert got.dtype == "Int64"
    assert as_list(got) == [0, 1, 0, 0, 1, 0, None, None]
    # Swapping the zones swaps the answer on the shared border: position, not geometry, decides.
    assert as_list(zone_of_points(pts, frame([right, left]))) == [1, 0, 0, 0, 0, 1, None, None]


def test_overlapping_zones_count_once() -> None:
    zones = frame([box(0, 0, 2, 2), box(1, 1, 3, 3), box(1.5, 1.5, 1.8, 1.8)])
    got = zone_of_points(points((1.6, 1.6), (2.5, 2.5), (1.2, 1.2), (0.5, 0.5)), zones)
    assert as_list(got) == [0, 1, 0, 0]


def test_a_hole_excludes_and_an_enclave_takes_it() -> None:
    ring = [(0.4, 0.4), (0.6, 0.4), (0.6, 0.6), (0.4, 0.6)]
    donut = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)], [ring])
    pts = points((0.5, 0.5), (0.4, 0.5), (0.2, 0.2), (0.55, 0.45))
    assert as_list(zone_of_points(pts, frame([donut]))) == [None, 0, 0, None]
    # An enclave filling the hole, listed first and last: the hole's border goes to the lower one.
    enclave = Polygon(ring)
    assert as_list(zone_of_points(pts, frame([donut, enclave]))) == [1, 0, 0, 1]
    assert as_list(zone_of_points(pts, frame([enclave, donut]))) == [0, 0, 1, 0]


def test_multipolygon_parts_belong_to_one_zone() -> None:
    zones = frame([box(5, 5, 6, 6), MultiPolygon([box(0, 0, 1, 1), box(2, 0, 3, 1)])])
    got = zone_of_points(points((0.5, 0.5), (2.5, 0.5), (1.5, 0.5), (5.5, 5.5), (3, 1)), zones)
    assert as_list(got) == [1, 1, None, 0, 1]


def test_aligned_with_the_points_index_and_missing_geometry() -> None:
    pts = frame([Point(1.5, 0.5), None, Point(0.5, 0.5), shapely.Point()],
                index=pandas.Index(["d", "a", "c", "b"], name="worker"))
    got = zone_of_points(pts, frame([box(0, 0, 1, 1), box(1, 0, 2, 1)]))
    assert got.index.equals(pts.index)
    assert as_list(got) == [1, None, 0, None]
    assert got.loc["c"] == 0


def test_empty_inputs() -> None:
    none = frame([])
    assert len(zone_of_points(none, frame([box(0, 0, 1, 1)]))) == 0
    assert as_list(zone_of_points(points((0.5, 0.5)), none)) == [None]


def test_rejects_other_crs_and_engines() -> None:
    zones = frame([box(0, 0, 1, 1)])
    with pytest.raises(ValueError, match="EPSG:4326"):
        zone_of_points(points((0.5, 0.5)), zones.set_crs(3857, allow_override=True))
    with pytest.raises(ValueError, match="engine"):
        zone_of_points(points((0.5, 0.5)), zones, engine="spark")  # type: ignore[arg-type]


def grid_case(n_points: int) -> tuple[geopandas.GeoDataFrame, geopandas.GeoDataFrame]:
    """10 × 10 unit squares (every 7th with a hole, every 11th a MultiPolygon with a far part,
    one big zone overlapping many), and random points, a quarter of them on grid lines."""
    rng = np.random.default_rng(42)
    zones = []
    for i in range(100):
        x, y = i % 10, i // 10
        cell = box(x, y, x + 1, y + 1)
        if i % 7 == 3:
            hole = [(x + .3, y + .3), (x + .7, y + .3), (x + .7, y + .7), (x + .3, y + .7)]
            cell = Polygon(cell.exterior.coords, [hole])
        if i % 11 == 5:
            cell = MultiPolygon([cell, box(12 + x, y, 12.5 + x, y + .5)])
        zones.append(cell)
    zones.insert(40, box(2.5, 2.5, 6.5, 6.5))
    xy = np.column_stack([rng.uniform(-1, 23, n_points), rng.uniform(-1, 11, n_points)])
    on_lines = rng.random(n_points) < 0.25
    xy[on_lines, 0] = np.round(xy[on_lines, 0])
    index = pandas.Index(rng.permutation(n_points) * 3 + 7)
    return frame(shapely.points(xy), index=index), frame(zones)


def brute_force(pts: geopandas.GeoDataFrame, zones: geopandas.GeoDataFrame) -> list[int | None]:
    out = []
    for p in pts.geometry:
        hits = [i for i, z in enumerate(zones.geometry) if z.intersects(p)]
        out.append(min(hits) if hits else None)
    return out


def test_pandas_engine_matches_brute_force() -> None:
    pts, zones = grid_case(1500)
    got = zone_of_points(pts, zones)
    assert as_list(got) == brute_force(pts, zones)
    assert got.notna().sum() > 300 and got.isna().sum() > 300


def test_dask_engine_equals_pandas_on_an_in_process_cluster() -> None:
    from distributed import LocalCluster

    pts, zones = grid_case(4000)
    expected = zone_of_points(pts, zones)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        got = zone_of_points(pts, zones, engine="dask", npartitions=7,
                             scheduler=cluster.scheduler_address)
    pandas.testing.assert_series_equal(got, expected)


def test_from_coordinates_equals_from_points_on_both_engines() -> None:
    """zone_of_xy (the census's call: the join builds the points where it runs, on the
    workers with Dask) answers as zone_of_points and as brute force; a row with a NaN is
    no point (-1), and a Point(x, NaN) does not hide other points from the join."""
    from distributed import LocalCluster

    pts, zones = grid_case(4000)
    xy = shapely.get_coordinates(pts.geometry.values)
    xy[::97] = np.nan
    xy[5::101, 1] = np.nan
    with_nan = frame(shapely.points(xy))
    expected = np.array([-1 if z is None else z for z in brute_force(with_nan, zones)])
    assert np.array_equal(zone_of_points(with_nan, zones).fillna(-1).to_numpy("int64"),
                          expected)
    assert (expected == -1).sum() > 300 and (expected >= 0).sum() > 1000
    got = zone_of_xy(xy, zones)
    assert got.dtype == np.int64 and np.array_equal(got, expected)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        for parts in (None, 1, 7):
            on_dask = zone_of_xy(xy, zones, engine="dask", npartitions=parts,
                                 scheduler=cluster.scheduler_address)
            assert np.array_equal(on_dask, expected)
        assert len(zone_of_xy(np.empty((0, 2)), zones, engine="dask",
                              scheduler=cluster.scheduler_address)) == 0
        assert zone_of_xy(np.full((3, 2), np.nan), zones, engine="dask",
                          scheduler=cluster.scheduler_address).tolist() == [-1, -1, -1]
    assert zone_of_xy(xy[:3], frame([])).tolist() == [-1, -1, -1]
    with pytest.raises(ValueError, match="engine"):
        zone_of_xy(xy, zones, engine="spark")  # type: ignore[arg-type]


def test_dask_engine_with_its_own_local_cluster() -> None:
    pts, zones = grid_case(3000)
    got = zone_of_points(pts, zones, engine="dask", workers=2)
    pandas.testing.assert_series_equal(got, zone_of_points(pts, zones))


def test_dask_keeps_the_zones_on_a_running_cluster() -> None:
    """The zones go to each worker once per version: a second call with the same zones ships
    only the points; changed zones (a new frame, or a new key) are sent again and answer
    anew. Missing and empty geometries, and a point frame with a polygon in it, answer as
    with pandas."""
    from distributed import Client, LocalCluster

    from flexunion.geo.census import spatial_join

    pts, zones = grid_case(3000)
    expected = zone_of_points(pts, zones)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        address = cluster.scheduler_address
        got = zone_of_points(pts, zones, engine="dask", scheduler=address)
        pandas.testing.assert_series_equal(got, expected)
        key = spatial_join._fingerprint(zones, np.asarray(zones.geometry.values))
        assert set(client.run(spatial_join._holds_zones, key).values()) == {True}

        def received() -> list[dict[str, int]]:
            return list(client.run(spatial_join._received).values())

        assert received() == [{key: 1}, {key: 1}]
        again = zone_of_points(pts, zones, engine="dask", scheduler=address)
        pandas.testing.assert_series_equal(again, expected)
        assert received() == [{key: 1}, {key: 1}]  # not sent again
        moved = frame([shapely.affinity.translate(g, 0.5) for g in zones.geometry])
        pandas.testing.assert_series_equal(
            zone_of_points(pts, moved, engine="dask", scheduler=address),
            zone_of_points(pts, moved))
        assert all(len(r) == 2 and key in r for r in received())
        named = zone_of_points(pts, moved, engine="dask", scheduler=address,
                               zones_key="federation-1:kind:v2", npartitions=5)
        pandas.testing.assert_series_equal(named, zone_of_points(pts, moved))
        assert all(r.get("federation-1:kind:v2") == 1 for r in received())
        odd = frame([Point(1.5, 0.5), None, Point(0.5, 0.5), shapely.Point(), box(0.9, 0, 1.1, 1)],
                    index=pandas.Index(list("edcba")))
        square_zones = frame([box(0, 0, 1, 1), box(1, 0, 2, 1)])
        pandas.testing.assert_series_equal(
            zone_of_points(odd, square_zones, engine="dask", scheduler=address),
            zone_of_points(odd, square_zones))
        assert as_list(zone_of_points(odd.iloc[:4], square_zones, engine="dask",
                                      scheduler=address)) == [1, None, 0, None]


def _forget_points() -> None:
    """(On a worker.) Forget every kept strip of points, as after a restart."""
    from flexunion.geo.census import spatial_join

    spatial_join._POINTS_ON_WORKER.clear()


def test_dask_keeps_the_points_on_a_running_cluster() -> None:
    """From coordinates each worker keeps its strip of the points, keyed by their digest: a
    repeat call ships no points and answers as pandas; changed coordinates are a new set
    (never the old answer); a worker that forgot its strip is sent it again."""
    from distributed import Client, LocalCluster

    from flexunion.geo.census import spatial_join

    pts, zones = grid_case(3000)
    xy = shapely.get_coordinates(pts.geometry.values)
    xy[::97] = np.nan
    expected = zone_of_xy(xy, zones)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        address = cluster.scheduler_address

        def received() -> list[dict[str, int]]:
            return list(client.run(spatial_join._points_received).values())

        assert np.array_equal(zone_of_xy(xy, zones, engine="dask", scheduler=address), expected)
        key = spatial_join._xy_digest(xy) + "#2"
        assert received() == [{key: 1}, {key: 1}]
        for _ in range(2):  # kept: nothing sent again
            assert np.array_equal(zone_of_xy(xy, zones, engine="dask", scheduler=address),
                                  expected)
        assert received() == [{key: 1}, {key: 1}]
        moved = xy.copy()
        moved[:, 0] += 0.5  # the census input changed: a new set, a new answer
        got = zone_of_xy(moved, zones, engine="dask", scheduler=address)
        assert np.array_equal(got, zone_of_xy(moved, zones))
        assert not np.array_equal(got, expected)
        assert all(len(r) == 2 for r in received())
        named = zone_of_xy(xy, zones, engine="dask", scheduler=address, npartitions=5,
                           points_key="census:federation-1:v7")
        assert np.array_equal(named, expected)
        client.run(_forget_points)
        assert np.array_equal(zone_of_xy(xy, zones, engine="dask", scheduler=address), expected)
        assert all(r[key] == 2 for r in received())


def test_census_counts_on_a_running_cluster_follow_changed_inputs() -> None:
    """counting.compute on Dask (zones kept by version, points by their digest) gives the
    pandas figures, and still does after the members move: no stale kept points."""
    from distributed import LocalCluster

    from flexunion.geo.census.counting import Inputs, compute

    rng = np.random.default_rng(7)
    cells = [box(i, j, i + 1, j + 1) for i in range(6) for j in range(4)]
    geoms = np.array(cells + [shapely.affinity.translate(c, 0.5, 0.5) for c in cells[:8]])
    zones = [{"zone_code": f"z{k}", "kind": "delivery_zone",
              "platform": "p1" if k < len(cells) else "p2"} for k in range(len(geoms))]
    n = 2000
    inputs = Inputs(
        zones=zones, zone_geoms=geoms, zones_version="zones:test-v1",
        workers_partner=["p1" if k % 3 else "p2" for k in range(n)],
        workers_xy=np.column_stack([rng.uniform(-0.5, 6.5, n), rng.uniform(-0.5, 4.5, n)]),
        workers_zone=[None] * n, workers_days=rng.integers(0, 5, n),
        members_xy=np.column_stack([rng.uniform(0, 6, n), rng.uniform(0, 4, n)]),
        members_recent=rng.random(n) < 0.5,
        members_platforms=[frozenset({"p1"} if k % 2 else {"p1", "p2"}) for k in range(n)],
        stations_xy=np.column_stack([rng.uniform(0, 6, 50), rng.uniform(0, 4, 50)]))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        for _ in range(2):
            for _ in range(2):  # the second time, everything is already on the workers
                assert (compute(inputs, engine="dask", scheduler=address, min_active_days=1)
                        == compute(inputs, engine="pandas", scheduler=None,
                                   min_active_days=1))
            inputs.members_xy = inputs.members_xy[::-1] + 0.3  # the check-ins moved
