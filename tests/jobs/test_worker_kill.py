"""`flexunion worker` killed (SIGKILL) in the middle of a job: nothing it did lands, the job
is picked again by the next worker once its heartbeat is stale, and its effect happens once.
SIGTERM stops a worker cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
from sqlalchemy import text

from flexunion.config import Settings
from flexunion.db.scope import DbScope
from flexunion.db.urls import to_asyncpg
from flexunion.jobs import service
from tests.conftest import TEST_ISSUER, TEST_SECRET
from tests.jobs.conftest import due_transfer, scoped, transfer_state
from tests.support.factories import Federation

SCRIPT = Path(sys.executable).with_name("flexunion")
HEARTBEAT = 2.0


def start_worker(settings: Settings, tmp_path: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FLEXUNION_") and k != "DATABASE_URL"}
    env.update({"DATABASE_URL": settings.database_url or "",
                "FLEXUNION_APP_DATABASE_URL": settings.app_database_url or "",
                "FLEXUNION_SECRET_KEY": TEST_SECRET, "FLEXUNION_ISSUER": TEST_ISSUER,
                "FLEXUNION_DATA_DIR": str(tmp_path / "data"), "FLEXUNION_LOG_LEVEL": "WARNING",
                "FLEXUNION_JOBS_HEARTBEAT_SECONDS": str(HEARTBEAT),
                # Only queued jobs: the schedules would act on every test's federation.
                "FLEXUNION_JOBS_SCHEDULES": "0"})
    return subprocess.Popen([str(SCRIPT), "worker"], env=env, cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


async def until(check, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_a_killed_workers_job_runs_again_and_lands_once(
    client, sms, federation: Federation, staff_token, owner, app_sessions, settings: Settings,
    tmp_path: Path,
) -> None:
    tid = await due_transfer(client, sms, federation, staff_token, owner)
    fed = federation.ids[federation.hq]
    assert settings.database_url
    blocker = await asyncpg.connect(to_asyncpg(settings.database_url))
    first = second = None
    try:
        # Hold the audit chain's head: the job's audit row (the last thing it writes) waits.
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute("SELECT * FROM audit_chain_head WHERE id = 1 FOR UPDATE")
        async with scoped(app_sessions, DbScope(fed, "hq_admin:tester")) as s, s.begin():
            await service.enqueue(s, "auto-release", federation_id=fed)

        first = start_worker(settings, tmp_path)

        async def stuck() -> list[int]:
            assert first is not None and first.poll() is None, first.communicate()
            # pg_stat_activity hides other roles' queries from the owner; pg_locks does not.
            return [r["pid"] for r in await blocker.fetch(
                "SELECT DISTINCT pid FROM pg_locks WHERE NOT granted"
                " AND pg_backend_pid() = ANY (pg_blocking_pids(pid))")]
        try:
            await until(lambda: _nonempty(stuck))
        except AssertionError:
            rows = await blocker.fetch("SELECT pid, usename, application_name, state,"
                                       " wait_event_type, left(query, 120) AS q"
                                       " FROM pg_stat_activity WHERE usename IS NOT NULL")
            jobs = await blocker.fetch("SELECT * FROM jobs.pgqueuer")
            first.kill()
            raise AssertionError([dict(r) for r in rows], [dict(j) for j in jobs],
                                 first.communicate()) from None
        (pid,) = await stuck()
        job = await blocker.fetchrow("SELECT status::text, attempts FROM jobs.pgqueuer")
        assert job["status"] == "picked"
        status, _ = await transfer_state(owner, tid)
        assert status == "requested"  # the released row is not committed

        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=10) == -signal.SIGKILL
        await tx.rollback()  # the dead worker's statement goes on, then meets a closed socket

        async def gone() -> bool:
            return not await blocker.fetchval("SELECT count(*) FROM pg_stat_activity"
                                              " WHERE pid = $1", pid)
        await until(gone)
        assert await transfer_state(owner, tid) == ("requested", [])
        assert await blocker.fetchval("SELECT status::text FROM jobs.pgqueuer") == "picked"

        second = start_worker(settings, tmp_path)

        async def done() -> bool:
            return not await blocker.fetchval("SELECT count(*) FROM jobs.pgqueuer")
        await until(done)
        assert await transfer_state(owner, tid) == ("released", ["system:jobs:auto-release"])
        log = [r["status"] for r in await blocker.fetch(
            "SELECT status::text AS status FROM jobs.pgqueuer_log WHERE job_id ="
            " (SELECT max(job_id) FROM jobs.pgqueuer_log WHERE entrypoint = 'auto-release')"
            " ORDER BY id")]
        assert log == ["queued", "picked", "picked", "successful"]

        second.send_signal(signal.SIGTERM)
        _, err = second.communicate(timeout=30)
        assert second.returncode == 0, err
        assert "flexunion worker stopped" in err
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        await blocker.close()
    async with owner() as s:
        assert await s.scalar(text("SELECT count(*) FROM audit_events"
                                   " WHERE action = 'transfer.released' AND object_id = :t"),
                              {"t": tid}) == 1


async def _nonempty(check) -> bool:
    return bool(await check())
