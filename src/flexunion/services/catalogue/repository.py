"""服务目录 SQL (row-level security decides whose)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.db.rows import add, flush
from flexunion.services.catalogue.models import ServiceEntry, ServiceEvent

__all__ = ["add", "by_code", "by_id", "entries", "event", "events", "flush", "release_place",
           "take_place"]


async def by_code(session: AsyncSession, federation_id: uuid.UUID, code: str, *,
                  lock: bool = False) -> ServiceEntry | None:
    q = select(ServiceEntry).where(ServiceEntry.federation_id == federation_id,
                                   ServiceEntry.code == code)
    return (await session.scalars(q.with_for_update() if lock else q)).one_or_none()


async def by_id(session: AsyncSession, entry_id: uuid.UUID) -> ServiceEntry | None:
    return await session.get(ServiceEntry, entry_id)


async def entries(session: AsyncSession, federation_id: uuid.UUID) -> Sequence[ServiceEntry]:
    return (await session.scalars(select(ServiceEntry).where(
        ServiceEntry.federation_id == federation_id).order_by(ServiceEntry.created_at,
                                                               ServiceEntry.code))).all()


async def events(session: AsyncSession, service_id: uuid.UUID) -> Sequence[ServiceEvent]:
    return (await session.scalars(select(ServiceEvent).where(
        ServiceEvent.service_id == service_id).order_by(ServiceEvent.starts_on,
                                                         ServiceEvent.id))).all()


async def event(session: AsyncSession, event_id: uuid.UUID) -> ServiceEvent | None:
    return (await session.scalars(select(ServiceEvent).where(ServiceEvent.id == event_id)
                                  .execution_options(populate_existing=True))).one_or_none()


async def take_place(session: AsyncSession, event_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(func.flexunion_take_service_place(event_id))))


async def release_place(session: AsyncSession, event_id: uuid.UUID) -> None:
    await session.execute(select(func.flexunion_release_service_place(event_id)))
