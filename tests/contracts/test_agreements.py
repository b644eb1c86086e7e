"""协议: an agreement with a platform, its versions and annex; clauses instantiate HQ's
templates with typed parameter values; a renewal is a new version and the diff shows what
changed clause by clause; a partner sees only its own agreements and clauses (404, and no
row in the database under its principal); workers see the clauses in force for their
platform. Real database, real app."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from flexunion.db.urls import to_asyncpg
from tests.contracts.conftest import add_clause, in_force, load_templates, make_agreement
from tests.support.bargaining import partner_client
from tests.support.factories import Federation, bearer, join

ADMIN = "/v1/admin/contracts"


async def _arranged(client, owner, fed: Federation, staff_token):
    await load_templates(owner, fed)
    regional = await staff_token(fed, "regional_admin", fed.regions[0])
    agreement = await make_agreement(client, regional, scope=fed.regions[0])
    return regional, agreement


async def test_an_agreement_its_clauses_a_renewal_and_the_diff(
        client, owner, federation: Federation, staff_token) -> None:
    regional, agreement = await _arranged(client, owner, federation, staff_token)
    aid = agreement["id"]
    assert agreement["versions"][0]["status"]["code"] == "draft"
    assert agreement["kind"]["zh"] == "加盟协议" and agreement["scope"] == federation.regions[0]
    r = await add_clause(client, regional, aid, 1, template="union.funding",
                         parameters={"rate_pct": 2})
    assert r.status_code == 201, r.text
    funding = r.json()
    assert funding["parameters"] == {"rate_pct": 2.0, "period": "季度"}  # default filled
    assert funding["text"] == "平台方按劳动者报酬总额的 2% 列支工会经费，每季度划拨一次。"
    assert funding["condition_reads"] == ["paid_rate_pct", "paid_on_time", "params.rate_pct"]
    r = await add_clause(client, regional, aid, 1, template="union.venue",
                         parameters={"area_m2": 20})
    assert r.status_code == 201, r.text
    r = await add_clause(client, regional, aid, 1, template="union.data")
    assert r.status_code == 201, r.text
    r = await in_force(client, regional, aid, 1)
    assert r.status_code == 200, r.text
    assert {c["status"]["code"] for c in r.json()["clauses"]} == {"in_force"}
    # Version 1 is signed: its clauses no longer change — not even for the owner.
    with pytest.raises(DBAPIError, match="is signed"):
        async with owner() as s, s.begin():
            await s.execute(text("UPDATE agreement_clauses SET parameters = '{\"rate_pct\": 0.1}'"
                                 " WHERE id = :c"), {"c": funding["id"]})
    r = await client.patch(f"{ADMIN}/clauses/{funding['id']}", json={"parameters": {
        "rate_pct": 1.5}}, headers=bearer(regional))
    assert r.status_code == 409 and r.json()["code"] == "version_not_draft"
    # 续签: version 2, the clauses copied; the funding rate changes, the venue goes, a
    # founding clause is added.
    r = await client.post(f"{ADMIN}/agreements/{aid}/renewals", json={
        "starts_on": "2028-01-01", "ends_on": "2028-12-31", "renewal": "automatic"},
        headers=bearer(regional))
    assert r.status_code == 201, r.text
    assert r.json()["number"] == 2
    r = await client.post(f"{ADMIN}/agreements/{aid}/renewals", json={
        "starts_on": "2028-01-01", "ends_on": "2028-12-31"}, headers=bearer(regional))
    assert r.status_code == 409 and r.json()["code"] == "draft_version_open"
    v2 = (await client.get(f"{ADMIN}/agreements/{aid}/versions/2",
                           headers=bearer(regional))).json()
    by_key = {c["key"]: c for c in v2["clauses"]}
    r = await client.patch(f"{ADMIN}/clauses/{by_key['union.funding']['id']}",
                           json={"parameters": {"rate_pct": 1.5},
                                 "condition": "paid_rate_pct >= params.rate_pct"},
                           headers=bearer(regional))
    assert r.status_code == 200, r.text
    r = await client.delete(f"{ADMIN}/clauses/{by_key['union.venue']['id']}",
                            headers=bearer(regional))
    assert r.status_code == 200, r.text
    r = await client.delete(f"{ADMIN}/clauses/{funding['id']}", headers=bearer(regional))
    assert r.status_code == 409 and r.json()["code"] == "version_not_draft"  # v1 is signed
    r = await add_clause(client, regional, aid, 2, template="union.founding",
                         parameters={"days_to_meet": 15})
    assert r.status_code == 201, r.text
    diff = (await client.get(f"{ADMIN}/agreements/{aid}/versions/1/diff/2",
                             headers=bearer(regional))).json()
    assert diff["unchanged"] == ["union.data"]
    changes = {d["key"]: d for d in diff["clauses"]}
    assert changes["union.founding"]["change"] == "added"
    assert changes["union.venue"]["change"] == "removed"
    funding_diff = changes["union.funding"]
    assert funding_diff["change"] == "changed"
    assert funding_diff["parameters_changed"] == [
        {"field": "rate_pct", "before": 2.0, "after": 1.5}]
    assert {c["field"] for c in funding_diff["changes"]} == {"text", "condition"}
    assert {t["field"] for t in diff["term"]} == {"starts_on", "ends_on", "renewal"}
    # Version 2 in force supersedes version 1.
    assert (await in_force(client, regional, aid, 2)).status_code == 200
    v1 = (await client.get(f"{ADMIN}/agreements/{aid}/versions/1",
                           headers=bearer(regional))).json()
    assert v1["status"]["code"] == "superseded"
    assert {c["status"]["code"] for c in v1["clauses"]} == {"superseded"}
    detail = (await client.get(f"{ADMIN}/agreements/{aid}", headers=bearer(regional))).json()
    assert (detail["in_force_version"], detail["status"]["code"]) == (2, "in_force")
    async with owner() as s:
        actions = (await s.execute(text(
            "SELECT action FROM audit_events WHERE object_id = :a ORDER BY seq"),
            {"a": aid})).scalars().all()
    assert actions.count("contracts.version_in_force") == 2


async def test_parameter_values_are_checked_against_their_types(
        client, owner, federation: Federation, staff_token) -> None:
    regional, agreement = await _arranged(client, owner, federation, staff_token)
    aid = agreement["id"]
    for params, code, path in (
            ({"rate_pct": "2%"}, "parameter_invalid", "parameters.rate_pct"),
            ({"rate_pct": 50}, "parameter_invalid", "parameters.rate_pct"),  # max 10
            ({"period": "每天"}, "parameter_invalid", "parameters.period"),
            ({"rate": 2}, "parameter_invalid", "parameters.rate")):
        r = await add_clause(client, regional, aid, 1, template="union.funding",
                             parameters=params)
        assert r.status_code == 422 and r.json()["code"] == code, r.text
        assert r.json()["path"] == path
    r = await add_clause(client, regional, aid, 1, template="union.venue")  # area: no default
    assert r.status_code == 422 and r.json()["code"] == "parameter_missing"
    r = await add_clause(client, regional, aid, 1, template="union.venue",
                         parameters={"area_m2": 30},
                         condition="area_m2 >= params.area_m2 && open_hours_per_week > 1.5")
    assert r.status_code == 422 and r.json()["code"] == "condition_ill_typed"
    assert (r.json()["line"], r.json()["column"]) == (1, 50)
    r = await add_clause(client, regional, aid, 1, template="no.such")
    assert r.status_code == 404 and r.json()["code"] == "clause_template_not_found"
    r = await in_force(client, regional, aid, 1)
    assert r.status_code == 409 and r.json()["code"] == "annex_empty"
    async with owner() as s:
        n = (await s.execute(text("SELECT count(*) FROM agreement_clauses WHERE agreement_id ="
                                  " :a"), {"a": aid})).scalar_one()
    assert n == 0
    other = await staff_token(federation, "regional_admin", federation.regions[1])
    r = await make_agreement_raw(client, other, scope=federation.regions[0])
    assert r.status_code == 403 and r.json()["code"] == "scope_not_yours"


async def make_agreement_raw(client, token: str, **over):
    body = {"code": "x-1", "title": "x", "kind": "transport", "partner": "alpha",
            "starts_on": "2027-01-01", "ends_on": "2027-12-31"} | over
    return await client.post(f"{ADMIN}/agreements", json=body, headers=bearer(token))


async def test_a_partner_cannot_read_another_partners_clauses(
        client, owner, sms, federation: Federation, staff_token, settings) -> None:
    regional, agreement = await _arranged(client, owner, federation, staff_token)
    aid = agreement["id"]
    clause = (await add_clause(client, regional, aid, 1, template="union.data")).json()
    assert (await in_force(client, regional, aid, 1)).status_code == 200
    alpha = await partner_client(client, owner, federation, "alpha")
    beta = await partner_client(client, owner, federation, "beta")
    mine = await client.get(f"/v1/partner/contracts/clauses/{clause['id']}",
                            headers=bearer(alpha.token))
    assert mine.status_code == 200 and mine.json()["key"] == "union.data"
    listed = await client.get("/v1/partner/contracts/agreements", headers=bearer(alpha.token))
    assert [a["id"] for a in listed.json()] == [aid]
    for url in (f"/v1/partner/contracts/clauses/{clause['id']}",
                f"/v1/partner/contracts/clauses/{clause['id']}/document",
                f"/v1/partner/contracts/agreements/{aid}",
                f"/v1/partner/contracts/agreements/{aid}/versions/1"):
        r = await client.get(url, headers=bearer(beta.token))
        assert r.status_code == 404, (url, r.text)
    assert (await client.get("/v1/partner/contracts/agreements",
                             headers=bearer(beta.token))).json() == []
    # And in the database, under beta's own principal: no row at all.
    app = await asyncpg.connect(to_asyncpg(settings.app_database_url or ""))
    try:
        async with app.transaction():
            await app.execute("SELECT set_config('flexunion.tenant_id', $1, true),"
                              " set_config('flexunion.principal', $2, true)",
                              str(federation.ids[federation.hq]), f"partner:{beta.client_id}")
            for table in ("agreements", "agreement_versions", "agreement_clauses",
                          "clause_templates"):
                assert await app.fetchval(f"SELECT count(*) FROM {table}") == 0, table
            await app.execute("SELECT set_config('flexunion.principal', $1, true)",
                              f"partner:{alpha.client_id}")
            assert await app.fetchval("SELECT count(*) FROM agreement_clauses") == 1
            assert await app.fetchval("SELECT count(*) FROM clause_templates") == 0
    finally:
        await app.close()


async def test_workers_read_the_clauses_in_force_for_their_platform(
        client, owner, sms, federation: Federation, staff_token) -> None:
    regional, agreement = await _arranged(client, owner, federation, staff_token)
    aid = agreement["id"]
    clause = (await add_clause(client, regional, aid, 1, template="union.data")).json()
    hq = await staff_token(federation, "hq_admin", federation.hq)
    station = federation.stations[federation.regions[0]][0]
    rider = await join(client, sms, federation, station, approver_token=hq)  # works for alpha
    other = await join(client, sms, federation, station, approver_token=hq,
                       platforms=[{"partner": "beta"}])
    url = "/v1/me/contracts/clauses"
    assert (await client.get(url, headers=bearer(rider.token))).json() == []  # a draft
    assert (await in_force(client, regional, aid, 1)).status_code == 200
    shown = (await client.get(url, headers=bearer(rider.token))).json()
    assert [c["id"] for c in shown] == [clause["id"]]
    doc = await client.get(f"{url}/{clause['id']}/document", headers=bearer(rider.token))
    assert doc.status_code == 200 and doc.json()["document"].count(".") == 2
    assert (await client.get(url, headers=bearer(other.token))).json() == []
    r = await client.get(f"{url}/{clause['id']}/document", headers=bearer(other.token))
    assert r.status_code == 404
