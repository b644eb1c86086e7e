"""Coordinate conversions against published reference pairs, and round trips.

Reference pairs (each provider's own documentation example):
- Amap (高德) coordinate-convert API: GPS 116.481499,39.990475
  → GCJ-02 116.487585177952,39.991754014757
- Baidu (百度) geoconv API: WGS84 114.21892734521,29.575429778924
  → BD-09 114.23074871003,29.579084787993
- Alibaba Cloud address service TransferCoord: GCJ-02 120.026268,30.279164
  ↔ WGS84 120.021519,30.281543 ↔ BD-09 120.032768,30.285238 (six decimals)
Providers add their own rounding (and Baidu a little noise), so tolerances are in metres.
"""

from __future__ import annotations

import math
import random

import pytest
from pyproj import Geod

from flexunion.geo.crs import AbsurdCoordinate, Crs, from_wgs84, to_wgs84

GEOD = Geod(ellps="WGS84")


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


@pytest.mark.parametrize("wgs, other, crs, tolerance_m", [
    ((116.481499, 39.990475), (116.487585177952, 39.991754014757), Crs.GCJ02, 0.1),
    ((114.21892734521, 29.575429778924), (114.23074871003, 29.579084787993), Crs.BD09, 1.0),
    ((120.021519, 30.281543), (120.026268, 30.279164), Crs.GCJ02, 2.0),
    ((120.021519, 30.281543), (120.032768, 30.285238), Crs.BD09, 2.0),
])
def test_published_reference_pairs(wgs, other, crs, tolerance_m) -> None:
    assert metres(from_wgs84(*wgs, crs), other) < tolerance_m
    assert metres(to_wgs84(*other, crs), wgs) < tolerance_m


def test_round_trips_inside_china_are_within_centimetres() -> None:
    rng = random.Random(7)
    for _ in range(500):
        p = (rng.uniform(75, 134), rng.uniform(18, 53))
        for crs in (Crs.GCJ02, Crs.BD09):
            there = from_wgs84(*p, crs)
            assert metres(there, p) > 1  # the offset is real …
            assert metres(to_wgs84(*there, crs), p) < 0.05  # … and undone to 5 cm


def test_outside_china_gcj02_is_wgs84() -> None:
    for p in ((2.35, 48.85), (-74.0, 40.7), (139.7, 35.7)):
        assert from_wgs84(*p, Crs.GCJ02) == p and to_wgs84(*p, Crs.GCJ02) == p


@pytest.mark.parametrize("lon, lat", [(181, 30), (120, 91), (math.nan, 30), (120, math.inf)])
def test_absurd_coordinates_are_refused(lon: float, lat: float) -> None:
    for crs in Crs:
        with pytest.raises(AbsurdCoordinate):
            to_wgs84(lon, lat, crs)
