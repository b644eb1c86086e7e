"""A station's upkeep: duty rosters aligned to shift changes, seasonal supplies, weekly
checks (one per ISO week) and the stations that missed theirs; and the board workers read."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text

from flexunion.core.clock import BEIJING
from flexunion.geo.stations.hours import DAYS, iso_week
from tests.support.factories import Federation, bearer, worker_login
from tests.support.geo import seed_point

BASE = "/v1/admin/geo/stations"
ALL_DAY = {d: [["00:00", "24:00"]] for d in DAYS}
THREE_SHIFTS = ["06:00", "14:00", "22:00"]


def station(code: str, **over: Any) -> dict[str, Any]:
    return {"code": code, "name_zh": "漕河泾驿站", "name_en": "Caohejing station",
            "address": "上海市徐汇区宜山路 1 号", "location": {"lon": 121.40, "lat": 31.17},
            "amenities": ["rest", "first_aid"], "opening_hours": ALL_DAY,
            "shift_changes": THREE_SHIFTS} | over


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=BEIJING)


def set_clock(clock, moment: datetime) -> None:
    clock.offset = moment - datetime.now(UTC)


async def put_roster(client, token: str, code: str, day: str, *duties: tuple[int, str]):
    return await client.put(f"{BASE}/{code}/roster", headers=bearer(token), json={
        "date": day, "duties": [{"shift_no": n, "officer_name": o} for n, o in duties]})


def officers(answer: Any) -> list[tuple[str, int, str]]:
    assert answer.status_code == 200, answer.text
    return [(d["date"], d["shift_no"], d["officer_name"]) for d in answer.json()["duties"]]


async def test_roster_slots_follow_shift_changes_across_midnight(
    client, federation: Federation, staff_token, clock,
) -> None:
    admin = await staff_token(federation, "regional_admin", federation.regions[0])
    assert (await client.post(BASE, json=station("duty-1"), headers=bearer(admin))).status_code \
        == 201
    set_clock(clock, beijing(2026, 3, 11, 10, 0))  # a Wednesday
    got = await put_roster(client, admin, "duty-1", "2026-03-07", (2, "赵六"), (0, "张三"),
                           (0, "李四"))
    assert officers(got) == [("2026-03-07", 0, "张三"), ("2026-03-07", 0, "李四"),
                             ("2026-03-07", 2, "赵六")]
    night = got.json()["duties"][2]
    assert datetime.fromisoformat(night["starts_at"]) == beijing(2026, 3, 7, 22, 0)
    assert datetime.fromisoformat(night["ends_at"]) == beijing(2026, 3, 8, 6, 0)
    morning = got.json()["duties"][0]
    assert datetime.fromisoformat(morning["ends_at"]) == beijing(2026, 3, 7, 14, 0)

    replaced = await put_roster(client, admin, "duty-1", "2026-03-07", (1, "王五"))
    assert officers(replaced) == [("2026-03-07", 1, "王五")]
    for duties, code in ((((3, "钱七"),), "shift_no_invalid"),
                         (((0, "钱七"), (0, "钱七")), "roster_duplicate"),
                         (((0, "  "),), "validation_failed"),
                         (((-1, "钱七"),), "validation_failed")):
        refused = await put_roster(client, admin, "duty-1", "2026-03-07", *duties)
        assert refused.status_code == 422 and refused.json()["code"] == code, refused.text
    refused = await client.put(f"{BASE}/duty-1/roster", headers=bearer(admin),
                               json={"date": "2026-03-07", "duties": [], "note": "x"})
    assert refused.status_code == 422
    await put_roster(client, admin, "duty-1", "2026-03-08", (0, "张三"))
    week = await client.get(f"{BASE}/duty-1/roster", params={"from": "2026-03-07",
                                                            "to": "2026-03-08"},
                            headers=bearer(admin))
    assert officers(week) == [("2026-03-07", 1, "王五"), ("2026-03-08", 0, "张三")]
    assert week.json()["from"] == "2026-03-07" and week.json()["to"] == "2026-03-08"
    default = (await client.get(f"{BASE}/duty-1/roster", headers=bearer(admin))).json()
    assert (default["from"], default["to"]) == ("2026-03-09", "2026-03-15")  # this week
    for params in ({"from": "2026-03-08", "to": "2026-03-07"},
                   {"from": "2026-01-01", "to": "2026-03-31"}):
        bad = await client.get(f"{BASE}/duty-1/roster", params=params, headers=bearer(admin))
        assert bad.status_code == 422 and bad.json()["code"] == "date_range_invalid"
    # Emptying a date clears it.
    assert officers(await put_roster(client, admin, "duty-1", "2026-03-08")) == []

    # New shift times move today's and later duties; a slot that would vanish is refused.
    await put_roster(client, admin, "duty-1", "2026-03-20", (2, "赵六"), (0, "张三"))
    two = {"shift_changes": ["08:00", "20:00"]}
    refused = await client.patch(f"{BASE}/duty-1", json=two, headers=bearer(admin))
    assert refused.status_code == 409 and refused.json()["code"] == "shift_changes_in_use"
    assert refused.json()["dates"] == ["2026-03-20"]
    await put_roster(client, admin, "duty-1", "2026-03-20", (1, "赵六"), (0, "张三"))
    changed = await client.patch(f"{BASE}/duty-1", json=two, headers=bearer(admin))
    assert changed.status_code == 200 and changed.json()["shift_changes"] == ["08:00", "20:00"]
    later = (await client.get(f"{BASE}/duty-1/roster", params={"from": "2026-03-07",
                                                               "to": "2026-03-20"},
                              headers=bearer(admin))).json()["duties"]
    assert [(d["date"], datetime.fromisoformat(d["starts_at"]),
             datetime.fromisoformat(d["ends_at"])) for d in later] == [
        ("2026-03-07", beijing(2026, 3, 7, 14, 0), beijing(2026, 3, 7, 22, 0)),  # the past stays
        ("2026-03-20", beijing(2026, 3, 20, 8, 0), beijing(2026, 3, 20, 20, 0)),
        ("2026-03-20", beijing(2026, 3, 20, 20, 0), beijing(2026, 3, 21, 8, 0)),
    ]


async def test_seasonal_supplies(client, federation: Federation, staff_token) -> None:
    admin = await staff_token(federation, "regional_admin", federation.regions[0])
    await client.post(BASE, json=station("sup-1"), headers=bearer(admin))
    for season, item, qty, unit, start, end in (
        ("heat", "藿香正气水", 200, "瓶", "2026-07-01", "2026-08-31"),
        ("cold_wave", "暖宝宝", 500, "片", "2026-12-15", "2027-02-28"),
        ("rainstorm", "雨衣", 50, "件", "2026-06-01", "2026-07-15"),
    ):
        made = await client.post(f"{BASE}/sup-1/supplies", headers=bearer(admin), json={
            "season": season, "item": item, "quantity": qty, "unit": unit,
            "valid_from": start, "valid_to": end})
        assert made.status_code == 201, made.text
    assert made.json()["season_zh"] == "暴雨台风" and made.json()["created_by"].startswith(
        "regional_admin:")
    listed = (await client.get(f"{BASE}/sup-1/supplies", headers=bearer(admin))).json()
    assert [s["item"] for s in listed] == ["暖宝宝", "藿香正气水", "雨衣"]
    july = (await client.get(f"{BASE}/sup-1/supplies", params={"active_on": "2026-07-10"},
                             headers=bearer(admin))).json()
    assert [(s["item"], s["season_zh"]) for s in july] == [("藿香正气水", "高温"),
                                                           ("雨衣", "暴雨台风")]
    assert (await client.get(f"{BASE}/sup-1/supplies", params={"active_on": "2026-10-01"},
                             headers=bearer(admin))).json() == []
    good = {"season": "heat", "item": "冰袖", "quantity": 10, "unit": "副",
            "valid_from": "2026-07-01", "valid_to": "2026-07-31"}
    for over, code in (({"valid_to": "2026-06-30"}, "supply_dates_invalid"),
                       ({"season": "spring"}, "validation_failed"),
                       ({"quantity": -1}, "validation_failed"),
                       ({"item": "   "}, "validation_failed"),
                       ({"valid_from": "July"}, "validation_failed")):
        bad = await client.post(f"{BASE}/sup-1/supplies", json=good | over, headers=bearer(admin))
        assert bad.status_code == 422 and bad.json()["code"] == code, bad.text
    missing = await client.post(f"{BASE}/nope/supplies", json=good, headers=bearer(admin))
    assert missing.status_code == 404 and missing.json()["code"] == "station_not_found"
    assert len((await client.get(f"{BASE}/sup-1/supplies", headers=bearer(admin))).json()) == 3


async def test_one_weekly_check_per_iso_week_in_beijing_time(
    client, federation: Federation, staff_token, clock,
) -> None:
    s1 = federation.stations[federation.regions[0]][0]
    officer = await staff_token(federation, "station_officer", s1, subject="officer-7")
    assert (await client.post(BASE, json=station("chk-1"), headers=bearer(officer))).status_code \
        == 201
    set_clock(clock, beijing(2026, 3, 11, 10, 0))
    check = {"restocked": True, "cleaned": False, "equipment": "needs_repair",
             "notes": "空调漏水"}
    made = await client.post(f"{BASE}/chk-1/checks", json=check, headers=bearer(officer))
    assert made.status_code == 201, made.text
    assert made.json() | {"checked_at": None} == {
        "station": "chk-1", "week": "2026-W11", "restocked": True, "cleaned": False,
        "equipment": "needs_repair", "equipment_zh": "待维修", "equipment_en": "Needs repair",
        "notes": "空调漏水", "checked_by": "station_officer:officer-7", "checked_at": None}
    again = await client.post(f"{BASE}/chk-1/checks", json=check, headers=bearer(officer))
    assert again.status_code == 409 and again.json()["code"] == "check_exists"
    assert again.json()["week"] == "2026-W11"
    late = await client.post(f"{BASE}/chk-1/checks", json=check | {"week": "2026-W10"},
                             headers=bearer(officer))
    assert late.status_code == 201 and late.json()["week"] == "2026-W10"
    for week, code in (("2026-W12", "check_week_future"), ("2026-W60", "check_week_invalid"),
                       ("2026-11", "validation_failed")):
        bad = await client.post(f"{BASE}/chk-1/checks", json=check | {"week": week},
                                headers=bearer(officer))
        assert bad.status_code == 422 and bad.json()["code"] == code, bad.text
    bad = await client.post(f"{BASE}/chk-1/checks", json=check | {"equipment": "broken"},
                            headers=bearer(officer))
    assert bad.status_code == 422
    # Monday 00:05 in Beijing is still Sunday in UTC: the week is Beijing's.
    set_clock(clock, beijing(2026, 3, 16, 0, 5))
    monday = await client.post(f"{BASE}/chk-1/checks", json=check, headers=bearer(officer))
    assert monday.status_code == 201 and monday.json()["week"] == "2026-W12"
    recent = (await client.get(f"{BASE}/chk-1/checks", headers=bearer(officer))).json()
    assert [c["week"] for c in recent] == ["2026-W12", "2026-W11", "2026-W10"]
    one = await client.get(f"{BASE}/chk-1/checks", params={"limit": 1}, headers=bearer(officer))
    assert [c["week"] for c in one.json()] == ["2026-W12"]


async def test_stations_missing_this_weeks_check(client, federation: Federation, staff_token,
                                                 owner) -> None:
    r1, r2 = federation.regions
    s1, s2 = federation.stations[r1]
    for tenant, code, active in ((r1, "m-r1", True), (s1, "m-s1", True), (r2, "m-r2", True),
                                 (r1, "m-off", False)):
        await seed_point(owner, federation, tenant, code, 121.45, 31.2, active=active)
    async with owner() as s, s.begin():  # m-r1 and m-s1 have existed for a month
        await s.execute(text("UPDATE service_points SET created_at = now() - interval '30 days'"
                             " WHERE code IN ('m-r1', 'm-s1') AND federation_id = :f"),
                        {"f": federation.ids[federation.hq]})
    hq = await staff_token(federation, "hq_admin", federation.hq)
    region1 = await staff_token(federation, "regional_admin", r1)
    officer1 = await staff_token(federation, "station_officer", s1)
    officer2 = await staff_token(federation, "station_officer", s2)
    this_week = iso_week(datetime.now(BEIJING).date())
    last_week = iso_week(datetime.now(BEIJING).date() - timedelta(days=7))
    check = {"restocked": True, "cleaned": True, "equipment": "ok"}
    assert (await client.post(f"{BASE}/m-r1/checks", json=check,
                              headers=bearer(region1))).status_code == 201
    assert (await client.post(f"{BASE}/m-s1/checks", json=check | {"week": last_week},
                              headers=bearer(officer1))).status_code == 201
    url = "/v1/admin/geo/station-checks/missing"

    async def missing(token: str, **params: Any) -> list[tuple[str, str | None]]:
        got = await client.get(url, params=params, headers=bearer(token))
        assert got.status_code == 200, got.text
        return [(m["code"], m["last_week"]) for m in got.json()["items"]]

    assert await missing(region1) == [("m-s1", last_week)]
    assert await missing(hq) == [("m-r2", None), ("m-s1", last_week)]
    assert await missing(officer1) == [("m-s1", last_week)]
    assert await missing(officer2) == []
    assert await missing(hq, tenant=r2) == [("m-r2", None)]
    page = (await client.get(url, params={"limit": 1}, headers=bearer(hq))).json()
    assert [m["code"] for m in page["items"]] == ["m-r2"] and page["items"][0]["week"] \
        == this_week and page["items"][0]["tenant"] == r2
    rest = (await client.get(url, params={"limit": 1, "cursor": page["next_cursor"]},
                             headers=bearer(hq))).json()
    assert [m["code"] for m in rest["items"]] == ["m-s1"] and rest["next_cursor"] is None
    # Last week: m-r1 missed it; m-r2 did not exist yet, so it owed nothing.
    assert await missing(hq, week=last_week) == [("m-r1", this_week)]
    future = iso_week(datetime.now(BEIJING).date() + timedelta(days=7))
    bad = await client.get(url, params={"week": future}, headers=bearer(hq))
    assert bad.status_code == 422 and bad.json()["code"] == "check_week_future"


async def test_the_board_workers_read(client, sms, federation: Federation,
                                      other_federation: Federation, staff_token, clock) -> None:
    r1 = federation.regions[0]
    admin = await staff_token(federation, "regional_admin", r1)
    worker, _ = await worker_login(client, sms, federation.hq)
    stranger, _ = await worker_login(client, sms, other_federation.hq)
    hours = {d: [["06:00", "23:00"]] for d in DAYS}
    made = await client.post(BASE, json=station("board-1", opening_hours=hours,
                                                phone="13800138000"), headers=bearer(admin))
    assert made.status_code == 201, made.text
    set_clock(clock, beijing(2026, 3, 11, 10, 0))  # Wednesday; the week is 9–15 March
    await put_roster(client, admin, "board-1", "2026-03-11", (0, "张三"), (0, "李四"), (1, "王五"))
    await put_roster(client, admin, "board-1", "2026-03-10", (2, "赵六"))
    await put_roster(client, admin, "board-1", "2026-03-08", (2, "孙八"))  # last week
    await put_roster(client, admin, "board-1", "2026-03-16", (0, "钱七"))  # next week
    for season, item, start, end in (("heat", "藿香正气水", "2026-03-01", "2026-03-31"),
                                     ("cold_wave", "暖宝宝", "2026-01-01", "2026-02-28")):
        await client.post(f"{BASE}/board-1/supplies", headers=bearer(admin), json={
            "season": season, "item": item, "quantity": 20, "unit": "盒",
            "valid_from": start, "valid_to": end})
    await client.post(f"{BASE}/board-1/checks", headers=bearer(admin), json={
        "restocked": True, "cleaned": True, "equipment": "ok", "notes": "门锁坏了"})

    url = "/v1/geo/stations/board-1"
    deadline = time.monotonic() + 5
    while (got := await client.get(url, headers=bearer(worker))).status_code == 404:
        assert time.monotonic() < deadline, got.text
        await asyncio.sleep(0.1)
    assert got.status_code == 200, got.text
    board = got.json()
    assert board["operator"]["code"] == r1 and board["phone"] == "+8613800138000"
    assert board["open_now"] is True and board["hours_today"] == [["06:00", "23:00"]]
    assert board["on_duty_now"] == sorted(["张三", "李四"])
    assert [(s["date"], s["shift_no"], s["officers"]) for s in board["roster_this_week"]] == [
        ("2026-03-10", 2, ["赵六"]), ("2026-03-11", 0, ["张三", "李四"]),
        ("2026-03-11", 1, ["王五"])]
    assert [s["item"] for s in board["supplies"]] == ["藿香正气水"]
    assert board["supplies"][0]["season_zh"] == "高温"
    assert board["latest_check"] | {"checked_at": None} == {
        "week": "2026-W11", "restocked": True, "cleaned": True, "equipment": "ok",
        "equipment_zh": "正常", "equipment_en": "Working", "checked_at": None}
    assert "门锁坏了" not in got.text and "regional_admin" not in got.text
    # 02:00 the same day: the night shift that began on the 10th is on; the station is shut.
    set_clock(clock, beijing(2026, 3, 11, 2, 0))
    night = (await client.get(url, params={"crs": "gcj02"}, headers=bearer(worker))).json()
    assert night["on_duty_now"] == ["赵六"] and night["open_now"] is False
    assert night["location"]["crs"] == "gcj02" and night["location"]["lon"] != 121.40
    # Staff read it too; another federation's rider and unknown codes get 404.
    assert (await client.get(url, headers=bearer(admin))).status_code == 200
    for token, path in ((stranger, url), (worker, "/v1/geo/stations/nope")):
        gone = await client.get(path, headers=bearer(token))
        assert gone.status_code == 404 and gone.json()["code"] == "station_not_found"
    await client.post(f"{BASE}/board-1/deactivate", headers=bearer(admin))
    deadline = time.monotonic() + 5
    while (await client.get(url, headers=bearer(worker))).status_code != 404:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    assert date(2026, 3, 11).weekday() == 2
