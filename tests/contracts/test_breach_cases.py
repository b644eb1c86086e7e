"""违约立案: a breach at a checkpoint, and evidence missing past its date, each open ONE case
in the demand ledger — run by the contracts-breach job under its own principal, at the
agreement's tenant, addressed to the platform, a dispute of the clause's kind, the clause,
the evidence and the failed values on the first event — however often the job runs or the
evidence is resubmitted; the case and the checkpoint link both ways. Real database, real app."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.config import Settings
from flexunion.contracts.checkpoints import breaches
from flexunion.core.clock import FixedClock
from flexunion.db.engine import make_engine, make_sessionmaker
from flexunion.db.scope import DbScope
from flexunion.jobs import service as jobs
from tests.contracts.conftest import add_clause, in_force, load_templates, make_agreement
from tests.jobs.conftest import body, scoped
from tests.support.bargaining import partner_client
from tests.support.console import signed_in
from tests.support.factories import Federation, bearer

ADMIN = "/v1/admin/contracts"
PARTNER = "/v1/partner/contracts"
JOB = "system:jobs:contracts-breach"


@pytest.fixture
async def app_sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    assert settings.app_database_url
    engine = make_engine(settings.app_database_url, pool_size=2, max_overflow=2)
    yield make_sessionmaker(engine)
    await engine.dispose()


def _idem(token: str) -> dict[str, str]:
    return bearer(token) | {"Idempotency-Key": secrets.token_hex(8)}


async def _run(fed: Federation, app_sessions, settings: Settings, at: datetime) -> int | None:
    return await jobs.run("contracts-breach", body(fed.ids[fed.hq]), sessions=app_sessions,
                          settings=settings, clock=FixedClock(at))


async def _cases(owner) -> list[dict]:
    async with owner() as s:
        return [dict(r) for r in (await s.execute(text(
            "SELECT id, tenant_id, partner_id, category, channel, created_by FROM cases"
            " WHERE channel = 'contract_breach' ORDER BY created_at"))).mappings().all()]


async def test_a_breach_and_missing_evidence_each_open_one_case(
        client, owner, federation: Federation, staff_token, app_sessions,
        settings: Settings) -> None:
    await load_templates(owner, federation)
    regional = await staff_token(federation, "regional_admin", federation.regions[0])
    agreement = await make_agreement(client, regional, scope=federation.regions[0])
    r = await add_clause(client, regional, agreement["id"], 1, template="outcome.commission",
                         parameters={"max_rate_pct": 20})
    assert r.status_code == 201, r.text
    clause_id = r.json()["id"]
    assert (await in_force(client, regional, agreement["id"], 1)).status_code == 200
    r = await client.post(f"{ADMIN}/clauses/{clause_id}/checkpoints",
                          json={"schedule": "quarterly", "evidence_days": 10},
                          headers=bearer(regional))
    assert r.status_code == 201, r.text
    q1, q2 = r.json()[0]["id"], r.json()[1]["id"]
    alpha = await partner_client(client, owner, federation, "alpha")
    now = datetime.now(UTC)

    assert await _run(federation, app_sessions, settings, now) == 0  # nothing owed yet
    r = await client.post(f"{PARTNER}/checkpoints/{q2}/evidence",
                          json={"evidence": {"commission_rate": 0.25}},
                          headers=_idem(alpha.token))
    assert r.status_code == 201 and r.json()["breach"] is True, r.text
    evidence = r.json()

    assert await _run(federation, app_sessions, settings, now) == 1
    assert await _run(federation, app_sessions, settings, now) == 0  # a re-run: none again
    r = await client.post(f"{PARTNER}/checkpoints/{q2}/evidence",  # resubmitted, fails again
                          json={"evidence": {"commission_rate": 0.3}},
                          headers=_idem(alpha.token))
    assert r.status_code == 201, r.text
    assert await _run(federation, app_sessions, settings, now) == 0
    cases = await _cases(owner)
    assert len(cases) == 1
    case = cases[0]
    async with owner() as s:
        partner_id = await s.scalar(text("SELECT partner_id FROM agreements WHERE id = :a"),
                                    {"a": agreement["id"]})
    assert (case["tenant_id"], case["partner_id"], case["category"], case["created_by"]) == (
        federation.ids[federation.regions[0]], partner_id, "commission", JOB)

    # The checkpoint shows its case; the case shows the clause, evidence and failed values.
    r = await client.get(f"{ADMIN}/checkpoints/{q2}", headers=bearer(regional))
    assert r.status_code == 200, r.text
    cp = r.json()
    assert cp["case"]["case_id"] == str(case["id"])
    assert cp["case"]["reason"]["code"] == "breach"
    async with signed_in(client.base_url, owner, federation.regions[0],  # the console links it
                         "regional_admin") as console:
        page = await console.get(f"/console/contracts/checkpoints/{q2}")
        assert page.status_code == 200, page.text[:300]
        assert (f'data-testid="breach-case" data-reason="breach"><a href="/console/cases/'
                f'{case["id"]}"') in page.text
    read = (await client.get(f"/v1/cases/{case['id']}", headers=bearer(regional))).json()
    assert read["channel"]["code"] == "contract_breach"
    intake = next(e for e in read["events"] if e["kind"] == "intake")
    contract = intake["details"]["contract"]
    assert (contract["clause_id"], contract["checkpoint_id"], contract["reason"]) == (
        clause_id, q2, "breach")
    assert contract["evidence"]["evidence_id"] == evidence["id"]
    assert contract["evidence"]["evidence_sha256"] == evidence["evidence_sha256"]
    assert contract["evidence"]["read"]["commission_rate"] == 0.25
    dispute = (await client.get(f"/v1/cases/{case['id']}/dispute",
                                headers=bearer(regional))).json()
    assert dispute["kind"]["code"] == "unpaid_pay", dispute

    # Q1's evidence missing past its date: one case more, and only one.
    q1_due = datetime.fromisoformat(
        (await client.get(f"{ADMIN}/checkpoints/{q1}", headers=bearer(regional)))
        .json()["evidence_due_at"])
    later = datetime(q1_due.year, q1_due.month + 1, 1, tzinfo=UTC)
    assert await _run(federation, app_sessions, settings, later) == 1
    assert await _run(federation, app_sessions, settings, later) == 0
    cases = await _cases(owner)
    assert len(cases) == 2
    cp = (await client.get(f"{ADMIN}/checkpoints/{q1}", headers=bearer(regional))).json()
    assert cp["case"]["reason"]["code"] == "evidence_missing"
    assert cp["case"]["case_id"] == str(cases[1]["id"])

    # The job's principal sees no other case, and cannot set a checkpoint's case twice.
    async with scoped(app_sessions, DbScope(federation.ids[federation.hq], JOB)) as s, \
            s.begin():
        assert (await s.execute(text(
            "UPDATE clause_checkpoints SET case_id = NULL, case_reason = NULL,"
            " case_opened_at = NULL WHERE case_id IS NOT NULL"))).rowcount == 0
        assert await s.scalar(text(
            "SELECT count(*) FROM cases WHERE channel <> 'contract_breach'")) == 0


async def test_a_run_killed_before_its_commit_leaves_nothing_and_the_next_opens_one(
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
    q1 = r.json()[0]["id"]
    alpha = await partner_client(client, owner, federation, "alpha")
    r = await client.post(f"{PARTNER}/checkpoints/{q1}/evidence",
                          json={"evidence": {"paid_rate_pct": 1.0, "paid_on_time": True}},
                          headers=_idem(alpha.token))
    assert r.json()["breach"] is True, r.text
    before = len(await _cases(owner))
    now = datetime.now(UTC)
    async with scoped(app_sessions, DbScope(federation.ids[federation.hq], JOB)) as s:
        await s.begin()
        assert await breaches.open_cases(s, now, reply_days=10) == 1
        await s.rollback()  # the worker died before its commit
    assert len(await _cases(owner)) == before
    assert await _run(federation, app_sessions, settings, now) == 1
    assert len(await _cases(owner)) == before + 1
    async with owner() as s:
        case_id = await s.scalar(text("SELECT case_id FROM clause_checkpoints WHERE id = :q"),
                                 {"q": q1})
        # a union clause (经费列支): a case for the union's staff, no dispute
        assert await s.scalar(text("SELECT category FROM cases WHERE id = :c"),
                              {"c": case_id}) == "legal_advice"
        assert await s.scalar(text("SELECT count(*) FROM case_disputes WHERE case_id = :c"),
                              {"c": case_id}) == 0


async def test_two_runs_at_once_open_one_case(client, owner, federation: Federation,
                                               staff_token, app_sessions) -> None:
    await load_templates(owner, federation)
    regional = await staff_token(federation, "regional_admin", federation.regions[0])
    agreement = await make_agreement(client, regional, scope=federation.regions[0])
    r = await add_clause(client, regional, agreement["id"], 1, template="outcome.commission",
                         parameters={"max_rate_pct": 20})
    assert (await in_force(client, regional, agreement["id"], 1)).status_code == 200
    r = await client.post(f"{ADMIN}/clauses/{r.json()['id']}/checkpoints",
                          json={"schedule": "quarterly", "evidence_days": 10},
                          headers=bearer(regional))
    q1 = r.json()[0]["id"]
    alpha = await partner_client(client, owner, federation, "alpha")
    r = await client.post(f"{PARTNER}/checkpoints/{q1}/evidence",
                          json={"evidence": {"commission_rate": 0.5}},
                          headers=_idem(alpha.token))
    assert r.json()["breach"] is True, r.text
    scope = DbScope(federation.ids[federation.hq], JOB)
    now = datetime.now(UTC)
    async with scoped(app_sessions, scope) as first, scoped(app_sessions, scope) as second:
        await first.begin()
        await second.begin()
        assert await breaches.open_cases(first, now, reply_days=10) == 1
        assert await breaches.open_cases(second, now, reply_days=10) == 0  # locked: skipped
        await first.commit()
        await second.commit()
    async with owner() as s:
        assert await s.scalar(text(
            "SELECT count(*) FROM cases c JOIN clause_checkpoints k ON k.case_id = c.id"
            " WHERE k.id = :q"), {"q": q1}) == 1
