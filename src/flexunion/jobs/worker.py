"""The worker: pgqueuer's queue manager and scheduler over the app role's connections.

- Entrypoints (registry.py) are dequeued with `FOR UPDATE SKIP LOCKED`, so any number of
  worker processes share the queue. A job is run by `service.run` (its own session and
  transaction, RLS scope of its federation, system principal).
- A running job's heartbeat is written every `heartbeat_seconds / 2`; a job whose heartbeat
  is older than `heartbeat_seconds` (its worker was killed, its pod evicted) is picked again
  by the next dequeue of any worker. Its transaction died with its connection, so what it
  did is not there, and the run starts afresh.
- A handler that raises is retried (pgqueuer's DatabaseRetryEntrypointExecutor: backoff
  1 s, 2 s, 4 s… ≤ 5 min) up to `max_attempts` times, then held with status `failed`
  for an operator (docs/jobs.md). PostgreSQL away: the same.
- Schedules (schedule.py) are pgqueuer schedules: each fire is taken by one worker and
  queues the per-federation jobs (service.tick).

Never as the owner: the worker connects with the app role's URL and refuses to start if
that role could bypass row-level security."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import asyncpg
from pgqueuer.adapters.drivers.asyncpg import AsyncpgPoolDriver
from pgqueuer.core.applications import PgQueuer
from pgqueuer.core.executors import (
    DatabaseRetryEntrypointExecutor,
    EntrypointExecutorParameters,
)
from pgqueuer.domain.models import Job, Schedule
from pgqueuer.domain.types import Channel

import flexunion.db.registry  # noqa: F401  (every model: a job's rows name other domains' tables)
from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.db.engine import make_engine, make_sessionmaker
from flexunion.db.migrate import check_app_role
from flexunion.db.runtime import app_url
from flexunion.db.urls import to_asyncpg
from flexunion.jobs import repository as repo
from flexunion.jobs import service
from flexunion.jobs.registry import ENTRYPOINTS
from flexunion.jobs.schedule import SCHEDULES
from flexunion.jobs.schedule import Schedule as Periodic

log = logging.getLogger("flexunion.jobs")
APPLICATION_NAME = "flexunion-worker"


class Worker:
    """One worker process's queue manager and scheduler: `await run()` until `stop()`."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None,
                 schedules: tuple[Periodic, ...] | None = None) -> None:
        self.settings = settings
        self.clock = clock or Clock()
        self.schedules = (schedules if schedules is not None
                          else SCHEDULES if settings.jobs.schedules else ())
        self.started = asyncio.Event()
        self._pgq: PgQueuer | None = None
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()
        if self._pgq is not None:
            self._pgq.shutdown.set()

    async def run(self) -> None:
        settings, jobs = self.settings, self.settings.jobs
        url = app_url(settings)
        await check_app_role(url)
        service.install()
        engine = make_engine(url, pool_size=max(1, jobs.concurrency), max_overflow=1)
        sessions = make_sessionmaker(engine)
        pool = await asyncpg.create_pool(
            to_asyncpg(url), min_size=1, max_size=3,
            server_settings={"application_name": APPLICATION_NAME})
        try:
            driver = AsyncpgPoolDriver(pool)
            pgq = PgQueuer(driver, channel=Channel(repo.CHANNEL), queries=repo.queries(driver))
            retrying = _retrying(jobs.max_attempts)
            for name in ENTRYPOINTS:
                pgq.entrypoint(name, executor_factory=retrying, on_failure="hold")(
                    _runner(name, sessions, settings, self.clock))
            for periodic in self.schedules:
                pgq.schedule(f"schedule:{periodic.name}", periodic.cron)(
                    _ticker(periodic, sessions))
            self._pgq = pgq
            if self._stop.is_set():
                return
            self.started.set()
            log.info("job worker started", extra={"entrypoints": sorted(ENTRYPOINTS)})
            heartbeat = timedelta(seconds=jobs.heartbeat_seconds)
            await pgq.run(batch_size=max(1, jobs.concurrency // 2),
                          max_concurrent_tasks=max(2, jobs.concurrency),
                          heartbeat_timeout=heartbeat,
                          dequeue_timeout=min(timedelta(seconds=30), heartbeat))
        finally:
            await pool.close()
            await engine.dispose()


def _retrying(max_attempts: int):  # type: ignore[no-untyped-def]
    def factory(parameters: EntrypointExecutorParameters) -> DatabaseRetryEntrypointExecutor:
        return DatabaseRetryEntrypointExecutor(parameters, max_attempts=max_attempts)
    return factory


def _runner(name: str, sessions, settings: Settings, clock: Clock):  # type: ignore[no-untyped-def]
    async def run(job: Job) -> None:
        try:
            done = await service.run(name, job.payload, sessions=sessions, settings=settings,
                                     clock=clock, job_id=int(job.id))
        except Exception:  # retried by the executor; the log says why
            log.warning("job failed", exc_info=True,
                        extra={"job": name, "job_id": int(job.id), "attempts": job.attempts})
            raise
        log.info("job done", extra={"job": name, "job_id": int(job.id), "count": done,
                                    "attempts": job.attempts})
    run.__name__ = f"job_{name.replace('-', '_')}"
    return run


def _ticker(periodic: Periodic, sessions):  # type: ignore[no-untyped-def]
    async def tick(schedule: Schedule) -> None:
        queued = await service.tick(periodic, sessions=sessions)
        log.info("schedule fired", extra={"schedule": periodic.name, "queued": queued})
    tick.__name__ = f"schedule_{periodic.name.replace('-', '_')}"
    return tick
