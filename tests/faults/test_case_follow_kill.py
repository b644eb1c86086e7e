"""A transfer mid-dispute moves the dispute once even when the consumer is killed: a real
`flexunion worker` runs the `case-follow-transfer` job and is SIGKILLed in the middle of it
— after the first case (and, by the trigger of migration 0035, its dispute rows) has moved
in the job's transaction, while it waits to write that move's audit row — then a second
worker picks the job again once the heartbeat is stale. Proved as the owner: nothing of the
dead run landed; after the restart every dispute row of both cases is in the destination,
each case has exactly one `moved` event, one `case.moved` audit row and one origin sight,
no dispute event or audit row was written twice, and the clocks kept their start and
deadline (tests/jobs/test_worker_kill.py does the same for a transfer's release)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from flexunion.config import Settings
from flexunion.db.scope import DbScope
from flexunion.db.urls import to_asyncpg
from flexunion.jobs import service
from tests.jobs.conftest import app_sessions, scoped  # noqa: F401 (a fixture)
from tests.jobs.test_worker_kill import _nonempty, start_worker, until
from tests.transfers.conftest import Staff, fed3, staff  # noqa: F401 (fixtures)
from tests.transfers.test_cases_follow import post
from tests.transfers.test_workflow import act, ask, member_at

pytestmark = [pytest.mark.faults, pytest.mark.xdist_group("faults")]

DISPUTE_TABLES = ("case_disputes", "dispute_steps", "dispute_requests", "dispute_decisions")


async def snapshot(conn: asyncpg.Connection, case_ids: list[str]) -> dict[str, Any]:
    """Where each case's rows are, and how many of each kind of mark it has."""
    ids = [*case_ids]
    out: dict[str, Any] = {
        "cases": dict(await conn.fetch("SELECT id::text, tenant_id::text FROM cases"
                                       " WHERE id::text = ANY ($1) ORDER BY id", ids)),
        "events": sorted(tuple(r) for r in await conn.fetch(
            "SELECT case_id::text, kind, count(*) FROM case_events WHERE case_id::text ="
            " ANY ($1) GROUP BY 1, 2", ids)),
        "audits": sorted(tuple(r) for r in await conn.fetch(
            "SELECT action, count(*) FROM audit_events WHERE object_id::text = ANY ($1)"
            " OR object_id::text IN (SELECT id::text FROM case_disputes WHERE case_id::text"
            " = ANY ($1))"
            " GROUP BY 1", ids)),
        "sight": sorted(tuple(r) for r in await conn.fetch(
            "SELECT case_id::text, tenant_id::text FROM case_sight WHERE case_id::text ="
            " ANY ($1)", ids)),
        "clocks": sorted(tuple(r) for r in await conn.fetch(
            "SELECT case_id::text, metric, started_at, deadline FROM case_clocks"
            " WHERE case_id::text = ANY ($1)", ids)),
    }
    for table in DISPUTE_TABLES:
        key = "case_id" if table == "case_disputes" else "dispute_id"
        scope = ("case_id::text = ANY ($1)" if table == "case_disputes" else
                 "dispute_id IN (SELECT id FROM case_disputes WHERE case_id::text = ANY ($1))")
        out[table] = sorted(tuple(r) for r in await conn.fetch(
            f"SELECT {key}::text, tenant_id::text FROM {table} WHERE {scope}", ids))
    return out


async def test_a_killed_consumer_moves_each_dispute_once_after_restart(
        client, sms, staff: Staff, owner, settings: Settings, app_sessions,  # noqa: F811
        tmp_path: Path) -> None:
    fed = staff.fed
    r1, r2, _ = fed.regions
    origin, dest = fed.stations[r1][0], fed.stations[r2][1]
    worker = await member_at(client, sms, staff, origin)
    s1 = staff.station[origin]
    cases = []
    for category, kind in (("commission", "unpaid_pay"), ("account_ban", "deactivation")):
        case = await post(client, s1, "", {"category": category, "description": "平台纠纷。",
                                           "channel": "station",
                                           "member_no": worker.body["member_no"]}, expect=201)
        url = f"/{case['id']}/dispute"
        await post(client, s1, url, {"kind": kind, "statement": "请平台说明并纠正。",
                                     "partner": "alpha"}, expect=201)
        await post(client, s1, f"{url}/steps", {"step": "reminder", "reason": "提示"})
        await post(client, s1, f"{url}/requests", {"slot": "platform_notice"
                                                   if kind == "deactivation" else "payroll",
                                                   "days": 5})
        cases.append(case["id"])
    tid = (await ask(client, worker, dest)).json()["id"]
    assert (await act(client, s1, tid, "release")).status_code == 200
    assert (await act(client, staff.region[r2], tid, "accept")).status_code == 200

    hq = fed.ids[fed.hq]
    origin_id, dest_id = str(fed.ids[origin]), str(fed.ids[dest])
    assert settings.database_url
    blocker = await asyncpg.connect(to_asyncpg(settings.database_url))
    first = second = None
    try:
        await blocker.execute("DELETE FROM jobs.pgqueuer")
        before = await snapshot(blocker, cases)
        assert set(before["cases"].values()) == {origin_id}
        assert {t for _, t in before["case_disputes"]} == {origin_id}
        # Hold the audit chain's head: the job moves the first case, then waits to audit it.
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute("SELECT * FROM audit_chain_head WHERE id = 1 FOR UPDATE")
        async with scoped(app_sessions, DbScope(hq, "hq_admin:tester")) as s, s.begin():
            await service.enqueue(s, "case-follow-transfer", federation_id=hq)
        first = start_worker(settings, tmp_path)

        async def stuck() -> list[int]:
            assert first is not None and first.poll() is None, first.communicate()
            return [r["pid"] for r in await blocker.fetch(
                "SELECT DISTINCT pid FROM pg_locks WHERE NOT granted"
                " AND pg_backend_pid() = ANY (pg_blocking_pids(pid))")]
        await until(lambda: _nonempty(stuck))
        (pid,) = await stuck()
        assert await blocker.fetchval("SELECT status::text FROM jobs.pgqueuer") == "picked"
        # mid-way: the stuck run has written cases and dispute rows (the trigger's UPDATE)
        written = {r["relname"] for r in await blocker.fetch(
            "SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
            " WHERE l.pid = $1 AND l.mode = 'RowExclusiveLock'", pid)}
        assert {"cases", "case_disputes", "dispute_steps", "case_events"} <= written, written

        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=10) == -signal.SIGKILL
        await tx.rollback()  # the dead worker's statement goes on, then meets a closed socket

        async def gone() -> bool:
            return not await blocker.fetchval("SELECT count(*) FROM pg_stat_activity"
                                              " WHERE pid = $1", pid)
        await until(gone)
        # Nothing of the killed run landed: not the first case's move, nor its dispute's.
        assert await snapshot(blocker, cases) == before
        assert await blocker.fetchval(
            "SELECT count(*) FROM domain_events WHERE kind = 'member.transferred'"
            " AND processed_at IS NULL AND payload->>'transfer_id' = $1", tid) == 1

        second = start_worker(settings, tmp_path)

        async def done() -> bool:
            return not await blocker.fetchval("SELECT count(*) FROM jobs.pgqueuer")
        await until(done)
        log = [r["status"] for r in await blocker.fetch(
            "SELECT status::text AS status FROM jobs.pgqueuer_log WHERE job_id ="
            " (SELECT max(job_id) FROM jobs.pgqueuer_log"
            " WHERE entrypoint = 'case-follow-transfer') ORDER BY id")]
        assert log == ["queued", "picked", "picked", "successful"]
        after = await snapshot(blocker, cases)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        await blocker.close()

    # Every dispute row of both cases moved, once.
    assert after["cases"] == {c: dest_id for c in cases}
    for table in DISPUTE_TABLES:
        assert len(after[table]) == len(before[table]) > 0, table
        assert {t for _, t in after[table]} == {dest_id}, table
    moved = [(c, n) for c, kind, n in after["events"] if kind == "moved"]
    assert sorted(moved) == sorted((c, 1) for c in cases)
    # no other event twice: the timeline is the one before, plus one move per case
    assert [e for e in after["events"] if e[1] != "moved"] == before["events"]
    audits = dict(after["audits"])
    assert audits.pop("case.moved") == 2
    assert sorted(audits.items()) == before["audits"]
    assert after["sight"] == sorted((c, origin_id) for c in cases)
    # the clocks kept their start and deadline
    assert after["clocks"] == before["clocks"]
    async with owner() as s:
        assert await s.scalar(text(
            "SELECT count(*) FROM domain_events WHERE kind = 'member.transferred'"
            " AND processed_at IS NULL AND payload->>'transfer_id' = :t"), {"t": tid}) == 0
    # the destination reads the dispute and takes the next rung
    d = staff.station[dest]
    nxt = await post(client, d, f"/{cases[0]}/dispute/steps", {
        "step": "consultation", "reason": "移交后会商", "minutes": "平台同意核对收入",
        "evidence_waiver": "工资表待平台提供"})
    assert [s["step"]["code"] for s in nxt["steps"]] == ["reminder", "consultation"]
