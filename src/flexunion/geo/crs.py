"""Coordinate systems of Chinese maps: WGS84 (raw GPS), GCJ-02 (Amap, Tencent), BD-09 (Baidu).

WGS84 is what we store. GCJ-02 and BD-09 are obfuscated systems defined only
inside China; outside it they equal WGS84 (GCJ-02) or carry only Baidu's fixed
offset. The formulas come from `prcoords` (CC0/GPLv3+, Artoria2e5/PRCoords),
whose iterative inverses are accurate to ~1e-7 degrees (centimetres).
Every API input and output names its system with `crs=`; `wgs84_point` turns a caller's
point into ours, or into the one 422 (`coordinate_out_of_range`) every geo API gives.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import StrEnum

import numpy as np
import prcoords
import shapely
from shapely.geometry.base import BaseGeometry

from flexunion.core.errors import InvalidInput


class Crs(StrEnum):
    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


LABELS = {
    Crs.WGS84: ("WGS84 卫星定位坐标", "WGS84 (raw GPS)"),
    Crs.GCJ02: ("GCJ-02 国测局坐标（高德、腾讯）", "GCJ-02 (Amap, Tencent)"),
    Crs.BD09: ("BD-09 百度坐标", "BD-09 (Baidu)"),
}


class AbsurdCoordinate(ValueError):
    """Not a place on Earth: out of range, NaN or infinite."""


def check_lon_lat(lon: float, lat: float) -> None:
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise AbsurdCoordinate(f"({lon}, {lat}) is not a finite coordinate")
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise AbsurdCoordinate(f"({lon}, {lat}) is outside longitude ±180 / latitude ±90 "
                               "(were longitude and latitude swapped?)")


def _in_china(lon: float, lat: float) -> bool:
    return bool(prcoords.sanity_in_china_p(prcoords.Coords(lat, lon)))


def to_wgs84(lon: float, lat: float, crs: Crs) -> tuple[float, float]:
    """One point in `crs` to WGS84 (lon, lat)."""
    check_lon_lat(lon, lat)
    if crs is Crs.WGS84:
        return lon, lat
    if crs is Crs.GCJ02:
        if not _in_china(lon, lat):
            return lon, lat
        c = prcoords.gcj_wgs_bored(prcoords.Coords(lat, lon), False)
    else:
        c = prcoords.bd_wgs_bored(prcoords.Coords(lat, lon), False) if _in_china(lon, lat) \
            else prcoords.bd_gcj(prcoords.Coords(lat, lon))
    return float(c.lon), float(c.lat)


def wgs84_point(lon: float, lat: float, crs: Crs) -> tuple[float, float]:
    """The caller's point in our canonical WGS84, or a 422 naming what is wrong."""
    try:
        return to_wgs84(lon, lat, crs)
    except AbsurdCoordinate as exc:
        raise InvalidInput(f"坐标 ({lon}, {lat}) 不在地球上（经纬度是否颠倒？）。", str(exc),
                           code="coordinate_out_of_range") from exc


def from_wgs84(lon: float, lat: float, crs: Crs) -> tuple[float, float]:
    """One WGS84 point to `crs` (lon, lat)."""
    check_lon_lat(lon, lat)
    if crs is Crs.WGS84:
        return lon, lat
    china = _in_china(lon, lat)
    if crs is Crs.GCJ02:
        if not china:
            return lon, lat
        c = prcoords.wgs_gcj(prcoords.Coords(lat, lon), False)
    else:
        c = prcoords.wgs_bd(prcoords.Coords(lat, lon), False) if china \
            else prcoords.gcj_bd(prcoords.Coords(lat, lon))
    return float(c.lon), float(c.lat)


def _each(coords: np.ndarray, convert: Callable[[float, float, Crs], tuple[float, float]],
          crs: Crs) -> np.ndarray:
    out = np.empty_like(coords)
    for i, (x, y) in enumerate(coords):
        out[i] = convert(float(x), float(y), crs)
    return out


def geometry_to_wgs84(geom: BaseGeometry, crs: Crs) -> BaseGeometry:
    if crs is Crs.WGS84:
        return geom
    return shapely.transform(geom, lambda c: _each(c, to_wgs84, crs))


def geometry_from_wgs84(geom: BaseGeometry, crs: Crs) -> BaseGeometry:
    if crs is Crs.WGS84:
        return geom
    return shapely.transform(geom, lambda c: _each(c, from_wgs84, crs))
