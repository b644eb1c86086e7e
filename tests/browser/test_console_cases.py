"""In a real browser, the demand ledger (需求台账) closed-loop: a station officer takes a
walk-in (现场受理); the region assigns it to the station, the station returns it (退单) with a
reason, the region finds it in 退回件, routes it and assigns it to another station, which
accepts and answers. Also: a sibling region's case is the 404 page; a route without its
reason is refused next to the field, in the user's language; the ledger on a phone."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import shoot, sign_in
from tests.support.console import staff_account
from tests.support.factories import Federation, bearer


async def _officer(browser: Browser, live: Any, owner: Any, code: str, role: str,
                   name: str) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(base_url=live.url, locale="zh-CN",
                                        timezone_id="Asia/Shanghai",
                                        viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    page = await context.new_page()
    username, password = await staff_account(owner, code, role, name=name)
    await sign_in(page, username, password)
    return context, page


async def _api_case(client: Any, staff_token: Any, fed: Federation, code: str) -> dict[str, Any]:
    token = await staff_token(fed, "regional_admin", code)
    answer = await client.post("/v1/cases", json={
        "channel": "visit", "category": "labour_protection", "description": "防暑用品未发放",
        "contact_name": "王五", "contact_phone": "13600003333"}, headers=bearer(token))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def test_a_walk_in_is_assigned_returned_reassigned_accepted_and_answered(
        page: Page, browser: Browser, live, owner, federation: Federation) -> None:
    r1 = federation.regions[0]
    s1, s2 = federation.stations[r1]
    # The station officer of s1 takes a walk-in.
    username, password = await staff_account(owner, s1, "station_officer", name="站点干事")
    await sign_in(page, username, password)
    await page.get_by_role("link", name="需求台账", exact=True).click()
    await page.get_by_test_id("new-case").click()
    intake = page.get_by_test_id("intake-form")
    await expect(intake.get_by_label("受理渠道")).to_have_value("station")
    await intake.get_by_label("类别").select_option("labour_protection")
    await intake.get_by_label("诉求内容").fill("站点未按规定发放防暑降温用品")
    await intake.get_by_label("高温外勤").check()
    await intake.get_by_label("联系人姓名", exact=True).fill("赵六")
    await intake.get_by_label("联系电话").fill("13912345678")
    await intake.get_by_role("button", name="录入台账").click()
    await expect(page.get_by_test_id("done")).to_be_visible()
    case_url = page.url.split("?")[0]
    case_no = (await page.get_by_role("heading", level=1).inner_text()).split()[0]
    await expect(page.get_by_test_id("case-fields")).to_contain_text("赵*")
    await expect(page.get_by_test_id("case-fields")).to_contain_text("139****5678")
    await expect(page.get_by_test_id("timeline")).to_contain_text("受理")

    region_ctx, region = await _officer(browser, live, owner, r1, "regional_admin", "区域干部")
    s2_ctx, second = await _officer(browser, live, owner, s2, "station_officer", "二站干事")
    try:
        # The region assigns it to s1 with the evidence the station must provide.
        await region.goto(case_url)
        assign = region.get_by_test_id("assign-form")
        await assign.get_by_label("牵头单位").select_option(s1)
        await assign.get_by_label(re.compile("须提供材料")).fill("岗位风险等级, 发放台账")
        await assign.get_by_role("button", name="派单").click()
        await expect(region.get_by_test_id("done")).to_be_visible()
        lead = region.get_by_test_id("assignments").locator(f'tr[data-assignment="{s1}"]')
        await expect(lead).to_contain_text("待接单")
        await expect(lead).to_contain_text("发放台账")

        # The station sees it waiting for its acceptance, and returns it with a reason.
        await page.goto("/console/")
        await page.get_by_test_id("todo-cases-accept").get_by_role("link", name=case_no).click()
        returning = page.get_by_test_id("return-form")
        await returning.get_by_role("button", name="退单").click()
        await expect(page.locator("#reason-error")).to_have_text("此项必填。")
        await page.get_by_test_id("return-form").get_by_label("退单理由").fill(
            "该点位归二站管理")
        await page.get_by_test_id("return-form").get_by_role("button", name="退单").click()
        await expect(page.get_by_test_id("done")).to_be_visible()
        await expect(page.get_by_role("heading", level=1)).to_contain_text("已退单")

        # The region finds it among 退回件, routes it, and assigns it to s2.
        await region.goto("/console/")
        returned = region.get_by_test_id("todo-cases-returned")
        await expect(returned).to_contain_text(case_no)
        await returned.get_by_role("link", name=case_no).click()
        await expect(region.get_by_test_id("timeline")).to_contain_text("该点位归二站管理")
        route = region.get_by_test_id("route-form")
        await route.get_by_label("办理路径").select_option("coordinate")
        await route.get_by_label("分流理由").fill("需站点与平台共同核实发放记录")
        await route.get_by_role("button", name="确定路径").click()
        await expect(region.get_by_test_id("route")).to_contain_text("限期协调")
        await expect(region.get_by_test_id("route-reason")).to_have_text(
            "需站点与平台共同核实发放记录")
        assign = region.get_by_test_id("assign-form")
        await assign.get_by_label("牵头单位").select_option(s2)
        await assign.get_by_label(re.compile("协办单位")).fill("alpha")
        await assign.get_by_role("button", name="派单").click()
        await expect(region.get_by_test_id("done")).to_be_visible()
        rows = region.get_by_test_id("assignments")
        await expect(rows.locator(f'tr[data-assignment="{s1}"]')).to_contain_text("已退单")
        await expect(rows.locator(f'tr[data-assignment="{s2}"]')).to_contain_text("待接单")
        await expect(rows.locator('tr[data-assignment="alpha"]')).to_contain_text("协办")

        # s2 accepts and answers.
        await second.goto("/console/")
        await second.get_by_test_id("todo-cases-accept").get_by_role("link",
                                                                     name=case_no).click()
        await second.get_by_test_id("accept-form").get_by_role("button", name="接单").click()
        await expect(second.get_by_role("heading", level=1)).to_contain_text("办理中")
        answer = second.get_by_test_id("answer-form")
        await answer.get_by_label(re.compile("答复内容")).fill("已补发防暑用品并建立签收记录")
        await answer.get_by_role("button", name="答复").click()
        # Answered, s2's assignment ends: the case is the region's and s1's again.
        await expect(second.get_by_test_id("done")).to_be_visible()
        await expect(second).to_have_url(re.compile(r"/console/cases\?done=answer$"))
        await expect(second.locator("table[data-testid=cases]")).not_to_contain_text(case_no)

        await region.reload()
        await expect(region.get_by_role("heading", level=1)).to_contain_text("已答复")
        await expect(region.get_by_test_id("answer")).to_have_text("已补发防暑用品并建立签收记录")
        timeline = region.get_by_test_id("timeline")
        for step in ("受理", "派单", "退单", "分流", "接单", "答复"):
            await expect(timeline).to_contain_text(step)
        lead = region.get_by_test_id("assignments").locator(f'tr[data-assignment="{s2}"]')
        await expect(lead).to_contain_text("已反馈")
        assisting = region.get_by_test_id("assignments").locator('tr[data-assignment="alpha"]')
        await expect(assisting).to_contain_text("已结束")
        await shoot(region, "cases")

        # 回访: 阶段推进 needs its next node (said next to the field); 已解决 closes the case.
        follow = region.get_by_test_id("follow-up-form")
        await follow.get_by_label("回访结果").select_option("in_progress")
        await follow.get_by_role("button", name="提交回访").click()
        follow = region.get_by_test_id("follow-up-form")
        await expect(follow.locator("#next_node-error")).to_have_text("此项必填。")
        await follow.get_by_label("回访结果").select_option("resolved")
        await follow.get_by_label(re.compile("回访记录")).fill("职工确认已收到防暑用品")
        await follow.get_by_role("button", name="提交回访").click()
        await expect(region.get_by_test_id("done")).to_be_visible()
        await expect(region.get_by_role("heading", level=1)).to_contain_text("已办结")
        await expect(region.get_by_test_id("steps")).to_have_count(0)
        await expect(region.get_by_test_id("timeline")).to_contain_text("回访")
        await region.goto("/console/cases")
        await expect(region.locator("table[data-testid=cases]")).to_contain_text(case_no)
        await shoot(region, "cases-list")
    finally:
        await region_ctx.close()
        await s2_ctx.close()


async def test_a_sibling_regions_case_is_the_404_page(
        page: Page, owner, client, staff_token, federation: Federation) -> None:
    r1, r2 = federation.regions
    theirs = await _api_case(client, staff_token, federation, r2)
    username, password = await staff_account(owner, r1, "regional_admin")
    await sign_in(page, username, password)
    answer = await page.goto(f"/console/cases/{theirs['id']}")
    assert answer is not None and answer.status == 404
    await expect(page.get_by_test_id("not-found")).to_be_visible()
    await page.goto("/console/cases")
    await expect(page.locator("table[data-testid=cases]")).not_to_contain_text(theirs["case_no"])


async def test_a_route_needs_its_reason_said_next_to_the_field(
        page: Page, owner, client, staff_token, federation: Federation) -> None:
    r1 = federation.regions[0]
    case = await _api_case(client, staff_token, federation, r1)
    username, password = await staff_account(owner, r1, "regional_admin")
    await sign_in(page, username, password)
    await page.goto(f"/console/cases/{case['id']}")
    route = page.get_by_test_id("route-form")
    await route.get_by_label("办理路径").select_option("instant")
    await route.get_by_role("button", name="确定路径").click()
    route = page.get_by_test_id("route-form")
    await expect(route.locator("#reason-error")).to_have_text("此项必填。")
    await expect(route.get_by_label("分流理由")).to_have_attribute("aria-invalid", "true")
    # 政策释明 without a policy: said next to the policy, in English once switched.
    await page.get_by_role("link", name="EN", exact=True).click()
    route = page.get_by_test_id("route-form")
    await route.locator("select[name=route]").select_option("policy")
    await route.get_by_label("Why this route").fill("A question of the heat allowance")
    await route.get_by_role("button", name="Set the route").click()
    route = page.get_by_test_id("route-form")
    await expect(route.locator("#policy-error")).to_have_text("This field is required.")
    await expect(page.get_by_test_id("route")).to_contain_text("Not routed yet.")
    events = (await client.get(f"/v1/cases/{case['id']}", headers=bearer(
        await staff_token(federation, "regional_admin", r1)))).json()["events"]
    assert [e["kind"] for e in events] == ["intake"]  # nothing half-written


async def test_the_ledger_and_a_case_fit_a_phone(
        browser: Browser, live, owner, client, staff_token, federation: Federation) -> None:
    r1 = federation.regions[0]
    case = await _api_case(client, staff_token, federation, r1)
    context = await browser.new_context(base_url=live.url, viewport={"width": 390, "height": 844},
                                        is_mobile=True, has_touch=True, locale="zh-CN")
    phone = await context.new_page()
    try:
        username, password = await staff_account(owner, r1, "regional_admin")
        await sign_in(phone, username, password)
        for path in ("/console/cases", f"/console/cases/{case['id']}", "/console/cases/new",
                     "/console/cases/policies", "/console/cases/overdue",
                     "/console/cases/escalated", "/console/"):
            await phone.goto(path)
            wide = await phone.evaluate("document.documentElement.scrollWidth")
            assert wide <= 390, (path, wide)
    finally:
        await context.close()
