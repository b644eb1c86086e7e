"""Areas and stations from a federation's folder: GeoJSON, GeoPackage and Shapefile."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import geopandas
import httpx
import pytest
import yaml
from shapely.geometry import mapping

from flexunion.geo.crs import Crs
from flexunion.provisioning.service import FederationFileError, apply_directory, plan_directory
from tests.support.factories import bearer, federation_spec, worker_login
from tests.support.geo import collection, feature, square

HOURS = {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def folder_with_areas(tmp_path: Path) -> tuple[Path, dict]:
    prefix = "g" + secrets.token_hex(4)
    spec = federation_spec(prefix)
    r1, r2 = (r["code"] for r in spec["regions"])
    station = spec["regions"][0]["stations"][0]["code"]
    folder = tmp_path / prefix
    (folder / "areas").mkdir(parents=True)
    # Jurisdictions in GeoJSON, as drawn on an Amap (GCJ-02) base map.
    (folder / "areas" / "jur.geojson").write_text(json.dumps(collection(
        feature("west", square(121.40, 31.15, 121.45, 31.25), tenant=r1),
        feature("east", square(121.45, 31.15, 121.50, 31.25), tenant=r2))))
    # Delivery zones in a GeoPackage in a projected CRS (UTM 51N): reprojected on load.
    zones = geopandas.GeoDataFrame(
        {"code": ["za", "zb"], "name_zh": ["甲片区", "乙片区"], "name_en": ["Zone A", "Zone B"],
         "tenant": [r1, r1], "partner": ["alpha", "beta"]},
        geometry=[square(121.40, 31.15, 121.42, 31.17), square(121.42, 31.15, 121.44, 31.17)],
        crs=4326).to_crs(32651)
    zones.to_file(folder / "areas" / "zones.gpkg", layer="zones", driver="GPKG")
    # Station coverage as a Shapefile in WGS84.
    cover = geopandas.GeoDataFrame(
        {"code": ["cov"], "name_zh": ["站点范围"], "name_en": ["Reach"], "tenant": [station]},
        geometry=[square(121.41, 31.16, 121.412, 31.162)], crs=4326)
    cover.to_file(folder / "areas" / "cover.shp")
    spec["areas"] = [
        {"file": "areas/jur.geojson", "kind": "jurisdiction", "crs": "gcj02"},
        {"file": "areas/zones.gpkg", "kind": "delivery_zone", "layer": "zones"},
        {"file": "areas/cover.shp", "kind": "station_coverage"},
    ]
    spec["service_points"] = [{
        "code": f"{prefix}-yz", "tenant": station, "name_zh": "测试驿站", "name_en": "Test point",
        "address": "测试路 1 号", "location": {"lon": 121.4105, "lat": 31.1605, "crs": "gcj02"},
        "amenities": ["drinking_water", "charging"], "opening_hours": HOURS,
        "shift_changes": ["08:00", "14:00"]}]
    (folder / "federation.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True))
    return folder, spec


async def test_apply_loads_every_format_once_and_resolve_uses_them(
    owner, tmp_path: Path, client: httpx.AsyncClient, sms,
) -> None:
    folder, spec = folder_with_areas(tmp_path)
    async with owner() as s, s.begin():
        plan = await apply_directory(s, folder)
    made = {(c.kind, c.code) for c in plan.changes if c.action == "create"}
    assert {("area", "jurisdiction:west"), ("area", "delivery_zone:za"),
            ("area", "station_coverage:cov"), ("point", spec["service_points"][0]["code"])} <= made
    async with owner() as s, s.begin():
        again = await plan_directory(s, folder)
    assert not again.changed, again.render()  # GeoPackage reprojection is stable too

    token, _ = await worker_login(client, sms, spec["federation"]["code"])
    r = await client.get("/v1/geo/resolve", params={"lon": 121.41, "lat": 31.16},
                         headers=bearer(token))
    body = r.json()
    assert [z["code"] for z in body["delivery_zones"]] == ["za"]
    assert body["delivery_zones"][0]["partner"] == "alpha"
    # The GCJ-02 file put the west jurisdiction ~450 m west of the drawn numbers.
    assert body["jurisdiction"]["area"]["code"] == "west"
    r = await client.get("/v1/geo/resolve", params={"lon": 121.4499, "lat": 31.20},
                         headers=bearer(token))
    assert r.json()["jurisdiction"]["area"]["code"] == "east"  # raw 121.4499 is past the line


@pytest.mark.parametrize("breakage, message", [
    (lambda spec, folder: (folder / "areas" / "jur.geojson").write_text(json.dumps(collection(
        feature("bow", {"type": "Polygon", "coordinates": [[[121.40, 31.15], [121.45, 31.20],
                                                            [121.45, 31.15], [121.40, 31.20],
                                                            [121.40, 31.15]]]},
                tenant=spec["regions"][0]["code"])))), "feature #0 (bow): self_intersection"),
    (lambda spec, folder: (folder / "areas" / "jur.geojson").write_text(json.dumps(collection(
        feature("nobody", square(121.4, 31.1, 121.5, 31.2), tenant="nobody")))),
     "feature #0 (nobody): `tenant` 'nobody'"),
    (lambda spec, folder: (folder / "areas" / "jur.geojson").unlink(), "does not exist"),
    (lambda spec, folder: (folder / "areas" / "jur.geojson").write_text("{not json"),
     "cannot read"),
])
async def test_bad_area_files_are_named_and_nothing_is_applied(
    owner, tmp_path: Path, breakage, message: str,
) -> None:
    folder, spec = folder_with_areas(tmp_path)
    breakage(spec, folder)
    async with owner() as s:
        with pytest.raises(FederationFileError) as err:
            async with s.begin():
                await apply_directory(s, folder)
    assert message in str(err.value)
    assert "$.areas[0]" in str(err.value)


async def test_bad_service_points_are_named(owner, tmp_path: Path) -> None:
    folder, spec = folder_with_areas(tmp_path)
    for change, message in (({"amenities": ["jacuzzi"]}, "unknown ['jacuzzi']"),
                            ({"opening_hours": {"mon": [["25:00", "26:00"]]}}, "opening_hours"),
                            ({"location": {"lon": 31.2, "lat": 121.4}}, "outside longitude"),
                            ({"tenant": spec["federation"]["code"]}, "not a region or station")):
        broken = dict(spec, service_points=[spec["service_points"][0] | change])
        (folder / "federation.yaml").write_text(yaml.safe_dump(broken, allow_unicode=True))
        async with owner() as s, s.begin():
            with pytest.raises(FederationFileError) as err:
                await plan_directory(s, folder)
        assert "$.service_points[0]" in str(err.value) and message in str(err.value), err.value


def test_demo_areas_are_valid_and_stations_inside_their_district() -> None:
    """The shipped demo: every feature passes the checks, every station lies in its district."""
    from flexunion.geo.files import PointSpec
    from flexunion.geo.shapes import features_from_file

    demo = Path(__file__).resolve().parents[2] / "tenants" / "demo"
    jur = {f.code: f.geom for f in features_from_file(str(demo / "areas/jurisdictions.geojson"),
                                                       Crs.GCJ02)}
    doc = yaml.safe_load((demo / "federation.yaml").read_text())
    import msgspec
    from shapely.geometry import Point

    from flexunion.geo.crs import to_wgs84
    for raw in doc["service_points"]:
        p = msgspec.convert(raw, PointSpec)
        lon, lat = to_wgs84(p.location.lon, p.location.lat, p.location.crs)
        district = "sh-xuhui" if p.code.startswith("sh-") else "hz-xihu"
        assert jur[district].contains(Point(lon, lat)), p.code
    assert mapping(jur["sh-xuhui"])["type"] == "Polygon"
