"""跟随转会 through the real API, database and job runner: a transfer completed mid-case moves
the member's open cases in the origin region once, with their clocks' elapsed time kept,
closed ones stay, both regions read the moved case, a third does not; a run that fails after
the first move leaves nothing behind and the next run moves each case once; a redelivered
event moves nothing twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.cases.clocks import rules
from flexunion.cases.moves import service as moves
from flexunion.core.clock import Clock
from flexunion.db.engine import make_engine, make_sessionmaker
from flexunion.jobs import service as jobs
from flexunion.jobs.service import Body
from tests.support.factories import bearer
from tests.transfers.conftest import Staff
from tests.transfers.test_workflow import act, ask, member_at

CASES = "/v1/cases"
JOB = "case-follow-transfer"


@pytest.fixture
async def app_sessions(settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(settings.app_database_url, pool_size=2, max_overflow=0)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def post(client: httpx.AsyncClient, token: str, path: str,
               body: dict[str, Any] | None = None, expect: int = 200) -> dict[str, Any]:
    r = await client.post(f"{CASES}{path}", json=body or {}, headers=bearer(token))
    assert r.status_code == expect, r.text
    return dict(r.json())


async def read(client: httpx.AsyncClient, token: str, cid: str) -> httpx.Response:
    return await client.get(f"{CASES}/{cid}", headers=bearer(token))


def clock(case: dict[str, Any], metric: str) -> dict[str, Any]:
    return next(c for c in case["clocks"] if c["metric"]["code"] == metric)


async def run(app_sessions, settings, staff: Staff) -> int | None:
    body = msgspec.json.encode(Body(staff.fed.ids[staff.fed.hq], {}))
    return await jobs.run(JOB, body, sessions=app_sessions, settings=settings, clock=Clock())


async def state(owner, case_ids: list[str]) -> dict[str, Any]:
    async with owner() as s:
        tenants = dict((await s.execute(text(
            "SELECT id::text, tenant_id::text FROM cases WHERE id::text = ANY (:ids)"),
            {"ids": case_ids})).all())
        moved = (await s.execute(text(
            "SELECT case_id::text, actor, details FROM case_events WHERE kind = 'moved'"
            " AND case_id::text = ANY (:ids) ORDER BY seq"), {"ids": case_ids})).all()
        sight = (await s.execute(text(
            "SELECT case_id::text, tenant_id::text, reason FROM case_sight"
            " WHERE case_id::text = ANY (:ids)"), {"ids": case_ids})).all()
        pending = (await s.scalar(text(
            "SELECT count(*) FROM domain_events WHERE kind = 'member.transferred'"
            " AND processed_at IS NULL AND payload->>'member_id' IN"
            " (SELECT member_id::text FROM cases WHERE id::text = ANY (:ids))"),
            {"ids": case_ids}))
        audits = (await s.scalar(text(
            "SELECT count(*) FROM audit_events WHERE action = 'case.moved'"
            " AND object_id = ANY (:ids)"), {"ids": case_ids}))
    return {"tenants": tenants, "moved": moved, "sight": sorted(sight), "pending": pending,
            "audits": audits}


async def test_open_cases_follow_once_with_their_clocks_and_both_regions_read_them(
        client, sms, staff: Staff, owner, settings, app_sessions, monkeypatch) -> None:
    fed = staff.fed
    r1, r2, r3 = fed.regions
    origin, dest = fed.stations[r1][0], fed.stations[r2][1]
    worker = await member_at(client, sms, staff, origin)
    number = worker.body["member_no"]
    enter = {"category": "commission", "description": "抽成上调未公示。", "channel": "station",
             "member_no": number}
    s1 = staff.station[origin]
    # In handling at the origin station: assigned to it as lead and accepted.
    handled = await post(client, s1, "", enter, expect=201)
    await post(client, staff.region[r1], f"/{handled['id']}/assign", {"lead": origin})
    await post(client, s1, f"/{handled['id']}/accept")
    # Received only, at the region itself.
    waiting = await post(client, staff.region[r1], "", enter | {"category": "dispatch"},
                         expect=201)
    # Answered (no longer in handling): stays.
    done = await post(client, s1, "", enter | {"category": "fines_points"}, expect=201)
    await post(client, s1, f"/{done['id']}/route", {"route": "instant", "reason": "当场答复"})
    await post(client, s1, f"/{done['id']}/answer", {"text": "已答复"})
    ids = [handled["id"], waiting["id"], done["id"]]
    before = (await read(client, s1, handled["id"])).json()
    resolution = clock(before, "resolution")
    first = clock(before, "first_response")

    # The transfer completes: r1's station → r2's station.
    tid = (await ask(client, worker, dest)).json()["id"]
    assert (await act(client, s1, tid, "release")).status_code == 200
    assert (await act(client, staff.region[r2], tid, "accept")).status_code == 200
    assert (await state(owner, ids))["pending"] == 1

    # A run that fails after the first case's move: nothing of it lands.
    real = moves.move_case
    calls = 0

    async def first_then_crash(*args: Any, **kwargs: Any) -> None:
        nonlocal calls
        await real(*args, **kwargs)
        calls += 1
        raise RuntimeError("worker killed after the first move")

    monkeypatch.setattr(moves, "move_case", first_then_crash)
    with pytest.raises(RuntimeError):
        await run(app_sessions, settings, staff)
    assert calls == 1
    crashed = await state(owner, ids)
    # The case the region itself took: the member's home station reads it (0045), no more.
    home_sight = (waiting["id"], str(fed.ids[origin]), "home")
    assert crashed["moved"] == [] and crashed["sight"] == [home_sight]
    assert crashed["pending"] == 1
    assert crashed["audits"] == 0
    assert set(crashed["tenants"].values()) == {fed.ids[origin].__str__(), str(fed.ids[r1])}
    monkeypatch.setattr(moves, "move_case", real)

    # The next run moves each open case once; another run moves nothing.
    assert await run(app_sessions, settings, staff) == 2
    assert await run(app_sessions, settings, staff) == 0
    after = await state(owner, ids)
    dest_id, r1_id = str(fed.ids[dest]), str(fed.ids[r1])
    assert after["pending"] == 0 and after["audits"] == 2
    assert after["tenants"] == {handled["id"]: dest_id, waiting["id"]: dest_id,
                                done["id"]: str(fed.ids[origin])}
    assert sorted(c for c, _, _ in after["moved"]) == sorted([handled["id"], waiting["id"]])
    assert {a for _, a, _ in after["moved"]} == {"system:jobs:case-follow-transfer"}
    assert after["sight"] == sorted([(handled["id"], str(fed.ids[origin]), "moved"),
                                     (waiting["id"], r1_id, "moved"), home_sight])
    details = next(d for c, _, d in after["moved"] if c == handled["id"])
    assert (details["from"], details["to"]) == (origin, dest)
    assert (details["status_before"], details["status"]) == ("accepted", "received")
    assert details["transfer_id"] == tid
    assert details["ended_assignments"] == [{"seq": 1, "role": "lead", "unit": origin}]

    # A redelivered event (processed_at lost) moves nothing twice.
    async with owner() as s, s.begin():
        await s.execute(text("UPDATE domain_events SET processed_at = NULL"
                             " WHERE kind = 'member.transferred'"))
    assert await run(app_sessions, settings, staff) == 0
    again = await state(owner, ids)
    assert again["moved"] == after["moved"] and again["pending"] == 0

    # The destination handles it: back to received, the origin's assignment ended, the
    # clocks as they were (started, pinned, elapsed time kept, same deadline).
    moved = await read(client, staff.station[dest], handled["id"])
    assert moved.status_code == 200, moved.text
    case = moved.json()
    assert case["status"]["code"] == "received" and case["work_tenant"] == dest
    assert [(a["status"]["code"], a["end_reason"]) for a in case["assignments"]] == [
        ("closed", "transferred")]
    assert case["events"][-1]["kind"] == "moved"
    kept = clock(case, "resolution")
    assert kept["started_at"] == resolution["started_at"]
    assert kept["deadline"] == resolution["deadline"]
    assert kept["elapsed_minutes"] >= resolution["elapsed_minutes"]
    assert clock(case, "first_response")["state"]["code"] == first["state"]["code"] == "met"
    await post(client, staff.region[r2], f"/{handled['id']}/assign", {"lead": dest})
    await post(client, staff.station[dest], f"/{handled['id']}/accept")
    assert clock((await read(client, staff.station[dest], handled["id"])).json(),
                 "resolution")["started_at"] == resolution["started_at"]

    # Both regions read it and its history; the origin may no longer act on it; a third
    # region sees nothing.
    for token in (s1, staff.region[r1], staff.region[r2], staff.hq):
        seen = await read(client, token, handled["id"])
        assert seen.status_code == 200, seen.text
        assert [e["kind"] for e in seen.json()["events"]][:1] == ["intake"]
        assert "moved" in [e["kind"] for e in seen.json()["events"]]
        assert clock(seen.json(), "resolution")["started_at"] == resolution["started_at"]
    assert (await read(client, staff.region[r3], handled["id"])).status_code == 404
    r = await client.post(f"{CASES}/{waiting['id']}/assign", json={"lead": origin},
                          headers=bearer(staff.region[r1]))
    assert r.status_code == 404, r.text
    # The origin's ledger still lists it; the worker's inbox says where it went.
    inbox = (await client.get("/v1/me/notifications",
                              headers=bearer(worker.token))).json()["items"]
    moved_notes = [n for n in inbox if n["kind"] == "case_moved"]
    assert sorted(n["case_id"] for n in moved_notes) == sorted([handled["id"], waiting["id"]])
    assert all("移交" in n["title_zh"] for n in moved_notes)


def test_a_move_is_no_clock_event() -> None:
    """clocks/rules.py: a `moved` step between two others changes no clock's events."""
    t0 = datetime(2026, 10, 12, 1, tzinfo=UTC)
    steps = [rules.Step("intake", t0), rules.Step("assign", t0 + timedelta(minutes=5)),
             rules.Step("accept", t0 + timedelta(minutes=10))]
    moved = [*steps, rules.Step("moved", t0 + timedelta(minutes=30), details={"to": "x"}),
             rules.Step("assign", t0 + timedelta(minutes=40)),
             rules.Step("accept", t0 + timedelta(minutes=50))]
    for metric in rules.METRICS:
        assert rules.clock_events(metric, moved) == rules.clock_events(metric, steps)


async def test_an_open_dispute_follows_and_the_origin_reads_it_only(
        client, sms, staff: Staff, owner, settings, app_sessions) -> None:
    """The dispute rows move with the case (a trigger on cases.tenant_id): the destination
    sees it and takes the next rung, the origin reads it and may not act, a third region
    sees nothing."""
    fed = staff.fed
    r1, r2, r3 = fed.regions
    origin, dest = fed.stations[r1][0], fed.stations[r2][1]
    worker = await member_at(client, sms, staff, origin)
    s1 = staff.station[origin]
    case = await post(client, s1, "", {"category": "commission", "description": "抽成上调未公示。",
                                       "channel": "station",
                                       "member_no": worker.body["member_no"]}, expect=201)
    cid = case["id"]
    url = f"/{cid}/dispute"
    await post(client, s1, url, {"kind": "unpaid_pay", "statement": "请结算欠付的收入。",
                                 "partner": "alpha"}, expect=201)
    await post(client, s1, f"{url}/steps", {"step": "reminder", "reason": "提示"})
    await post(client, s1, f"{url}/requests", {"slot": "payroll", "days": 5})

    tid = (await ask(client, worker, dest)).json()["id"]
    assert (await act(client, s1, tid, "release")).status_code == 200
    assert (await act(client, staff.region[r2], tid, "accept")).status_code == 200
    assert await run(app_sessions, settings, staff) == 1

    dest_id = str(fed.ids[dest])
    async with owner() as s:
        left = (await s.execute(text(
            "SELECT t, count(*) FROM (SELECT 'case_disputes' t, tenant_id FROM case_disputes"
            " WHERE case_id = :c UNION ALL SELECT 'dispute_steps', tenant_id FROM dispute_steps"
            " WHERE dispute_id IN (SELECT id FROM case_disputes WHERE case_id = :c)"
            " UNION ALL SELECT 'dispute_requests', tenant_id FROM dispute_requests"
            " WHERE dispute_id IN (SELECT id FROM case_disputes WHERE case_id = :c)) x"
            " WHERE tenant_id::text <> :dest GROUP BY t"), {"c": cid, "dest": dest_id})).all()
        moved = await s.scalar(text(
            "SELECT count(*) FROM dispute_steps WHERE tenant_id::text = :dest AND dispute_id IN"
            " (SELECT id FROM case_disputes WHERE case_id = :c)"), {"c": cid, "dest": dest_id})
    assert left == [] and moved == 1

    # The destination sees it and takes the next rung (with a recorded reason).
    d = staff.station[dest]
    seen = await client.get(f"{CASES}{url}", headers=bearer(d))
    assert seen.status_code == 200, seen.text
    assert [s["step"]["code"] for s in seen.json()["steps"]] == ["reminder"]
    nxt = await post(client, d, f"{url}/steps", {
        "step": "consultation", "reason": "移交后会商", "minutes": "平台同意核对收入",
        "evidence_waiver": "工资表待平台提供"})
    assert len(nxt["steps"]) == 2
    # The origin station and region read it (history included), and may not act.
    for token in (s1, staff.region[r1]):
        r = await client.get(f"{CASES}{url}", headers=bearer(token))
        assert r.status_code == 200, r.text
        assert len(r.json()["steps"]) == 2 and len(r.json()["requests"]) == 1
    r = await client.post(f"{CASES}{url}/steps", headers=bearer(s1),
                          json={"step": "letter", "reason": "发函", "letter": "函"})
    assert r.status_code == 404, r.text
    # A third region sees nothing.
    r = await client.get(f"{CASES}{url}", headers=bearer(staff.region[r3]))
    assert r.status_code == 404, r.text
