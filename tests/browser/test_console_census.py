"""摸清底数 in a real browser: a regional admin runs the census of the region, the map draws
one shape per zone coloured by coverage, a click on a zone shows its figures, and the CSV,
GeoJSON and PNG download from the console with their media types.

World (as tests/geo/test_census.py, smaller): r1 holds alpha's delivery zones za and zb and
beta's zc (over za); alpha's roster has 3 workers in za and 4 in zb; one member, homed at an
r1 station, checked in in zb yesterday; one active station in za."""

from __future__ import annotations

import csv
import io
import re

from playwright.async_api import Page, expect

from flexunion.geo.census.render import CSV_COLUMNS
from tests.browser.conftest import shoot, sign_in
from tests.geo.test_census import checkin
from tests.geo.test_rosters import partner_token, post_roster, seed_areas, w
from tests.support.console import signed_in, staff_account
from tests.support.factories import Federation, join
from tests.support.geo import seed_point


async def arrange(client, owner, sms, staff_token, fed: Federation) -> None:
    r1 = fed.regions[0]
    station = fed.stations[r1][0]
    await seed_areas(owner, fed)
    await seed_point(owner, fed, station, "s-za", 121.43, 31.21)
    alpha = await partner_token(owner, staff_token, fed, "alpha")
    roster = await post_roster(client, alpha, [
        w("a1", 121.41, 31.16), w("a2", 121.42, 31.18), w("a3", 121.43, 31.20),
        w("a4", 121.46, 31.17), w("a5", 121.47, 31.19), w("a6", 121.48, 31.20), w("a7", zone="zb")])
    assert roster.status_code == 201, roster.text
    hq = await staff_token(fed, "hq_admin", fed.hq)
    m = await join(client, sms, fed, station, approver_token=hq)
    await checkin(owner, fed, station, m.member_id, m.worker_id, 121.48, 31.22, 1)


async def click_zone(page: Page, lon: float, lat: float) -> None:
    """A real click on the map where (lon, lat) is drawn."""
    point = await page.evaluate("""([lon, lat]) => {
        const entry = window.flexunionMaps[0];
        const p = entry.map.latLngToContainerPoint([lat, lon]);
        const box = entry.element.getBoundingClientRect();
        return [box.left + p.x, box.top + p.y];
    }""", [lon, lat])
    await page.mouse.click(point[0], point[1])


async def test_run_the_census_and_read_its_map(page: Page, live, client, owner, sms,
                                               staff_token, federation: Federation) -> None:
    await arrange(client, owner, sms, staff_token, federation)
    username, password = await staff_account(owner, federation.regions[0], "regional_admin")
    await sign_in(page, username, password)
    await page.get_by_role("link", name="摸清底数").click()
    await expect(page.get_by_test_id("runs")).to_contain_text("还没有摸底记录")
    await page.get_by_label("区域类型").select_option("delivery_zone")
    await page.get_by_label(re.compile("最少出勤天数")).fill("abc")
    await page.get_by_role("button", name="开始摸底").click()
    await expect(page.locator("#min_active_days-error")).to_contain_text("0 到 366")
    await page.get_by_label(re.compile("最少出勤天数")).fill("1")
    await page.get_by_role("button", name="开始摸底").click()
    await expect(page.get_by_test_id("done")).to_be_visible()
    run_id = re.search(r"/console/census/([0-9a-f-]{36})", page.url)
    assert run_id is not None
    zones = page.get_by_test_id("zones").locator("tbody tr[data-zone]")
    await expect(zones).to_have_count(3)

    the_map = page.get_by_test_id("census-map")
    await expect(the_map).to_have_attribute("data-ready", "1")
    await expect(the_map).to_have_attribute("data-features", "3")
    await expect(page.locator(".map-legend")).to_contain_text("无从业者")
    await shoot(page, "census")
    await click_zone(page, 121.49, 31.24)  # zb's corner, away from za and zc
    popup = page.locator(".leaflet-popup-content .census-popup")
    await expect(popup).to_have_attribute("data-zone", "zb")
    for label, value in (("从业人数", "4"), ("会员数", "1"), ("覆盖率", "25.0%"),
                         ("保持联系", "1"), ("每千人驿站数", "0.0")):
        await expect(popup.locator("tr", has=page.locator("th", has_text=label)).locator(
            "td")).to_have_text(value)

    # The run is listed, and its files come from the console with their media types.
    await page.goto("/console/census")
    await expect(page.get_by_test_id("runs").locator(f'tr[data-run="{run_id[1]}"]')).to_be_visible()
    base = f"/console/census/{run_id[1]}"
    answer = await page.request.get(f"{base}/zones.csv")
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO((await answer.body()).decode("utf-8-sig"))))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 4
    zb = dict(zip(rows[0], next(r for r in rows if r[0] == "zb"), strict=True))
    assert (zb["workers"], zb["members"], zb["coverage_pct"]) == ("4", "1", "25.0")
    geojson = await page.request.get(f"{base}/zones.geojson")
    assert geojson.headers["content-type"].startswith("application/geo+json")
    assert len((await geojson.json())["features"]) == 3
    png = await page.request.get(f"{base}/map.png")
    assert png.headers["content-type"] == "image/png"
    assert (await png.body())[:8] == b"\x89PNG\r\n\x1a\n"
    # A sibling region's admin: the run and its files are the 404 of a missing run.
    async with signed_in(live.url, owner, federation.regions[1], "regional_admin") as other:
        for suffix in ("", "/map.geojson", "/zones.csv", "/zones.geojson", "/map.png"):
            assert (await other.get(base + suffix)).status_code == 404, suffix


async def test_a_station_officer_has_no_census(page: Page, owner,
                                               federation: Federation) -> None:
    station = federation.stations[federation.regions[0]][0]
    username, password = await staff_account(owner, station, "station_officer")
    await sign_in(page, username, password)
    await expect(page.locator('nav [data-menu="census"]')).to_have_count(0)
    answer = await page.goto("/console/census")
    assert answer is not None and answer.status == 404
