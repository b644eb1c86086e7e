"""周研判 in a real browser: a regional admin opens the 需求台账's 周研判 tab, runs the week
(重新计算) over planted cases, sees one Leaflet marker per placed signal (the station's
point and the zone's centroid; the platform's signal listed beside the map), records a
judgement through a signal's form and sees it in the list; the page fits a phone."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.browser.conftest import shoot, sign_in
from tests.support.console import staff_account
from tests.support.factories import Federation
from tests.support.weekly import plant_week


async def test_run_see_the_markers_and_judge_a_signal(page: Page, owner, clock,
                                                      federation: Federation) -> None:
    region = federation.regions[1]
    week = await plant_week(owner, federation, clock)
    username, password = await staff_account(owner, region, "regional_admin")
    await sign_in(page, username, password)
    await page.get_by_role("link", name="需求台账", exact=True).click()
    await page.get_by_test_id("tab-weekly").click()
    await expect(page.get_by_test_id("week")).to_have_text(week.code)
    await expect(page.get_by_test_id("no-signals")).to_be_visible()
    await page.get_by_role("button", name="重新计算").click()
    await expect(page.get_by_test_id("done")).to_contain_text("已重新计算")

    rows = page.locator("tr[data-signal]")
    await expect(rows).to_have_count(3)
    drawn = page.get_by_test_id("weekly-map")
    await expect(drawn).to_have_attribute("data-ready", "1")
    markers = drawn.locator(".leaflet-overlay-pane .leaflet-interactive")
    await expect(markers).to_have_count(2)
    assert await markers.first.get_attribute("fill") == "#b42318"  # coloured by kind
    await expect(page.get_by_test_id("unplaced-signal")).to_have_count(1)
    await expect(page.get_by_test_id("unplaced-signal")).to_contain_text("贝塔平台")

    zone = page.locator('tr[data-place="zone/z9"]')
    await expect(zone).to_have_attribute("data-judged", "no")
    signal = await zone.get_attribute("data-signal")
    form = page.locator(f'form[data-testid="judge-form"][data-signal="{signal}"]')
    await page.locator(f'tr[data-signal="{signal}"] + tr summary').click()
    await form.get_by_label("研判结论").select_option(label="执行偏差")
    await form.get_by_label("处置措施").fill("约谈站点负责人，复核派单")
    await form.get_by_label("跟进节点").fill("两周后回访")
    await form.get_by_role("button", name="记录研判").click()
    # a missing date is refused next to its field, what was typed kept
    await expect(form.locator("#follow_up_due-error")).to_have_text("此项必填。")
    await expect(form.get_by_label("处置措施")).to_have_value("约谈站点负责人，复核派单")
    await form.get_by_label("跟进期限").fill("2026-12-21")
    await form.get_by_role("button", name="记录研判").click()
    await expect(page.get_by_test_id("done")).to_contain_text("研判已记录")
    await expect(zone).to_have_attribute("data-judged", "yes")
    await expect(zone.get_by_test_id("judgement-state")).to_contain_text("执行偏差")
    await expect(drawn.locator(".leaflet-overlay-pane .leaflet-interactive")).to_have_count(2)
    await page.goto(f"/console/cases/weekly-review?week={week.code}")  # no #fragment scroll
    await expect(drawn).to_have_attribute("data-ready", "1")
    await shoot(page, "weekly-review")

    await page.set_viewport_size({"width": 390, "height": 844})
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
