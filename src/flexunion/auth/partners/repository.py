"""Queries for partner clients. The token endpoint reads in a scope narrowed to the one
client a request names (`login:client:<client_id>`); a partner then sees its own client."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.auth.models import PartnerClient


async def client_by_client_id(session: AsyncSession, client_id: str) -> PartnerClient | None:
    return await session.scalar(select(PartnerClient).where(PartnerClient.client_id == client_id))


async def record_use(session: AsyncSession, client_id: uuid.UUID, at: datetime) -> None:
    await session.execute(
        update(PartnerClient).where(PartnerClient.id == client_id).values(last_used_at=at))


async def add(session: AsyncSession, client: PartnerClient) -> None:
    session.add(client)
    await session.flush()


async def visible_clients(session: AsyncSession) -> Sequence[PartnerClient]:
    """The clients anchored in the caller's subtree (row-level security decides), newest
    first."""
    return (await session.scalars(select(PartnerClient).order_by(
        PartnerClient.created_at.desc(), PartnerClient.id))).all()


async def client_by_id(session: AsyncSession, client_id: uuid.UUID, *,
                       lock: bool = False) -> PartnerClient | None:
    stmt = select(PartnerClient).where(PartnerClient.id == client_id)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def flush(session: AsyncSession) -> None:
    await session.flush()
