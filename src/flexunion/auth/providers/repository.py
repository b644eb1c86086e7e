"""Queries for referral providers' clients. The token endpoint reads in a scope narrowed to
the one client a request names (`login:client:<client_id>`); a provider then sees its own
client; HQ and regional admins the clients of providers kept in their subtree."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.auth.models import ProviderClient
from flexunion.db.rows import add as add
from flexunion.db.rows import flush as flush


async def client_by_client_id(session: AsyncSession, client_id: str) -> ProviderClient | None:
    return await session.scalar(select(ProviderClient)
                                .where(ProviderClient.client_id == client_id))


async def record_use(session: AsyncSession, row_id: uuid.UUID, at: datetime) -> None:
    await session.execute(
        update(ProviderClient).where(ProviderClient.id == row_id).values(last_used_at=at))


async def clients_of(session: AsyncSession, provider_id: uuid.UUID) -> Sequence[ProviderClient]:
    """A provider's clients the caller sees (row-level security decides), newest first."""
    return (await session.scalars(
        select(ProviderClient).where(ProviderClient.provider_id == provider_id)
        .order_by(ProviderClient.created_at.desc(), ProviderClient.id))).all()


async def client_of(session: AsyncSession, provider_id: uuid.UUID, row_id: uuid.UUID, *,
                    lock: bool = False) -> ProviderClient | None:
    stmt = select(ProviderClient).where(ProviderClient.id == row_id,
                                        ProviderClient.provider_id == provider_id)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)
