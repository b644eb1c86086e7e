"""In a real browser, 办理统计 under 需求台账: a regional admin opens the page from the
ledger, picks the quarter, sees the station's row (受理 2, 解决率 50.0%, 满意率 — with no
rating), and downloads the CSV (UTF-8 with BOM, Chinese headers, the 合计 row)."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect

from flexunion.cases.figures.periods import Period
from flexunion.core.clock import Clock
from tests.browser.conftest import shoot, sign_in
from tests.support.console import staff_account
from tests.support.factories import Federation, bearer


async def test_the_figures_page_shows_the_rates_and_the_csv_downloads(
        page: Page, client, live, owner, federation: Federation, staff_token) -> None:
    r1 = federation.regions[0]
    s1 = federation.stations[r1][0]
    token = await staff_token(federation, "regional_admin", r1)
    made = []
    for _ in range(2):
        r = await client.post("/v1/cases", headers=bearer(token), json={
            "channel": "visit", "category": "wage_arrears", "description": "工资拖欠",
            "station": s1})
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
    for path, data in (("route", {"route": "instant", "reason": "当场答复"}),
                       ("answer", {"text": "已结清。"}),
                       ("follow-up", {"outcome": "resolved", "worker_informed": True,
                                      "worker_accepts": True})):
        r = await client.post(f"/v1/cases/{made[0]}/{path}", headers=bearer(token), json=data)
        assert r.status_code == 200, r.text
    quarter = Period.quarter_of(Clock().now()).code
    username, password = await staff_account(owner, r1, "regional_admin", name="区域干部")
    await sign_in(page, username, password)
    await page.get_by_role("link", name="需求台账", exact=True).click()
    await page.get_by_test_id("figures").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("办理统计")
    form = page.get_by_test_id("period-form")
    await form.get_by_label("统计期").select_option(quarter)
    await form.get_by_role("button", name="查看").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(quarter)
    row = page.get_by_test_id("figures").locator(f'tr[data-unit="{s1}"]')
    cells = row.locator("td")
    await expect(cells.nth(1)).to_have_text("2")
    await expect(cells.nth(3)).to_have_text("50.0%")  # 解决率: 1 of 2 closed
    await expect(cells.nth(4)).to_have_text("—")  # 满意率: nobody rated
    await expect(cells.nth(7)).to_have_text("0")  # 督办: no 限期协调 case
    await shoot(page, "case-figures")
    async with page.expect_download() as waiting:
        await page.get_by_test_id("csv").click()
    download = await waiting.value
    assert download.suggested_filename == f"case-figures-{quarter}.csv"
    data = Path(await download.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").strip().split("\r\n")
    assert lines[0].startswith("统计期,办理单位编码,办理单位,受理件数") and len(lines) == 3
    assert lines[1].startswith(f"{quarter},{s1},") and ",50.0%," in lines[1]
    assert lines[2].startswith(f"{quarter},,合计,2,")
