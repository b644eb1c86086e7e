"""The job queue's tests: app-role sessions (what a job runs on), an empty queue around each
test (the test database is shared), and a transfer already past its release deadline."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.config import Settings
from flexunion.db.engine import bind_scope, make_engine, make_sessionmaker
from flexunion.db.scope import DbScope
from flexunion.jobs.service import Body
from tests.support.factories import Federation, bearer, join


@pytest.fixture
async def app_sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions as the app role (no scope bound: each test binds the one it means)."""
    assert settings.app_database_url
    engine = make_engine(settings.app_database_url, pool_size=2, max_overflow=2)
    yield make_sessionmaker(engine)
    await engine.dispose()


def scoped(sessions: async_sessionmaker[AsyncSession], scope: DbScope) -> AsyncSession:
    session = sessions()
    bind_scope(session, lambda: scope)
    return session


@pytest.fixture(autouse=True)
async def empty_queue(owner) -> AsyncIterator[None]:
    async def clear() -> None:
        async with owner() as s, s.begin():
            await s.execute(text("DELETE FROM jobs.pgqueuer"))
    await clear()
    yield
    await clear()


def body(federation_id: Any = None, **payload: Any) -> bytes:
    return msgspec.json.encode(Body(federation_id, payload))


async def due_transfer(client, sms, fed: Federation, staff_token, owner) -> str:
    """A member of the first region asked to move to the second, and the origin's deadline
    has passed (set behind the API's back: the worker runs on real time)."""
    r1, r2 = fed.regions[0], fed.regions[1]
    worker = await join(client, sms, fed, r1,
                        approver_token=await staff_token(fed, "regional_admin", r1))
    asked = await client.post("/v1/me/transfers", json={"to": r2},
                              headers=bearer(worker.token)
                              | {"Idempotency-Key": secrets.token_hex(8)})
    assert asked.status_code == 201, asked.text
    async with owner() as s, s.begin():
        await s.execute(text("UPDATE transfers SET release_due_at = now() - interval '1 minute'"
                             " WHERE id = :t"), {"t": asked.json()["id"]})
        # the approval queued the member's service-groups re-evaluation: not these tests'
        await s.execute(text("DELETE FROM jobs.pgqueuer WHERE entrypoint = 'service-groups'"))
    return str(asked.json()["id"])


async def transfer_state(owner, transfer_id: str) -> tuple[str, list[str]]:
    """The transfer's status and the actors of its `transfer.released` audit rows."""
    async with owner() as s:
        status = await s.scalar(text("SELECT status FROM transfers WHERE id = :t"),
                                {"t": transfer_id})
        actors = (await s.scalars(text(
            "SELECT actor FROM audit_events WHERE action = 'transfer.released'"
            " AND object_id = :t ORDER BY seq"), {"t": transfer_id})).all()
    return str(status), list(actors)
