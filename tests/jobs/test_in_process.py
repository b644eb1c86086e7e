"""`flexunion serve` runs the job worker beside the API with the embedded database (the
quick start), not against a configured one unless asked; the in-process worker runs jobs
and stops with the server."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import replace

from sqlalchemy import text

from flexunion.cli.serve import worker_beside, worker_wanted
from flexunion.config import JobSettings, Settings
from flexunion.db.scope import DbScope
from flexunion.jobs import service
from tests.jobs.conftest import due_transfer, scoped, transfer_state
from tests.support.factories import Federation


def test_when_serve_runs_a_worker(settings: Settings) -> None:
    unset = replace(settings, jobs=JobSettings())
    assert worker_wanted(unset, None, embedded=True) is True
    assert worker_wanted(unset, None, embedded=False) is False
    assert worker_wanted(unset, False, embedded=True) is False  # --no-worker
    assert worker_wanted(unset, True, embedded=False) is True   # --worker
    told = replace(settings, jobs=JobSettings(in_process=False))
    assert worker_wanted(told, None, embedded=True) is False
    assert worker_wanted(told, True, embedded=True) is True


async def test_the_in_process_worker_runs_jobs_and_stops_with_the_server(
    client, sms, federation: Federation, staff_token, owner, app_sessions, settings: Settings,
) -> None:
    tid = await due_transfer(client, sms, federation, staff_token, owner)
    fed = federation.ids[federation.hq]
    quiet = replace(settings, jobs=JobSettings(schedules=False))

    stop = threading.Event()

    def serve_until_stopped() -> None:  # as `serve` does around uvicorn's run
        with worker_beside(quiet, True):
            stop.wait(30)

    async with scoped(app_sessions, DbScope(fed, "hq_admin:tester")) as s, s.begin():
        await service.enqueue(s, "auto-release", federation_id=fed)
    serving = asyncio.create_task(asyncio.to_thread(serve_until_stopped))
    deadline = time.monotonic() + 20
    while (await transfer_state(owner, tid))[0] != "released":
        assert time.monotonic() < deadline and not serving.done(), "the job did not run"
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(serving, 30)
    assert await transfer_state(owner, tid) == ("released", ["system:jobs:auto-release"])
    async with owner() as s:  # the worker's connections closed with it
        left = await s.scalar(text("SELECT count(*) FROM pg_stat_activity"
                                   " WHERE application_name = 'flexunion-worker'"))
    assert left == 0
