"""附近驿站 and a station's board, as workers see them: geodesic distances, filters, open
now, coordinate systems, and a registry that follows changes by NOTIFY."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from pyproj import Geod

from flexunion.core.clock import BEIJING
from flexunion.geo.crs import Crs, from_wgs84, to_wgs84
from flexunion.geo.stations.hours import DAYS
from tests.support.factories import Federation, bearer, worker_login
from tests.support.geo import offset, seed_point

NEARBY = "/v1/geo/stations/nearby"
ADMIN = "/v1/admin/geo/stations"
GEOD = Geod(ellps="WGS84")
RIDER = (121.45, 31.20)  # where the rider stands (WGS84), 上海徐汇
DAYTIME = {d: [["07:00", "22:00"]] for d in DAYS}
ALL_DAY = {d: [["00:00", "24:00"]] for d in DAYS}


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "the station index did not catch up in time"
        await asyncio.sleep(0.1)


async def seed_around(owner, fed: Federation) -> dict[str, tuple[float, float]]:
    r1 = fed.regions[0]
    spots = {"n-300": offset(*RIDER, 300, 0), "n-1200": offset(*RIDER, 0, 1200),
             "n-2500": offset(*RIDER, -1500, -2000), "n-4000": offset(*RIDER, -4000, 0),
             "n-off": offset(*RIDER, 100, 0)}
    amen = {"n-300": ["drinking_water", "toilet", "hot_meals"], "n-1200": ["toilet"],
            "n-2500": ["toilet", "hot_meals"], "n-4000": ["toilet", "hot_meals"],
            "n-off": ["toilet", "hot_meals"]}
    for code, (lon, lat) in spots.items():
        await seed_point(owner, fed, r1, code, lon, lat, amenities=amen[code],
                         opening_hours=DAYTIME if code == "n-2500" else ALL_DAY,
                         active=code != "n-off", phone="+862164001234" if code == "n-300" else None)
    await seed_point(owner, fed, fed.regions[1], "hz-1", 120.15, 30.27)
    return spots


def codes(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [s["code"] for s in answer.json()["items"]]


async def test_nearest_first_with_geodesic_distances_and_filters(
    client, sms, federation: Federation, other_federation: Federation, owner, staff_token,
) -> None:
    spots = await seed_around(owner, federation)
    token, _ = await worker_login(client, sms, federation.hq)
    here = {"lat": RIDER[1], "lon": RIDER[0]}
    got = await client.get(NEARBY, params=here, headers=bearer(token))
    assert codes(got) == ["n-300", "n-1200", "n-2500"]  # 3 km by default; n-off is inactive
    for item in got.json()["items"]:
        expected = metres(RIDER, spots[item["code"]])
        assert abs(item["distance_m"] - expected) <= 1.0, (item, expected)
        assert item["location"]["crs"] == "wgs84"
        assert metres(spots[item["code"]], (item["location"]["lon"], item["location"]["lat"])) \
            < 0.05
    first = got.json()["items"][0]
    assert first["open_now"] is True and first["hours_today"] == [["00:00", "24:00"]]
    assert first["phone"] == "+862164001234" and first["address"] == "测试路 n-300 号"
    assert [a["code"] for a in first["amenities"]] == ["drinking_water", "hot_meals", "toilet"]
    assert first["amenities"][1]["name_zh"] == "热饭"

    assert codes(await client.get(NEARBY, params=here | {"radius_m": 1000},
                                  headers=bearer(token))) == ["n-300"]
    assert codes(await client.get(NEARBY, params=here | {"radius_m": 5000},
                                  headers=bearer(token))) == ["n-300", "n-1200", "n-2500",
                                                              "n-4000"]
    assert codes(await client.get(NEARBY, params=here | {"radius_m": 50000, "limit": 2},
                                  headers=bearer(token))) == ["n-300", "n-1200"]
    both = here | {"radius_m": 5000, "amenity": ["toilet", "hot_meals"]}
    assert codes(await client.get(NEARBY, params=both, headers=bearer(token))) == [
        "n-300", "n-2500", "n-4000"]
    water = here | {"radius_m": 5000, "amenity": "drinking_water", "limit": 1}
    assert codes(await client.get(NEARBY, params=water, headers=bearer(token))) == ["n-300"]
    # Staff may ask too; another federation's rider sees none of these stations.
    admin = await staff_token(federation, "regional_admin", federation.regions[1])
    assert codes(await client.get(NEARBY, params=here, headers=bearer(admin)))[0] == "n-300"
    stranger, _ = await worker_login(client, sms, other_federation.hq)
    assert codes(await client.get(NEARBY, params=here | {"radius_m": 50000},
                                  headers=bearer(stranger))) == []
    hz = await client.get(NEARBY, params={"lat": 30.27, "lon": 120.15}, headers=bearer(token))
    assert codes(hz) == ["hz-1"] and hz.json()["items"][0]["distance_m"] == 0


async def test_bad_nearby_questions(client, sms, federation: Federation) -> None:
    token, _ = await worker_login(client, sms, federation.hq)
    here = {"lat": RIDER[1], "lon": RIDER[0]}
    for params, code in (
        (here | {"amenity": ["toilet", "sauna"]}, "amenity_unknown"),
        (here | {"radius_m": 50001}, "validation_failed"),
        (here | {"radius_m": 0}, "validation_failed"),
        (here | {"limit": 51}, "validation_failed"),
        (here | {"crs": "epsg3857"}, "validation_failed"),
        (here | {"open_now": "maybe"}, "validation_failed"),
        ({"lat": 121.45, "lon": 31.20}, "coordinate_out_of_range"),  # swapped
        ({"lat": 31.2, "lon": 181}, "coordinate_out_of_range"),
        ({"lat": "nan", "lon": 121.45}, "coordinate_out_of_range"),
        ({"lon": 121.45}, "validation_failed"),
        ({"lat": "north", "lon": 121.45}, "validation_failed"),
    ):
        got = await client.get(NEARBY, params=params, headers=bearer(token))
        assert got.status_code == 422, (params, got.text)
        assert got.json()["code"] == code, (params, got.json())
    assert (await client.get(NEARBY, params=here)).status_code == 401


async def test_open_now_follows_beijing_time(client, sms, federation: Federation, owner,
                                             clock) -> None:
    await seed_around(owner, federation)
    token, _ = await worker_login(client, sms, federation.hq)  # before the clock moves
    here = {"lat": RIDER[1], "lon": RIDER[0], "radius_m": 5000}
    # Wednesday 11 March 2026, 23:30 in Beijing (15:30 UTC): n-2500 (07:00–22:00) is closed.
    clock.offset = datetime(2026, 3, 11, 23, 30, tzinfo=BEIJING) - datetime.now(UTC)
    late = await client.get(NEARBY, params=here, headers=bearer(token))
    flags = {s["code"]: s["open_now"] for s in late.json()["items"]}
    assert flags == {"n-300": True, "n-1200": True, "n-2500": False, "n-4000": True}
    only_open = await client.get(NEARBY, params=here | {"open_now": "true"},
                                 headers=bearer(token))
    assert codes(only_open) == ["n-300", "n-1200", "n-4000"]
    assert only_open.json()["closed_now"] == 1  # n-2500 is near but closed: said, not hidden
    assert late.json()["closed_now"] == 0  # without open_now nothing is left out
    assert len(codes(await client.get(NEARBY, params=here | {"open_now": "false"},
                                      headers=bearer(token)))) == 4  # false: no filter
    # 08:00 the next morning it is open again.
    clock.offset = datetime(2026, 3, 12, 8, 0, tzinfo=BEIJING) - datetime.now(UTC)
    morning = await client.get(NEARBY, params=here | {"open_now": "true"}, headers=bearer(token))
    assert codes(morning) == ["n-300", "n-1200", "n-2500", "n-4000"]
    assert morning.json()["closed_now"] == 0
    assert morning.json()["items"][2]["hours_today"] == [["07:00", "22:00"]]


async def test_a_point_given_in_gcj02_comes_back_in_any_crs(
    client, sms, federation: Federation, staff_token,
) -> None:
    admin = await staff_token(federation, "regional_admin", federation.regions[0])
    token, _ = await worker_login(client, sms, federation.hq)
    gcj = (121.4737, 31.2304)  # 人民广场 as Amap shows it
    body = {"code": "gcj-1", "name_zh": "人民广场驿站", "name_en": "People's Square station",
            "address": "上海市黄浦区人民大道 1 号",
            "location": {"lon": gcj[0], "lat": gcj[1], "crs": "gcj02"},
            "opening_hours": ALL_DAY, "shift_changes": ["08:00"]}
    made = await client.post(ADMIN, json=body, params={"crs": "gcj02"}, headers=bearer(admin))
    assert made.status_code == 201, made.text
    back = made.json()["location"]
    assert back["crs"] == "gcj02" and metres(gcj, (back["lon"], back["lat"])) < 0.5
    wgs = (await client.get(f"{ADMIN}/gcj-1", headers=bearer(admin))).json()["location"]
    expected = to_wgs84(*gcj, Crs.GCJ02)
    assert wgs["crs"] == "wgs84" and metres(expected, (wgs["lon"], wgs["lat"])) < 0.5
    assert 100 < metres(gcj, (wgs["lon"], wgs["lat"])) < 1000  # the shift is real
    bd = (await client.get(f"{ADMIN}/gcj-1", params={"crs": "bd09"},
                           headers=bearer(admin))).json()["location"]
    assert metres(from_wgs84(*expected, Crs.BD09), (bd["lon"], bd["lat"])) < 0.5

    async def found() -> bool:
        got = await client.get(NEARBY, params={"lat": gcj[1], "lon": gcj[0], "crs": "gcj02"},
                               headers=bearer(token))
        return codes(got) == ["gcj-1"]

    await eventually(found)
    got = (await client.get(NEARBY, params={"lat": gcj[1], "lon": gcj[0], "crs": "gcj02"},
                            headers=bearer(token))).json()["items"][0]
    assert got["distance_m"] == 0 and got["location"]["crs"] == "gcj02"
    assert metres(gcj, (got["location"]["lon"], got["location"]["lat"])) < 0.5
    # The same numbers read as WGS84 are a few hundred metres away from the station.
    raw = (await client.get(NEARBY, params={"lat": gcj[1], "lon": gcj[0]},
                            headers=bearer(token))).json()["items"][0]
    assert abs(raw["distance_m"] - metres(gcj, expected)) <= 1.0


async def test_nearby_follows_changes_without_a_restart(
    client, sms, federation: Federation, staff_token,
) -> None:
    admin = await staff_token(federation, "regional_admin", federation.regions[0])
    token, _ = await worker_login(client, sms, federation.hq)
    here = {"lat": RIDER[1], "lon": RIDER[0]}
    assert codes(await client.get(NEARBY, params=here, headers=bearer(token))) == []  # loaded
    spot = offset(*RIDER, 0, 800)
    body = {"code": "new-1", "name_zh": "新驿站", "name_en": "New station", "address": "新路 1 号",
            "location": {"lon": spot[0], "lat": spot[1]}, "opening_hours": ALL_DAY,
            "shift_changes": ["08:00", "20:00"], "amenities": ["wifi"]}
    assert (await client.post(ADMIN, json=body, headers=bearer(admin))).status_code == 201

    async def listed(expected: list[str]) -> bool:
        return codes(await client.get(NEARBY, params=here, headers=bearer(token))) == expected

    await eventually(lambda: listed(["new-1"]))
    far = offset(*RIDER, 0, 3500)
    moved = await client.patch(f"{ADMIN}/new-1", headers=bearer(admin),
                               json={"location": {"lon": far[0], "lat": far[1]}})
    assert moved.status_code == 200
    await eventually(lambda: listed([]))
    await client.patch(f"{ADMIN}/new-1", headers=bearer(admin),
                       json={"location": {"lon": spot[0], "lat": spot[1]}})
    await eventually(lambda: listed(["new-1"]))
    await client.post(f"{ADMIN}/new-1/deactivate", headers=bearer(admin))
    await eventually(lambda: listed([]))
