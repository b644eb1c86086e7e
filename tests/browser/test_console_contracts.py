"""协议条款 in a real browser: a regional admin finds the region's agreement in the list (a
sibling region's is not there), opens it, reads the annex of the version in force with its
parameters, condition and document hash, then version 2's changes against version 1; the
sibling region's admin gets the 404 page for it, and a station officer has no such menu."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.browser.conftest import shoot, sign_in
from tests.contracts.conftest import add_clause, in_force, load_templates, make_agreement
from tests.support.console import staff_account
from tests.support.factories import Federation, bearer


async def test_an_agreement_its_annex_and_what_changed(
        page: Page, client, owner, staff_token, federation: Federation) -> None:
    r1, r2 = federation.regions
    await load_templates(owner, federation)
    admin = await staff_token(federation, "regional_admin", r1)
    mine = await make_agreement(client, admin, scope=r1)
    theirs = await make_agreement(client, await staff_token(federation, "regional_admin", r2),
                                  scope=r2, code="transport-beta", title="贝塔运力合作协议",
                                  kind="transport", partner="beta")
    aid = mine["id"]
    assert (await add_clause(client, admin, aid, 1, template="union.funding",
                             parameters={"rate_pct": 2})).status_code == 201
    assert (await add_clause(client, admin, aid, 1, template="union.venue",
                             parameters={"area_m2": 20})).status_code == 201
    assert (await in_force(client, admin, aid, 1)).status_code == 200
    r = await client.post(f"/v1/admin/contracts/agreements/{aid}/renewals",
                          json={"starts_on": "2028-01-01", "ends_on": "2028-12-31"},
                          headers=bearer(admin))
    assert r.status_code == 201, r.text
    v2 = (await client.get(f"/v1/admin/contracts/agreements/{aid}/versions/2",
                           headers=bearer(admin))).json()
    funding = next(c for c in v2["clauses"] if c["key"] == "union.funding")
    r = await client.patch(f"/v1/admin/contracts/clauses/{funding['id']}",
                           json={"parameters": {"rate_pct": 1.5}}, headers=bearer(admin))
    assert r.status_code == 200, r.text

    username, password = await staff_account(owner, r1, "regional_admin")
    await sign_in(page, username, password)
    await page.get_by_role("link", name="协议条款").click()
    listed = page.get_by_test_id("agreements")
    await expect(listed.locator("tbody tr[data-code]")).to_have_count(1)
    await expect(listed).to_contain_text("阿尔法加盟协议")
    await expect(listed).not_to_contain_text("贝塔运力合作协议")  # a sibling region's
    await listed.get_by_role("link", name="阿尔法加盟协议").click()
    await expect(page.get_by_test_id("agreement")).to_contain_text("加盟协议")
    clauses = page.get_by_test_id("clauses")  # the version in force is shown first
    funding_row = clauses.locator("tr[data-key='union.funding']")
    await expect(funding_row).to_contain_text("2% 列支工会经费")
    await expect(funding_row).to_contain_text("paid_rate_pct >= params.rate_pct")
    await expect(funding_row.locator("code[title]")).to_have_count(1)  # the document hash
    await page.get_by_test_id("versions").get_by_role("link", name="第 2 版").click()
    changed = page.get_by_test_id("diff").locator("li[data-key='union.funding']")
    await expect(changed).to_have_attribute("data-change", "changed")
    await expect(changed).to_contain_text("rate_pct: 2.0 → 1.5")
    await expect(changed).to_contain_text("条文 已修改")
    await expect(clauses.locator("tr[data-key='union.funding']")).to_contain_text("未生效")
    await shoot(page, "contracts-agreement")

    await page.goto(f"/console/contracts/{theirs['id']}")
    await expect(page.get_by_test_id("not-found")).to_be_visible()


async def test_a_station_officer_has_no_agreements_menu(
        page: Page, owner, federation: Federation) -> None:
    station = federation.stations[federation.regions[0]][0]
    username, password = await staff_account(owner, station, "station_officer")
    await sign_in(page, username, password)
    await expect(page.get_by_role("link", name="协议条款")).to_have_count(0)
    await page.goto("/console/contracts")
    await expect(page.get_by_test_id("not-found")).to_be_visible()
