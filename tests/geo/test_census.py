"""The coverage census (摸清人员底数) on a small world whose numbers are worked out by hand.

World (tests/geo/test_rosters.py `seed_areas`): r1 (上海) holds alpha's delivery zones za
and zb (sharing the line lon = 121.45) and beta's zone zc, drawn over za. Rosters:
alpha's newest (10 active workers, 1 inactive; an older alpha roster must not count) and
beta's (2). Members, all homed at an r1 station: m1 (alpha) checked in in za 5 days ago,
m2 (alpha) in za 100 days ago, m3 (alpha) in zb yesterday, m4 (alpha) never, m5 (beta) in
za/zc 3 days ago. One active station in za (so also in zc), an inactive one in zb, one in
Hangzhou (r2).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.core.errors import ServiceUnavailable
from flexunion.geo.census import counting
from flexunion.geo.checkins.models import LocationCheckin
from flexunion.geo.crs import Crs, from_wgs84
from tests.cli.test_cli import flexunion, ok  # noqa: F401  (the CLI fixture)
from tests.geo.test_rosters import (
    IN_HANGZHOU,
    IN_ZA,
    IN_ZB,
    partner_token,
    post_roster,
    seed_areas,
    w,
)
from tests.support.factories import Federation, bearer, join
from tests.support.geo import seed_point

Owner = async_sessionmaker[AsyncSession]
CENSUS = "/v1/admin/geo/census"

# (workers, members, coverage_pct, members_in_contact, contact_pct, effective_coverage_pct,
#  stations, stations_per_1000_workers), worked out by hand from the world above.
DELIVERY = {
    "za": (5, 2, 40.0, 1, 50.0, 20.0, 1, 200.0),
    "zb": (4, 1, 25.0, 1, 100.0, 25.0, 0, 0.0),
    "zc": (2, 1, 50.0, 1, 100.0, 50.0, 1, 500.0),
}
FIGURES = ("workers", "members", "coverage_pct", "members_in_contact", "contact_pct",
           "effective_coverage_pct", "stations", "stations_per_1000_workers")


@dataclass
class World:
    fed: Federation
    hq: str
    r1: str
    r2: str


async def checkin(owner: Owner, fed: Federation, home: str, member_id: str, worker_id: str,
                  lon: float, lat: float, days_ago: float) -> None:
    at = datetime.now(UTC) - timedelta(days=days_ago)
    async with owner() as s, s.begin():
        s.add(LocationCheckin(
            id=uuid.uuid4(), federation_id=fed.ids[fed.hq], tenant_id=fed.ids[home],
            member_id=uuid.UUID(member_id), worker_id=uuid.UUID(worker_id), recorded_at=at,
            local_day=at.date(), lon=lon, lat=lat, accuracy_m=15.0, jurisdiction_tenant_id=None))


async def build_world(client: httpx.AsyncClient, owner: Owner, sms, staff_token,
                      fed: Federation) -> World:
    r1, r2 = fed.regions
    station = fed.stations[r1][0]
    await seed_areas(owner, fed)
    await seed_point(owner, fed, station, "s-za", 121.43, 31.21)
    await seed_point(owner, fed, station, "s-zb-closed", 121.47, 31.21, active=False)
    await seed_point(owner, fed, fed.stations[r2][0], "s-hz", 120.16, 30.28)
    alpha = await partner_token(owner, staff_token, fed, "alpha")
    beta = await partner_token(owner, staff_token, fed, "beta")
    old = await post_roster(client, alpha, [w(f"old-{i}", *IN_ZB) for i in range(3)])
    assert old.status_code == 201, old.text
    new = await post_roster(client, alpha, [
        w("a1", 121.41, 31.16), w("a2", 121.42, 31.18), w("a3", 121.43, 31.20),
        w("a4", 121.44, 31.22), w("a5", 121.45, 31.20),  # a5 on the za/zb border
        w("a6", 121.46, 31.17), w("a7", 121.47, 31.19), w("a8", *IN_ZB), w("a9", zone="zb"),
        w("a10", *IN_HANGZHOU), w("a11", *IN_ZA, days=0)])
    assert new.status_code == 201, new.text
    b = await post_roster(client, beta, [w("b1", zone="zc"), w("b2", zone="zc", days=3)])
    assert b.status_code == 201, b.text

    hq = await staff_token(fed, "hq_admin", fed.hq)
    members = [await join(client, sms, fed, station, approver_token=hq) for _ in range(4)]
    members.append(await join(client, sms, fed, station, approver_token=hq,
                              platforms=[{"partner": "beta", "platform_worker_id": "B-9"}]))
    m1, m2, m3, _m4, m5 = members
    await checkin(owner, fed, station, m1.member_id, m1.worker_id, 121.42, 31.21, 5)
    await checkin(owner, fed, station, m2.member_id, m2.worker_id, 121.47, 31.20, 120)
    await checkin(owner, fed, station, m2.member_id, m2.worker_id, 121.41, 31.24, 100)
    await checkin(owner, fed, station, m3.member_id, m3.worker_id, 121.42, 31.21, 30)
    await checkin(owner, fed, station, m3.member_id, m3.worker_id, 121.49, 31.16, 1)
    await checkin(owner, fed, station, m5.member_id, m5.worker_id, 121.43, 31.19, 3)
    return World(fed, hq, await staff_token(fed, "regional_admin", r1),
                 await staff_token(fed, "regional_admin", r2))


@pytest.fixture
async def world(client: httpx.AsyncClient, owner: Owner, sms, staff_token,
                federation: Federation) -> World:
    return await build_world(client, owner, sms, staff_token, federation)


async def run(client: httpx.AsyncClient, token: str, **body: object) -> dict:
    r = await client.post(CENSUS, json=body or None, headers=bearer(token))
    assert r.status_code == 201, r.text
    return r.json()


def figures(run_body: dict) -> dict[str, tuple]:
    return {z["zone_code"]: tuple(z[f] for f in FIGURES) for z in run_body["zones"]}


async def test_delivery_zone_census_by_hand(client: httpx.AsyncClient, world: World) -> None:
    body = await run(client, world.hq)
    assert figures(body) == DELIVERY
    za = body["zones"][0]
    assert (za["kind"], za["platform"], za["tenant"], za["name_zh"]) == (
        "delivery_zone", "alpha", world.fed.regions[0], "区域za")
    t = body["totals"]
    assert {k: v for k, v in t.items() if k != "rosters"} == {
        "zones": 3, "workers": 12, "workers_in_zones": 11, "workers_outside_zones": 1,
        "workers_inactive": 1, "members": 5, "members_located": 4, "members_unlocated": 1,
        "members_in_zones": 4, "members_in_contact": 3, "stations_in_zones": 1,
        "coverage_pct": 36.4, "contact_pct": 75.0, "effective_coverage_pct": 27.3}
    # Only each partner's newest roster counts (the three "old-*" workers in zb do not).
    assert [(r["partner"], r["rows"]) for r in t["rosters"]] == [("alpha", 11), ("beta", 2)]
    # The border worker a5 is counted once: the zone sums add up to the workers placed.
    assert sum(z["workers"] for z in body["zones"]) == t["workers_in_zones"]
    assert (body["tenant"], body["zone_kind"], body["engine"], body["contact_days"]) == (
        world.fed.hq, "delivery_zone", "pandas", 90)
    assert body["links"]["map_png"] == f"{CENSUS}/{body['id']}/map.png"


async def test_jurisdiction_census_places_zone_coded_workers_in_their_zone(
    client: httpx.AsyncClient, world: World,
) -> None:
    body = await run(client, world.hq, zone_kind="jurisdiction")
    assert figures(body) == {
        # a1–a9 (a9 by zb's place) and beta's b1, b2 (by zc's place); members regardless of
        # platform: m1, m2, m3, m5.
        "j-r1": (11, 4, 36.4, 3, 75.0, 27.3, 1, 90.91),
        "j-r2": (1, 0, 0.0, 0, None, 0.0, 1, 1000.0),
    }
    assert body["totals"]["workers_outside_zones"] == 0
    strict = await run(client, world.hq, zone_kind="jurisdiction", min_active_days=5)
    assert figures(strict)["j-r1"][0] == 10  # b2 worked 3 days
    assert strict["totals"]["workers_inactive"] == 2


async def test_a_region_sees_its_subtree_and_another_federation_nothing(
    client: httpx.AsyncClient, world: World, staff_token, other_federation: Federation,
) -> None:
    r1_run = await run(client, world.r1)
    assert figures(r1_run) == DELIVERY
    assert (r1_run["totals"]["workers"], r1_run["totals"]["workers_outside_zones"]) == (11, 0)
    r2_run = await run(client, world.r2)
    assert r2_run["zones"] == []
    assert {k: r2_run["totals"][k] for k in ("workers", "workers_outside_zones", "members")} == {
        "workers": 1, "workers_outside_zones": 1, "members": 0}  # a10, filed under r2
    spy = await staff_token(other_federation, "hq_admin", other_federation.hq)
    theirs = await run(client, spy)
    assert theirs["zones"] == [] and theirs["totals"]["rosters"] == []
    assert {theirs["totals"][k] for k in ("workers", "members", "stations_in_zones")} == {0}

    hq_run = await run(client, world.hq)
    for token, run_id, seen in ((world.r2, r1_run["id"], 404), (spy, hq_run["id"], 404),
                                (world.r1, hq_run["id"], 404), (world.hq, r1_run["id"], 200)):
        for suffix in ("", "/zones.csv", "/zones.geojson", "/map.png"):
            r = await client.get(f"{CENSUS}/{run_id}{suffix}", headers=bearer(token))
            assert r.status_code == seen, (suffix, r.text[:200])
            if seen == 404:
                assert r.json()["code"] == "census_run_not_found"
    listed = await client.get(CENSUS, headers=bearer(world.hq))
    assert {r1_run["id"], r2_run["id"], hq_run["id"]} <= {i["id"] for i in listed.json()["items"]}
    assert "zones" not in listed.json()["items"][0]
    mine = await client.get(CENSUS, headers=bearer(world.r1))
    assert [i["id"] for i in mine.json()["items"]] == [r1_run["id"]]
    officer = await staff_token(world.fed, "station_officer", world.fed.stations[
        world.fed.regions[0]][0])
    assert (await client.post(CENSUS, headers=bearer(officer))).status_code == 403


async def test_bad_census_requests(client: httpx.AsyncClient, federation: Federation,
                                   staff_token) -> None:
    hq = await staff_token(federation, "hq_admin", federation.hq)
    for body in ({"zone_kind": "station_coverage"}, {"engine": "spark"},
                 {"min_active_days": -1}, {"tenant": federation.regions[0]}):
        r = await client.post(CENSUS, json=body, headers=bearer(hq))
        assert (r.status_code, r.json()["code"]) == (422, "validation_failed"), (body, r.text)
    r = await client.get(f"{CENSUS}/{uuid.uuid4()}", headers=bearer(hq))
    assert (r.status_code, r.json()["code"]) == (404, "census_run_not_found")


async def test_csv_geojson_and_map(client: httpx.AsyncClient, world: World) -> None:
    body = await run(client, world.r1)
    base = f"{CENSUS}/{body['id']}"
    r = await client.get(f"{base}/zones.csv", headers=bearer(world.r1))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Chinese names
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [(x["zone_code"], x["name_zh"], x["workers"], x["coverage_pct"]) for x in rows] == [
        ("za", "区域za", "5", "40.0"), ("zb", "区域zb", "4", "25.0"), ("zc", "区域zc", "2", "50.0")]

    r = await client.get(f"{base}/zones.geojson", headers=bearer(world.r1))
    assert r.headers["content-type"].startswith("application/geo+json")
    wgs = r.json()
    assert wgs["type"] == "FeatureCollection" and len(wgs["features"]) == 3
    za = wgs["features"][0]
    assert (za["id"], za["properties"]["members"], za["properties"]["coverage_pct"]) == (
        "za", 2, 40.0)
    corner = za["geometry"]["coordinates"][0][0]
    gcj = (await client.get(f"{base}/zones.geojson", params={"crs": "gcj02"},
                            headers=bearer(world.r1))).json()
    moved = gcj["features"][0]["geometry"]["coordinates"][0][0]
    expected = from_wgs84(corner[0], corner[1], Crs.GCJ02)
    assert abs(moved[0] - expected[0]) < 1e-9 and abs(moved[1] - expected[1]) < 1e-9
    assert gcj["flexunion:crs"] == "gcj02"

    r = await client.get(f"{base}/map.png", headers=bearer(world.r1))
    assert r.headers["content-type"] == "image/png"
    assert r.content.startswith(b"\x89PNG\r\n\x1a\n") and len(r.content) > 10_000


async def test_dask_gives_the_same_numbers_as_pandas(client: httpx.AsyncClient,
                                                     world: World) -> None:
    """One local cluster (two worker processes) for the run's three joins (one a platform)."""
    pandas_run = await run(client, world.hq)
    dask_run = await run(client, world.hq, engine="dask")
    assert (pandas_run["engine"], dask_run["engine"]) == ("pandas", "dask")
    assert figures(dask_run) == DELIVERY
    assert dask_run["zones"] == pandas_run["zones"]
    assert dask_run["totals"] == pandas_run["totals"]


def test_an_unreachable_dask_scheduler_is_a_503_not_a_crash() -> None:
    import dask
    import distributed  # noqa: F401  (first: see below)
    import numpy as np
    import shapely

    # dask.distributed adds its defaults to dask's config when imported: imported only inside
    # the `dask.config.set` below, they would go when it restores the config (the key
    # "distributed" was not there before), and every later LocalCluster in this process would
    # fail with KeyError 'distributed' (seen under pytest-xdist, where the order differs).

    inputs = counting.Inputs(
        zones=[{"zone_code": "z", "name_zh": "z", "name_en": "z", "kind": "jurisdiction",
                "tenant": "t", "platform": None, "area_km2": 1.0}],
        zone_geoms=np.array([shapely.box(0, 0, 1, 1)], dtype=object),
        workers_partner=["alpha"], workers_xy=np.array([[0.5, 0.5]]), workers_zone=[None],
        workers_days=np.array([3]))
    zones, _ = counting.place(inputs, engine="pandas", scheduler=None, min_active_days=1)
    assert zones[0]["workers"] == 1
    with (dask.config.set({"distributed.comm.timeouts.connect": "1s"}),
          pytest.raises(ServiceUnavailable) as refused):
        counting.place(inputs, engine="dask", scheduler="tcp://127.0.0.1:1", min_active_days=1)
    assert refused.value.code == "dask_unavailable"


async def test_cli_census_run_writes_the_three_files(
    client: httpx.AsyncClient, world: World, flexunion, tmp_path: Path,  # noqa: F811
) -> None:
    out = tmp_path / "out"
    done = await flexunion("census", "run", "--federation", world.fed.hq, "--tenant",
                           world.fed.regions[0], "--out", str(out))
    printed = ok(done)
    assert printed.startswith("摸底完成 census "), printed
    assert "覆盖率 coverage 36.4%" in printed and "未定位 unlocated 1" in printed
    rows = list(csv.DictReader(io.StringIO((out / "zones.csv").read_text("utf-8-sig"))))
    assert {x["zone_code"]: int(x["workers"]) for x in rows} == {"za": 5, "zb": 4, "zc": 2}
    geo = json.loads((out / "zones.geojson").read_text())
    assert [f["properties"]["members"] for f in geo["features"]] == [2, 1, 1]
    assert (out / "map.png").read_bytes().startswith(b"\x89PNG")
    # Stored like any run of r1: its admin lists it.
    listed = await client.get(CENSUS, headers=bearer(world.r1))
    stored = listed.json()["items"][0]
    assert (stored["requested_by"], stored["tenant"]) == ("cli:operator", world.fed.regions[0])
    assert stored["id"] == geo["flexunion:census_run"]

    wrong = await flexunion("census", "run", "--federation", world.fed.regions[0])
    assert wrong.returncode == 1 and "no federation (hq)" in wrong.stderr
    misuse = await flexunion("census", "run", "--federation", world.fed.hq, "--scheduler",
                             "tcp://127.0.0.1:1")
    assert misuse.returncode == 2 and "--scheduler needs --engine dask" in misuse.stderr

