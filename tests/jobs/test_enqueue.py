"""A job is queued in the caller's transaction: rolled back, it never existed and never runs;
committed, it runs exactly once, on the app role, with its system principal."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import text

from flexunion.config import Settings
from flexunion.core import queue
from flexunion.db.scope import DbScope
from flexunion.jobs import service
from flexunion.jobs.worker import Worker
from tests.jobs.conftest import due_transfer, scoped, transfer_state
from tests.support.factories import Federation

STAFF = "regional_admin:tester"


async def queued(owner) -> list[tuple[str, str | None]]:
    async with owner() as s:
        rows = await s.execute(text("SELECT entrypoint, dedupe_key FROM jobs.pgqueuer"))
        return [(r.entrypoint, r.dedupe_key) for r in rows]


async def until(check, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_rolled_back_enqueue_never_runs_a_committed_one_runs_once(
    client, sms, federation: Federation, staff_token, owner, app_sessions, settings: Settings,
) -> None:
    fed = federation.ids[federation.hq]
    tid = await due_transfer(client, sms, federation, staff_token, owner)
    staff = DbScope(federation.ids[federation.regions[0]], STAFF)

    # A request that fails after queueing: its transaction rolls back, and the job with it.
    with pytest.raises(RuntimeError):
        async with scoped(app_sessions, staff) as s, s.begin():
            assert await service.enqueue(s, "auto-release", federation_id=fed) is not None
            assert len(await queued(owner)) == 0  # not visible before the commit either
            raise RuntimeError("the request failed after queueing")
    assert await queued(owner) == []

    worker = Worker(settings, schedules=())
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(worker.started.wait(), 20)
        await asyncio.sleep(1.0)  # a worker that runs: nothing queued, nothing done
        assert await transfer_state(owner, tid) == ("requested", [])

        async with scoped(app_sessions, staff) as s, s.begin():
            await service.enqueue(s, "auto-release", federation_id=fed)

        async def released() -> bool:
            return (await transfer_state(owner, tid))[0] == "released"
        await until(released)
        await until(lambda: _empty(owner))
        await asyncio.sleep(0.5)
    finally:
        worker.stop()
        await asyncio.wait_for(running, 20)
    assert await transfer_state(owner, tid) == ("released", ["system:jobs:auto-release"])
    async with owner() as s:
        log = (await s.scalars(text(
            "SELECT status::text FROM jobs.pgqueuer_log WHERE entrypoint = 'auto-release'"
            " AND job_id = (SELECT max(job_id) FROM jobs.pgqueuer_log"
            "               WHERE entrypoint = 'auto-release') ORDER BY id"))).all()
    assert log == ["queued", "picked", "successful"]  # picked once, done once


async def _empty(owner) -> bool:
    return await queued(owner) == []


async def test_a_dedupe_key_queues_once_while_the_job_waits(
    federation: Federation, owner, app_sessions,
) -> None:
    fed = federation.ids[federation.hq]
    async with scoped(app_sessions, DbScope(fed, "hq_admin:tester")) as s, s.begin():
        first = await service.enqueue(s, "auto-release", federation_id=fed, dedupe_key="k")
        again = await service.enqueue(s, "auto-release", federation_id=fed, dedupe_key="k")
        other = await service.enqueue(s, "auto-release", federation_id=fed, dedupe_key="k2",
                                      delay=timedelta(minutes=5))
    assert first is not None and again is None and other is not None
    assert sorted(await queued(owner)) == [("auto-release", "k"), ("auto-release", "k2")]


async def test_domains_queue_through_the_core_hook(
    federation: Federation, owner, app_sessions, live,
) -> None:
    # create_app() (the `live` server) installed the implementation a domain reaches.
    fed = federation.ids[federation.hq]
    async with scoped(app_sessions, DbScope(fed, "hq_admin:tester")) as s, s.begin():
        assert await queue.enqueue(s, "close-ballots", federation_id=fed) is not None
    assert await queued(owner) == [("close-ballots", None)]


async def test_what_cannot_be_queued(federation: Federation, app_sessions) -> None:
    fed = federation.ids[federation.hq]
    async with scoped(app_sessions, DbScope(fed, "hq_admin:tester")) as s, s.begin():
        with pytest.raises(LookupError):
            await service.enqueue(s, "no-such-job", federation_id=fed)
        with pytest.raises(ValueError, match="per federation"):
            await service.enqueue(s, "auto-release", federation_id=None)
        with pytest.raises(ValueError, match="service-wide"):
            await service.enqueue(s, "purge", federation_id=fed)
        with pytest.raises(ValueError, match="at most"):
            await service.enqueue(s, "auto-release", {"x": "y" * 5000}, federation_id=fed)
