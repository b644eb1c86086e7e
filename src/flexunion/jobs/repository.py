"""The queue's SQL: pgqueuer's own queries, over the session's connection (enqueue in the
caller's transaction) or the worker's pool. The queue lives in the schema `jobs` (migration
0014 installs it with pgqueuer's query builder and the same names)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from pgqueuer.adapters.drivers.asyncpg import AsyncpgDriver
from pgqueuer.adapters.persistence.qb import (
    DBSettings,
    QueryBuilderEnvironment,
    QueryQueueBuilder,
    QuerySchedulerBuilder,
)
from pgqueuer.adapters.persistence.queries import Queries
from pgqueuer.domain.types import Channel
from pgqueuer.ports.driver import Driver
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

SCHEMA = "jobs"
CHANNEL = "flexunion_jobs"
_FEDERATIONS = text("SELECT * FROM flexunion_job_federations()")
_JOBS = text("SELECT id, entrypoint, status::text AS status, attempts, dedupe_key, payload"
             " FROM jobs.pgqueuer ORDER BY id")


def db_settings() -> DBSettings:
    """The names migration 0014 installed (explicit: PGQUEUER_* variables change nothing)."""
    return DBSettings(prefix="", db_schema=SCHEMA, channel=Channel(CHANNEL))


def queries(driver: Driver) -> Queries:
    settings = db_settings()
    return Queries(driver, qbe=QueryBuilderEnvironment(settings),
                   qbq=QueryQueueBuilder(settings), qbs=QuerySchedulerBuilder(settings))


async def insert(session: AsyncSession, entrypoint: str, body: bytes, *,
                 dedupe_key: str | None, delay: timedelta | None) -> int | None:
    """One job row through the session's own asyncpg connection, inside its transaction
    (which `session.connection()` begins, scope set, if it has not yet). None: a job with
    this dedupe key is queued or running already."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    ids = await queries(AsyncpgDriver(raw.driver_connection)).enqueue(
        entrypoint, body, 0, delay, dedupe_key, on_conflict="skip")
    return int(ids[0]) if ids and ids[0] is not None else None


async def federations(session: AsyncSession) -> list[uuid.UUID]:
    """Every federation (its HQ tenant id), visible to a job's system principal only."""
    return list((await session.scalars(_FEDERATIONS)).all())


async def jobs(session: AsyncSession) -> list[dict[str, Any]]:
    """The jobs queued or running (for operators and tests)."""
    return [dict(row._mapping) for row in await session.execute(_JOBS)]
