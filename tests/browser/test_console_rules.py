"""平台规则 in a real browser: alpha files its rest rule and a change with due notice through its
machine API, a regional union records beta's commission change made without it; a regional
admin of the other region opens 平台规则, sees alpha's register — the rule in force, both
versions with their dates and the reason — and the change to come with its notice, follows it
to its consultation item on the agenda board; picks beta and sees the change flagged
未按期告知."""

from __future__ import annotations

import secrets
from datetime import date, timedelta

from playwright.async_api import Page, expect

from flexunion.core.clock import BEIJING, Clock
from tests.browser.conftest import shoot, sign_in
from tests.support.bargaining import partner_client
from tests.support.console import staff_account
from tests.support.factories import Federation, bearer

PARTNER, STAFF = "/v1/partner/platform-rules", "/v1/admin/platform-rules"


def key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(8)}


async def test_the_register_shows_versions_and_changes_to_come(
        page: Page, client, owner, federation: Federation, staff_token) -> None:
    alpha = await partner_client(client, owner, federation, "alpha")
    r = await client.post(PARTNER, headers=bearer(alpha.token) | key(), json={
        "category": "working_time_rest", "code": "continuous-orders",
        "title_zh": "连续接单与休息提醒", "text_zh": "连续接单满 4 小时提示休息。",
        "parameters": {"max_continuous_order_minutes": 240, "rest_prompt_enabled": True},
        "effective_from": "2026-01-01"})
    assert r.status_code == 201, r.text
    today = Clock().now().astimezone(BEIJING).date()
    probe = await client.post(f"{PARTNER}/continuous-orders/versions",
                              headers=bearer(alpha.token) | key(), json={
                                  "text_zh": "连续接单满 3 小时强制休息 20 分钟。",
                                  "reason": "骑手疲劳反馈",
                                  "effective_from": str(today + timedelta(days=1))})
    assert probe.status_code == 422, probe.text
    earliest = probe.json()["earliest_effective"]
    r = await client.post(f"{PARTNER}/continuous-orders/versions",
                          headers=bearer(alpha.token) | key(), json={
                              "text_zh": "连续接单满 3 小时强制休息 20 分钟。",
                              "parameters": {"max_continuous_order_minutes": 180},
                              "reason": "骑手疲劳反馈", "effective_from": earliest})
    assert r.status_code == 201, r.text
    recorder = await staff_token(federation, "regional_admin", federation.regions[0])
    r = await client.post(STAFF, headers=bearer(recorder), json={
        "partner": "beta", "category": "pay_commission", "code": "commission",
        "title_zh": "配送抽成", "text_zh": "每单抽成 20%。", "parameters": {"commission_rate": 0.2},
        "effective_from": "2026-01-01", "source": "贝塔骑手 App 公告"})
    assert r.status_code == 201, r.text
    r = await client.post(f"{STAFF}/{r.json()['id']}/versions", headers=bearer(recorder), json={
        "text_zh": "每单抽成 25%。", "parameters": {"commission_rate": 0.25},
        "reason": "平台称成本上升", "effective_from": str(today + timedelta(days=2)),
        "source": "贝塔骑手 App 公告"})
    assert r.status_code == 201, r.text

    username, password = await staff_account(owner, federation.regions[1], "regional_admin")
    await sign_in(page, username, password)
    await page.get_by_role("link", name="平台规则", exact=True).click()
    form = page.get_by_test_id("partner-form")
    await form.get_by_label("平台").select_option("alpha")
    await form.get_by_role("button", name="查看").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("阿尔法平台")
    rule = page.locator('section[data-rule="continuous-orders"]')
    await expect(rule.get_by_test_id("current")).to_contain_text("连续接单满 4 小时提示休息")
    versions = rule.get_by_test_id("versions").locator("tbody tr")
    await expect(versions).to_have_count(2)
    await expect(versions.nth(0)).to_have_attribute("data-state", "current")
    await expect(versions.nth(1)).to_have_attribute("data-state", "upcoming")
    await expect(versions.nth(1)).to_contain_text("骑手疲劳反馈")
    await expect(versions.nth(1).locator('[data-parameter="max_continuous_order_minutes"]')
                 ).to_have_text("连续接单时长上限（分钟）：180")
    await expect(versions.nth(0).locator('[data-parameter="rest_prompt_enabled"]')
                 ).to_have_text("疲劳休息提醒：是")
    coming = page.get_by_test_id("upcoming").locator('tr[data-rule="continuous-orders"]')
    await expect(coming).to_contain_text(earliest)
    await expect(coming.locator("td").nth(3)).to_have_text(earliest)  # the earliest allowed
    await expect(coming.get_by_test_id("short-notice")).to_have_count(0)
    assert date.fromisoformat(earliest) > today
    await shoot(page, "platform-rules")
    await coming.get_by_test_id("consultation").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("连续接单与休息提醒")

    await page.goto("/console/rules?partner=beta")
    late = page.get_by_test_id("upcoming").locator('tr[data-rule="commission"]')
    await expect(late.get_by_test_id("short-notice")).to_have_text("未按期告知")
    await expect(late).to_contain_text("平台称成本上升")
