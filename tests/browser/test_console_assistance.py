"""帮扶台账 in a real browser: a worker applies twice (an ordinary item, then an urgent one); a
regional admin opens 帮扶台账 and finds the urgent item first with its health details masked,
accepts it on its page, is refused next to the button when it tries to verify its own
acceptance, a colleague verifies, the committee's form refuses an approval without an amount
next to the field and then approves; the grant is recorded and the budget lines page shows
used against allocated. HQ, who does not accept cases, is refused next to the button."""

from __future__ import annotations

from playwright.async_api import Page, expect

from flexunion.core.clock import BEIJING, Clock
from tests.browser.conftest import shoot, sign_in
from tests.support.assistance import ADMIN, applied, budget, desk
from tests.support.console import staff_account
from tests.support.factories import Federation, bearer


async def test_urgent_first_and_each_step_by_its_form(page: Page, client, sms, owner,
                                                      federation: Federation,
                                                      staff_token) -> None:
    d = await desk(client, sms, federation, staff_token)
    year = Clock().now().astimezone(BEIJING).year
    await budget(client, d, year, 1_000_000, code="hardship-fund")
    ordinary = await applied(client, d, summary="子女学费困难")
    urgent = await applied(client, d, urgent=True, summary="突发重病住院")

    username, password = await staff_account(owner, federation.regions[0], "regional_admin")
    await sign_in(page, username, password)
    await page.get_by_role("link", name="帮扶台账", exact=True).click()
    rows = page.get_by_test_id("assistance-cases").locator("tbody tr")
    await expect(rows.first).to_have_attribute("data-case", urgent)
    await expect(rows.first.get_by_test_id("urgent")).to_have_text("急难")
    await expect(page.locator(f'tr[data-case="{ordinary}"]')).to_be_visible()
    await expect(rows.first.get_by_test_id("details")).to_contain_text("已遮蔽")
    await expect(page.get_by_test_id("assistance-cases")).not_to_contain_text("透析")
    await shoot(page, "assistance-ledger")

    await rows.first.get_by_role("link").click()
    await expect(page.get_by_test_id("diagnosis")).to_have_text("慢性肾病，需透析")
    step = page.get_by_test_id("step-form")
    await expect(step).to_have_attribute("data-action", "accept")
    await step.get_by_test_id("submit").click()
    await expect(page.get_by_test_id("done")).to_be_visible()
    # what the worker is asked, in the app
    ask = page.get_by_test_id("ask-form")
    await ask.get_by_label("需会员配合或补交的材料").fill("请补交住院诊断证明")
    await ask.get_by_test_id("ask-submit").click()
    await expect(page.get_by_test_id("asked")).to_have_text("请补交住院诊断证明")
    mine = (await client.get("/v1/me/assistance", headers=bearer(d.member.token))).json()
    assert next(c for c in mine if c["id"] == urgent)["asked_zh"] == "请补交住院诊断证明"
    # the same person may not verify
    step = page.get_by_test_id("step-form")
    await expect(step).to_have_attribute("data-action", "verify")
    await step.get_by_label("核实情况").fill("我自己看过了")
    await step.get_by_test_id("submit").click()
    await expect(page.locator("#step-error")).to_contain_text("受理人不能核实")
    # a colleague verifies (through the API)
    r = await client.post(f"{ADMIN}/cases/{urgent}/verify", headers=bearer(d.second),
                          json={"note": "电话及入户核实"})
    assert r.status_code == 200, r.text
    await page.goto(f"/console/assistance/{urgent}")
    step = page.get_by_test_id("step-form")
    await expect(step).to_have_attribute("data-action", "decide")
    await step.get_by_label("出席委员（逗号分隔）").fill("李主席，王委员，赵委员")
    await step.get_by_test_id("submit").click()
    await expect(page.locator("#amount-error")).to_be_visible()
    step = page.get_by_test_id("step-form")
    await step.get_by_label("同意金额（元）").fill("3000")
    await step.get_by_label("会商记录（会员不可见）").fill("情况属实，急难救助")
    await step.get_by_test_id("submit").click()
    await expect(page.get_by_test_id("decided")).to_contain_text("3000.00")
    step = page.get_by_test_id("step-form")
    await expect(step).to_have_attribute("data-action", "grant")
    await step.get_by_label("发放金额（元）").fill("1200.50")
    await step.get_by_test_id("submit").click()
    await expect(page.get_by_test_id("grants").locator("tbody tr")).to_contain_text("1200.50")
    await shoot(page, "assistance-case")

    await page.goto("/console/assistance/budget")
    line = page.locator('tr[data-line="hardship-fund"]')
    await expect(line.get_by_test_id("used")).to_have_text("1200.50")
    await expect(line.get_by_test_id("allocated")).to_have_text("10000.00")
    # the worker sees the step, not the committee's note
    mine = (await client.get("/v1/me/assistance", headers=bearer(d.member.token))).json()
    assert mine[0]["step"] == "granted" and "急难救助" not in str(mine)


async def test_a_step_of_another_role_is_refused_next_to_the_button(
        page: Page, client, sms, owner, federation: Federation, staff_token) -> None:
    d = await desk(client, sms, federation, staff_token)
    case = await applied(client, d)
    username, password = await staff_account(owner, federation.hq, "hq_admin")
    await sign_in(page, username, password)
    await page.goto(f"/console/assistance/{case}")
    await expect(page.get_by_test_id("no-details")).to_be_visible()  # HQ: not a handler
    await page.get_by_test_id("step-form").get_by_test_id("submit").click()
    await expect(page.locator("#step-error")).to_contain_text("须由站点工作人员、区域工会办理")


async def test_a_walk_in_is_registered_by_member_number_and_accepted(
        page: Page, client, sms, owner, federation: Federation, staff_token) -> None:
    d = await desk(client, sms, federation, staff_token)
    station = federation.stations[federation.regions[0]][0]
    username, password = await staff_account(owner, station, "station_officer")
    await sign_in(page, username, password)
    await page.goto("/console/assistance")
    form = page.get_by_test_id("walk-in-form")
    await form.get_by_label("会员号").fill("209900000000")
    await form.get_by_label("事由").fill("工伤后无法接单")
    await form.get_by_test_id("walk-in-submit").click()
    form = page.get_by_test_id("walk-in-form")
    await expect(form.locator("#member_no-error")).to_contain_text("没有这个会员号")
    await expect(form.get_by_label("事由")).to_have_value("工伤后无法接单")  # kept as typed
    await form.get_by_label("会员号").fill(d.member.body["member_no"])
    await form.get_by_label("帮扶类别").select_option("injury_recovery")
    await form.get_by_label("急难事项（限时流转）").check()
    await form.get_by_label("伤情").fill("左腿骨折，需休养两个月")
    await form.get_by_test_id("walk-in-submit").click()
    await expect(page.get_by_test_id("done")).to_be_visible()
    step = page.get_by_test_id("step-form")
    await expect(step).to_have_attribute("data-action", "verify")  # accepted by me, at once
    cases = (await client.get(f"{ADMIN}/cases", headers=bearer(d.region))).json()
    listed = next(c for c in cases if c["summary"] == "工伤后无法接单")
    mine = (await client.get(f"{ADMIN}/cases/{listed['id']}", headers=bearer(d.region))).json()
    assert (mine["source"], mine["urgent"], mine["step"]) == ("walk_in", True, "accepted")
    assert mine["details"]["injury"] == "左腿骨折，需休养两个月"
