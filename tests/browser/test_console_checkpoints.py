"""核验节点 and 季度合规核查 in a real browser: a regional admin plans a clause's quarterly
checkpoints through the form (a bad number refused next to its field); the partner's evidence
comes in through its machine API (as a platform would send it) and the checkpoint's page shows
its sha256, the condition's version, the values read and the result; the platform's business
unit and HR line sign through the API and the union cadre's 签署 button makes it verified; a
breach the partner objects to is decided in the console (an empty note refused first); the
compliance run shows one row per partner, downloads the CSV and draws each partner's chart;
the pages fit a 390 px phone."""

from __future__ import annotations

import csv
import io
import secrets
from pathlib import Path

from playwright.async_api import Browser, Page, expect

from flexunion.auth.partners.service import create_partner_client
from tests.browser.conftest import shoot, sign_in
from tests.contracts.conftest import add_clause, in_force, load_templates, make_agreement
from tests.support.console import staff_account
from tests.support.factories import Federation, bearer

PARTNER = "/v1/partner/contracts"


async def _designated(client, owner, fed: Federation, role: str) -> str:
    """A partner client the operator designated 业务 or 人力: its token."""
    async with owner() as s, s.begin():
        client_id, secret = await create_partner_client(
            s, tenant_code=fed.hq, partner_code="alpha", name=f"alpha {role}",
            contracts_role=role)
    r = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(client_id, secret))
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def _idem(token: str) -> dict[str, str]:
    return bearer(token) | {"Idempotency-Key": secrets.token_hex(8)}


async def _clause_in_force(client, owner, fed: Federation, staff_token) -> tuple[str, str]:
    await load_templates(owner, fed)
    admin = await staff_token(fed, "regional_admin", fed.regions[0])
    agreement = await make_agreement(client, admin, scope=fed.regions[0])
    r = await add_clause(client, admin, agreement["id"], 1, template="union.funding",
                         parameters={"rate_pct": 2})
    assert r.status_code == 201, r.text
    assert (await in_force(client, admin, agreement["id"], 1)).status_code == 200
    return agreement["id"], r.json()["id"]


async def _submit(client, token: str, checkpoint: str, rate: float) -> dict:
    r = await client.post(f"{PARTNER}/checkpoints/{checkpoint}/evidence",
                          json={"evidence": {"paid_rate_pct": rate, "paid_on_time": True}},
                          headers=_idem(token))
    assert r.status_code == 201, r.text
    return r.json()


async def test_checkpoints_planned_signed_objected_and_the_compliance_run(
        page: Page, client, owner, staff_token, federation: Federation) -> None:
    r1 = federation.regions[0]
    aid, clause_id = await _clause_in_force(client, owner, federation, staff_token)
    username, password = await staff_account(owner, r1, "regional_admin")
    await sign_in(page, username, password)
    await page.goto(f"/console/contracts/{aid}")
    await page.get_by_test_id("clauses").get_by_test_id("checkpoints-link").click()
    form = page.get_by_test_id("plan-form")
    await form.evaluate("f => f.noValidate = true")
    await form.get_by_label("材料提交期限").fill("90")
    await form.get_by_role("button", name="设定").click()
    await expect(page.locator("#evidence_days-error")).to_contain_text("0 至 60")
    await form.get_by_label("每季度").check()
    await form.get_by_label("材料提交期限").fill("10")
    await form.get_by_role("button", name="设定").click()
    await expect(page.get_by_test_id("done")).to_contain_text("核验节点已设定")
    table = page.get_by_test_id("checkpoints")
    await expect(table.locator("tbody tr")).to_have_count(4)
    await expect(table.locator("tr[data-period='2027Q1']")).to_contain_text("2027-03-31")
    await expect(table.locator("tr[data-period='2027Q1']")).to_contain_text("待提交材料")

    r = await client.get(f"/v1/admin/contracts/clauses/{clause_id}/checkpoints",
                         headers=bearer(await staff_token(federation, "regional_admin", r1)))
    ids = {c["period"]: c["id"] for c in r.json()}
    business = await _designated(client, owner, federation, "platform_business")
    hr = await _designated(client, owner, federation, "platform_hr")

    # Q1: evidence that meets the condition, signed by 业务 and 人力 through the API.
    met = await _submit(client, business, ids["2027Q1"], 2.5)
    for token in (business, hr):
        r = await client.post(f"{PARTNER}/checkpoints/{ids['2027Q1']}/signatures",
                              headers=_idem(token))
        assert r.status_code == 201, r.text
    await table.locator("tr[data-period='2027Q1']").get_by_role("link").click()
    evaluations = page.get_by_test_id("evaluations")
    await expect(evaluations.get_by_test_id("sha256")).to_have_text(met["evidence_sha256"])
    await expect(evaluations).to_contain_text(met["condition_version"][:16])
    await expect(evaluations).to_contain_text("paid_rate_pct = 2.5")
    await expect(evaluations).to_contain_text("params.rate_pct = 2.0")
    await expect(evaluations.locator("tr[data-result='true']")).to_contain_text("达标")
    signatures = page.get_by_test_id("signatures")
    await expect(signatures.locator("li[data-signed='true']")).to_have_count(2)
    await page.get_by_test_id("sign-form").get_by_role("button", name="签署（工会）").click()
    await expect(page.get_by_test_id("done")).to_contain_text("已签署")
    await expect(signatures.locator("li[data-role='union']")).to_contain_text("已签署")
    await expect(page.get_by_test_id("status")).to_contain_text("三方已核验")
    await expect(page.get_by_test_id("sign-form")).to_have_count(0)  # once is all
    await shoot(page, "contracts-checkpoint")

    # Q2: a breach the partner objects to, under objection in the run.
    breach = await _submit(client, business, ids["2027Q2"], 1.0)
    assert breach["breach"] is True
    r = await client.post(f"{PARTNER}/checkpoints/{ids['2027Q2']}/objections",
                          json={"reasons": "本季度经费已于次月补缴"}, headers=_idem(business))
    assert r.status_code == 201, r.text
    await page.goto("/console/compliance?quarter=2027Q2")
    run = page.get_by_test_id("compliance").locator("tr[data-partner='alpha']")
    await expect(run.locator("td[data-col='checkpoints']")).to_have_text("1")
    await expect(run.locator("td[data-col='under_objection']")).to_have_text("1")
    chart = page.get_by_test_id("chart").and_(page.locator("[data-partner='alpha']"))
    await expect(chart.locator("g[data-quarter='2027Q1'] rect[data-key='met']")).to_have_attribute(
        "data-n", "1")
    await expect(chart.locator("g[data-quarter='2027Q2'] rect[data-key='under_objection']")
                 ).to_have_count(1)
    await expect(chart.locator("g")).to_have_count(4)
    await shoot(page, "compliance-run")

    # The objection decided: 维持 — the breach stands (an empty note refused first).
    await page.goto(f"/console/contracts/checkpoints/{ids['2027Q2']}")
    objection = page.get_by_test_id("objection")
    await expect(objection).to_contain_text("本季度经费已于次月补缴")
    await expect(page.get_by_test_id("status")).to_contain_text("异常复议中")
    decision = page.get_by_test_id("decision-form")
    await decision.get_by_label("维持违约").check()
    await decision.evaluate("f => f.noValidate = true")
    await decision.get_by_role("button", name="作出决定").click()
    await expect(page.locator("#note-error")).to_be_visible()
    await expect(page.get_by_test_id("decision-form").get_by_label("维持违约")).to_be_checked()
    await page.get_by_test_id("decision-form").get_by_label("决定说明").fill("补缴不改变逾期事实")
    await page.get_by_test_id("decision-form").get_by_role("button", name="作出决定").click()
    await expect(page.get_by_test_id("done")).to_contain_text("复议已作出决定")
    await expect(page.get_by_test_id("status")).to_contain_text("未达标")
    await expect(page.get_by_test_id("decision-form")).to_have_count(0)
    await expect(page.locator("tr[data-breach='true']")).to_contain_text("违约")

    await page.goto("/console/compliance?quarter=2027Q2")
    await expect(run.locator("td[data-col='breached']")).to_have_text("1")
    await expect(run.locator("td[data-col='under_objection']")).to_have_text("0")
    async with page.expect_download() as got:
        await page.get_by_test_id("export").click()
    download = await got.value
    assert download.suggested_filename == "compliance-2027Q2.csv"
    path = await download.path()
    assert path is not None
    rows = list(csv.reader(io.StringIO(Path(path).read_text("utf-8-sig"))))
    assert rows[0][:3] == ["季度 quarter", "平台 partner", "核验节点 checkpoints"]
    assert rows[1][:5] == ["2027Q2", "alpha", "1", "0", "1"]


async def test_a_bad_quarter_is_said_and_no_checkpoints_for_a_draft_clause(
        page: Page, client, owner, staff_token, federation: Federation) -> None:
    r1 = federation.regions[0]
    await load_templates(owner, federation)
    admin = await staff_token(federation, "regional_admin", r1)
    aid = (await make_agreement(client, admin, scope=r1))["id"]
    r = await add_clause(client, admin, aid, 1, template="union.funding",
                         parameters={"rate_pct": 2})
    username, password = await staff_account(owner, r1, "regional_admin")
    await sign_in(page, username, password)
    await page.goto(f"/console/contracts/clauses/{r.json()['id']}/checkpoints")
    await expect(page.get_by_test_id("plan-form")).to_have_count(0)
    await expect(page.locator("main")).to_contain_text("只有生效中的条款才设核验节点")
    answer = await page.goto("/console/compliance?quarter=2027Q9")
    assert answer is not None and answer.status == 422
    await expect(page.get_by_test_id("problem")).to_contain_text("季度格式")
    await expect(page.get_by_test_id("compliance")).to_contain_text("没有到期的核验节点")


async def test_the_checkpoint_pages_fit_a_phone(
        browser: Browser, live, client, owner, staff_token, federation: Federation) -> None:
    r1 = federation.regions[0]
    _aid, clause_id = await _clause_in_force(client, owner, federation, staff_token)
    admin = await staff_token(federation, "regional_admin", r1)
    r = await client.post(f"/v1/admin/contracts/clauses/{clause_id}/checkpoints",
                          json={"schedule": "quarterly", "evidence_days": 10},
                          headers=bearer(admin))
    assert r.status_code == 201, r.text
    first = r.json()[0]["id"]
    business = await _designated(client, owner, federation, "platform_business")
    await _submit(client, business, first, 1.0)
    r = await client.post(f"{PARTNER}/checkpoints/{first}/objections",
                          json={"reasons": "数据口径不同"}, headers=_idem(business))
    assert r.status_code == 201, r.text
    context = await browser.new_context(base_url=live.url, viewport={"width": 390, "height": 844},
                                        is_mobile=True, has_touch=True, locale="zh-CN")
    phone = await context.new_page()
    try:
        username, password = await staff_account(owner, r1, "regional_admin")
        await sign_in(phone, username, password)
        for path in (f"/console/contracts/clauses/{clause_id}/checkpoints",
                     f"/console/contracts/checkpoints/{first}",
                     "/console/compliance?quarter=2027Q1"):
            await phone.goto(path)
            wide = await phone.evaluate("document.documentElement.scrollWidth")
            assert wide <= 390, (path, wide)
    finally:
        await context.close()
