"""服务区域 in a real browser: a file with one bad feature is refused feature by feature
(in the officer's language) with nothing stored; a good file is checked, shows what it
would change, and is stored only when confirmed — then drawn on the map."""

from __future__ import annotations

import json

import httpx
from playwright.async_api import Page, expect

from tests.browser.conftest import shoot, sign_in
from tests.support.console import staff_account
from tests.support.factories import Federation, bearer
from tests.support.geo import collection, feature, square

AREAS = "/v1/admin/geo/areas"
WEST = square(121.40, 31.15, 121.45, 31.25)
BOWTIE = {"type": "Polygon", "coordinates": [[[121.45, 31.15], [121.50, 31.25],
                                              [121.50, 31.15], [121.45, 31.25],
                                              [121.45, 31.15]]]}


def geojson_file(*features: dict) -> dict:
    return {"name": "areas.geojson", "mimeType": "application/geo+json",
            "buffer": json.dumps(collection(*features), ensure_ascii=False).encode()}


async def stored(client: httpx.AsyncClient, token: str) -> list[dict]:
    listed = await client.get(AREAS, headers=bearer(token))
    assert listed.status_code == 200, listed.text
    return listed.json()["items"]


async def arrange(client: httpx.AsyncClient, staff_token, fed: Federation) -> str:
    """A regional admin's token, with their jurisdiction already on the map."""
    token = await staff_token(fed, "regional_admin", fed.regions[0])
    put = await client.put(AREAS, params={"kind": "jurisdiction"}, headers=bearer(token),
                           json=collection(feature("home", WEST)))
    assert put.status_code == 200, put.text
    return token


async def check_file(page: Page, upload: dict, kind: str, crs: str) -> None:
    form = page.get_by_test_id("upload-form")
    await form.get_by_label("GeoJSON 文件").set_input_files(upload)  # type: ignore[arg-type]
    await form.get_by_label("区域类型").select_option(kind)
    await form.get_by_label("坐标系").select_option(crs)
    await form.get_by_role("button", name="校验文件").click()


async def test_a_file_with_a_bad_feature_lists_it_and_stores_nothing(
        page: Page, owner, client, staff_token, federation: Federation) -> None:
    token = await arrange(client, staff_token, federation)
    username, password = await staff_account(owner, federation.regions[0], "regional_admin")
    await sign_in(page, username, password)
    await page.get_by_role("link", name="服务区域", exact=True).click()
    drawn = page.get_by_test_id("areas-map")
    await expect(drawn).to_have_attribute("data-ready", "1")
    await expect(drawn).to_have_attribute("data-features", "1")
    bad = geojson_file(feature("fine", square(121.30, 31.15, 121.35, 31.25)),
                       feature("bowtie", BOWTIE))
    await check_file(page, bad, "jurisdiction", "wgs84")
    problems = page.get_by_test_id("problems")
    await expect(problems).to_contain_text("未保存任何区域")
    row = problems.locator('tr[data-feature="1"]')
    await expect(row).to_have_attribute("data-problem", "self_intersection")
    await expect(row).to_contain_text("第 2 个")
    await expect(row).to_contain_text("bowtie")
    await expect(row).to_contain_text("区域bowtie")
    await expect(row).to_contain_text("自相交")
    await expect(problems.locator("tbody tr")).to_have_count(1)  # the good one is not listed
    await expect(page.get_by_test_id("plan")).to_have_count(0)  # and nothing to confirm
    # nothing stored: the list, the map and the API still have the one area
    await expect(page.get_by_test_id("areas").locator("tbody tr[data-area]")).to_have_count(1)
    await expect(drawn).to_have_attribute("data-ready", "1")
    await expect(drawn).to_have_attribute("data-features", "1")
    assert [a["code"] for a in await stored(client, token)] == ["home"]
    # in English, the same problem in English
    await page.goto("/console/areas")
    await page.get_by_role("link", name="EN", exact=True).click()
    form = page.get_by_test_id("upload-form")
    await form.get_by_label("GeoJSON file").set_input_files(bad)  # type: ignore[arg-type]
    await form.get_by_role("button", name="Check the file").click()
    await expect(page.get_by_test_id("problems").locator('tr[data-feature="1"]')).to_contain_text(
        "The shape intersects itself")


async def test_a_good_file_is_checked_confirmed_and_drawn(
        page: Page, owner, client, staff_token, federation: Federation) -> None:
    token = await arrange(client, staff_token, federation)
    username, password = await staff_account(owner, federation.regions[0], "regional_admin")
    await sign_in(page, username, password)
    await page.goto("/console/areas")
    good = geojson_file(feature("zone-a", square(121.41, 31.16, 121.44, 31.20),
                                partner="alpha"))
    await check_file(page, good, "delivery_zone", "gcj02")
    plan = page.get_by_test_id("plan")
    await expect(plan.get_by_test_id("plan-create")).to_have_text("zone-a")
    await expect(plan).to_contain_text("GCJ-02")
    assert [a["code"] for a in await stored(client, token)] == ["home"]  # not yet
    await plan.get_by_role("button", name="确认保存").click()
    await expect(page.get_by_test_id("done")).to_contain_text("新建 1 个")
    drawn = page.get_by_test_id("areas-map")
    await expect(drawn).to_have_attribute("data-ready", "1")
    await expect(drawn).to_have_attribute("data-features", "2")
    await expect(page.locator('tr[data-area="delivery_zone/zone-a"]')).to_contain_text("alpha")
    areas = {a["code"]: a for a in await stored(client, token)}
    assert set(areas) == {"home", "zone-a"}
    assert areas["zone-a"]["source"].startswith("console:")
    # stored in WGS84: the GCJ-02 square moved back by a few hundred metres
    assert areas["zone-a"]["bbox_wgs84"][0] < 121.41
    await shoot(page, "map")
