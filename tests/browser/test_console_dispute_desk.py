"""In a real browser, the dispute page beyond the ladder: the 发函 letter downloaded as the
stored bytes with its sha256 shown; the algorithmic decision's block (reply deadline, the
platform's reasons) and its review form — the opener refused above the form, another officer
recording 撤销; the worker's 具名同意 state; the resolution form (a settlement without terms
refused next to the field) and the settlement check; the 争议 list filtered by kind and rung,
linking each dispute; and the 流动议事 page granting and revoking a participation grant —
the new pages fitting a phone."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import shoot, sign_in
from tests.support.bargaining import partner_client
from tests.support.console import staff_account
from tests.support.factories import Federation, bearer, join


async def _case(client, token: str, category: str) -> dict:
    made = await client.post("/v1/cases", headers=bearer(token), json={
        "channel": "visit", "category": category, "partner": "alpha",
        "description": "平台无故封号，无法接单", "contact_name": "张三",
        "contact_phone": "13912345678"})
    assert made.status_code == 201, made.text
    return dict(made.json())


async def test_the_letter_the_review_and_the_dispute_list(
        page: Page, browser: Browser, live, owner, client, staff_token,
        federation: Federation) -> None:
    r1 = federation.regions[0]
    token = await staff_token(federation, "regional_admin", r1)
    alpha = await partner_client(client, owner, federation, "alpha")
    ban = await _case(client, token, "account_ban")
    pay = await _case(client, token, "wage_arrears")
    opened = await client.post(f"/v1/cases/{pay['id']}/dispute", headers=bearer(token),
                               json={"kind": "unpaid_pay", "statement": "请结清收入。"})
    assert opened.status_code == 201, opened.text
    opener, opener_pw = await staff_account(owner, r1, "regional_admin")
    await sign_in(page, opener, opener_pw)

    # 立为争议 (封号/限单) from the case's page: the decision block shows the reply deadline
    await page.goto(f"/console/cases/{ban['id']}")
    form = page.get_by_test_id("dispute-form")
    await form.get_by_label("争议类型").select_option("deactivation")
    await form.get_by_label("致平台的陈述").fill("请书面说明封号依据并人工复核。")
    await form.get_by_role("button", name="立为争议").click()
    decision = page.get_by_test_id("decision")
    await expect(decision).to_have_attribute("data-overdue", "no")
    await expect(decision.get_by_test_id("reply-due")).not_to_be_empty()
    await expect(decision.get_by_test_id("reasons")).to_contain_text("平台尚未提交书面理由")
    await expect(page.get_by_test_id("worker-named")).to_have_attribute("data-named", "no")
    await expect(page.get_by_test_id("worker-named")).to_contain_text("未同意")

    # the platform's reasons arrive; the opener's review is refused, the message above the form
    given = await client.post(f"/v1/partner/cases/{ban['id']}/dispute/reasons",
                              headers=bearer(alpha.token) | {"Idempotency-Key": "reasons-1"},
                              json={"text": "系统检测到异常接单行为。"})
    assert given.status_code == 200, given.text
    await page.reload()
    await expect(page.get_by_test_id("reasons")).to_contain_text("系统检测到异常接单行为。")
    review = page.get_by_test_id("decision-form")
    await review.get_by_label("复核结论").select_option("reversed")
    await review.get_by_label("复核意见").fill("平台未能举证")
    await review.get_by_role("button", name="记录复核结论").click()
    review = page.get_by_test_id("decision-form")
    await expect(review.get_by_test_id("decision-problem")).to_contain_text(
        "人工复核须由立案人以外的工会干部进行")
    await expect(review.get_by_label("复核意见")).to_have_value("平台未能举证")

    # another officer records it
    context = await browser.new_context(base_url=live.url, locale="zh-CN")
    other = await context.new_page()
    try:
        reviewer, reviewer_pw = await staff_account(owner, r1, "regional_admin")
        await sign_in(other, reviewer, reviewer_pw)
        await other.goto(f"/console/cases/{ban['id']}/dispute")
        review = other.get_by_test_id("decision-form")
        await review.get_by_label("复核结论").select_option("reversed")
        await review.get_by_label("复核意见").fill("平台未能举证异常行为，撤销封号。")
        await review.get_by_role("button", name="记录复核结论").click()
        await expect(other.get_by_test_id("outcome")).to_have_attribute("data-outcome",
                                                                        "reversed")
        await expect(other.get_by_test_id("outcome")).to_contain_text("撤销")
        await expect(other.get_by_test_id("decision-form")).to_have_count(0)
    finally:
        await context.close()

    # 发函 (taken through the API): the page shows its sha256 and serves the stored bytes
    url = f"/v1/cases/{pay['id']}/dispute/steps"
    for body in ({"step": "reminder", "reason": "先行提示"},
                 {"step": "consultation", "reason": "约请会商", "minutes": "平台承诺核对",
                  "evidence_waiver": "工资表由平台掌握"},
                 {"step": "letter", "reason": "逾期未改", "letter": "请于五个工作日内结清。"}):
        r = await client.post(url, headers=bearer(token), json=body)
        assert r.status_code == 200, r.text
    sha = r.json()["steps"][-1]["details"]["letter_pdf"]["sha256"]
    await page.goto(f"/console/cases/{pay['id']}/dispute")
    await expect(page.get_by_test_id("letter-sha256")).to_have_text(sha)
    href = await page.get_by_test_id("letter-download").get_attribute("href")
    got = await page.request.get(href or "")
    assert got.status == 200 and got.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(await got.body()).hexdigest() == sha
    assert got.headers["digest"] == f"sha-256={sha}"

    # the 争议 list: both disputes, filtered by kind and by rung, each linking its page
    await page.goto("/console/cases")
    await page.get_by_test_id("tab-disputes").click()
    rows = page.get_by_test_id("disputes").locator("tr[data-dispute]")
    await expect(rows).to_have_count(2)
    filters = page.get_by_test_id("dispute-filters")
    await filters.get_by_label("争议类型").select_option("deactivation")
    await filters.get_by_role("button", name="筛选").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-case", ban["id"])
    filters = page.get_by_test_id("dispute-filters")
    await filters.get_by_label("争议类型").select_option("")
    await filters.get_by_label("处置阶梯").select_option("letter")
    await filters.get_by_role("button", name="筛选").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-step", "letter")
    await shoot(page, "disputes")
    await rows.first.get_by_role("link").click()
    await expect(page.get_by_test_id("letter-sha256")).to_have_text(sha)
    await page.goto(f"/console/cases/{ban['id']}/dispute")
    await shoot(page, "dispute-review")

    phone_context = await browser.new_context(
        base_url=live.url, viewport={"width": 390, "height": 844}, is_mobile=True,
        has_touch=True, locale="zh-CN")
    phone = await phone_context.new_page()
    try:
        await sign_in(phone, opener, opener_pw)
        for path in ("/console/cases/disputes", f"/console/cases/{pay['id']}/dispute",
                     f"/console/cases/{ban['id']}/dispute", "/console/board/participation"):
            await phone.goto(path)
            await expect(phone.get_by_role("heading", level=1)).to_be_visible()
            wide = await phone.evaluate("document.documentElement.scrollWidth")
            assert wide <= 390, (path, wide)
    finally:
        await phone_context.close()


async def test_a_resolution_is_recorded_and_its_settlement_checked(
        page: Page, live, owner, client, clock, staff_token, federation: Federation) -> None:
    r1 = federation.regions[0]
    token = await staff_token(federation, "regional_admin", r1)
    case = await _case(client, token, "wage_arrears")
    opened = await client.post(f"/v1/cases/{case['id']}/dispute", headers=bearer(token),
                               json={"kind": "unpaid_pay", "statement": "请结清收入。"})
    assert opened.status_code == 201, opened.text
    username, password = await staff_account(owner, r1, "regional_admin")
    await sign_in(page, username, password)
    await page.goto(f"/console/cases/{case['id']}/dispute")
    form = page.get_by_test_id("resolution-form")
    await form.get_by_label("原因研判").select_option("execution_deviation")
    await form.get_by_label("处置路径").select_option("settlement")
    await form.get_by_label("处置情况").fill("双方同意和解")
    await form.get_by_label("回访节点").fill("核对首期款到账")
    due = (clock.now() + timedelta(days=7)).strftime("%Y-%m-%d")
    await form.get_by_label("回访期限").fill(due)
    await form.get_by_label("劳动者是否知晓处置结果").select_option("yes")
    await form.get_by_role("button", name="记录处置").click()
    form = page.get_by_test_id("resolution-form")
    await expect(form.get_by_label("劳动者是否知晓处置结果")).to_have_value("yes")  # kept
    await expect(form.locator("#terms-error")).to_contain_text("和解协议须写明协议条款")
    await expect(form.get_by_label("回访节点")).to_have_value("核对首期款到账")
    await form.get_by_label("协议条款（和解协议必填）").fill("平台于 12 月 20 日前分两期支付。")
    await form.get_by_role("button", name="记录处置").click()
    resolution = page.get_by_test_id("resolution")
    await expect(resolution.get_by_test_id("resolution-path")).to_have_attribute(
        "data-path", "settlement")
    await expect(resolution.get_by_test_id("resolution-terms")).to_contain_text("分两期支付")
    await expect(resolution.get_by_test_id("resolution-followup")).to_contain_text(
        "核对首期款到账")
    await expect(resolution.get_by_test_id("resolution-followup")).to_contain_text(r1)

    check = page.get_by_test_id("check-form")
    await check.get_by_role("button", name="记录核查").click()
    check = page.get_by_test_id("check-form")
    await expect(check.locator("#kept-error")).to_have_text("请从列表中选择。")
    await check.get_by_label("协议是否履行").select_option("broken")
    await check.get_by_label("核查情况").fill("第二期未付")
    await check.get_by_role("button", name="记录核查").click()
    await expect(page.get_by_test_id("settlement-kept")).to_have_attribute("data-kept", "broken")
    await expect(page.get_by_test_id("settlement-kept")).to_contain_text("未履行")
    await expect(page.get_by_test_id("check-form")).to_have_count(0)


async def test_a_participation_grant_is_made_and_revoked(
        page: Page, live, owner, client, sms, staff_token, federation: Federation) -> None:
    r1, r2 = federation.regions[0], federation.regions[1]
    hq = await staff_token(federation, "hq_admin", federation.hq)
    member = await join(client, sms, federation, federation.stations[r2][0], approver_token=hq)
    username, password = await staff_account(owner, r1, "regional_admin")
    await sign_in(page, username, password)
    await page.goto("/console/board")
    await page.get_by_test_id("participation-link").click()
    await expect(page.get_by_test_id("grants").locator("tr[data-grant]")).to_have_count(0)

    form = page.get_by_test_id("grant-form")
    await form.get_by_label("会员 ID").fill("not-an-id")
    await form.get_by_role("button", name="授权").click()
    form = page.get_by_test_id("grant-form")
    await expect(form.locator("#member_id-error")).to_have_text("会员 ID 格式不对。")
    await expect(form.locator("#note-error")).to_have_text("此项必填。")
    await form.get_by_label("会员 ID").fill(member.member_id)
    await form.get_by_label("授权说明").fill("在本区站点长期接单")
    await form.get_by_label("有效天数（可选，默认按联合会设置）").fill("30")
    await form.get_by_role("button", name="授权").click()
    await expect(page.get_by_test_id("done")).to_have_text("已授权。")
    row = page.locator(f'tr[data-member="{member.member_id}"]')
    await expect(row).to_have_attribute("data-state", "active")
    await expect(row).to_contain_text("区域工会手工授权")
    await expect(row.get_by_test_id("grant-expires")).not_to_be_empty()
    await shoot(page, "participation")

    revoke = row.get_by_test_id("revoke-form")
    await revoke.get_by_role("button", name="撤销").click()
    row = page.locator(f'tr[data-member="{member.member_id}"]')
    await expect(row.locator("#reason-error")).to_have_text("此项必填。")
    await row.get_by_label("撤销理由").fill("已离开本区")
    await row.get_by_role("button", name="撤销").click()
    await expect(page.get_by_test_id("done")).to_have_text("已撤销授权。")
    row = page.locator(f'tr[data-member="{member.member_id}"]')
    await expect(row).to_have_attribute("data-state", "revoked")
    await expect(row).to_contain_text("已离开本区")
    await expect(row.get_by_test_id("revoke-form")).to_have_count(0)
