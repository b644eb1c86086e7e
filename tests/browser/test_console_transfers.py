"""In a real browser: a transfer released by the origin's admin in one browser and accepted
by the destination's admin in another (the member's home moves); a rejection without its
reason said next to the field; a decision on a stale page refused in the user's language."""

from __future__ import annotations

import re
import secrets
from typing import Any

from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import shoot, sign_in
from tests.support.console import staff_account
from tests.support.factories import Federation, Joined, bearer, join


async def _asked(client: Any, sms: Any, fed: Federation, staff_token: Any) -> tuple[Joined, str]:
    """A member of region 1 (approved by HQ) asks, through the API, to move to region 2."""
    hq = await staff_token(fed, "hq_admin", fed.hq)
    worker = await join(client, sms, fed, fed.stations[fed.regions[0]][0], approver_token=hq,
                        real_name="钱七")
    asked = await client.post("/v1/me/transfers", json={"to": fed.regions[1]},
                              headers=bearer(worker.token)
                              | {"Idempotency-Key": secrets.token_hex(8)})
    assert asked.status_code == 201, asked.text
    return worker, asked.json()["id"]


def _home(page: Page) -> Any:
    return page.locator("dt", has_text="会籍所在").locator("xpath=following-sibling::dd[1]")


async def test_released_in_one_region_and_accepted_in_the_other(
        page: Page, browser: Browser, live, owner, client, sms, staff_token,
        federation: Federation) -> None:
    r1, r2 = federation.regions
    worker, tid = await _asked(client, sms, federation, staff_token)
    # Region 1's admin (the origin) finds it in 转出 and releases it.
    username, password = await staff_account(owner, r1, "regional_admin", name="转出干部")
    await sign_in(page, username, password)
    await page.get_by_role("link", name="接转", exact=True).click()
    await page.get_by_test_id("tab-outgoing").click()
    row = page.locator(f'tr[data-transfer="{tid}"]')
    await expect(row).to_contain_text("钱*")
    await expect(row).to_contain_text("已申请")
    await shoot(page, "transfers")
    await row.get_by_role("link", name="钱*").click()
    await expect(page.get_by_role("button", name="接收")).to_have_count(0)
    await page.get_by_role("button", name="同意转出").click()
    await expect(page.get_by_test_id("done")).to_be_visible()
    await expect(page.get_by_test_id("timeline")).to_contain_text("转出方同意转出")
    await expect(page.get_by_test_id("steps")).to_have_count(0)
    # Region 2's admin (the destination), in a browser of their own, accepts it.
    other = await browser.new_context(base_url=live.url, locale="zh-CN",
                                      timezone_id="Asia/Shanghai")
    try:
        second = await other.new_page()
        username2, password2 = await staff_account(owner, r2, "regional_admin", name="转入干部")
        await sign_in(second, username2, password2)
        await second.goto("/console/transfers?direction=incoming&status=released")
        await second.locator(f'tr[data-transfer="{tid}"]').get_by_role("link").click()
        await expect(second.get_by_role("button", name="同意转出")).to_have_count(0)
        await second.get_by_role("button", name="接收").click()
        await expect(second.get_by_test_id("done")).to_be_visible()
        await expect(second.get_by_role("heading", level=1)).to_contain_text("已完成")
        await expect(second.get_by_test_id("timeline")).to_contain_text("接转完成")
        await second.get_by_test_id("member-link").click()
        await expect(second).to_have_url(re.compile(worker.member_id))
        await expect(_home(second)).to_have_text(r2)
    finally:
        await other.close()
    mine = (await client.get("/v1/me/membership", headers=bearer(worker.token))).json()
    assert mine["home"]["code"] == r2


async def test_a_rejection_needs_its_reason_and_a_stale_page_is_refused(
        page: Page, owner, client, sms, staff_token, federation: Federation) -> None:
    worker, tid = await _asked(client, sms, federation, staff_token)
    username, password = await staff_account(owner, federation.regions[0], "regional_admin")
    await sign_in(page, username, password)
    stale = await page.context.new_page()
    await stale.goto(f"/console/transfers/{tid}")
    await page.goto(f"/console/transfers/{tid}")
    await page.get_by_role("button", name="驳回").click()
    await expect(page.locator("#reason-error")).to_have_text("此项必填。")
    await expect(page.get_by_label(re.compile("驳回理由"))).to_have_attribute("aria-invalid",
                                                                          "true")
    await page.get_by_label(re.compile("驳回理由")).fill("尚有未结清的会费")
    await page.get_by_role("button", name="驳回").click()
    await expect(page.get_by_test_id("done")).to_be_visible()
    await expect(page.get_by_test_id("reject-reason")).to_have_text("尚有未结清的会费")
    await expect(page.get_by_test_id("timeline")).to_contain_text("转出方驳回")
    # The page opened before the rejection still offers a release: the service refuses it.
    await stale.get_by_role("button", name="同意转出").click()
    await expect(stale.get_by_test_id("problem")).to_contain_text("不能转出")
    mine = (await client.get("/v1/me/membership", headers=bearer(worker.token))).json()
    assert mine["transfers"][0]["reject_reason"] == "尚有未结清的会费"
