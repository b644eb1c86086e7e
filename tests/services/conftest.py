"""Arranging services rows for tests: HQ's catalogue from the demo federation's own file
(tenants/demo/services.yaml, applied as provisioning applies it) and an active member."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.services.catalogue import files as service_files
from tests.support.factories import Federation

DEMO_SERVICES = Path(__file__).parents[2] / "tenants" / "demo" / service_files.FILE_NAME


async def load_services(owner: async_sessionmaker[AsyncSession], fed: Federation) -> list[str]:
    """Apply the demo catalogue to `fed`; the changes noted, as `tenants apply` notes them."""
    notes: list[str] = []
    spec = service_files.load(DEMO_SERVICES)
    async with owner() as s, s.begin():
        await service_files.plan(s, spec, fed.ids[fed.hq], True,
                                 lambda action, kind, code, _f: notes.append(f"{action}:{code}"))
    return notes
