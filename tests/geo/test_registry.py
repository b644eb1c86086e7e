"""The per-instance index registry: one load per version, and a poll when NOTIFY is lost."""

from __future__ import annotations

import asyncio

from flexunion.app import app_database_url
from flexunion.config import Settings
from flexunion.db.urls import to_asyncpg
from flexunion.geo.registry import GeoRegistry
from tests.support.factories import Federation
from tests.support.geo import seed_area, square


async def wait_for(predicate, seconds: float = 5.0) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_without_notifications_the_version_poll_still_catches_changes(
    settings: Settings, owner, federation: Federation, monkeypatch,
) -> None:
    async def no_listener(self: GeoRegistry) -> None:
        self._listener = None  # as if LISTEN failed or the connection dropped for good

    monkeypatch.setattr(GeoRegistry, "_listen", no_listener)
    registry = GeoRegistry(to_asyncpg(app_database_url(settings)), poll_seconds=0.2)
    await registry.start()
    try:
        fed = federation.ids[federation.hq]
        first = await registry.get(fed)
        assert len(first.areas) == 0 and registry.loads == 1
        assert await registry.get(fed) is first  # no reload without a change
        await seed_area(owner, federation, federation.regions[0], "jurisdiction", "late",
                        square(121.40, 31.15, 121.45, 31.25))

        async def seen() -> bool:
            return len((await registry.get(fed)).areas) == 1

        assert await wait_for(seen)
        assert registry.loads == 2
        assert (await registry.get(fed)).version > first.version
    finally:
        await registry.close()


async def test_concurrent_requests_share_one_load(settings: Settings,
                                                  federation: Federation) -> None:
    registry = GeoRegistry(to_asyncpg(app_database_url(settings)), poll_seconds=60)
    await registry.start()
    try:
        fed = federation.ids[federation.hq]
        snaps = await asyncio.gather(*(registry.get(fed) for _ in range(50)))
        assert registry.loads == 1 and all(s is snaps[0] for s in snaps)
    finally:
        await registry.close()
