"""核验节点: a clause in force gets its quarterly checkpoints; the partner submits evidence
through its machine API and it is evaluated at once, keeping what a re-run needs (which
gives the same answer, and notices tampering); a false condition is ONE breach per
checkpoint however often the evidence is resubmitted; three distinct principals — the
platform's business unit, its HR line and a union cadre — verify a checkpoint, and the
database refuses a second signature by one signer or in one role; another partner sees and
signs nothing. Real database, real app."""

from __future__ import annotations

import secrets

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from flexunion.auth.partners.service import create_partner_client
from flexunion.db.urls import to_asyncpg
from tests.contracts.conftest import add_clause, in_force, load_templates, make_agreement
from tests.support.bargaining import partner_client
from tests.support.factories import Federation, bearer

ADMIN = "/v1/admin/contracts"
PARTNER = "/v1/partner/contracts"


def _idem(token: str) -> dict[str, str]:
    return bearer(token) | {"Idempotency-Key": secrets.token_hex(8)}


async def _role(owner, client_id: str, role: str | None) -> None:
    async with owner() as s, s.begin():
        await s.execute(text("UPDATE partner_clients SET contracts_role = :r"
                             " WHERE client_id = :c"), {"r": role, "c": client_id})


async def _designated(client, owner, fed: Federation, role: str) -> tuple[str, str]:
    """A client the operator designates 业务 or 人力 when issuing it: (client_id, token)."""
    async with owner() as s, s.begin():
        client_id, secret = await create_partner_client(
            s, tenant_code=fed.hq, partner_code="alpha", name="alpha 人力", contracts_role=role)
    r = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(client_id, secret))
    assert r.status_code == 200, r.text
    return client_id, r.json()["access_token"]


async def _arranged(client, owner, fed: Federation, staff_token):
    await load_templates(owner, fed)
    regional = await staff_token(fed, "regional_admin", fed.regions[0])
    agreement = await make_agreement(client, regional, scope=fed.regions[0])
    r = await add_clause(client, regional, agreement["id"], 1, template="union.funding",
                         parameters={"rate_pct": 2})
    assert r.status_code == 201, r.text
    assert (await in_force(client, regional, agreement["id"], 1)).status_code == 200
    r = await client.post(f"{ADMIN}/clauses/{r.json()['id']}/checkpoints",
                          json={"schedule": "quarterly", "evidence_days": 10},
                          headers=bearer(regional))
    assert r.status_code == 201, r.text
    return regional, agreement, r.json()


def _evidence(rate: float, on_time: bool = True) -> dict:
    return {"evidence": {"paid_rate_pct": rate, "paid_on_time": on_time}}


async def test_quarterly_checkpoints_evidence_and_a_reproducible_evaluation(
        client, owner, federation: Federation, staff_token) -> None:
    regional, agreement, checkpoints = await _arranged(client, owner, federation, staff_token)
    assert [(c["period"], c["due_on"]) for c in checkpoints] == [
        ("2027Q1", "2027-03-31"), ("2027Q2", "2027-06-30"), ("2027Q3", "2027-09-30"),
        ("2027Q4", "2027-12-31")]
    assert {c["status"]["code"] for c in checkpoints} == {"awaiting_evidence"}
    # evidence due 10 working days after the quarter's end, on the region's calendar
    assert checkpoints[0]["evidence_due_at"] > "2027-04-13"
    again = await client.post(f"{ADMIN}/clauses/{checkpoints[0]['clause_id']}/checkpoints",
                              json={"schedule": "quarterly", "evidence_days": 10},
                              headers=bearer(regional))
    assert [c["id"] for c in again.json()] == [c["id"] for c in checkpoints]  # none twice
    alpha = await partner_client(client, owner, federation, "alpha")
    q1 = checkpoints[0]["id"]
    for body, path in (({"evidence": {"paid_rate_pct": 2.5}}, "paid_on_time"),
                       ({"evidence": {"paid_rate_pct": "2.5", "paid_on_time": True}},
                        "paid_rate_pct"),
                       ({"evidence": {"paid_rate_pct": 2.5, "paid_on_time": True, "x": 1}},
                        "x")):
        r = await client.post(f"{PARTNER}/checkpoints/{q1}/evidence", json=body,
                              headers=_idem(alpha.token))
        assert r.status_code == 422 and r.json()["code"] == "evidence_invalid", r.text
        assert r.json()["path"] == path
    r = await client.post(f"{PARTNER}/checkpoints/{q1}/evidence", json=_evidence(2.5),
                          headers=bearer(alpha.token))
    assert r.status_code == 400  # no Idempotency-Key
    headers = _idem(alpha.token)
    r = await client.post(f"{PARTNER}/checkpoints/{q1}/evidence", json=_evidence(2.5),
                          headers=headers)
    assert r.status_code == 201, r.text
    ev = r.json()
    assert (ev["result"], ev["breach"]) == (True, False)
    assert ev["read"] == {"paid_rate_pct": 2.5, "paid_on_time": True, "params.rate_pct": 2.0}
    assert ev["condition"] == "paid_rate_pct >= params.rate_pct && paid_on_time"
    assert len(ev["evidence_sha256"]) == 64
    replay = await client.post(f"{PARTNER}/checkpoints/{q1}/evidence", json=_evidence(2.5),
                               headers=headers)
    assert replay.json()["id"] == ev["id"]  # the same key: the same submission, not another
    detail = (await client.get(f"{ADMIN}/checkpoints/{q1}", headers=bearer(regional))).json()
    assert detail["status"]["code"] == "met" and len(detail["evaluations"]) == 1
    # The condition's version is the signed clause document's hash.
    clause = (await client.get(f"{ADMIN}/agreements/{agreement['id']}/versions/1",
                               headers=bearer(regional))).json()["clauses"][0]
    doc = (await client.get(f"{ADMIN}/clauses/{clause['id']}/document",
                            headers=bearer(regional))).json()
    assert ev["condition_version"] == doc["sha256"]
    # A re-run from what was stored gives the same answer ...
    r = await client.post(f"{ADMIN}/evidence/{ev['id']}/reverify", headers=bearer(regional))
    assert r.status_code == 200, r.text
    assert r.json() | {"evidence_id": None} == {
        "evidence_id": None, "same": True, "sha256_holds": True, "condition_holds": True,
        "stored_result": True, "result": True, "read": ev["read"]}
    # ... and notices evidence changed behind its back.
    async with owner() as s, s.begin():
        await s.execute(text("UPDATE checkpoint_evidence SET evidence = jsonb_set(evidence,"
                             " '{paid_rate_pct}', '1.0') WHERE id = :e"), {"e": ev["id"]})
    r = (await client.post(f"{ADMIN}/evidence/{ev['id']}/reverify",
                           headers=bearer(regional))).json()
    assert (r["same"], r["sha256_holds"], r["result"]) == (False, False, False)
    async with owner() as s:
        audited = (await s.execute(text(
            "SELECT action FROM audit_events WHERE object_id = :c"), {"c": q1})).scalars().all()
    assert audited == ["contracts.evidence_submitted"]


async def test_held_last_quarter_fails_now_is_one_breach_whatever_the_resubmissions(
        client, owner, federation: Federation, staff_token) -> None:
    regional, _agreement, checkpoints = await _arranged(client, owner, federation,
                                                        staff_token)
    alpha = await partner_client(client, owner, federation, "alpha")
    q1, q2 = checkpoints[0]["id"], checkpoints[1]["id"]
    results = []
    for cp, rate in ((q1, 2.5), (q2, 1.0), (q2, 1.5), (q2, 0.5), (q2, 3.0), (q2, 1.0)):
        r = await client.post(f"{PARTNER}/checkpoints/{cp}/evidence", json=_evidence(rate),
                              headers=_idem(alpha.token))
        assert r.status_code == 201, r.text
        results.append((r.json()["result"], r.json()["breach"]))
    assert results == [(True, False), (False, True), (False, False), (False, False),
                       (True, False), (False, False)]
    async with owner() as s:
        breaches = (await s.execute(text(  # this test's clause: other tests' breaches stay
            "SELECT checkpoint_id::text FROM checkpoint_evidence WHERE breach"
            " AND clause_id = :c"), {"c": checkpoints[0]["clause_id"]})).scalars().all()
    assert breaches == [q2]
    listed = (await client.get(f"{PARTNER}/checkpoints", headers=bearer(alpha.token))).json()
    assert [c["status"]["code"] for c in listed] == [
        "met", "breached", "awaiting_evidence", "awaiting_evidence"]
    # 异常复议: the partner objects to the breach, once, within the window; staff decide.
    objections = f"{PARTNER}/checkpoints/{q2}/objections"
    r = await client.post(f"{PARTNER}/checkpoints/{q1}/objections",
                          json={"reasons": "达标"}, headers=_idem(alpha.token))
    assert r.status_code == 409 and r.json()["code"] == "checkpoint_not_breached"
    r = await client.post(objections, json={"reasons": "第二季度工资总额口径有误"},
                          headers=_idem(alpha.token))
    assert r.status_code == 201, r.text
    assert r.json()["status"]["code"] == "under_objection"
    objection = r.json()["objection"]
    assert objection["status"]["code"] == "pending" and objection["due_at"] > "2026"
    r = await client.post(objections, json={"reasons": "再议"}, headers=_idem(alpha.token))
    assert r.status_code == 409 and r.json()["code"] == "objection_exists"
    decision = f"{ADMIN}/objections/{objection['id']}/decision"
    r = await client.post(decision, json={"outcome": "rejected", "note": "口径无误"},
                          headers=bearer(alpha.token))
    assert r.status_code in (401, 403)  # a partner does not decide
    r = await client.post(decision, json={"outcome": "rejected", "note": "口径无误"},
                          headers=bearer(regional))
    assert r.status_code == 200, r.text
    assert (r.json()["status"]["code"], r.json()["objection"]["status"]["code"]) == (
        "breached", "rejected")
    r = await client.post(decision, json={"outcome": "upheld", "note": "改判"},
                          headers=bearer(regional))
    assert r.status_code == 409 and r.json()["code"] == "objection_decided"
    # past the window (working days after the failing evaluation) an objection is refused
    q3 = checkpoints[2]["id"]
    assert (await client.post(f"{PARTNER}/checkpoints/{q3}/evidence", json=_evidence(0.1),
                              headers=_idem(alpha.token))).json()["breach"] is True
    async with owner() as s, s.begin():
        await s.execute(text("UPDATE checkpoint_evidence SET evaluated_at = evaluated_at"
                             " - interval '60 days' WHERE checkpoint_id = :c"), {"c": q3})
    r = await client.post(f"{PARTNER}/checkpoints/{q3}/objections",
                          json={"reasons": "迟到的复议"}, headers=_idem(alpha.token))
    assert r.status_code == 409 and r.json()["code"] == "objection_window_closed", r.text
    async with owner() as s:
        audited = (await s.execute(text(
            "SELECT action FROM audit_events WHERE object_id = :c ORDER BY seq"),
            {"c": q2})).scalars().all()
    assert audited[-2:] == ["contracts.objection_lodged", "contracts.objection_decided"]
    # 季度合规核查: per partner and quarter, as JSON and as CSV; a partner has no such read.
    run = await client.get(f"{ADMIN}/compliance", params={"quarter": "2027Q2"},
                           headers=bearer(regional))
    assert run.status_code == 200, run.text
    assert run.json() == [{"quarter": "2027Q2", "partner": "alpha", "checkpoints": 1, "met": 0,
                           "breached": 1, "evidence_missing": 0, "under_objection": 0,
                           "awaiting_evidence": 0, "evaluation_failed": 0,
                           "breach_set_aside": 0, "superseded": 0, "verified": 0}]
    q1_run = (await client.get(f"{ADMIN}/compliance", params={"quarter": "2027Q1"},
                               headers=bearer(regional))).json()
    assert (q1_run[0]["met"], q1_run[0]["breached"]) == (1, 0)
    r = await client.get(f"{ADMIN}/compliance/export", params={"quarter": "2027Q3"},
                         headers=bearer(regional))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("季度 quarter,平台 partner,核验节点 checkpoints")
    assert lines[1:] == ["2027Q3,alpha,1,0,1,0,0,0,0,0,0,0"]
    for bad in ("2027-2", "0000Q1", "1999Q4"):  # year 0 was a 500 (fuzz, 2026-12-07)
        for path in (f"{ADMIN}/compliance", f"{ADMIN}/compliance/export"):
            r = await client.get(path, params={"quarter": bad}, headers=bearer(regional))
            assert (r.status_code, r.json()["code"]) == (422, "validation_failed"), (bad, r.text)
    assert (await client.get(f"{ADMIN}/compliance", params={"quarter": "2027Q2"},
                             headers=bearer(alpha.token))).status_code in (401, 403)
    # A second breach row is refused by the database itself, not only by the service.
    with pytest.raises(IntegrityError):
        async with owner() as s, s.begin():
            await s.execute(text(
                "INSERT INTO checkpoint_evidence SELECT gen_random_uuid(), federation_id,"
                " tenant_id, partner_id, checkpoint_id, clause_id, evidence, evidence_sha256,"
                " condition, condition_version, parameters, read, result, error, true,"
                " evaluated_at, submitted_by FROM checkpoint_evidence"
                " WHERE checkpoint_id = :c AND NOT breach AND result = false LIMIT 1"),
                {"c": q2})


async def test_three_distinct_principals_verify_a_checkpoint(
        client, owner, federation: Federation, staff_token) -> None:
    regional, _agreement, checkpoints = await _arranged(client, owner, federation,
                                                        staff_token)
    business = await partner_client(client, owner, federation, "alpha")
    hr_id, hr_token = await _designated(client, owner, federation, "platform_hr")
    unnamed = await partner_client(client, owner, federation, "alpha")
    await _role(owner, business.client_id, "platform_business")
    q1 = checkpoints[0]["id"]
    sign = f"{PARTNER}/checkpoints/{q1}/signatures"
    r = await client.post(sign, headers=_idem(business.token))
    assert r.status_code == 409 and r.json()["code"] == "checkpoint_no_evidence"
    assert (await client.post(f"{PARTNER}/checkpoints/{q1}/evidence", json=_evidence(2.5),
                              headers=_idem(business.token))).status_code == 201
    r = await client.post(sign, headers=_idem(unnamed.token))
    assert r.status_code == 403 and r.json()["code"] == "signer_without_role"
    r = await client.post(sign, headers=_idem(business.token))
    assert r.status_code == 201, r.text
    assert (r.json()["verified"], r.json()["status"]["code"]) == (False, "met")
    r = await client.post(sign, headers=_idem(business.token))
    assert r.status_code == 409 and r.json()["code"] == "checkpoint_already_signed"
    r = await client.post(f"{PARTNER}/checkpoints/{q1}/evidence", json=_evidence(3.0),
                          headers=_idem(business.token))
    assert r.status_code == 409 and r.json()["code"] == "checkpoint_evidence_signed"
    # the business client re-designated HR cannot sign again in its second role
    await _role(owner, business.client_id, "platform_hr")
    r = await client.post(sign, headers=_idem(business.token))
    assert r.status_code == 409 and r.json()["code"] == "checkpoint_already_signed"
    await _role(owner, business.client_id, "platform_business")
    assert (await client.post(sign, headers=_idem(hr_token))).status_code == 201
    r = await client.post(f"{ADMIN}/checkpoints/{q1}/signatures", headers=bearer(regional))
    assert r.status_code == 201, r.text
    assert (r.json()["verified"], r.json()["status"]["code"]) == (True, "verified")
    assert [s["role"]["code"] for s in r.json()["signatures"]] == [
        "platform_business", "platform_hr", "union"]
    other = await staff_token(federation, "hq_admin", federation.hq)
    r = await client.post(f"{ADMIN}/checkpoints/{q1}/signatures", headers=bearer(other))
    assert r.status_code == 409 and r.json()["code"] == "checkpoint_role_signed"
    async with owner() as s:
        audited = (await s.execute(text(
            "SELECT action FROM audit_events WHERE object_id = :c ORDER BY seq"),
            {"c": q1})).scalars().all()
    assert audited == ["contracts.evidence_submitted"] + ["contracts.checkpoint_signed"] * 3 + [
        "contracts.checkpoint_verified"]
    # The database keeps them distinct even for the owner: one role, one signer each.
    for role, signer in (("platform_hr", f"partner:{unnamed.client_id}"),
                         ("union", f"partner:{hr_id}")):
        with pytest.raises(IntegrityError):
            async with owner() as s, s.begin():
                await s.execute(text(
                    "INSERT INTO checkpoint_signatures SELECT gen_random_uuid(), federation_id,"
                    " tenant_id, partner_id, checkpoint_id, :r, :s, evidence_id, now()"
                    " FROM checkpoint_signatures WHERE checkpoint_id = :c LIMIT 1"),
                    {"r": role, "s": signer, "c": q1})
    q2 = checkpoints[1]["id"]
    assert (await client.post(f"{PARTNER}/checkpoints/{q2}/evidence", json=_evidence(2.5),
                              headers=_idem(hr_token))).status_code == 201
    with pytest.raises(IntegrityError):  # one signer in two roles, on a fresh checkpoint
        async with owner() as s, s.begin():
            for role in ("platform_business", "platform_hr"):
                await s.execute(text(
                    "INSERT INTO checkpoint_signatures SELECT gen_random_uuid(), federation_id,"
                    " tenant_id, partner_id, checkpoint_id, :r, :s, id, now()"
                    " FROM checkpoint_evidence WHERE checkpoint_id = :c LIMIT 1"),
                    {"r": role, "s": f"partner:{hr_id}", "c": q2})


async def test_a_partner_cannot_read_or_sign_another_partners_checkpoint(
        client, owner, federation: Federation, staff_token, settings) -> None:
    _regional, _agreement, checkpoints = await _arranged(client, owner, federation,
                                                         staff_token)
    alpha = await partner_client(client, owner, federation, "alpha")
    beta = await partner_client(client, owner, federation, "beta")
    await _role(owner, beta.client_id, "platform_business")
    q1 = checkpoints[0]["id"]
    assert (await client.post(f"{PARTNER}/checkpoints/{q1}/evidence", json=_evidence(2.5),
                              headers=_idem(alpha.token))).status_code == 201
    assert (await client.get(f"{PARTNER}/checkpoints/{q1}",
                             headers=bearer(alpha.token))).status_code == 200
    r = await client.get(f"{PARTNER}/checkpoints/{q1}", headers=bearer(beta.token))
    assert r.status_code == 404 and r.json()["code"] == "checkpoint_not_found"
    for what in ("evidence", "signatures"):
        r = await client.post(f"{PARTNER}/checkpoints/{q1}/{what}", json=_evidence(2.5),
                              headers=_idem(beta.token))
        assert r.status_code == 404 and r.json()["code"] == "checkpoint_not_found", r.text
    assert (await client.get(f"{PARTNER}/checkpoints", headers=bearer(beta.token))).json() == []
    async with owner() as s:
        row = (await s.execute(text(
            "SELECT e.id, e.partner_id, e.tenant_id FROM checkpoint_evidence e"
            " WHERE e.checkpoint_id = :c"), {"c": q1})).one()
    app = await asyncpg.connect(to_asyncpg(settings.app_database_url or ""))
    try:
        async with app.transaction():
            await app.execute("SELECT set_config('flexunion.tenant_id', $1, true),"
                              " set_config('flexunion.principal', $2, true)",
                              str(federation.ids[federation.hq]), f"partner:{beta.client_id}")
            for table in ("clause_checkpoints", "checkpoint_evidence", "checkpoint_signatures"):
                assert await app.fetchval(f"SELECT count(*) FROM {table}") == 0, table
            # nor can it write a signature onto alpha's checkpoint under its own principal
            with pytest.raises(asyncpg.InsufficientPrivilegeError):  # the policy refuses
                async with app.transaction():
                    await app.execute(
                        "INSERT INTO checkpoint_signatures (id, federation_id, tenant_id,"
                        " partner_id, checkpoint_id, role, signer, evidence_id, signed_at)"
                        " VALUES (gen_random_uuid(), $1, $2, $3, $4::uuid, 'platform_business',"
                        " $5, $6, now())", federation.ids[federation.hq], row.tenant_id,
                        row.partner_id, q1, f"partner:{beta.client_id}", row.id)
            await app.execute("SELECT set_config('flexunion.principal', $1, true)",
                              f"partner:{alpha.client_id}")
            assert await app.fetchval("SELECT count(*) FROM clause_checkpoints") == 4
            assert await app.fetchval("SELECT count(*) FROM checkpoint_evidence") == 1
    finally:
        await app.close()
