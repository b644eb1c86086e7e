"""Queries for check-ins and transfer suggestions. Row-level security shows a worker only
their own; the queries name the worker and federation too, so the owner (jobs, tests)
reads the same."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

# Re-exported for the service: the session calls every repository shares.
from flexunion.db.rows import add as add
from flexunion.db.rows import flush as flush
from flexunion.geo.checkins.models import LocationCheckin, TransferSuggestion

# ---- check-ins ------------------------------------------------------------------------------


async def stored_at(session: AsyncSession, member_id: uuid.UUID,
                    times: Sequence[datetime]) -> Sequence[LocationCheckin]:
    """The member's check-ins recorded at any of `times` (to recognise a re-sent point)."""
    return (await session.scalars(select(LocationCheckin).where(
        LocationCheckin.member_id == member_id,
        LocationCheckin.recorded_at.in_(list(times))))).all()


async def page(session: AsyncSession, worker_id: uuid.UUID, federation_id: uuid.UUID, *,
               after: tuple[datetime, uuid.UUID] | None, limit: int) -> Sequence[LocationCheckin]:
    """The worker's check-ins, newest first."""
    stmt = (select(LocationCheckin)
            .where(LocationCheckin.worker_id == worker_id,
                   LocationCheckin.federation_id == federation_id)
            .order_by(LocationCheckin.recorded_at.desc(), LocationCheckin.id.desc())
            .limit(limit))
    if after:
        stmt = stmt.where(tuple_(LocationCheckin.recorded_at, LocationCheckin.id) < tuple_(*after))
    return (await session.scalars(stmt)).all()


async def erase(session: AsyncSession, worker_id: uuid.UUID) -> int:
    """Delete every check-in of the worker; how many went."""
    # A DELETE answers with a cursor result, which has the row count.
    result = cast("CursorResult[Any]", await session.execute(
        delete(LocationCheckin).where(LocationCheckin.worker_id == worker_id)
        .execution_options(synchronize_session=False)))
    return result.rowcount or 0


async def voting_points(session: AsyncSession, member_id: uuid.UUID, *, after_day: date,
                        until_day: date, max_accuracy_m: float) -> Sequence[Any]:
    """(local_day, jurisdiction_tenant_id, lon, lat, accuracy_m) of the member's points on
    the days after `after_day` up to `until_day` that are accurate enough to vote."""
    return (await session.execute(
        select(LocationCheckin.local_day, LocationCheckin.jurisdiction_tenant_id,
               LocationCheckin.lon, LocationCheckin.lat, LocationCheckin.accuracy_m)
        .where(LocationCheckin.member_id == member_id,
               LocationCheckin.local_day > after_day, LocationCheckin.local_day <= until_day,
               (LocationCheckin.accuracy_m.is_(None))
               | (LocationCheckin.accuracy_m <= max_accuracy_m)))).all()


# ---- suggestions ----------------------------------------------------------------------------


async def open_suggestion(session: AsyncSession,
                          member_id: uuid.UUID) -> TransferSuggestion | None:
    return await session.scalar(select(TransferSuggestion).where(
        TransferSuggestion.member_id == member_id, TransferSuggestion.status == "offered"))


async def decided_since(session: AsyncSession, member_id: uuid.UUID,
                        since: datetime) -> set[uuid.UUID]:
    """Regions of the member's suggestions accepted or dismissed after `since`."""
    return set((await session.scalars(
        select(TransferSuggestion.to_tenant_id).where(
            TransferSuggestion.member_id == member_id,
            TransferSuggestion.status.in_(("dismissed", "accepted")),
            TransferSuggestion.decided_at > since))).all())


async def insert(session: AsyncSession, suggestion: TransferSuggestion) -> None:
    """Add and flush in a savepoint: a concurrent offer (IntegrityError) leaves the
    transaction usable."""
    async with session.begin_nested():
        session.add(suggestion)
        await session.flush()


async def dismiss_open(session: AsyncSession, worker_id: uuid.UUID) -> None:
    await session.execute(
        update(TransferSuggestion)
        .where(TransferSuggestion.worker_id == worker_id, TransferSuggestion.status == "offered")
        .values(status="dismissed", decided_at=func.now())
        .execution_options(synchronize_session=False))


async def suggestions(session: AsyncSession, worker_id: uuid.UUID,
                      federation_id: uuid.UUID) -> Sequence[TransferSuggestion]:
    return (await session.scalars(
        select(TransferSuggestion)
        .where(TransferSuggestion.worker_id == worker_id,
               TransferSuggestion.federation_id == federation_id)
        .order_by(TransferSuggestion.offered_at.desc(), TransferSuggestion.id))).all()


async def suggestion(session: AsyncSession, suggestion_id: uuid.UUID, worker_id: uuid.UUID,
                     federation_id: uuid.UUID, *, lock: bool = False) -> TransferSuggestion | None:
    stmt = select(TransferSuggestion).where(
        TransferSuggestion.id == suggestion_id, TransferSuggestion.worker_id == worker_id,
        TransferSuggestion.federation_id == federation_id)
    return await session.scalar(stmt.with_for_update() if lock else stmt)
