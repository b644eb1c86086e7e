"""条款文本: in a real browser a regional admin edits a draft clause's text on the clause form
(the renewal's draft), sees it in the annex and its before/after in the diff with the version
in force; once in force, the annex offers no edit and the signed document carries the text."""

from __future__ import annotations

import base64
import json

from playwright.async_api import Page, expect

from tests.browser.conftest import shoot, sign_in
from tests.contracts.conftest import add_clause, in_force, load_templates, make_agreement
from tests.support.console import staff_account
from tests.support.factories import Federation, bearer

NEW_TEXT = "平台方按劳动者报酬总额的 2% 列支工会经费，于每季度首月十五日前划拨。"


async def test_a_draft_clauses_text_is_edited_and_shown_in_the_diff(
        page: Page, client, owner, staff_token, federation: Federation) -> None:
    r1 = federation.regions[0]
    await load_templates(owner, federation)
    admin = await staff_token(federation, "regional_admin", r1)
    aid = (await make_agreement(client, admin, scope=r1))["id"]
    old = (await add_clause(client, admin, aid, 1, template="union.funding",
                            parameters={"rate_pct": 2})).json()["text"]
    assert (await in_force(client, admin, aid, 1)).status_code == 200
    r = await client.post(f"/v1/admin/contracts/agreements/{aid}/renewals", json={
        "starts_on": "2028-01-01", "ends_on": "2028-12-31"}, headers=bearer(admin))
    assert r.status_code == 201, r.text
    username, password = await staff_account(owner, r1, "regional_admin")
    await sign_in(page, username, password)
    await page.goto(f"/console/contracts/{aid}?version=2")
    funding = page.get_by_test_id("clauses").locator("tr[data-key='union.funding']")
    await funding.get_by_role("link", name="编辑").click()
    box = page.get_by_test_id("clause-text")
    await expect(box).to_have_value(old)
    await box.fill(NEW_TEXT)
    await page.get_by_role("button", name="保存条款").click()
    await expect(page.get_by_test_id("done")).to_contain_text("条款已修改")
    await expect(funding).to_contain_text("于每季度首月十五日前划拨")
    change = page.get_by_test_id("diff").locator("li[data-key='union.funding']")
    await expect(change.get_by_test_id("text-change").locator("del")).to_have_text(old)
    await expect(change.get_by_test_id("text-change").locator("ins")).to_have_text(NEW_TEXT)
    await shoot(page, "contracts-clause-text-diff")

    await page.get_by_test_id("in-force").click()
    await page.get_by_role("button", name="确认生效").click()
    await expect(page.get_by_test_id("done")).to_contain_text("该版本已生效")
    await expect(funding.get_by_role("link", name="编辑")).to_have_count(0)
    await funding.get_by_test_id("document-link").click()
    jws = (await page.get_by_test_id("jws").inner_text()).strip()
    part = jws.split(".")[1]
    payload = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    assert payload["clause"]["text"] == NEW_TEXT  # the signed document covers the new text
