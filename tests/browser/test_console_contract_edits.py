"""协议条款, the officers' work in a real browser: a regional admin makes an agreement through
the form, adds clauses from HQ's templates through forms made from their typed parameters
(an ill-typed condition refused next to its field with line and column, what was typed
kept), edits and removes a draft clause, puts the version in force after a confirm step,
opens and downloads a clause's signed document, renews and compares the versions; a clause
an agenda item drafted links to the item and back; HQ saves a template revision; the pages
fit a 390 px phone."""

from __future__ import annotations

import uuid
from pathlib import Path

from playwright.async_api import Browser, Page, expect
from sqlalchemy import text

from tests.browser.conftest import shoot, sign_in
from tests.contracts.conftest import add_clause, load_templates, make_agreement
from tests.support.bargaining import partner_id, seed_item
from tests.support.console import staff_account
from tests.support.factories import Federation, bearer


async def test_an_agreement_made_filled_in_put_in_force_and_renewed(
        page: Page, owner, federation: Federation) -> None:
    r1 = federation.regions[0]
    await load_templates(owner, federation)
    username, password = await staff_account(owner, r1, "regional_admin")
    await sign_in(page, username, password)
    await page.goto("/console/contracts")
    await page.get_by_test_id("new-agreement").click()
    made = page.get_by_test_id("agreement-form")
    await made.get_by_label("协议代码").fill("crowd-alpha")
    await made.get_by_label("协议名称").fill("阿尔法众包协议")
    await made.get_by_label("协议类型").select_option("crowdsourcing")
    await made.get_by_label("平台").select_option("alpha")
    await made.get_by_label("起始日期").fill("2027-01-01")
    await made.get_by_label("终止日期").fill("2026-12-31")  # before it starts: refused
    await made.get_by_label("名称 1").fill("区域工会1")
    await made.get_by_label("名称 2").fill("阿尔法业务部")
    await made.get_by_role("button", name="订立").click()
    await expect(page.locator("#ends_on-error")).to_contain_text("终止日期不能早于起始日期")
    await expect(made.get_by_label("协议名称")).to_have_value("阿尔法众包协议")  # kept
    await made.get_by_label("终止日期").fill("2027-12-31")
    await made.get_by_role("button", name="订立").click()
    await expect(page.get_by_test_id("done")).to_contain_text("协议已订立")
    await expect(page.get_by_test_id("agreement")).to_contain_text("众包协议")
    await expect(page.get_by_test_id("versions")).to_contain_text("阿尔法业务部")

    # 经费列支 from its template: the form is the template's typed parameters with bounds.
    await page.get_by_test_id("add-clause").click()
    await page.get_by_test_id("template-choices").get_by_role("link", name="经费列支").click()
    form = page.get_by_test_id("clause-form")
    rate = form.locator("input[name='p.rate_pct']")
    await expect(rate).to_have_attribute("type", "number")
    await expect(rate).to_have_attribute("min", "0.0")
    await expect(rate).to_have_attribute("max", "10.0")
    await expect(form.locator("select[name='p.period'] option")).to_have_count(4)  # — 月 季度 年
    await rate.fill("2.5")
    typed = 'paid_rate_pct >= params.rate_pct && paid_on_time == "yes"'
    await form.get_by_label("核验条件").fill(typed)
    await form.get_by_role("button", name="保存条款").click()
    error = page.locator("[id='condition-error']")
    await expect(error).to_contain_text("第 1 行第 50 列")  # the engine's position: `==`
    condition = form.get_by_label("核验条件")
    await expect(condition).to_have_attribute("aria-invalid", "true")
    await expect(condition).to_have_value(typed)  # what was typed is kept
    await expect(rate).to_have_value("2.5")
    await shoot(page, "contracts-condition-refused")
    await condition.fill("paid_rate_pct >= params.rate_pct && paid_on_time")
    await form.get_by_role("button", name="保存条款").click()
    await expect(page.get_by_test_id("done")).to_contain_text("条款已添加")
    clauses = page.get_by_test_id("clauses")
    await expect(clauses.locator("tr[data-key='union.funding']")).to_contain_text("2.5%")

    # 活动场地 needs its area (no default); a second clause, then taken out again.
    await page.get_by_test_id("add-clause").click()
    await page.get_by_role("link", name="活动场地").click()
    await page.locator("input[name='p.area_m2']").fill("30")
    await page.get_by_role("button", name="保存条款").click()
    venue = clauses.locator("tr[data-key='union.venue']")
    await expect(venue).to_contain_text("30 平方米")
    await venue.get_by_role("button", name="移除").click()
    await expect(page.get_by_test_id("done")).to_contain_text("条款已移除")
    await expect(clauses.locator("tr[data-key='union.venue']")).to_have_count(0)

    # Edit the funding clause's parameters.
    funding = clauses.locator("tr[data-key='union.funding']")
    await funding.get_by_role("link", name="编辑").click()
    await expect(page.locator("input[name='p.rate_pct']")).to_have_value("2.5")
    await page.locator("input[name='p.rate_pct']").fill("3")
    await page.locator("select[name='p.period']").select_option("月")
    await page.get_by_role("button", name="保存条款").click()
    await expect(page.get_by_test_id("done")).to_contain_text("条款已修改")
    await expect(funding).to_contain_text("3% 列支工会经费，每月划拨一次")

    # In force, with a confirm step (cancel first: nothing changes).
    await page.get_by_test_id("in-force").click()
    await page.get_by_test_id("confirm").get_by_test_id("cancel").click()
    await expect(funding).to_contain_text("未生效")
    await page.get_by_test_id("in-force").click()
    await expect(page.get_by_test_id("confirm")).to_contain_text("经费列支")
    await page.get_by_role("button", name="确认生效").click()
    await expect(page.get_by_test_id("done")).to_contain_text("该版本已生效")
    await expect(page.get_by_test_id("add-clause")).to_have_count(0)  # no more edits
    await funding.get_by_test_id("document-link").click()
    sha = (await page.get_by_test_id("sha256").inner_text()).strip()
    assert len(sha) == 64
    jws = (await page.get_by_test_id("jws").inner_text()).strip()
    assert jws.count(".") == 2 and jws.startswith("ey")
    async with page.expect_download() as got:
        await page.get_by_test_id("download").click()
    download = await got.value
    assert download.suggested_filename == "clause-union.funding-v1.jws"
    path = await download.path()
    assert path is not None and Path(path).read_text() == jws
    await shoot(page, "contracts-document")

    # 续签: version 2, a draft with the clauses carried over; changed and compared.
    await page.get_by_role("link", name="阿尔法众包协议").click()
    await page.get_by_test_id("renew").click()
    await page.get_by_label("起始日期").fill("2028-01-01")
    await page.get_by_label("终止日期").fill("2028-12-31")
    await page.get_by_role("button", name="新建续签版本").click()
    await expect(page.get_by_test_id("done")).to_contain_text("续签版本已建立")
    await expect(page.get_by_test_id("renew")).to_have_count(0)  # one draft at a time
    await funding.get_by_role("link", name="编辑").click()
    await page.locator("input[name='p.rate_pct']").fill("4")
    await page.get_by_role("button", name="保存条款").click()
    changed = page.get_by_test_id("diff").locator("li[data-key='union.funding']")
    await expect(changed).to_contain_text("rate_pct: 3.0 → 4.0")
    await page.get_by_test_id("compare").get_by_role("button", name="对比").click()
    await expect(page.get_by_test_id("diff")).to_contain_text("与第 1 版相比")


async def test_a_bounds_error_and_a_wrong_type_stay_next_to_their_fields(
        page: Page, client, owner, staff_token, federation: Federation) -> None:
    r1 = federation.regions[0]
    await load_templates(owner, federation)
    admin = await staff_token(federation, "regional_admin", r1)
    aid = (await make_agreement(client, admin, scope=r1))["id"]
    username, password = await staff_account(owner, r1, "regional_admin")
    await sign_in(page, username, password)
    await page.goto(f"/console/contracts/{aid}/versions/1/clauses/new?template=union.funding")
    form = page.get_by_test_id("clause-form")
    await form.evaluate("f => f.noValidate = true")  # what a browser's own check would stop
    await form.locator("input[name='p.rate_pct']").fill("12")
    await form.get_by_role("button", name="保存条款").click()
    await expect(page.locator("[id='p.rate_pct-error']")).to_be_visible()
    await expect(form.locator("input[name='p.rate_pct']")).to_have_value("12")
    await page.goto(f"/console/contracts/{aid}/versions/1/clauses/new?template=union.funding")
    await page.get_by_label("核验条件").fill("paid_rate_pct >=")
    await page.get_by_role("button", name="保存条款").click()
    await expect(page.locator("[id='condition-error']")).to_contain_text("行")
    r = await client.get(f"/v1/admin/contracts/agreements/{aid}/versions/1",
                         headers=bearer(admin))
    assert r.json()["clauses"] == []  # nothing half-written


async def _agreed(owner, fed: Federation, item: uuid.UUID) -> None:
    """A round that recorded the item's agreed outcome (as the rounds' API would)."""
    pid = await partner_id(owner, fed)
    async with owner() as s, s.begin():
        round_id = (await s.execute(text(
            "INSERT INTO negotiation_rounds (id, federation_id, tenant_id, partner_id, held_on,"
            " parties, minutes, created_by, created_at) VALUES (gen_random_uuid(), :f, :t, :p,"
            " current_date, '[]', '纪要', 'test', now()) RETURNING id"),
            {"f": fed.ids[fed.hq], "t": fed.ids[fed.regions[0]], "p": pid})).scalar_one()
        await s.execute(text(
            "INSERT INTO negotiation_round_items (round_id, item_id, federation_id, tenant_id,"
            " partner_id, union_position, outcome) VALUES (:r, :i, :f, :t, :p, '降至 18%',"
            " '抽成比例降至 18%')"),
            {"r": round_id, "i": item, "f": fed.ids[fed.hq], "t": fed.ids[fed.regions[0]],
             "p": pid})


async def test_a_clause_from_an_agenda_item_links_both_ways(
        page: Page, client, owner, staff_token, federation: Federation) -> None:
    r1 = federation.regions[0]
    await load_templates(owner, federation)
    admin = await staff_token(federation, "regional_admin", r1)
    item = await seed_item(owner, federation, status="ratified")
    await _agreed(owner, federation, item)
    r = await client.post(f"/v1/admin/bargaining/items/{item}/transitions",
                          json={"to": "in_force", "reason": "批准后生效"}, headers=bearer(admin))
    assert r.status_code == 200, r.text
    username, password = await staff_account(owner, r1, "regional_admin")
    await sign_in(page, username, password)
    await page.goto(f"/console/board/{item}")
    await page.get_by_test_id("item-clauses").get_by_role("link", name="抽成比例过高").click()
    row = page.get_by_test_id("clauses").locator("tr[data-key^='item.']")
    await expect(row).to_contain_text("不超过 18%")
    await row.get_by_role("link", name="协商事项").click()
    await page.wait_for_url(f"**/console/board/{item}")
    await expect(page.get_by_test_id("item-clauses")).to_contain_text("第 1 版")


async def test_hq_saves_a_template_revision_and_a_region_only_reads(
        page: Page, owner, federation: Federation) -> None:
    await load_templates(owner, federation)
    username, password = await staff_account(owner, federation.hq, "hq_admin")
    await sign_in(page, username, password)
    await page.goto("/console/contracts")
    await page.get_by_role("link", name="条款模板").click()
    listed = page.get_by_test_id("templates")
    await expect(listed.locator("tr[data-code='union.funding']")).to_contain_text("经费列支")
    await expect(listed.locator("tr[data-code='union.venue']")).to_contain_text("area_m2")
    await listed.get_by_role("link", name="活动场地").click()
    await expect(page.get_by_test_id("revision")).to_have_text("1")
    form = page.get_by_test_id("template-form")
    typed = "area_m2 >= params.area_m2 && open_hours_per_week >= 1.5"
    await form.get_by_label("核验条件").fill(typed)
    await form.get_by_role("button", name="保存新修订").click()
    await expect(page.locator("#condition-error")).to_contain_text("第 1 行第 50 列")
    await expect(form.get_by_label("核验条件")).to_have_value(typed)
    await form.get_by_label("核验条件").fill(
        "area_m2 >= params.area_m2 && open_hours_per_week >= params.hours_per_week + 2")
    await form.get_by_role("button", name="保存新修订").click()
    await expect(page.get_by_test_id("done")).to_contain_text("模板已保存")
    await expect(page.get_by_test_id("revision")).to_have_text("2")
    await expect(page.get_by_test_id("template")).to_contain_text("hours_per_week + 2")

    await page.get_by_role("button", name="退出").click()
    username, password = await staff_account(owner, federation.regions[0], "regional_admin")
    await sign_in(page, username, password)
    await page.goto("/console/contracts/templates/union.venue")
    await expect(page.get_by_test_id("template")).to_be_visible()
    await expect(page.get_by_test_id("template-form")).to_have_count(0)  # HQ's to change


async def test_the_agreement_pages_fit_a_phone(
        browser: Browser, live, client, owner, staff_token, federation: Federation) -> None:
    r1 = federation.regions[0]
    await load_templates(owner, federation)
    admin = await staff_token(federation, "regional_admin", r1)
    aid = (await make_agreement(client, admin, scope=r1))["id"]
    r = await add_clause(client, admin, aid, 1, template="union.data")
    assert r.status_code == 201, r.text
    r = await client.post(f"/v1/admin/contracts/agreements/{aid}/versions/1/in-force",
                          headers=bearer(admin))
    assert r.status_code == 200, r.text
    clause_id = r.json()["clauses"][0]["id"]
    r = await client.post(f"/v1/admin/contracts/agreements/{aid}/renewals",
                          json={"starts_on": "2028-01-01", "ends_on": "2028-12-31"},
                          headers=bearer(admin))
    assert r.status_code == 201, r.text
    draft = (await client.get(f"/v1/admin/contracts/agreements/{aid}/versions/2",
                              headers=bearer(admin))).json()["clauses"][0]["id"]
    context = await browser.new_context(base_url=live.url, viewport={"width": 390, "height": 844},
                                        is_mobile=True, has_touch=True, locale="zh-CN")
    phone = await context.new_page()
    try:
        username, password = await staff_account(owner, r1, "regional_admin")
        await sign_in(phone, username, password)
        for path in ("/console/contracts", f"/console/contracts/{aid}", "/console/contracts/new",
                     f"/console/contracts/{aid}?version=2",
                     f"/console/contracts/{aid}/versions/2/clauses/new",
                     f"/console/contracts/{aid}/versions/2/clauses/new?template=union.funding",
                     f"/console/contracts/clauses/{draft}/edit",
                     f"/console/contracts/{aid}/versions/2/in-force",
                     f"/console/contracts/clauses/{clause_id}/document",
                     "/console/contracts/templates", "/console/contracts/templates/union.data"):
            await phone.goto(path)
            wide = await phone.evaluate("document.documentElement.scrollWidth")
            assert wide <= 390, (path, wide)
    finally:
        await context.close()
