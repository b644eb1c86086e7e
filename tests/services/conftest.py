"""Arranging the services tests: HQ's catalogue from the demo federation's own file
(tenants/demo/services.yaml), the demo federation's service groups applied to a test
federation (as `tenants apply` applies them), app-role sessions for the job, members with
their own rider ids, a partner's events, and running the queued `service-groups` jobs."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.config import Settings
from flexunion.db.engine import make_engine, make_sessionmaker
from flexunion.jobs import service as jobs
from flexunion.services.catalogue import files as service_files
from flexunion.services.groups import files as group_files
from tests.support.factories import Federation, Joined, bearer, join

DEMO_GROUPS = Path(__file__).parents[2] / "tenants" / "demo" / group_files.FILE_NAME
DEMO_SERVICES = Path(__file__).parents[2] / "tenants" / "demo" / service_files.FILE_NAME
EVENTS = "/v1/partner/services/events"


@pytest.fixture
async def app_sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    assert settings.app_database_url
    engine = make_engine(settings.app_database_url, pool_size=2, max_overflow=2)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def load_groups(owner: async_sessionmaker[AsyncSession], fed: Federation,
                      path: Path = DEMO_GROUPS) -> list[str]:
    notes: list[str] = []
    spec = group_files.load(path)
    async with owner() as s, s.begin():
        await group_files.plan(s, spec, fed.ids[fed.hq], True,
                               lambda action, kind, code, _f: notes.append(f"{action}:{code}"))
    return notes


async def drain(owner: Any, app_sessions: Any, settings: Settings, clock: Any,
                fed: Federation) -> int:
    """Run (and remove) the queued `service-groups` jobs of `fed`, as the worker would."""
    async with owner() as s, s.begin():
        rows = (await s.execute(text(
            "DELETE FROM jobs.pgqueuer WHERE entrypoint = 'service-groups'"
            " AND convert_from(payload, 'UTF8')::jsonb->>'federation_id' = :f"
            " RETURNING payload"), {"f": str(fed.ids[fed.hq])})).all()
    for (payload,) in rows:
        await jobs.run("service-groups", payload, sessions=app_sessions, settings=settings,
                       clock=clock)
    return len(rows)


async def drift(app_sessions: Any, settings: Settings, clock: Any, fed: Federation) -> None:
    """The daily drift run: everyone."""
    await jobs.run("service-groups", msgspec.json.encode(jobs.Body(fed.ids[fed.hq], {})),
                   sessions=app_sessions, settings=settings, clock=clock)


async def member(client: httpx.AsyncClient, sms: Any, fed: Federation, staff_token: Any,
                 *, region: int = 0, rider: str | None = None, at: str | None = None,
                 **over: Any) -> tuple[Joined, str]:
    """A member approved at a region (or at tenant `at` of it), with a rider id of alpha's
    of their own."""
    rider = rider or "R" + secrets.token_hex(5)
    approver = await staff_token(fed, "regional_admin", fed.regions[region])
    code = at or fed.regions[region]
    joined = await join(client, sms, fed, code, approver_token=approver,
                        platforms=[{"partner": "alpha", "platform_worker_id": rider}], **over)
    return joined, rider


async def push(client: httpx.AsyncClient, token: str, *events: dict[str, Any],
               key: str | None = None) -> httpx.Response:
    return await client.post(EVENTS, json={"events": list(events)},
                             headers=bearer(token)
                             | {"Idempotency-Key": key or secrets.token_hex(8)})


async def open_groups(owner: Any, member_id: str) -> dict[str, dict[str, Any]]:
    async with owner() as s:
        rows = (await s.execute(text(
            "SELECT group_code, why FROM member_groups WHERE member_id = :m AND until IS NULL"),
            {"m": member_id})).all()
    return {r[0]: r[1] for r in rows}


async def load_services(owner: async_sessionmaker[AsyncSession], fed: Federation) -> list[str]:
    """Apply the demo catalogue to `fed`; the changes noted, as `tenants apply` notes them."""
    notes: list[str] = []
    spec = service_files.load(DEMO_SERVICES)
    async with owner() as s, s.begin():
        await service_files.plan(s, spec, fed.ids[fed.hq], True,
                                 lambda action, kind, code, _f: notes.append(f"{action}:{code}"))
    return notes
