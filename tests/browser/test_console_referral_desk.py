"""In a real browser: a regional admin manages a legal-aid station's machine clients from the
providers page — creates one and sees its secret once (a reload does not show it again),
rotates it and disables it, each only after a confirmation page (cancelling there changes
nothing) — and the token endpoint agrees at each step; a station officer reaches no client
page. On a case's page the staff see the provider's receipts: 已受理 then 已办结 with the
outcome, 不予受理 with its reason, each with its Beijing time, and the latest as the
referral's provider status."""

from __future__ import annotations

import re
import secrets
from typing import Any

from playwright.async_api import Page, expect

from flexunion.console.i18n import beijing
from tests.browser.conftest import shoot, sign_in
from tests.browser.test_console_disputes import HOURS, _case
from tests.support.console import staff_account
from tests.support.factories import Federation, bearer

PROVIDERS = "/v1/cases/referral-providers"


async def _provider(client: Any, token: str, code: str, name_zh: str) -> None:
    made = await client.post(PROVIDERS, headers=bearer(token), json={
        "code": code, "kind": "legal_aid", "name_zh": name_zh, "name_en": "Legal aid",
        "address": "某路 1 号", "location": {"lon": 121.43, "lat": 31.18},
        "serves": [code.rsplit("-", 1)[0]], "opening_hours": HOURS})
    assert made.status_code == 201, made.text


async def _token(client: Any, client_id: str, secret: str) -> int:
    answer = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                               auth=(client_id, secret))
    return int(answer.status_code)


async def test_a_regional_admin_manages_a_providers_clients_with_a_confirm_step(
        page: Page, owner, client, staff_token, federation: Federation) -> None:
    r1 = federation.regions[0]
    code = f"{r1}-aid"
    await _provider(client, await staff_token(federation, "regional_admin", r1), code,
                    "区法律援助工作站")
    username, password = await staff_account(owner, r1, "regional_admin")
    await sign_in(page, username, password)
    await page.goto("/console/cases/providers")
    await page.locator(f'tr[data-provider="{code}"]').get_by_test_id("provider-clients").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("区法律援助工作站")
    await page.get_by_role("button", name="新建客户端").click()
    await expect(page.locator("#name-error")).to_have_text("此项必填。")
    await page.get_by_label("客户端名称").fill("援助站值班系统")
    await page.get_by_role("button", name="新建客户端").click()
    await expect(page.get_by_test_id("secret")).to_contain_text("只显示这一次")
    client_id = await page.get_by_test_id("secret-client-id").inner_text()
    secret = await page.get_by_test_id("secret-value").inner_text()
    assert re.fullmatch(rf"rp-{re.escape(code)}-[0-9a-f]{{12}}", client_id), client_id
    assert await _token(client, client_id, secret) == 200
    await shoot(page, "provider-client-secret")
    base = f"/console/cases/providers/{code}/clients"
    await expect(page).to_have_url(re.compile(re.escape(base) + "$"))
    await page.reload()
    await expect(page.get_by_test_id("client-list")).to_contain_text(client_id)
    await expect(page.get_by_test_id("client-list")).to_contain_text("援助站值班系统")
    await expect(page.get_by_test_id("secret")).to_have_count(0)
    assert secret not in await page.content()

    # 更换密钥: the confirmation first; 取消 there keeps the old secret
    row = page.locator(f'tr[data-client="{client_id}"]')
    await row.get_by_role("button", name="更换密钥").click()
    confirm = page.get_by_test_id("confirm")
    await expect(confirm).to_have_attribute("data-action", "rotate")
    await expect(confirm).to_contain_text("旧密钥立即失效")
    await expect(confirm).to_contain_text(client_id)
    assert await _token(client, client_id, secret) == 200
    await confirm.get_by_test_id("cancel").click()
    await expect(page.get_by_test_id("client-list")).to_contain_text(client_id)
    assert await _token(client, client_id, secret) == 200
    await page.locator(f'tr[data-client="{client_id}"]').get_by_role(
        "button", name="更换密钥").click()
    await page.get_by_role("button", name="确认更换密钥").click()
    rotated = await page.get_by_test_id("secret-value").inner_text()
    assert rotated != secret
    assert await _token(client, client_id, secret) == 401
    assert await _token(client, client_id, rotated) == 200

    # 停用: the confirmation first, then the client is refused
    await page.goto(base)
    await page.locator(f'tr[data-client="{client_id}"]').get_by_role("button",
                                                                    name="停用").click()
    await expect(page.get_by_test_id("confirm")).to_contain_text("不可撤销")
    assert await _token(client, client_id, rotated) == 200
    await page.get_by_role("button", name="确认停用").click()
    await expect(page.get_by_test_id("done")).to_have_text("已停用。")
    await expect(page.locator(f'tr[data-client="{client_id}"]')).to_contain_text("已停用")
    await expect(page.locator(f'tr[data-client="{client_id}"]').get_by_role(
        "button")).to_have_count(0)
    assert await _token(client, client_id, rotated) == 401


async def test_a_station_officer_and_a_sibling_region_reach_no_client_page(
        page: Page, owner, client, staff_token, federation: Federation) -> None:
    r1, r2 = federation.regions
    code = f"{r1}-aid"
    await _provider(client, await staff_token(federation, "regional_admin", r1), code,
                    "区法律援助工作站")
    base = f"/console/cases/providers/{code}/clients"
    for tenant, role in ((federation.stations[r1][0], "station_officer"),
                         (r2, "regional_admin")):
        username, password = await staff_account(owner, tenant, role)
        await sign_in(page, username, password)
        answer = await page.goto(base)
        assert answer is not None and answer.status == 404, (role, answer and answer.status)
        csrf = await page.locator('meta[name="csrf-token"]').get_attribute("content")
        posted = await page.request.post(base, form={"_csrf": csrf or "", "name": "x"})
        assert posted.status == 404, role
        await page.context.clear_cookies()


async def test_the_case_page_shows_the_providers_receipts(
        page: Page, owner, client, staff_token, federation: Federation, clock) -> None:
    r1 = federation.regions[0]
    region = await staff_token(federation, "regional_admin", r1)
    code = f"{r1}-aid"
    await _provider(client, region, code, "区法律援助工作站")
    case = await _case(client, region)
    referrals = []
    for sent_to in ("律师甲", "律师乙"):
        made = await client.post(f"/v1/cases/{case['id']}/referrals", headers=bearer(region),
                                 json={"provider": code, "handover": {
                                     "sent_what": "登记表", "sent_to": sent_to,
                                     "sent_at": clock.now().isoformat()}})
        assert made.status_code == 201, made.text
        referrals.append(made.json()["id"])
    made = await client.post(f"{PROVIDERS}/{code}/clients", headers=bearer(region),
                             json={"name": "援助站"})
    token = (await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                               auth=(made.json()["client"]["client_id"],
                                     made.json()["client_secret"]))).json()["access_token"]
    for rid, body in ((referrals[0], {"status": "accepted"}),
                      (referrals[0], {"status": "closed", "outcome": "调解成功，补发工资"}),
                      (referrals[1], {"status": "declined", "reason": "重复转介"})):
        r = await client.post(f"/v1/provider/referrals/{rid}/receipt", json=body,
                              headers=bearer(token) | {"Idempotency-Key": secrets.token_hex(8)})
        assert r.status_code == 201, r.text
    staff = (await client.get(f"/v1/cases/{case['id']}/referrals",
                              headers=bearer(region))).json()
    at = {r["id"]: r["receipts"] for r in staff}
    username, password = await staff_account(owner, r1, "regional_admin")
    await sign_in(page, username, password)
    await page.goto(f"/console/cases/{case['id']}")
    cards = page.get_by_test_id("referral")
    await expect(cards).to_have_count(2)
    closed = cards.filter(has_text="律师甲")
    await expect(closed.get_by_test_id("provider-status")).to_have_attribute(
        "data-status", "closed")
    await expect(closed.get_by_test_id("provider-status")).to_contain_text("已办结")
    receipts = closed.get_by_test_id("receipt")
    await expect(receipts).to_have_count(2)
    await expect(receipts.nth(0)).to_contain_text("已受理")
    await expect(receipts.nth(1)).to_contain_text("已办结")
    await expect(receipts.nth(1).get_by_test_id("receipt-outcome")).to_have_text(
        "调解成功，补发工资")
    await expect(receipts.nth(1).locator("time")).to_have_text(
        beijing(at[referrals[0]][1]["recorded_at"]))
    declined = cards.filter(has_text="律师乙")
    await expect(declined.get_by_test_id("provider-status")).to_contain_text("不予受理")
    await expect(declined.get_by_test_id("receipt-reason")).to_have_text("重复转介")
    await shoot(page, "case-referral-receipts")
