"""The SLA sweep (临期提醒, 超期升级) on a frozen clock through the real app, database and job
runner: one reminder per clock and deadline however often the sweep runs (a moved deadline is
reminded again), one escalation to the handling unit's parent at breach — in the parent's
督办 list, not a sibling's — nothing touched in another federation, and the console's 待办."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.auth.keys import KeyStore
from flexunion.auth.tokens import TokenService
from flexunion.cases.clocks import sweep
from flexunion.core.clock import Clock, FixedClock
from flexunion.core.secrets import Keyring
from flexunion.db.engine import bind_scope, make_engine, make_sessionmaker
from flexunion.db.scope import DbScope
from flexunion.jobs import service as jobs
from flexunion.jobs.service import Body
from tests.cases.test_clocks import Desk, at, bj, calendar_federation, clock_of, token_maker
from tests.support.console import signed_in
from tests.support.factories import Federation, bearer

JOB = "system:jobs:sla-sweep"


@pytest.fixture
def frozen(clock, monkeypatch) -> FixedClock:
    fixed = FixedClock(bj(2026, 10, 12, 9))  # a Monday, a working day
    monkeypatch.setattr(clock, "now", fixed.now)
    return fixed


@pytest.fixture
async def real_tokens(settings) -> AsyncIterator[TokenService]:
    from tests.conftest import TEST_SECRET

    engine = make_engine(settings.database_url, pool_size=1, max_overflow=0)
    yield TokenService(settings, KeyStore(make_sessionmaker(engine),
                                          Keyring(TEST_SECRET.encode())), Clock())
    await engine.dispose()


@pytest.fixture
async def app_sessions(settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(settings.app_database_url, pool_size=2, max_overflow=0)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def sweep_as_job(sessions: async_sessionmaker[AsyncSession], fed: Federation,
                       now: datetime, within: timedelta) -> int:
    """The sweep as the job runs it (app role, the job's principal, the federation's scope),
    with a reminder window of our choosing."""
    session = sessions()
    bind_scope(session, lambda: DbScope(fed.ids[fed.hq], JOB))
    async with session, session.begin():
        return await sweep.sweep(session, now, within=within)


async def marks(owner, fed: Federation) -> list[dict[str, Any]]:
    """Every reminder and escalation event of the federation, oldest first."""
    async with owner() as s:
        rows = (await s.execute(text(
            "SELECT kind, actor, case_id::text, details FROM case_events"
            " WHERE federation_id = :f AND kind IN ('reminder', 'escalation') ORDER BY at, id"),
            {"f": fed.ids[fed.hq]})).all()
    return [{"kind": k, "actor": a, "case_id": c} | d for k, a, c, d in rows]


async def escalated(desk: Desk, code: str, **params: Any) -> dict[str, Any]:
    r = await desk.client.get("/v1/cases/escalated", headers=await desk.as_(code), params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_one_reminder_per_deadline_then_one_escalation_to_the_parent(
        client, owner, settings, tmp_path: Path, real_tokens, frozen: FixedClock,
        app_sessions) -> None:
    fed = await calendar_federation(owner, tmp_path / "a")
    theirs = await calendar_federation(owner, tmp_path / "b")
    desk, other = Desk(client, fed, token_maker(real_tokens)), Desk(
        client, theirs, token_maker(real_tokens))
    r1, r2 = fed.regions
    station = fed.stations[r1][0]
    case = await desk.enter(station)  # first response due 14:30 (09:00–12:00, 13:30–14:30)
    mine = await desk.enter(r1)  # handled by the region itself: escalates to HQ
    far = await other.enter(theirs.stations[theirs.regions[0]][0])
    due = at(clock_of(case, "first_response")["deadline"])
    assert due == bj(2026, 10, 12, 14, 30)
    hour = timedelta(minutes=60)

    # 10:00: 3 working hours ahead, outside a 1-hour window; 13:45: 45 minutes ahead.
    assert await sweep_as_job(app_sessions, fed, bj(2026, 10, 12, 10), hour) == 0
    frozen.at = bj(2026, 10, 12, 13, 45)
    assert await sweep_as_job(app_sessions, fed, frozen.at, hour) == 2  # case and mine
    frozen.at = bj(2026, 10, 12, 13, 50)
    assert await sweep_as_job(app_sessions, fed, frozen.at, hour) == 0  # not twice
    reminders = [m for m in await marks(owner, fed) if m["kind"] == "reminder"]
    assert len(reminders) == 2 and {m["actor"] for m in reminders} == {JOB}
    first = next(m for m in reminders if m["case_id"] == case["id"])
    assert first["metric"] == "first_response"
    assert datetime.fromisoformat(first["deadline"]) == due
    # The reminder moved no clock: the deadline is what it was.
    seen = await desk.case(station, case["id"])
    assert at(clock_of(seen, "first_response")["deadline"]) == due
    assert seen["events"][-1]["kind"] == "reminder"

    # A pause of 30 minutes (13:50–14:20) moves the deadline to 15:00: reminded again.
    await desk.post(station, f"/{case['id']}/pause", {"reason": "waiting_worker"})
    frozen.at = bj(2026, 10, 12, 14, 20)
    await desk.post(station, f"/{case['id']}/resume", {})
    moved = at(clock_of(await desk.case(station, case["id"]), "first_response")["deadline"])
    assert moved == bj(2026, 10, 12, 15)
    assert await sweep_as_job(app_sessions, fed, frozen.at, hour) == 1
    assert await sweep_as_job(app_sessions, fed, frozen.at, hour) == 0

    # 16:00: both past their deadline. Another federation's job first: it touches nothing here.
    clock = FixedClock(bj(2026, 10, 12, 16))
    before = await marks(owner, fed)
    far_fed = theirs.ids[theirs.hq]
    assert await jobs.run("sla-sweep", msgspec.json.encode(Body(far_fed, {})),
                          sessions=app_sessions, settings=settings, clock=clock) == 1
    assert await marks(owner, fed) == before
    assert [m["case_id"] for m in await marks(owner, theirs)] == [far["id"]]
    # This federation's job, through the real runner, twice: one escalation per clock.
    body = msgspec.json.encode(Body(fed.ids[fed.hq], {}))
    assert await jobs.run("sla-sweep", body, sessions=app_sessions, settings=settings,
                          clock=clock) == 2
    assert await jobs.run("sla-sweep", body, sessions=app_sessions, settings=settings,
                          clock=clock) == 0
    ups = [m for m in await marks(owner, fed) if m["kind"] == "escalation"]
    assert {(m["case_id"], m["unit"], m["to"]) for m in ups} == {
        (case["id"], station, r1), (mine["id"], r1, fed.hq)}
    assert {m["actor"] for m in ups} == {JOB}
    async with owner() as s:
        audited = (await s.execute(text(
            "SELECT actor, object_id FROM audit_events WHERE action = 'case.escalated'"
            " AND tenant_id = ANY (:t)"), {"t": list(fed.ids.values())})).all()
    assert sorted(audited) == sorted([(JOB, case["id"]), (JOB, mine["id"])])

    # 督办: the parent sees its escalation, a sibling region and the station itself do not;
    # HQ sees both (its subtree holds r1 and itself).
    listed = await escalated(desk, r1)
    assert [(i["case_id"], i["to"], i["unit"]) for i in listed["items"]] == [
        (case["id"], r1, station)]
    assert listed["items"][0]["metric"]["zh"] == "首次响应"
    assert (await escalated(desk, r2))["items"] == []
    assert (await escalated(desk, station))["items"] == []
    page = await escalated(desk, fed.hq, limit=1)
    rest = await escalated(desk, fed.hq, limit=1, cursor=page["next_cursor"])
    assert {page["items"][0]["case_id"], rest["items"][0]["case_id"]} == {case["id"], mine["id"]}
    assert rest["next_cursor"] is None
    bad = await client.get("/v1/cases/escalated", params={"cursor": "nope"},
                           headers=await desk.as_(r1))
    assert bad.status_code == 422 and bad.json()["code"] == "cursor_invalid"
    # The escalation moved no clock either.
    assert at(clock_of(await desk.case(station, case["id"]), "first_response")["deadline"]) \
        == moved


async def test_the_dashboard_shows_overdue_and_escalated_cases(
        live, owner, client, staff_token, federation: Federation, app_sessions) -> None:
    r1 = federation.regions[0]
    station = federation.stations[r1][0]
    answer = await client.post("/v1/cases", headers=bearer(await staff_token(
        federation, "station_officer", station)), json={
        "channel": "station", "category": "dispatch", "description": "派单距离过远"})
    assert answer.status_code == 201, answer.text
    case = answer.json()
    async with owner() as s, s.begin():  # taken a week ago (the app runs on real time): late
        await s.execute(text("UPDATE case_events SET at = at - interval '7 days'"
                             " WHERE case_id = :c"), {"c": case["id"]})
        await s.execute(text("UPDATE case_clocks SET deadline = now() - interval '1 hour',"
                             " started_at = started_at - interval '7 days' WHERE case_id = :c"),
                        {"c": case["id"]})
    assert await sweep_as_job(app_sessions, federation, datetime.now(UTC), timedelta(0)) == 1
    async with signed_in(live.url, owner, r1, "regional_admin") as region:
        todo = (await region.get("/console/")).text
    for box in ("todo-cases-overdue", "todo-cases-escalated"):
        part = todo.split(f'data-testid="{box}"')[1].split("</section>")[0]
        assert f'/console/cases/{case["id"]}' in part and case["case_no"] in part, box
    async with signed_in(live.url, owner, station, "station_officer") as own:
        todo = (await own.get("/console/")).text
    part = todo.split('data-testid="todo-cases-escalated"')[1].split("</section>")[0]
    assert case["case_no"] not in part  # escalated to the region, not to the station
    part = todo.split('data-testid="todo-cases-overdue"')[1].split("</section>")[0]
    assert case["case_no"] in part
