"""In a real browser: a regional admin's tree holds its stations but not the sibling region,
and no partner clients (their forms answer 404); an HQ admin creates a partner client, sees
its secret once (a reload does not show it again), rotates it and disables the client — and
the token endpoint agrees at each step."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.browser.conftest import shoot, sign_in
from tests.support.console import staff_account
from tests.support.factories import Federation


async def test_a_regional_admin_sees_its_region_only(page: Page, owner,
                                                     federation: Federation) -> None:
    r1, r2 = federation.regions
    username, password = await staff_account(owner, r1, "regional_admin")
    await sign_in(page, username, password)
    await page.get_by_role("link", name="组织", exact=True).click()
    tree = page.get_by_test_id("tree")
    await expect(tree.locator(f'tr[data-tenant="{r1}"]')).to_contain_text("区域工会1")
    for station in federation.stations[r1]:
        await expect(tree.locator(f'tr[data-tenant="{station}"]')).to_be_visible()
    await expect(tree.locator(f'tr[data-tenant="{federation.stations[r1][0]}"]')).to_contain_text(
        "阿尔法平台")
    await expect(page.get_by_test_id(f"join-rule-{r1}")).to_have_text("人工审核")
    for hidden in (r2, *federation.stations[r2], federation.hq):
        await expect(tree.locator(f'tr[data-tenant="{hidden}"]')).to_have_count(0)
    await expect(page.get_by_test_id("clients")).to_have_count(0)
    csrf = await page.locator('meta[name="csrf-token"]').get_attribute("content")
    answer = await page.request.post("/console/organisation/clients",
                                     form={"_csrf": csrf or "", "name": "x", "partner": "alpha"})
    assert answer.status == 404


async def test_hq_creates_a_partner_client_and_sees_its_secret_once(
        page: Page, owner, client, federation: Federation) -> None:
    username, password = await staff_account(owner, federation.hq, "hq_admin")
    await sign_in(page, username, password)
    await page.goto("/console/organisation")
    await expect(page.get_by_test_id("tree").locator(
        f'tr[data-tenant="{federation.regions[1]}"]')).to_be_visible()
    await page.get_by_label("客户端名称").fill("阿尔法对接")
    await page.get_by_label("合作平台").select_option("alpha")
    await page.get_by_role("button", name="新建客户端").click()
    shown = page.get_by_test_id("secret")
    await expect(shown).to_contain_text("只显示这一次")
    client_id = await page.get_by_test_id("secret-client-id").inner_text()
    secret = await page.get_by_test_id("secret-value").inner_text()
    assert re.fullmatch(r"alpha-[0-9a-f]{12}", client_id) and len(secret) >= 40
    await shoot(page, "organisation-client-secret")
    assert (await _token(client, client_id, secret)) == 200
    await expect(page).to_have_url(re.compile(r"/console/organisation$"))
    await page.reload()
    await expect(page.get_by_test_id("client-list")).to_contain_text(client_id)
    await expect(page.get_by_test_id("secret")).to_have_count(0)
    assert secret not in await page.content()
    row = page.locator(f'tr[data-client="{client_id}"]')
    await row.get_by_role("button", name="更换密钥").click()
    rotated = await page.get_by_test_id("secret-value").inner_text()
    assert rotated != secret
    assert (await _token(client, client_id, secret)) == 401
    assert (await _token(client, client_id, rotated)) == 200
    await page.goto("/console/organisation")
    await page.locator(f'tr[data-client="{client_id}"]').get_by_role("button",
                                                                    name="停用").click()
    await expect(page.get_by_test_id("done")).to_have_text("已停用。")
    await expect(page.locator(f'tr[data-client="{client_id}"]')).to_contain_text("已停用")
    assert (await _token(client, client_id, rotated)) == 401


async def _token(client, client_id: str, secret: str) -> int:
    answer = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                               auth=(client_id, secret))
    return int(answer.status_code)
