"""复议成立 closes the loop: an upheld objection answers and closes the breach case the
contracts-breach job opened, through the cases' services, with the decision's note as the
reason, audited in the decision's transaction; a rejected objection leaves the case open.
Real database, real app."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.config import Settings
from flexunion.core.clock import FixedClock
from flexunion.db.engine import make_engine, make_sessionmaker
from flexunion.jobs import service as jobs
from tests.contracts.conftest import add_clause, in_force, load_templates, make_agreement
from tests.jobs.conftest import body
from tests.support.bargaining import partner_client
from tests.support.factories import Federation, bearer

ADMIN = "/v1/admin/contracts"
PARTNER = "/v1/partner/contracts"


@pytest.fixture
async def app_sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    assert settings.app_database_url
    engine = make_engine(settings.app_database_url, pool_size=2, max_overflow=2)
    yield make_sessionmaker(engine)
    await engine.dispose()


def _idem(token: str) -> dict[str, str]:
    return bearer(token) | {"Idempotency-Key": secrets.token_hex(8)}


async def test_an_upheld_objection_closes_the_case_and_a_rejected_one_leaves_it_open(
        client, owner, federation: Federation, staff_token, app_sessions,
        settings: Settings) -> None:
    await load_templates(owner, federation)
    regional = await staff_token(federation, "regional_admin", federation.regions[0])
    agreement = await make_agreement(client, regional, scope=federation.regions[0])
    r = await add_clause(client, regional, agreement["id"], 1, template="union.funding",
                         parameters={"rate_pct": 2})
    assert r.status_code == 201, r.text
    assert (await in_force(client, regional, agreement["id"], 1)).status_code == 200
    r = await client.post(f"{ADMIN}/clauses/{r.json()['id']}/checkpoints",
                          json={"schedule": "quarterly", "evidence_days": 10},
                          headers=bearer(regional))
    assert r.status_code == 201, r.text
    q1, q2, q3 = (c["id"] for c in r.json()[:3])
    alpha = await partner_client(client, owner, federation, "alpha")
    for q in (q1, q2, q3):
        r = await client.post(f"{PARTNER}/checkpoints/{q}/evidence",
                              json={"evidence": {"paid_rate_pct": 1.0, "paid_on_time": True}},
                              headers=_idem(alpha.token))
        assert r.status_code == 201 and r.json()["breach"] is True, r.text
    assert await jobs.run("contracts-breach", body(federation.ids[federation.hq]),
                          sessions=app_sessions, settings=settings,
                          clock=FixedClock(datetime.now(UTC))) == 3
    cases = {}
    for q in (q1, q2, q3):
        r = await client.post(f"{PARTNER}/checkpoints/{q}/objections",
                              json={"reasons": "缴费凭证漏报，实际已按比例列支"},
                              headers=_idem(alpha.token))
        assert r.status_code == 200 or r.status_code == 201, r.text
        cases[q] = r.json()["case"]["case_id"]
        assert r.json()["objection"]["status"]["code"] == "pending"

    objection = (await client.get(f"{ADMIN}/checkpoints/{q1}",
                                  headers=bearer(regional))).json()["objection"]
    r = await client.post(f"{ADMIN}/objections/{objection['id']}/decision",
                          json={"outcome": "rejected", "note": "凭证不足，维持违约"},
                          headers=bearer(regional))
    assert r.status_code == 200, r.text
    case = (await client.get(f"/v1/cases/{cases[q1]}", headers=bearer(regional))).json()
    assert case["status"]["code"] == "received"  # a rejected objection: the case stays open

    objection = (await client.get(f"{ADMIN}/checkpoints/{q2}",
                                  headers=bearer(regional))).json()["objection"]
    note = "补交的银行回单证明已按 2% 列支"
    r = await client.post(f"{ADMIN}/objections/{objection['id']}/decision",
                          json={"outcome": "upheld", "note": note}, headers=bearer(regional))
    assert r.status_code == 200, r.text
    assert r.json()["status"]["code"] == "breach_set_aside"
    case = (await client.get(f"/v1/cases/{cases[q2]}", headers=bearer(regional))).json()
    assert case["status"]["code"] == "closed", case["status"]
    steps = [e for e in case["events"] if e["kind"] in ("route", "answer", "close")]
    assert [e["kind"] for e in steps] == ["route", "answer", "close"]
    assert all(note in (e["reason"] or "") for e in steps if e["kind"] != "answer")
    assert note in case["answer"]
    async with owner() as s:
        audited = (await s.execute(text(
            "SELECT action FROM audit_events WHERE object_id = :q ORDER BY seq"),
            {"q": q2})).scalars().all()
        assert audited[-2:] == ["contracts.objection_decided", "contracts.breach_case_closed"]
        closed = (await s.execute(text(
            "SELECT payload FROM audit_events WHERE object_id = :q"
            " AND action = 'contracts.breach_case_closed'"), {"q": q2})).scalar_one()
        assert closed["closed"] is True and closed["before"] == "received"
        assert closed["note"] == note
        assert await s.scalar(text(
            "SELECT count(*) FROM audit_events WHERE object_id = :c"
            " AND action IN ('case.answered', 'case.closed')"), {"c": cases[q2]}) == 2

    # A case already with a lead unit that has not accepted it: the dispatcher cannot answer
    # for the unit — the decision stands, the case is left open and the audit says so.
    r = await client.post(f"/v1/cases/{cases[q3]}/assign", json={"lead": federation.regions[0]},
                          headers=bearer(regional))
    assert r.status_code == 200, r.text
    objection = (await client.get(f"{ADMIN}/checkpoints/{q3}",
                                  headers=bearer(regional))).json()["objection"]
    r = await client.post(f"{ADMIN}/objections/{objection['id']}/decision",
                          json={"outcome": "upheld", "note": note}, headers=bearer(regional))
    assert r.status_code == 200, r.text
    assert r.json()["status"]["code"] == "breach_set_aside"
    case = (await client.get(f"/v1/cases/{cases[q3]}", headers=bearer(regional))).json()
    assert case["status"]["code"] == "assigned"
    async with owner() as s:
        left = (await s.execute(text(
            "SELECT payload FROM audit_events WHERE object_id = :q"
            " AND action = 'contracts.breach_case_closed'"), {"q": q3})).scalar_one()
    assert (left["before"], left["case_status"], left["closed"]) == ("assigned", "assigned", False)
