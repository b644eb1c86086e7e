"""Queueing jobs and running them.

- `enqueue` writes the job through the caller's session, in its transaction: a request
  that rolls back queued nothing, a committed one queued its job exactly once. With a
  `dedupe_key`, a job with the same key still waiting or running is not queued again
  (pgqueuer's partial unique index; the call answers None).
- `run` runs one job: one transaction on the app role's connection (never the owner's),
  under RLS, scoped to the federation's HQ with the job's system principal
  (`system:jobs:<name>`), committed when the handler returns. What it writes to the audit
  trail names that principal.
- `tick` is a schedule firing: one job per federation (or one for a service-wide
  entrypoint), all queued in one transaction.

A payload holds ids and small values only — never names, phones or ID numbers: the queue
is not under row-level security (docs/jobs.md)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.config import Settings
from flexunion.core import queue
from flexunion.core.clock import Clock
from flexunion.db import rls
from flexunion.db.engine import bind_scope
from flexunion.db.scope import DbScope
from flexunion.jobs import repository as repo
from flexunion.jobs import tasks  # noqa: F401  (registers the entrypoints)
from flexunion.jobs.registry import JobRun, entrypoint
from flexunion.jobs.schedule import Schedule

MAX_PAYLOAD = 4096  # bytes of JSON: ids and small values, never documents


class Body(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    federation_id: uuid.UUID | None = None
    payload: dict[str, Any] = {}


async def enqueue(session: AsyncSession, entrypoint_name: str,
                  payload: dict[str, Any] | None = None, *, federation_id: uuid.UUID | None,
                  dedupe_key: str | None = None, delay: timedelta | None = None) -> int | None:
    """Queue job `entrypoint_name` in the session's transaction: its id, or None if a job
    with `dedupe_key` is queued or running already."""
    name = entrypoint_name
    job = entrypoint(name)
    if job.per_federation and federation_id is None:
        raise ValueError(f"job {name!r} runs per federation: give federation_id")
    if not job.per_federation and federation_id is not None:
        raise ValueError(f"job {name!r} is service-wide: it takes no federation_id")
    body = msgspec.json.encode(Body(federation_id, payload or {}))
    if len(body) > MAX_PAYLOAD:
        raise ValueError(f"a job's payload is at most {MAX_PAYLOAD} bytes of JSON")
    return await repo.insert(session, name, body, dedupe_key=dedupe_key, delay=delay)


def install() -> None:
    """Make `flexunion.core.queue.enqueue` (what the domains call) queue through here."""
    queue.install(enqueue)


def decode(body: bytes | None) -> Body:
    return msgspec.json.decode(body or b"{}", type=Body)


async def run(name: str, body: bytes | None, *, sessions: async_sessionmaker[AsyncSession],
              settings: Settings, clock: Clock, job_id: int | None = None) -> int | None:
    """Run one job in its own transaction and scope; the handler's count (for the log)."""
    job = entrypoint(name)
    data = decode(body)
    if job.per_federation and data.federation_id is None:
        raise ValueError(f"job {name!r} was queued without a federation")
    scope = DbScope(data.federation_id if job.per_federation else None, job.principal,
                    request_id=f"job:{job_id}" if job_id is not None else "")
    async with sessions() as session:
        bind_scope(session, lambda: scope)
        async with session.begin():
            if job.per_federation and await rls.current_federation(session) \
                    != data.federation_id:  # a region's or a missing tenant's id: refuse
                raise ValueError(f"job {name!r}: {data.federation_id} is no federation")
            return await job.handler(JobRun(session, data.federation_id, data.payload,
                                            clock.now(), settings))


async def tick(schedule: Schedule, *, sessions: async_sessionmaker[AsyncSession]) -> int:
    """A schedule fired: queue its entrypoint per federation (or once); how many queued."""
    job = entrypoint(schedule.entrypoint)
    scope = DbScope(None, job.principal)
    queued = 0
    async with sessions() as session:
        bind_scope(session, lambda: scope)
        async with session.begin():
            targets: list[uuid.UUID | None] = (
                list(await repo.federations(session)) if job.per_federation else [None])
            for federation_id in targets:
                key = f"{schedule.name}:{federation_id or 'all'}"
                if await enqueue(session, job.name, federation_id=federation_id,
                                 dedupe_key=key) is not None:
                    queued += 1
    return queued


async def waiting(session: AsyncSession) -> list[dict[str, Any]]:
    """The jobs queued or running, decoded (operators, tests)."""
    rows = await repo.jobs(session)
    for row in rows:
        row["payload"] = msgspec.to_builtins(decode(row["payload"]))
    return rows
