"""In a real browser, 整改清单 under 需求台账: a regional admin picks the quarter, finds the
recurring group (three wage cases at one station), makes it a rectification item with the
station as owner, sees the item with its next node and trend, and downloads the CSV (UTF-8
with BOM, Chinese headers). A station officer has no such page (the 404 page), but finds
the item its station owns under 我方整改项 and reports on it (责任方报告), which the region
then sees in the item's history."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect

from tests.browser.conftest import shoot, sign_in
from tests.support.console import staff_account
from tests.support.factories import Federation, bearer


async def test_a_recurring_group_becomes_an_item_and_the_csv_downloads(
        page: Page, client, live, owner, federation: Federation, staff_token) -> None:
    r1 = federation.regions[0]
    s1 = federation.stations[r1][0]
    token = await staff_token(federation, "regional_admin", r1)
    for _ in range(3):
        made = await client.post("/v1/cases", headers=bearer(token), json={
            "channel": "visit", "category": "wage_arrears", "description": "工资拖欠",
            "station": s1})
        assert made.status_code == 201, made.text
    username, password = await staff_account(owner, r1, "regional_admin", name="区域干部")
    await sign_in(page, username, password)
    await page.get_by_role("link", name="需求台账", exact=True).click()
    await page.get_by_test_id("rectification").click()
    await page.get_by_test_id("quarter-form").get_by_role("button", name="查看").click()
    row = page.get_by_test_id("groups").locator(f'tr[data-group="wage_arrears:tenant:{s1}"]')
    await expect(row).to_contain_text("欠薪")
    await row.get_by_text("生成整改项").click()
    form = row.get_by_test_id("item-form")
    await expect(form.get_by_label("责任单位")).to_have_value(f"tenant:{s1}")
    await form.get_by_label("问题").fill("站点反复拖欠工资")
    await form.get_by_label("整改措施").fill("约谈站长，按月公示发放台账")
    await form.get_by_label("下一节点").fill("站点提交发放台账")
    await form.get_by_label("完成时限").fill("2027-01-15")
    await form.get_by_role("button", name="立项").click()
    await expect(page.get_by_test_id("done")).to_be_visible()
    items = page.get_by_test_id("items")
    await expect(items).to_contain_text("站点提交发放台账")
    await expect(items).to_contain_text("待整改")
    await expect(items).to_contain_text("无评价")
    await expect(row).to_contain_text("已立项")
    await shoot(page, "rectification")
    async with page.expect_download() as waiting:
        await page.get_by_test_id("csv").click()
    download = await waiting.value
    data = Path(await download.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").strip().split("\r\n")
    assert lines[0].startswith("季度,整改项编号,问题类别") and len(lines) == 2
    assert "站点反复拖欠工资" in lines[1] and "待整改" in lines[1]

    # a station officer: no such page
    officer, secret = await staff_account(owner, s1, "station_officer", name="站点干事")
    context = await page.context.browser.new_context(base_url=live.url, locale="zh-CN")
    other = await context.new_page()
    try:
        await sign_in(other, officer, secret)
        answer = await other.goto("/console/cases/rectification")
        assert answer is not None and answer.status == 404
        await other.goto("/console/cases")
        await other.get_by_test_id("owned-items").click()
        await other.get_by_test_id("owned").get_by_role("link", name="站点反复拖欠工资").click()
        report = other.get_by_test_id("report-form")
        await report.get_by_label("进展说明").fill("已约谈站长，台账下周提交")
        await report.get_by_label("建议下一节点（选填）").fill("复查发放台账")
        await report.get_by_role("button", name="提交报告").click()
        await expect(other.get_by_test_id("done")).to_be_visible()
        await expect(other.get_by_test_id("status")).to_contain_text("整改中")
        await expect(other.get_by_test_id("history")).to_contain_text("已约谈站长，台账下周提交")
        await shoot(other, "rectification-owner-report")
    finally:
        await context.close()
    await items.get_by_test_id("item-link").click()
    history = page.get_by_test_id("history")
    await expect(history.locator('li[data-kind="owner_report"]')).to_contain_text("复查发放台账")
