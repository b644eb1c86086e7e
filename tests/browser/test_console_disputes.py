"""In a real browser: a case opened as a dispute from its page, the ladder's first rung (提示)
taken, and the next (会商) refused next to the evidence-waiver field while the checklist's
required slots are empty; a referral booked from the slot picker of a provider serving the
case's place of work — the dispute, case and providers pages fitting a phone."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import shoot, sign_in
from tests.support.console import staff_account
from tests.support.factories import Federation, bearer

HOURS = {d: [["09:00", "12:00"], ["13:00", "17:00"]]
         for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


async def _case(client, token: str) -> dict:
    made = await client.post("/v1/cases", headers=bearer(token), json={
        "channel": "visit", "category": "wage_arrears", "partner": "alpha",
        "description": "三个月的跑单收入没有结算", "contact_name": "张三",
        "contact_phone": "13912345678"})
    assert made.status_code == 201, made.text
    return dict(made.json())


async def test_a_dispute_is_opened_and_refused_its_second_rung_without_evidence(
        page: Page, browser: Browser, live, owner, client, staff_token,
        federation: Federation) -> None:
    r1 = federation.regions[0]
    case = await _case(client, await staff_token(federation, "regional_admin", r1))
    username, password = await staff_account(owner, r1, "regional_admin")
    await sign_in(page, username, password)
    await page.goto(f"/console/cases/{case['id']}")
    form = page.get_by_test_id("dispute-form")
    await form.get_by_label("争议类型").select_option("unpaid_pay")
    await form.get_by_label("致平台的陈述").fill("请于三个工作日内结清 9–11 月跑单收入。")
    await form.get_by_role("button", name="立为争议").click()
    await expect(page.get_by_test_id("dispute-kind")).to_have_text("欠薪")
    await expect(page.locator('tr[data-slot="attendance"]')).to_have_attribute(
        "data-state", "missing")

    step = page.get_by_test_id("step-form")
    await expect(step.get_by_role("heading")).to_have_text("下一步：提示")
    await step.get_by_label("理由", exact=True).fill("先行提示平台核对")
    await step.get_by_role("button", name="提示").click()
    await expect(page.get_by_test_id("done")).to_be_visible()

    step = page.get_by_test_id("step-form")
    await expect(step.get_by_role("heading")).to_have_text("下一步：会商")
    await step.get_by_label("理由", exact=True).fill("平台未答复，约请会商")
    await step.get_by_label("会议纪要").fill("双方会商，平台承诺核对")
    await step.get_by_role("button", name="会商").click()
    step = page.get_by_test_id("step-form")
    await expect(step.locator("#evidence_waiver-error")).to_contain_text("证据尚未固定")
    await expect(step.locator("textarea[name=evidence_waiver]")).to_have_attribute(
        "aria-invalid", "true")
    await expect(step.get_by_label("会议纪要")).to_have_value("双方会商，平台承诺核对")
    await expect(page.get_by_test_id("ladder").locator("li[data-step]")).to_have_count(1)
    await shoot(page, "dispute")

    context = await browser.new_context(base_url=live.url, viewport={"width": 390, "height": 844},
                                        is_mobile=True, has_touch=True, locale="zh-CN")
    phone = await context.new_page()
    try:
        await sign_in(phone, username, password)
        await phone.goto(f"/console/cases/{case['id']}/dispute")
        await expect(phone.get_by_role("heading", level=1)).to_be_visible()
        wide = await phone.evaluate("document.documentElement.scrollWidth")
        assert wide <= 390, wide
    finally:
        await context.close()


async def test_a_referral_slot_is_booked_from_the_picker(
        page: Page, browser: Browser, live, owner, client, staff_token,
        federation: Federation) -> None:
    r1 = federation.regions[0]
    token = await staff_token(federation, "regional_admin", r1)
    made = await client.post("/v1/cases/referral-providers", headers=bearer(token), json={
        "code": f"{r1}-aid", "kind": "legal_aid", "name_zh": "区法律援助工作站",
        "name_en": "District legal aid", "address": "某路 1 号",
        "location": {"lon": 121.43, "lat": 31.18}, "serves": [r1], "opening_hours": HOURS,
        "slot_minutes": 30})
    assert made.status_code == 201, made.text
    case = await _case(client, token)
    username, password = await staff_account(owner, r1, "regional_admin")
    await sign_in(page, username, password)
    await page.goto(f"/console/cases/{case['id']}")
    book = page.get_by_test_id("book-form")
    await book.get_by_role("button", name="预约").click()
    book = page.get_by_test_id("book-form")
    await expect(book.locator("#slot-error")).to_have_text("此项必填。")
    picker = book.get_by_label("机构与时段（北京时间）")
    first = await picker.locator("optgroup option").first.get_attribute("value")
    assert first and first.startswith(f"{r1}-aid|")
    await picker.select_option(first)
    await book.get_by_role("button", name="预约").click()
    referral = page.get_by_test_id("referral")
    await expect(referral).to_have_attribute("data-status", "booked")
    await expect(referral).to_contain_text("区法律援助工作站")
    await expect(referral.get_by_test_id("referral-slot")).to_contain_text(
        first.split("|")[1][:10])

    context = await browser.new_context(base_url=live.url, viewport={"width": 390, "height": 844},
                                        is_mobile=True, has_touch=True, locale="zh-CN")
    phone = await context.new_page()
    try:
        await sign_in(phone, username, password)
        for path in (f"/console/cases/{case['id']}", "/console/cases/providers"):
            await phone.goto(path)
            await expect(phone.get_by_role("heading", level=1)).to_be_visible()
            wide = await phone.evaluate("document.documentElement.scrollWidth")
            assert wide <= 390, (path, wide)
    finally:
        await context.close()
