"""帮扶发放: the per-member yearly cap under concurrent grants, the budget line's used vs
allocated, each grant audited in its transaction."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.config import AUDIENCE_ADMIN, Settings
from flexunion.core.clock import BEIJING
from flexunion.core.context import Caller, Role
from flexunion.core.secrets import Keyring, load_master_secret
from flexunion.db.engine import bind_scope, make_engine, make_sessionmaker
from flexunion.services.assistance import service
from flexunion.services.assistance.schemas import GrantCreate
from tests.support.assistance import ADMIN, approved, budget, desk
from tests.support.factories import Federation, bearer


async def test_two_concurrent_grants_past_the_cap_one_wins(client, sms, owner, clock,
                                                          federation: Federation,
                                                          staff_token) -> None:
    d = await desk(client, sms, federation, staff_token)
    r = await client.put(f"{ADMIN}/policy", headers=bearer(d.hq), json={
        "yearly_cap_fen": 500000, "urgent_step_hours": 12, "ordinary_step_days": 3,
        "retention_days": 365})
    assert r.status_code == 200 and r.json()["configured"] is True, r.text
    year = clock.now().astimezone(BEIJING).year
    line = await budget(client, d, year, 10_000_000)
    first = await approved(client, d, 300000)
    second = await approved(client, d, 300000, kind="family_emergency")
    answers = await asyncio.gather(*(
        client.post(f"{ADMIN}/cases/{case}/grants", headers=bearer(d.region),
                    json={"amount_fen": 300000, "budget_line": line["code"]})
        for case in (first, second)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 409], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 409).json()
    assert refused["code"] == "assistance_yearly_cap" and refused["remaining_fen"] == 200000
    # the rest of the cap can still be granted; one fen more cannot
    loser = first if answers[0].status_code == 409 else second
    r = await client.post(f"{ADMIN}/cases/{loser}/grants", headers=bearer(d.region),
                          json={"amount_fen": 200001, "budget_line": line["code"]})
    assert r.status_code == 409 and r.json()["code"] == "assistance_yearly_cap"
    r = await client.post(f"{ADMIN}/cases/{loser}/grants", headers=bearer(d.region),
                          json={"amount_fen": 200000, "budget_line": line["code"],
                                "note": "第一批"})
    assert r.status_code == 200, r.text
    assert r.json()["step"] == "granted" and r.json()["grants"][0]["amount_fen"] == 200000
    lines = (await client.get(f"{ADMIN}/budget-lines", headers=bearer(d.region),
                              params={"year": year})).json()
    assert [(x["used_fen"], x["allocated_fen"]) for x in lines] == [(500000, 10_000_000)]
    async with owner() as s:
        total = await s.scalar(text("SELECT total_fen FROM assistance_member_totals"
                                    " WHERE member_id = :m AND year = :y"),
                               {"m": d.member.member_id, "y": year})
        audited = (await s.execute(text(
            "SELECT (payload->>'amount_fen')::bigint FROM audit_events"
            " WHERE action = 'assistance.granted' AND object_id = ANY(:c) ORDER BY seq"),
            {"c": [first, second]})).scalars().all()
    assert total == 500000 and sorted(audited) == [200000, 300000]


async def test_a_budget_line_cannot_be_overdrawn(client, sms, clock, federation: Federation,
                                                 staff_token) -> None:
    d = await desk(client, sms, federation, staff_token)
    year = clock.now().astimezone(BEIJING).year
    line = await budget(client, d, year, 100000, code="small-fund")
    case = await approved(client, d, 150000)
    r = await client.post(f"{ADMIN}/cases/{case}/grants", headers=bearer(d.region),
                          json={"amount_fen": 150000, "budget_line": line["code"]})
    assert r.status_code == 409 and r.json()["code"] == "assistance_budget_exceeded"
    r = await client.post(f"{ADMIN}/cases/{case}/grants", headers=bearer(d.region),
                          json={"amount_fen": 100, "budget_line": "no-such-line"})
    assert r.status_code == 422 and r.json()["code"] == "assistance_budget_line_unknown"
    r = await client.post(f"{ADMIN}/cases/{case}/grants", headers=bearer(d.region),
                          json={"amount_fen": 150001, "budget_line": line["code"]})
    assert r.status_code == 409 and r.json()["code"] == "assistance_over_approved"
    r = await client.post(f"{ADMIN}/cases/{case}/grants", headers=bearer(d.region),
                          json={"amount_fen": 12.5, "budget_line": line["code"]})
    assert r.status_code == 422  # fen are integers, never floats
    r = await client.post(f"{ADMIN}/budget-lines", headers=bearer(d.hq), json={
        "year": year, "code": "small-fund", "name_zh": "重复", "allocated_fen": 1,
        "region": d.fed.regions[0]})
    assert r.status_code == 409 and r.json()["code"] == "assistance_budget_line_exists"


@pytest.fixture
async def app_sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(settings.app_database_url, pool_size=2, max_overflow=0)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def test_a_second_grant_waits_for_the_first_and_is_refused(
        client, sms, clock, settings: Settings, app_sessions, federation: Federation,
        staff_token) -> None:
    """No luck involved: the first grant's transaction is held open; the second (over HTTP)
    must wait on the member's yearly total row, and once the first commits it sees the new
    total and is refused."""
    d = await desk(client, sms, federation, staff_token)
    year = clock.now().astimezone(BEIJING).year
    line = await budget(client, d, year, 10_000_000)
    first = await approved(client, d, 400000)
    second = await approved(client, d, 400000)
    r1 = federation.regions[0]
    caller = Caller(role=Role.REGIONAL_ADMIN, subject="chair-li", tenant_id=federation.ids[r1],
                    tenant_code=r1, audience=AUDIENCE_ADMIN)
    keyring = Keyring(load_master_secret(settings))
    async with app_sessions() as s:
        bind_scope(s, lambda: caller.db_scope())
        async with s.begin():
            read = await service.grant(s, keyring, caller, uuid.UUID(first),
                                       GrantCreate(amount_fen=400000, budget_line=line["code"]),
                                       defaults=settings.assistance, now=clock.now())
            assert read.granted_fen == 400000
            pending = asyncio.create_task(client.post(
                f"{ADMIN}/cases/{second}/grants", headers=bearer(d.region),
                json={"amount_fen": 400000, "budget_line": line["code"]}))
            await asyncio.sleep(1.5)
            assert not pending.done()  # blocked on the lock, not answered from stale data
    answer = await pending
    assert answer.status_code == 409 and answer.json()["code"] == "assistance_yearly_cap"
    assert answer.json()["remaining_fen"] == settings.assistance.yearly_cap_fen - 400000
