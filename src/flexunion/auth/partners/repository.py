"""Queries for partner clients. The token endpoint reads in a scope narrowed to the one
client a request names (`login:client:<client_id>`); a partner then sees its own client."""

from __future__ import annotations

import uuid
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
