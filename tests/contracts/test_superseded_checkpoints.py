"""续签后的核验节点: once a renewal supersedes a version, the old version's checkpoints not yet
due are `superseded` — no evidence owed (409 checkpoint_superseded), no evidence-missing case
from the contracts-breach job, their own column in the compliance run — while a checkpoint due
before the renewal is still owed, and the checkpoints of a clause carried unchanged into the
new version continue (planning the new clause does not double them). Real database, real app."""

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


async def _plan(client, token: str, clause_id: str) -> list[dict]:
    r = await client.post(f"{ADMIN}/clauses/{clause_id}/checkpoints",
                          json={"schedule": "quarterly", "evidence_days": 10},
                          headers=bearer(token))
    assert r.status_code == 201, r.text
    return list(r.json())


async def test_a_renewal_supersedes_the_old_clauses_checkpoints_not_yet_due(
        client, owner, federation: Federation, staff_token, app_sessions, settings: Settings,
        clock) -> None:
    await load_templates(owner, federation)
    regional = await staff_token(federation, "regional_admin", federation.regions[0])
    agreement = await make_agreement(client, regional, scope=federation.regions[0])
    aid = agreement["id"]
    funding = (await add_clause(client, regional, aid, 1, template="union.funding",
                                parameters={"rate_pct": 2})).json()
    venue = (await add_clause(client, regional, aid, 1, template="union.venue",
                              parameters={"area_m2": 20})).json()
    assert (await in_force(client, regional, aid, 1)).status_code == 200
    old_funding = [c["id"] for c in await _plan(client, regional, funding["id"])]
    old_venue = [c["id"] for c in await _plan(client, regional, venue["id"])]
    assert len(old_funding) == len(old_venue) == 4  # 2027Q1 … Q4

    alpha = await partner_client(client, owner, federation, "alpha")
    # An amendment put in force on 2027-05-01 (Beijing): Q1 was due before it, Q2–Q4 were not.
    clock.offset = datetime(2027, 5, 1, 2, tzinfo=UTC) - datetime.now(UTC)
    r = await client.post(f"{ADMIN}/agreements/{aid}/renewals", json={
        "starts_on": "2027-01-01", "ends_on": "2027-12-31"},
                          headers=bearer(regional))
    assert r.status_code == 201, r.text
    v2 = {c["key"]: c for c in (await client.get(f"{ADMIN}/agreements/{aid}/versions/2",
                                                 headers=bearer(regional))).json()["clauses"]}
    r = await client.patch(f"{ADMIN}/clauses/{v2['union.funding']['id']}",
                           json={"parameters": {"rate_pct": 1.5}}, headers=bearer(regional))
    assert r.status_code == 200, r.text
    assert (await in_force(client, regional, aid, 2)).status_code == 200

    async def status(cp: str) -> str:
        r = await client.get(f"{ADMIN}/checkpoints/{cp}", headers=bearer(regional))
        assert r.status_code == 200, r.text
        return str(r.json()["status"]["code"])

    # the changed clause: Q1 still owed, Q2–Q4 superseded; the unchanged one continues
    assert [await status(c) for c in old_funding] == ["evidence_missing"] + ["superseded"] * 3
    assert [await status(c) for c in old_venue] == ["evidence_missing"] + [
        "awaiting_evidence"] * 3
    r = await client.post(f"{PARTNER}/checkpoints/{old_funding[1]}/evidence",
                          json={"evidence": {"paid_rate_pct": 2.0, "paid_on_time": True}},
                          headers=bearer(alpha.token) | {"Idempotency-Key": secrets.token_hex(8)})
    assert r.status_code == 409 and r.json()["code"] == "checkpoint_superseded", r.text

    # planning the new clauses: the changed one gets the quarters no longer owed under the
    # old one (Q1 still is: one checkpoint per clause key and date), the carried one none
    new_funding = await _plan(client, regional, v2["union.funding"]["id"])
    assert [c["period"] for c in new_funding] == ["2027Q2", "2027Q3", "2027Q4"]
    assert await _plan(client, regional, v2["union.venue"]["id"]) == []

    # After the year: evidence-missing cases only for what is owed — old funding Q1, the four
    # continuing venue checkpoints and the new funding clause's three; never a superseded one.
    opened = await jobs.run("contracts-breach", body(federation.ids[federation.hq]),
                            sessions=app_sessions, settings=settings,
                            clock=FixedClock(datetime(2028, 3, 1, tzinfo=UTC)))
    assert opened == 1 + 4 + 3
    async with owner() as s:
        with_case = set((await s.execute(text(
            "SELECT id::text FROM clause_checkpoints WHERE case_id IS NOT NULL"))).scalars())
    assert with_case.isdisjoint(old_funding[1:])
    assert {old_funding[0], *old_venue} <= with_case

    run = (await client.get(f"{ADMIN}/compliance", params={"quarter": "2027Q3"},
                            headers=bearer(regional))).json()
    assert len(run) == 1
    assert (run[0]["checkpoints"], run[0]["superseded"], run[0]["awaiting_evidence"]) == (3, 1, 2)
    csv = await client.get(f"{ADMIN}/compliance/export", params={"quarter": "2027Q3"},
                           headers=bearer(regional))
    assert "已被续签取代 superseded" in csv.content.decode("utf-8-sig").splitlines()[0]
