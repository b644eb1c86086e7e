"""The SLA sweep escalates what a platform owes in a dispute (migration 0038,
cases/disputes/sweep.py): written reasons past `reply_due_at` and requested evidence past its
due date — once each however often the sweep runs, on the case's timeline, audited, on the
督办 list of the unit above the one handling the dispute (not a sibling's); an answer in
time is not escalated; the sweep's candidates come from a function that answers no other
principal. Real app, database and job runner."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg
import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.db.engine import make_engine, make_sessionmaker
from flexunion.db.urls import to_asyncpg
from flexunion.jobs import service as jobs
from flexunion.jobs.service import Body
from tests.cases.test_disputes import PARTNER, STAFF, app_case, key, rows
from tests.security.test_audience_matrix import as_app
from tests.support.bargaining import partner_client
from tests.support.console import signed_in
from tests.support.factories import Federation, bearer, worker_login

JOB = "system:jobs:sla-sweep"
DEADLINES = {"platform_reply", "evidence_request"}


@pytest.fixture
async def app_sessions(settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(settings.app_database_url, pool_size=2, max_overflow=0)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def marks(owner: Any, fed: Federation) -> list[dict[str, Any]]:
    """The federation's escalations of a platform's deadline, oldest first."""
    found = await rows(owner, "SELECT actor, case_id::text, details FROM case_events WHERE"
                              " federation_id = :f AND kind = 'escalation' ORDER BY at, id",
                       f=fed.ids[fed.hq])
    return [{"actor": a, "case_id": c} | d for a, c, d in found if d["metric"] in DEADLINES]


async def test_a_platforms_overdue_answer_is_escalated_once_to_the_unit_above(
        client, sms, owner, clock, settings, federation: Federation, staff_token,
        app_sessions, live) -> None:
    r1, r2 = federation.regions
    s1 = federation.stations[r1][0]
    officer = await staff_token(federation, "station_officer", s1)
    region = await staff_token(federation, "regional_admin", r1)
    sibling = await staff_token(federation, "regional_admin", r2)
    alpha = await partner_client(client, owner, federation, "alpha")
    worker, _ = await worker_login(client, sms, federation.hq)
    late = await app_case(client, worker, s1, category="account_ban")
    prompt = await app_case(client, worker, s1, category="account_ban")
    disputes = {}
    for cid in (late, prompt):
        opened = await client.post(f"{STAFF}/{cid}/dispute", headers=bearer(officer), json={
            "kind": "deactivation", "statement": "请书面说明封号依据并人工复核。"})
        assert opened.status_code == 201, opened.text
        disputes[cid] = opened.json()
    asked = await client.post(f"{STAFF}/{late}/dispute/requests", headers=bearer(officer),
                              json={"slot": "platform_notice", "days": 2, "note": "封号通知"})
    assert asked.status_code == 200, asked.text
    request = asked.json()["requests"][0]
    # the platform answers one dispute in time
    given = await client.post(f"{PARTNER}/{prompt}/dispute/reasons",
                              headers=bearer(alpha.token) | key(), json={"text": "异常接单"})
    assert given.status_code == 200, given.text

    body = msgspec.json.encode(Body(federation.ids[federation.hq], {}))

    async def sweep() -> int | None:
        return await jobs.run("sla-sweep", body, sessions=app_sessions, settings=settings,
                              clock=clock)

    await sweep()  # before any deadline: nothing of the platform's is due
    assert await marks(owner, federation) == []

    clock.advance(days=30)  # past the reasons' 10 working days and the request's 2
    await sweep()
    ups = await marks(owner, federation)
    assert {(m["case_id"], m["metric"]) for m in ups} == {(late, "platform_reply"),
                                                         (late, "evidence_request")}
    d = disputes[late]
    by = {m["metric"]: m for m in ups}
    reply, ask = by["platform_reply"], by["evidence_request"]
    assert datetime.fromisoformat(reply["deadline"]) == datetime.fromisoformat(
        d["decision"]["reply_due_at"])
    assert datetime.fromisoformat(ask["deadline"]) == datetime.fromisoformat(request["due_at"])
    assert ask["deadline_id"] == request["id"] and ask["slot"] == "platform_notice"
    for m in ups:
        assert m["actor"] == JOB and m["dispute_id"] == d["id"]
        assert (m["unit"], m["to"]) == (s1, r1)  # the station handles it; its region supervises
    # once: the sweep again, through the real runner, writes nothing of the platform's
    await sweep()
    clock.advance(days=1)
    await sweep()
    assert len(await marks(owner, federation)) == 2
    # late reasons are still taken, and escalate nothing more
    given = await client.post(f"{PARTNER}/{late}/dispute/reasons",
                              headers=bearer(alpha.token) | key(), json={"text": "补交理由"})
    assert given.status_code == 200 and given.json()["decision"]["overdue"] is True
    await sweep()
    assert len(await marks(owner, federation)) == 2

    # audited, by the sweep
    audited = await rows(owner, "SELECT action, actor, payload->>'metric' FROM audit_events"
                                " WHERE object_id = :d AND action = 'dispute.escalated'"
                                " ORDER BY seq", d=d["id"])
    assert sorted(a[2] for a in audited) == sorted(DEADLINES)
    assert {(a[0], a[1]) for a in audited} == {("dispute.escalated", JOB)}
    # on the case's timeline, which staff read
    case = (await client.get(f"{STAFF}/{late}", headers=bearer(officer))).json()
    shown = [e for e in case["events"] if e["kind"] == "escalation"
             and (e.get("details") or {}).get("metric") in DEADLINES]
    assert len(shown) == 2, case["events"]

    # 督办: the region above sees both, labelled Chinese first; the sibling region none
    listed = (await client.get(f"{STAFF}/escalated", headers=bearer(region),
                               params={"limit": 100})).json()
    mine = {i["metric"]["code"]: i for i in listed["items"] if i["case_id"] == late
            and i["metric"]["code"] in DEADLINES}
    assert set(mine) == DEADLINES
    assert mine["platform_reply"]["metric"]["zh"] == "平台书面答复"
    assert mine["evidence_request"]["metric"]["en"] == "Evidence requested from the platform"
    assert (mine["platform_reply"]["unit"], mine["platform_reply"]["to"]) == (s1, r1)
    other = (await client.get(f"{STAFF}/escalated", headers=bearer(sibling))).json()
    assert not [i for i in other["items"] if i["case_id"] in (late, prompt)]

    # the console's 待办 card and 督办 page show them, labelled
    case_no = case["case_no"]
    async with signed_in(live.url, owner, r1, "regional_admin") as console:
        todo = await console.get("/console/")
        assert todo.status_code == 200, todo.text
        card = todo.text.split('data-testid="todo-cases-escalated"')[1].split("</section>")[0]
        assert case_no in card and "平台书面答复" in card, card
        page = await console.get("/console/cases/escalated")
        assert page.status_code == 200
        for metric in DEADLINES:  # (the case's own breached clocks are listed too)
            assert page.text.count(f'<tr data-case="{late}" data-metric="{metric}">') == 1

    # the candidates' function answers the sweep's principal only
    conn = await asyncpg.connect(to_asyncpg(settings.app_database_url or ""))
    try:
        sql = "SELECT count(*) FROM flexunion_dispute_overdue(now() + interval '60 days')"
        for principal in ("regional_admin:" + str(federation.ids[r1]), f"partner:{alpha.token}",
                          "system:jobs:close-ballots"):
            async with conn.transaction():
                await as_app(conn, str(federation.ids[federation.hq]), principal)
                assert await conn.fetchval(sql) == 0, principal
    finally:
        await conn.close()
