"""Queries for the weekly review: the counts (one call of the SECURITY DEFINER aggregate,
migration 0032: counted in PostgreSQL, grouped by place and week, no per-case loop) and the
signal rows (upserted per region and week, the judgement kept)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.weekly.models import ReviewSignal

_COUNTS = text("SELECT source, dimension, place, detail, wk, n"
               " FROM flexunion_weekly_review_counts(CAST(:tenants AS uuid[]), :start)")


async def counts(session: AsyncSession, tenants: Sequence[uuid.UUID],
                 start: datetime) -> Sequence[Any]:
    """(source, dimension, place, detail, wk, n): wk 0 is the week, -1..-4 the ones before."""
    return (await session.execute(_COUNTS, {"tenants": list(tenants), "start": start})).all()


async def upsert(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert the signals, or refresh the figures of one already there (judgement kept)."""
    if not rows:
        return
    stmt = insert(ReviewSignal).values(list(rows))
    keep = ("value", "baseline", "spread", "threshold", "why_zh", "why_en", "computed_at",
            "place_tenant_id")
    await session.execute(stmt.on_conflict_do_update(
        constraint="uq_review_signals_place",
        set_={name: stmt.excluded[name] for name in keep}))


async def drop_stale(session: AsyncSession, region_id: uuid.UUID, week: str,
                     keys: Sequence[tuple[str, str, str, str]]) -> int:
    """Delete the region's unjudged signals of the week that are not among `keys`."""
    stmt = delete(ReviewSignal).where(ReviewSignal.tenant_id == region_id,
                                      ReviewSignal.week == week,
                                      ReviewSignal.judged_at.is_(None))
    if keys:
        stmt = stmt.where(tuple_(ReviewSignal.kind, ReviewSignal.dimension, ReviewSignal.place,
                                 ReviewSignal.detail).not_in(list(keys)))
    result: Any = await session.execute(stmt)
    return int(result.rowcount or 0)


async def signals(session: AsyncSession, week: str, *,
                  region_ids: Sequence[uuid.UUID] | None = None) -> Sequence[ReviewSignal]:
    stmt = select(ReviewSignal).where(ReviewSignal.week == week)
    if region_ids is not None:
        stmt = stmt.where(ReviewSignal.tenant_id.in_(region_ids))
    return (await session.scalars(stmt.order_by(ReviewSignal.kind, ReviewSignal.dimension,
                                                ReviewSignal.place,
                                                ReviewSignal.detail))).all()


async def signal(session: AsyncSession, signal_id: uuid.UUID, *,
                 lock: bool = False) -> ReviewSignal | None:
    stmt = select(ReviewSignal).where(ReviewSignal.id == signal_id)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def count(session: AsyncSession, region_id: uuid.UUID, week: str) -> int:
    rows = await session.scalars(select(ReviewSignal.id).where(
        ReviewSignal.tenant_id == region_id, ReviewSignal.week == week))
    return len(rows.all())
