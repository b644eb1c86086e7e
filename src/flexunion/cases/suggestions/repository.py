"""Queries for the suggestion link: the station a link names, the hour's count, the case a
pick-up code names."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.ledger.models import Case
from flexunion.db.rows import add as add
from flexunion.db.rows import flush as flush

_STATION = text("SELECT id, federation_id, name_zh, name_en"
                " FROM flexunion_suggestion_station(:code)")
_WINDOW = text("SELECT n, oldest FROM flexunion_suggestion_window(:station, :since)")
# One suggestion at a time per station, until the transaction ends: the window is counted
# after the lock, so simultaneous suggestions cannot all pass a nearly full window.
_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


async def by_pickup(session: AsyncSession, pickup_hash: str) -> Case | None:
    return await session.scalar(select(Case).where(Case.pickup_hash == pickup_hash))


async def suggestion_station(session: AsyncSession,
                             code: str) -> tuple[uuid.UUID, uuid.UUID, str, str] | None:
    row = (await session.execute(_STATION, {"code": code})).first()
    return (row.id, row.federation_id, row.name_zh, row.name_en) if row else None


async def lock_station(session: AsyncSession, station_id: uuid.UUID) -> None:
    await session.execute(_LOCK, {"key": f"suggestions:{station_id}"})


async def window(session: AsyncSession, station_id: uuid.UUID,
                 since: datetime) -> tuple[int, datetime | None]:
    """How many suggestions the station took since `since`, and the oldest of them."""
    row = (await session.execute(_WINDOW, {"station": station_id, "since": since})).one()
    return int(row.n), row.oldest
