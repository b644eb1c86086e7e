"""In a real browser, the demand ledger's tools: the 政策库 (the HQ adds a policy through the
form — a bad one is refused next to its fields, in Chinese — sees it listed and retires it; a
regional admin reads the same library without the form or the buttons); a station's
printable 意见收集二维码, whose QR code reads back as the station's suggestion link (a station
of another region is the 404 page); and the 待办's 超期件 and 督办 cards on a frozen clock,
each leading to the case, the 超期件 page behind the card's 查看全部 and the case's breached
clock in its 办理时限 panel (the new pages fitting a phone)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from playwright.async_api import Browser, Page, expect

from flexunion.core.clock import FixedClock
from tests.browser.conftest import shoot, sign_in
from tests.cards.conftest import read_qr, svg_modules
from tests.cases.test_clocks import Desk, bj, calendar_federation, token_maker
from tests.cases.test_sweep import (  # noqa: F401 (fixtures)
    app_sessions,
    frozen,
    real_tokens,
    sweep_as_job,
)
from tests.conftest import TEST_ISSUER
from tests.support.console import staff_account
from tests.support.factories import Federation


async def test_the_hq_adds_and_retires_a_policy_and_a_region_reads_the_library(
        page: Page, owner, federation: Federation) -> None:
    username, password = await staff_account(owner, federation.hq, "hq_admin")
    await sign_in(page, username, password)
    await page.get_by_role("link", name="需求台账", exact=True).click()
    await page.get_by_role("link", name="政策库", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("政策库")

    form = page.get_by_test_id("policy-form")
    await form.get_by_label("编码").fill("高温 补贴")
    await form.get_by_label("名称（中文）").fill("高温津贴发放办法")
    await form.get_by_label("名称（英文）").fill("Heat allowance rules")
    await form.get_by_label("出处").fill("人社部发〔2012〕89号")
    await form.get_by_label("内容").fill("高温天气作业应发放高温津贴。")
    await form.get_by_label("链接（可选）").fill("ftp://example.com/heat")
    await form.get_by_role("button", name="保存").click()
    form = page.get_by_test_id("policy-form")
    await expect(form.locator("#code-error")).to_have_text("编码只能用字母、数字和 _ . -。")
    await expect(form.get_by_label("编码")).to_have_attribute("aria-invalid", "true")
    await expect(form.locator("#url-error")).to_have_text("链接须以 http:// 或 https:// 开头。")
    await expect(form.get_by_label("名称（中文）")).to_have_value("高温津贴发放办法")  # kept
    await expect(page.get_by_test_id("policies").locator("tr[data-policy]")).to_have_count(0)

    await form.get_by_label("编码").fill("heat-2012")
    await form.get_by_label("链接（可选）").fill("https://example.com/heat")
    await form.get_by_role("button", name="保存").click()
    await expect(page.get_by_test_id("done")).to_be_visible()
    row = page.get_by_test_id("policies").locator('tr[data-policy="heat-2012"]')
    await expect(row).to_contain_text("高温津贴发放办法")
    await expect(row).to_contain_text("人社部发〔2012〕89号")
    await expect(row).to_contain_text("有效")

    # The same code again: refused next to the code, nothing added.
    form = page.get_by_test_id("policy-form")
    for label, value in (("编码", "heat-2012"), ("名称（中文）", "重复"), ("名称（英文）", "Again"),
                         ("出处", "同上"), ("内容", "同上")):
        await form.get_by_label(label).fill(value)
    await form.get_by_role("button", name="保存").click()
    await expect(page.get_by_test_id("policy-form").locator("#code-error")).to_have_text(
        "政策编码 heat-2012 已存在。")
    await expect(page.get_by_test_id("policies").locator("tr[data-policy]")).to_have_count(1)

    # 停用, then the row says so and offers 启用.
    await row.get_by_role("button", name="停用").click()
    await expect(page.get_by_test_id("done")).to_be_visible()
    await expect(row).to_contain_text("已停用")
    await expect(row.get_by_role("button", name="启用")).to_be_visible()

    # A regional admin reads the library: the policy, no form, no buttons.
    await page.get_by_role("button", name="退出").click()
    await page.wait_for_url("**/console/login")
    username, password = await staff_account(owner, federation.regions[0], "regional_admin")
    await sign_in(page, username, password)
    await page.goto("/console/cases/policies")
    await expect(row).to_contain_text("高温津贴发放办法")
    await expect(row).to_contain_text("已停用")
    await expect(page.get_by_test_id("policies").get_by_role("button")).to_have_count(0)
    await expect(page.get_by_test_id("policy-form")).to_have_count(0)


async def test_a_stations_suggestion_qr_reads_back_its_link_and_another_region_is_404(
        page: Page, owner, federation: Federation) -> None:
    r1, r2 = federation.regions
    station = federation.stations[r1][0]
    username, password = await staff_account(owner, station, "station_officer")
    await sign_in(page, username, password)
    await page.get_by_role("link", name="需求台账", exact=True).click()
    await page.get_by_test_id("station-qr").click()
    sheet = page.get_by_test_id("qr-sheet")
    link = f"{TEST_ISSUER}/v1/suggestions/{station}"
    await expect(sheet.locator("p.muted")).to_have_text(link)
    image = sheet.get_by_test_id("qr")
    await expect(image).to_have_attribute("src", f"/console/cases/qr/{station}/svg")
    await page.wait_for_function(
        "el => el.complete && el.naturalWidth > 0", arg=await image.element_handle())
    svg = await image.evaluate("el => fetch(el.src).then(r => r.text())")
    assert read_qr(svg_modules(svg)).text == link
    await page.emulate_media(media="print")  # printed: the sheet without the console's chrome
    await expect(sheet.locator(".no-print")).to_be_hidden()
    await expect(image).to_be_visible()
    await page.emulate_media(media="screen")

    elsewhere = federation.stations[r2][0]
    answer = await page.goto(f"/console/cases/qr/{elsewhere}")
    assert answer is not None and answer.status == 404
    await expect(page.get_by_test_id("not-found")).to_be_visible()
    picture = await page.request.get(f"/console/cases/qr/{elsewhere}/svg")
    assert picture.status == 404 and "<svg" not in await picture.text()


async def test_the_overdue_and_escalated_cards_lead_to_the_case(
        page: Page, client, owner, tmp_path: Path,
        real_tokens, frozen: FixedClock, app_sessions) -> None:  # noqa: F811
    fed = await calendar_federation(owner, tmp_path)
    desk = Desk(client, fed, token_maker(real_tokens))
    r1 = fed.regions[0]
    station = fed.stations[r1][0]
    case = await desk.enter(station)  # 09:00 Monday: first response due 14:30
    frozen.at = bj(2026, 10, 12, 16)  # past it; the sweep escalates it to the region
    assert await sweep_as_job(app_sessions, fed, frozen.at, timedelta(0)) == 1

    username, password = await staff_account(owner, r1, "regional_admin")
    await sign_in(page, username, password)
    for box in ("todo-cases-overdue", "todo-cases-escalated"):
        card = page.get_by_test_id(box)
        await expect(card.locator(".kpi-inline")).to_have_text("1")
        await expect(card.locator("li")).to_have_count(1)
        await expect(card.locator("li")).to_contain_text("首次响应")
    await expect(page.get_by_test_id("todo-cases-escalated").locator("li")).to_contain_text(
        f"承办 {station}")
    await expect(page.get_by_test_id("todo-cases-overdue").locator("li")).to_contain_text(
        "超期自 2026-10-12 14:30")
    await page.get_by_test_id("todo-cases-escalated").get_by_role(
        "link", name=case["case_no"]).click()
    await page.wait_for_url(f"**/console/cases/{case['id']}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(case["case_no"])
    escalation = page.get_by_test_id("timeline").locator('li[data-step="escalation"]')
    await expect(escalation).to_have_count(1)
    await expect(escalation).to_contain_text("超期升级")
    await page.go_back()
    await page.get_by_test_id("todo-cases-overdue").get_by_role(
        "link", name=case["case_no"]).click()
    await page.wait_for_url(f"**/console/cases/{case['id']}")


async def test_see_all_overdue_leads_to_the_case_and_its_breached_clock(
        page: Page, browser: Browser, live, client, owner, tmp_path: Path,
        real_tokens, frozen: FixedClock, app_sessions) -> None:  # noqa: F811
    fed = await calendar_federation(owner, tmp_path)
    desk = Desk(client, fed, token_maker(real_tokens))
    r1 = fed.regions[0]
    station = fed.stations[r1][0]
    case = await desk.enter(station)  # 09:00 Monday: first response due 14:30
    frozen.at = bj(2026, 10, 12, 16)
    assert await sweep_as_job(app_sessions, fed, frozen.at, timedelta(0)) == 1

    username, password = await staff_account(owner, r1, "regional_admin")
    await sign_in(page, username, password)
    await page.get_by_test_id("todo-cases-overdue").get_by_role("link", name="查看全部").click()
    await page.wait_for_url("**/console/cases/overdue")
    await expect(page.get_by_role("heading", level=1)).to_have_text("超期件")
    await expect(page.get_by_test_id("tab-overdue")).to_have_class(re.compile("btn-primary"))
    row = page.get_by_test_id("overdue").locator(f'tr[data-case="{case["id"]}"]')
    await expect(row).to_contain_text("首次响应")
    await expect(row).to_contain_text("2026-10-12 14:30")
    await expect(row).to_contain_text(station)
    await shoot(page, "cases-overdue")
    await row.get_by_role("link", name=case["case_no"]).click()
    await page.wait_for_url(f"**/console/cases/{case['id']}")
    clock = page.get_by_test_id("clocks").locator('tr[data-clock="first_response"]')
    await expect(clock).to_have_attribute("data-state", "breached")
    await expect(clock).to_contain_text("已超期")
    await expect(clock).to_contain_text("2026-10-12 14:30")
    await expect(clock.get_by_test_id("clock-left")).to_have_text("已超期 1 小时 30 分（工作时间）")
    await shoot(page, "case-clocks")
    await page.get_by_role("link", name="需求台账", exact=True).first.click()
    await page.get_by_test_id("tab-escalated").click()
    await expect(page.get_by_test_id("escalated").locator(
        f'tr[data-case="{case["id"]}"]')).to_contain_text("首次响应")

    # On a phone: the lists, the case's clocks and the policy edit form fit its width.
    made = await client.post("/v1/cases/policies", headers=await desk.as_(fed.hq), json={
        "code": "heat-2026", "title_zh": "高温津贴办法", "title_en": "Heat allowance",
        "source": "沪人社 7 号", "body": "6 月至 9 月发放高温津贴。"})
    assert made.status_code == 201, made.text
    context = await browser.new_context(base_url=live.url, viewport={"width": 390, "height": 844},
                                        is_mobile=True, has_touch=True, locale="zh-CN")
    phone = await context.new_page()
    try:
        username, password = await staff_account(owner, fed.hq, "hq_admin")
        await sign_in(phone, username, password)
        for path in ("/console/cases/overdue", "/console/cases/escalated",
                     f"/console/cases/{case['id']}", "/console/cases/policies/heat-2026/edit"):
            await phone.goto(path)
            await expect(phone.get_by_role("heading", level=1)).to_be_visible()
            wide = await phone.evaluate("document.documentElement.scrollWidth")
            assert wide <= 390, (path, wide)
        await expect(phone.get_by_test_id("policy-edit-form").get_by_label("名称（中文）")
                     ).to_have_value("高温津贴办法")
    finally:
        await context.close()
