"""Every job a worker can run, by name.

A domain's job is a plain async function in that domain (e.g. transfers/jobs.py) taking
an `AsyncSession` and what it needs; `tasks.py` registers an entrypoint that calls it:

    @register("auto-release")
    async def auto_release(run: JobRun) -> int:
        return len(await transfers_jobs.auto_release(run.session, run.now,
                                                     federation_id=run.federation_id))

The runner (service.run) gives each run one transaction on the app role's connection,
under row-level security, with the scope `DbScope(<the federation's HQ>,
"system:jobs:<name>")` — or no tenant for a service-wide entrypoint
(`per_federation=False`) — and commits when the handler returns. A run may be repeated
(a worker killed after the commit and before pgqueuer marked the job done, or a retry):
handlers must be idempotent, e.g. by re-reading and locking the rows they change."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import Settings

PRINCIPAL_PREFIX = "system:jobs:"


@dataclass(frozen=True, slots=True)
class JobRun:
    """What a handler gets: its session (scoped, in a transaction), the federation it runs
    for (None for a service-wide job), the payload it was queued with, the time, settings."""

    session: AsyncSession
    federation_id: uuid.UUID | None
    payload: dict[str, Any]
    now: datetime
    settings: Settings


Handler = Callable[[JobRun], Awaitable[int | None]]


@dataclass(frozen=True, slots=True)
class Entrypoint:
    name: str
    handler: Handler
    per_federation: bool = True

    @property
    def principal(self) -> str:
        """The database principal the job acts as (RLS policies and the audit trail)."""
        return PRINCIPAL_PREFIX + self.name


ENTRYPOINTS: dict[str, Entrypoint] = {}


def register(name: str, *, per_federation: bool = True) -> Callable[[Handler], Handler]:
    """Register `handler` under `name` (lower-case words and dashes, unique)."""
    if not name.replace("-", "").isalnum() or name != name.lower():
        raise ValueError(f"job names are lower-case words and dashes: {name!r}")

    def add(handler: Handler) -> Handler:
        if name in ENTRYPOINTS and ENTRYPOINTS[name].handler is not handler:
            raise RuntimeError(f"job {name!r} is registered twice")
        ENTRYPOINTS[name] = Entrypoint(name, handler, per_federation)
        return handler

    return add


def entrypoint(name: str) -> Entrypoint:
    try:
        return ENTRYPOINTS[name]
    except KeyError:
        raise LookupError(f"no job named {name!r} (jobs/tasks.py registers them)") from None
