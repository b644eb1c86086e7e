"""Service areas through the admin API, and point resolution through the mobile API."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from flexunion.app import create_app
from flexunion.config import Settings
from flexunion.geo.crs import Crs, from_wgs84
from tests.support.factories import Federation, bearer, worker_login
from tests.support.geo import collection, feature, square
from tests.support.server import LiveServer

# r1 and r2 share the line lon = 121.45 (a fake geography, but a real shared border).
WEST = square(121.40, 31.15, 121.45, 31.25)
EAST = square(121.45, 31.15, 121.50, 31.25)


async def upload(client: httpx.AsyncClient, token: str, kind: str, *features: dict,
                 **params: object) -> httpx.Response:
    return await client.put("/v1/admin/geo/areas", json=collection(*features),
                            params={"kind": kind, **params}, headers=bearer(token))


async def resolve(client: httpx.AsyncClient, token: str, lon: float, lat: float,
                  crs: str = "wgs84") -> dict:
    r = await client.get("/v1/geo/resolve", params={"lon": lon, "lat": lat, "crs": crs},
                         headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
async def hq(federation: Federation, staff_token) -> str:
    return await staff_token(federation, "hq_admin", federation.hq)


@pytest.fixture
async def worker(client: httpx.AsyncClient, sms, federation: Federation) -> str:
    token, _ = await worker_login(client, sms, federation.hq)
    return token


async def test_jurisdictions_resolve_inside_outside_on_the_border_and_in_a_hole(
    client: httpx.AsyncClient, federation: Federation, hq: str, worker: str,
) -> None:
    r1, r2 = federation.regions
    with_hole = square(121.40, 31.15, 121.45, 31.25).difference(
        square(121.41, 31.16, 121.42, 31.17))
    r = await upload(client, hq, "jurisdiction", feature("west", with_hole, tenant=r1),
                     feature("east", EAST, tenant=r2))
    assert r.status_code == 200, r.text
    assert r.json()["created"] == ["east", "west"]

    inside = await resolve(client, worker, 121.43, 31.20)
    assert inside["jurisdiction"]["union"]["code"] == r1
    assert [t["code"] for t in inside["join_targets"]] == [r1]
    assert inside["jurisdiction"]["on_border"] is False
    assert inside["jurisdiction"]["union"]["city"] == "杭州市"  # r1 of the test spec
    assert (await resolve(client, worker, 121.47, 31.20))["jurisdiction"]["union"]["code"] == r2

    border = await resolve(client, worker, 121.45, 31.20)
    assert sorted(a["tenant"] for a in border["jurisdictions"]) == [r1, r2]
    assert all(a["on_border"] for a in border["jurisdictions"])
    assert border["jurisdiction"]["on_border"] is True
    assert border["jurisdiction"]["area"]["code"] == "east"  # the stable rule: lowest code

    hole = await resolve(client, worker, 121.415, 31.165)
    assert hole["jurisdiction"] is None and hole["jurisdictions"] == []
    hole_edge = await resolve(client, worker, 121.41, 31.165)
    assert [a["code"] for a in hole_edge["jurisdictions"]] == ["west"]
    assert hole_edge["jurisdictions"][0]["on_border"] is True
    nowhere = await resolve(client, worker, 100.0, 40.0)
    assert nowhere["jurisdiction"] is None and nowhere["delivery_zones"] == []


async def test_resolve_names_the_jurisdictions_adcode(
    client: httpx.AsyncClient, federation: Federation, hq: str, worker: str,
) -> None:
    """行政区划代码: the 6-digit adcode of the union whose jurisdiction holds the point, for a
    worker and for staff alike, and documented in the OpenAPI document."""
    r1, r2 = federation.regions
    r = await upload(client, hq, "jurisdiction", feature("west", WEST, tenant=r1),
                     feature("east", EAST, tenant=r2))
    assert r.status_code == 200, r.text

    west = await resolve(client, worker, 121.43, 31.20)
    assert west["jurisdiction"]["adcode"] == "330106"  # r1 of the test spec (杭州市西湖区)
    east = await resolve(client, hq, 121.47, 31.20)
    assert (east["jurisdiction"]["union"]["code"], east["jurisdiction"]["adcode"]) == (
        r2, "440305")
    assert (await resolve(client, worker, 100.0, 40.0))["jurisdiction"] is None

    doc = (await client.get("/schema/openapi.json")).json()
    jurisdiction = doc["components"]["schemas"]["Jurisdiction"]
    assert "adcode" in jurisdiction["properties"] and "adcode" in jurisdiction["required"]
    assert "adcode" in doc["paths"]["/v1/geo/resolve"]["get"]["description"]


async def test_multipolygon_zones_per_platform_and_station_coverage(
    client: httpx.AsyncClient, federation: Federation, hq: str, worker: str, staff_token,
) -> None:
    r1 = federation.regions[0]
    station = federation.stations[r1][0]
    islands = square(121.40, 31.15, 121.42, 31.17).union(square(121.46, 31.15, 121.48, 31.17))
    assert islands.geom_type == "MultiPolygon"
    r = await upload(client, hq, "delivery_zone", feature("z-alpha", islands, tenant=r1,
                                                          partner="alpha"),
                     feature("z-beta", square(121.40, 31.15, 121.50, 31.25), tenant=r1,
                             partner="beta"))
    assert r.status_code == 200, r.text
    officer = await staff_token(federation, "station_officer", station)
    r = await upload(client, officer, "station_coverage",
                     feature("cov", square(121.465, 31.155, 121.475, 31.165)))
    assert r.status_code == 200, r.text

    second_island = await resolve(client, worker, 121.47, 31.16)
    assert [(z["code"], z["partner"]) for z in second_island["delivery_zones"]] == [
        ("z-alpha", "alpha"), ("z-beta", "beta")]
    assert [(c["code"], c["tenant"]) for c in second_island["station_coverages"]] == [
        ("cov", station)]
    assert [t["code"] for t in second_island["join_targets"]] == [station]
    between = await resolve(client, worker, 121.44, 31.16)
    assert [z["code"] for z in between["delivery_zones"]] == ["z-beta"]


async def test_bad_features_are_refused_by_name_and_nothing_is_stored(
    client: httpx.AsyncClient, federation: Federation, hq: str,
) -> None:
    r1 = federation.regions[0]
    bowtie = {"type": "Polygon", "coordinates": [[[121.40, 31.15], [121.45, 31.20],
                                                  [121.45, 31.15], [121.40, 31.20],
                                                  [121.40, 31.15]]]}
    unclosed = {"type": "Polygon", "coordinates": [[[121.40, 31.15], [121.45, 31.15],
                                                    [121.45, 31.20], [121.40, 31.20]]]}
    swapped = {"type": "Polygon", "coordinates": [[[31.15, 121.40], [31.15, 121.45],
                                                   [31.20, 121.45], [31.15, 121.40]]]}
    r = await upload(
        client, hq, "jurisdiction",
        feature("fine", WEST, tenant=r1),
        feature("bowtie", bowtie, tenant=r1),
        feature("unclosed", unclosed, tenant=r1),
        feature("empty", {"type": "Polygon", "coordinates": []}, tenant=r1),
        feature("swapped", swapped, tenant=r1),
        feature("line", {"type": "LineString", "coordinates": [[121.4, 31.1], [121.5, 31.2]]},
                tenant=r1),
        feature("Bad Code", WEST, tenant=r1),
        feature("nan", {"type": "Polygon", "coordinates": [[[121.4, 31.1], ["x", 31.2],
                                                            [121.5, 31.2], [121.4, 31.1]]]}),
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "invalid_features"
    problems = {(e["feature"], e["problem"]) for e in body["errors"]}
    assert problems == {(1, "self_intersection"), (2, "unclosed_ring"), (3, "empty"),
                        (4, "absurd_coordinate"), (5, "not_polygonal"), (6, "bad_property"),
                        (7, "malformed_coordinates")}
    assert next(e for e in body["errors"] if e["feature"] == 1)["code"] == "bowtie"
    listed = await client.get("/v1/admin/geo/areas", headers=bearer(hq))
    assert listed.json()["items"] == []  # the good feature was not stored either

    for body_ in ({"type": "Point", "coordinates": [1, 2]}, [], {"features": "x"}):
        r = await client.put("/v1/admin/geo/areas", json=body_, params={"kind": "jurisdiction"},
                             headers=bearer(hq))
        assert r.status_code in (400, 422), r.text
        assert r.json()["code"] in ("invalid_features", "validation_failed", "malformed_request")
    r = await upload(client, hq, "volcano", feature("fine", WEST, tenant=r1))
    assert r.status_code == 422 and r.json()["code"] == "validation_failed"


async def test_repair_is_explicit_and_recorded(
    client: httpx.AsyncClient, federation: Federation, hq: str, worker: str,
) -> None:
    r1 = federation.regions[0]
    bowtie = {"type": "Polygon", "coordinates": [[[121.40, 31.15], [121.50, 31.25],
                                                  [121.50, 31.15], [121.40, 31.25]]]}
    r = await upload(client, hq, "jurisdiction", feature("bow", bowtie, tenant=r1), repair="true")
    assert r.status_code == 200, r.text
    assert r.json()["repaired"] == ["bow"]
    listed = (await client.get("/v1/admin/geo/areas", headers=bearer(hq))).json()["items"]
    assert [(a["code"], a["repaired"]) for a in listed] == [("bow", True)]
    # Both triangles of the bow tie are kept (crossing at 121.45, 31.20); between them is out.
    assert (await resolve(client, worker, 121.42, 31.20))["jurisdiction"]["union"]["code"] == r1
    assert (await resolve(client, worker, 121.48, 31.20))["jurisdiction"]["union"]["code"] == r1
    assert (await resolve(client, worker, 121.45, 31.17))["jurisdiction"] is None


async def test_gcj02_in_and_out(client: httpx.AsyncClient, federation: Federation, hq: str,
                                worker: str) -> None:
    """An area drawn on an Amap (GCJ-02) base map is stored in WGS84 and comes back as drawn."""
    r1 = federation.regions[0]
    drawn = square(121.40, 31.15, 121.45, 31.20)
    r = await upload(client, hq, "jurisdiction", feature("drawn", drawn, tenant=r1), crs="gcj02")
    assert r.status_code == 200, r.text
    back = (await client.get("/v1/admin/geo/areas/jurisdiction/drawn", params={"crs": "gcj02"},
                             headers=bearer(hq))).json()
    corners = back["geometry"]["coordinates"][0]
    for got, want in zip(sorted(map(tuple, corners)), sorted(drawn.exterior.coords), strict=True):
        assert got == pytest.approx(want, abs=2e-7)  # ~2 cm
    stored = (await client.get("/v1/admin/geo/areas/jurisdiction/drawn",
                               headers=bearer(hq))).json()["geometry"]["coordinates"][0]
    assert min(x for x, _ in stored) == pytest.approx(121.40 - 0.00465, abs=1e-4)  # ~440 m west

    # A point just inside the drawn corner, as an Amap SDK reports it, resolves inside …
    gcj = (121.4005, 31.1505)
    assert (await resolve(client, worker, *gcj, crs="gcj02"))["jurisdiction"] is not None
    # … while the same numbers taken as raw GPS lie ~500 m off, outside.
    assert (await resolve(client, worker, *gcj, crs="wgs84"))["jurisdiction"] is None
    # And BD-09 (Baidu) input of the same place resolves the same way.
    wgs = (await resolve(client, worker, *gcj, crs="gcj02"))["wgs84"]
    bd = from_wgs84(wgs["lon"], wgs["lat"], Crs.BD09)
    assert (await resolve(client, worker, *bd, crs="bd09"))["jurisdiction"] is not None


async def test_bad_points_are_422(client: httpx.AsyncClient, worker: str) -> None:
    for params, code in (({"lon": 200, "lat": 31}, "coordinate_out_of_range"),
                         ({"lon": 31.2, "lat": 121.4}, "coordinate_out_of_range"),
                         ({"lon": "nan", "lat": 31}, "coordinate_out_of_range"),
                         ({"lon": 121.4, "lat": 31.2, "crs": "wgs72"}, "validation_failed"),
                         ({"lon": "east", "lat": 31.2}, "validation_failed"),
                         ({"lat": 31.2}, "validation_failed")):
        r = await client.get("/v1/geo/resolve", params=params, headers=bearer(worker))
        assert r.status_code in (400, 422), (params, r.text)
        assert r.json()["code"] == code, (params, r.text)
    r = await client.get("/v1/geo/resolve", params={"lon": 121.4, "lat": 31.2})
    assert r.status_code == 401


async def test_owners_and_scopes(
    client: httpx.AsyncClient, federation: Federation, other_federation: Federation, hq: str,
    staff_token, sms,
) -> None:
    r1, r2 = federation.regions
    region1 = await staff_token(federation, "regional_admin", r1)
    r = await upload(client, region1, "jurisdiction", feature("mine", WEST),
                     feature("theirs", EAST, tenant=r2))
    assert r.status_code == 422
    assert [(e["code"], e["problem"]) for e in r.json()["errors"]] == [("theirs", "bad_property")]
    r = await upload(client, region1, "jurisdiction", feature("mine", WEST))
    assert r.status_code == 200, r.text
    station = federation.stations[r1][0]
    r = await upload(client, hq, "jurisdiction", feature("st", EAST, tenant=station))
    assert r.status_code == 422  # a jurisdiction belongs to a regional union
    r = await upload(client, hq, "delivery_zone", feature("nozone", EAST, tenant=r1))
    assert r.status_code == 422 and r.json()["errors"][0]["problem"] == "bad_property"
    officer = await staff_token(federation, "station_officer", station)
    r = await upload(client, officer, "jurisdiction", feature("x", EAST))
    assert r.status_code == 422 and r.json()["code"] == "area_kind_not_allowed"

    # The sibling region may read but not change or delete r1's area.
    region2 = await staff_token(federation, "regional_admin", r2)
    r = await upload(client, region2, "jurisdiction", feature("mine", EAST))
    assert r.status_code == 422 and "another tenant" in r.json()["errors"][0]["detail"]
    r = await client.delete("/v1/admin/geo/areas/jurisdiction/mine", headers=bearer(region2))
    assert r.status_code == 404 and r.json()["code"] == "area_not_found"

    # Another federation sees nothing of it, by list, by code or by resolving.
    spy = await staff_token(other_federation, "hq_admin", other_federation.hq)
    assert (await client.get("/v1/admin/geo/areas", headers=bearer(spy))).json()["items"] == []
    r = await client.get("/v1/admin/geo/areas/jurisdiction/mine", headers=bearer(spy))
    assert r.status_code == 404
    spy_worker, _ = await worker_login(client, sms, other_federation.hq)
    assert (await resolve(client, spy_worker, 121.43, 31.20))["jurisdiction"] is None

    r = await client.delete("/v1/admin/geo/areas/jurisdiction/mine", headers=bearer(region1))
    assert r.status_code == 204
    assert (await client.get("/v1/admin/geo/areas", headers=bearer(hq))).json()["items"] == []


async def test_replace_and_export(client: httpx.AsyncClient, federation: Federation,
                                  hq: str) -> None:
    r1 = federation.regions[0]
    zones = [feature(f"z{i}", square(121.40 + i * 0.01, 31.15, 121.41 + i * 0.01, 31.16),
                     tenant=r1, partner="alpha") for i in range(3)]
    assert (await upload(client, hq, "delivery_zone", *zones)).status_code == 200
    r = await upload(client, hq, "delivery_zone", zones[0], replace="true")
    assert r.json() | {} == {"kind": "delivery_zone", "crs": "wgs84", "created": [],
                             "updated": ["z0"], "deleted": ["z1", "z2"], "repaired": []}
    r = await client.get("/v1/admin/geo/areas/export", params={"kind": "delivery_zone"},
                         headers=bearer(hq))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    assert [f["properties"]["code"] for f in r.json()["features"]] == ["z0"]


async def test_a_second_instance_sees_changes_without_restart(
    client: httpx.AsyncClient, federation: Federation, hq: str, worker: str,
    settings: Settings, sms, clock,
) -> None:
    """Two app instances on one database: B serves from its own index, and sees A's upload."""
    app_b = create_app(settings, sms=sms, clock=clock)
    other = LiveServer(app_b).start()
    try:
        async with httpx.AsyncClient(base_url=other.url, timeout=30) as b:
            assert (await resolve(b, worker, 121.43, 31.20))["jurisdiction"] is None
            registry = app_b.state.geo
            loads = registry.loads
            for _ in range(20):  # served from memory: no reload per request
                await resolve(b, worker, 121.43, 31.20)
            assert registry.loads == loads

            r = await upload(client, hq, "jurisdiction",
                             feature("west", WEST, tenant=federation.regions[0]))
            assert r.status_code == 200
            for _ in range(100):
                seen = await resolve(b, worker, 121.43, 31.20)
                if seen["jurisdiction"] is not None:
                    break
                await asyncio.sleep(0.05)
            assert seen["jurisdiction"]["area"]["code"] == "west"
            assert registry.loads == loads + 1
    finally:
        other.stop()
