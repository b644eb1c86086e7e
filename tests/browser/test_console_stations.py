"""驿站 in a real browser: the list and the map of my subtree's stations, a station's hours
(an evening across midnight read as one interval), setting a day of the duty roster and
seeing it in the week view, and recording the weekly check so the station leaves the
missing list (a second check the same week is refused with a clear message)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from playwright.async_api import Page, expect

from flexunion.core.clock import BEIJING
from flexunion.geo.stations.hours import DAYS
from tests.browser.conftest import shoot, sign_in
from tests.support.console import staff_account
from tests.support.factories import Federation, bearer

BASE = "/v1/admin/geo/stations"


def station(code: str, tenant: str, lon: float, lat: float, **over: Any) -> dict[str, Any]:
    return {"code": code, "tenant": tenant, "name_zh": f"驿站{code[-4:]}",
            "name_en": f"Station {code[-4:]}", "address": "上海市徐汇区宜山路 1 号",
            "location": {"lon": lon, "lat": lat}, "amenities": ["drinking_water", "charging"],
            "opening_hours": {d: [["07:00", "22:00"]] for d in DAYS},
            "shift_changes": ["06:00", "14:00", "22:00"]} | over


async def create(client, token: str, body: dict[str, Any]) -> str:
    made = await client.post(BASE, json=body, headers=bearer(token))
    assert made.status_code == 201, made.text
    return str(body["code"])


def code() -> str:
    return f"st-{secrets.token_hex(4)}"


async def test_the_list_and_the_map_show_my_subtrees_stations(
        page: Page, owner, client, staff_token, federation: Federation) -> None:
    r1, r2 = federation.regions
    admin = await staff_token(federation, "regional_admin", r1)
    other = await staff_token(federation, "regional_admin", r2)
    mine = [await create(client, admin, station(code(), r1, 121.40, 31.17)),
            await create(client, admin, station(code(), federation.stations[r1][0], 121.43,
                                                31.19, amenities=["rest", "first_aid"]))]
    theirs = await create(client, other, station(code(), r2, 120.15, 30.27))
    username, password = await staff_account(owner, r1, "regional_admin")
    await sign_in(page, username, password)
    await page.get_by_role("link", name="驿站", exact=True).click()
    await expect(page.get_by_role("heading", name="驿站", exact=True)).to_be_visible()
    rows = page.get_by_test_id("stations").locator("tbody tr[data-station]")
    await expect(rows).to_have_count(2)
    assert sorted(await rows.evaluate_all("rs => rs.map(r => r.dataset.station)")) == \
        sorted(mine)
    await expect(page.locator(f'tr[data-station="{theirs}"]')).to_have_count(0)
    second = page.locator(f'tr[data-station="{mine[1]}"]')
    await expect(second).to_contain_text("休息")  # amenities in the domain's words
    await expect(second).to_contain_text("阿尔法平台")  # the station tenant's platform
    await expect(second).to_contain_text("区域工会1")  # its union: the station's region
    drawn = page.get_by_test_id("stations-map")
    await expect(drawn).to_have_attribute("data-ready", "1")
    await expect(drawn).to_have_attribute("data-features", "2")
    await shoot(page, "stations")


async def test_set_a_roster_day_and_see_it_in_the_week_view(
        page: Page, owner, client, staff_token, federation: Federation) -> None:
    r1 = federation.regions[0]
    admin = await staff_token(federation, "regional_admin", r1)
    hours = {d: [["07:00", "22:00"]] for d in DAYS} | {"sat": [["22:00", "02:00"]],
                                                       "sun": [["08:00", "20:00"]]}
    mine = await create(client, admin, station(code(), r1, 121.40, 31.17, opening_hours=hours))
    username, password = await staff_account(owner, r1, "regional_admin")
    await sign_in(page, username, password)
    await page.goto(f"/console/stations/{mine}")
    shown = page.get_by_test_id("hours")
    await expect(shown.locator("tr", has_text="周六")).to_contain_text("22:00–次日 02:00")
    await expect(shown.locator("tr", has_text="周日")).to_contain_text("00:00–02:00 （前一日延续）")
    await expect(shown.locator("tr", has_text="周日")).to_contain_text("08:00–20:00")
    await expect(page.get_by_test_id("amenities")).to_contain_text("充电")
    # the week view's rows are the station's slots, the last one into the next day
    roster = page.get_by_test_id("roster")
    await expect(roster.locator("tbody th")).to_have_text(
        ["06:00–14:00", "14:00–22:00", "22:00–次日 06:00"])
    today = datetime.now(BEIJING).date().isoformat()
    form = page.get_by_test_id("roster-form")
    await form.get_by_label("日期").fill(today)
    await form.get_by_label("时段 06:00–14:00").fill("张三、李四")
    await form.get_by_label("时段 22:00–次日 06:00").fill("王五")
    await form.get_by_role("button", name="保存排班").click()
    await expect(page.get_by_test_id("done")).to_have_text("排班已保存。")
    await expect(roster.locator(f'td[data-date="{today}"][data-slot="0"]')).to_have_text(
        "张三、李四")
    await expect(roster.locator(f'td[data-date="{today}"][data-slot="2"]')).to_have_text("王五")
    await expect(roster.locator(f'td[data-date="{today}"][data-slot="1"]')).to_have_text("")
    # the next week is empty, and its link comes back
    await page.get_by_role("link", name="下一周").click()
    await expect(roster.locator("td", has_text="张三")).to_have_count(0)
    await page.get_by_role("link", name="上一周").click()
    await expect(roster.locator("td", has_text="张三")).to_have_count(1)
    # a name too long for the API's schema is said next to the form, nothing replaced
    await form.get_by_label("日期").fill(today)
    await form.get_by_label("时段 06:00–14:00").fill("长" * 51)
    await form.get_by_role("button", name="保存排班").click()
    await expect(page.locator("#day-error")).to_be_visible()
    await page.goto(f"/console/stations/{mine}")
    await expect(roster.locator(f'td[data-date="{today}"][data-slot="0"]')).to_have_text(
        "张三、李四")


async def test_recording_the_weekly_check_takes_the_station_off_the_missing_list(
        page: Page, owner, client, staff_token, federation: Federation) -> None:
    r1 = federation.regions[0]
    home = federation.stations[r1][0]
    admin = await staff_token(federation, "regional_admin", r1)
    mine = await create(client, admin, station(code(), home, 121.40, 31.17))
    elsewhere = await create(client, admin, station(code(), r1, 121.41, 31.18))
    username, password = await staff_account(owner, home, "station_officer", name="站长小陈")
    await sign_in(page, username, password)
    await page.goto("/console/stations/missing")
    missing = page.get_by_test_id("missing")
    await expect(missing.locator(f'tr[data-station="{mine}"]')).to_be_visible()
    # a station officer sees only their own station: the region's other one is a 404
    await expect(missing.locator(f'tr[data-station="{elsewhere}"]')).to_have_count(0)
    foreign = await page.goto(f"/console/stations/{elsewhere}")
    assert foreign is not None and foreign.status == 404
    await page.goto("/console/stations/missing")
    await missing.get_by_role("link", name=mine).click()
    form = page.get_by_test_id("check-form")
    await form.get_by_label("已补货").check()
    await form.get_by_label("已保洁").check()
    await form.get_by_label("设备状态").select_option("needs_repair")
    await form.get_by_label("备注（可不填）").fill("饮水机漏水")
    await form.get_by_role("button", name="登记巡检").click()
    await expect(page.get_by_test_id("done")).to_have_text("本周巡检已登记。")
    await expect(page.get_by_test_id("checks")).to_contain_text("待维修")
    await expect(page.get_by_test_id("checks")).to_contain_text("饮水机漏水")
    # once a week: a second check is refused, and said so
    await form.get_by_role("button", name="登记巡检").click()
    await expect(form.get_by_test_id("problem")).to_contain_text("已登记过")
    await page.locator("#checks").get_by_test_id("missing-link").click()
    await expect(page.get_by_test_id("missing")).to_be_visible()
    await expect(page.get_by_test_id("missing").locator(
        f'tr[data-station="{mine}"]')).to_have_count(0)
