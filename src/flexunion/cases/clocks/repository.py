"""Queries for the SLA clocks. Row-level security shows a clock to whoever sees its case, and
to the federation's system principals (the SLA jobs; migration 0017)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Integer, literal_column, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.clocks.models import CaseClock
from flexunion.cases.models import Case
from flexunion.db.rows import add as add
from flexunion.db.rows import flush as flush


def _n(limit: int):  # type: ignore[no-untyped-def]
    return literal_column(str(int(limit)), Integer())


async def of_case(session: AsyncSession, case_id: uuid.UUID, *,
                  lock: bool = False) -> Sequence[CaseClock]:
    stmt = select(CaseClock).where(CaseClock.case_id == case_id).order_by(CaseClock.started_at,
                                                                          CaseClock.metric)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).all()


async def overdue(session: AsyncSession, now: datetime, *,
                  after: tuple[datetime, uuid.UUID] | None, limit: int) -> Sequence[CaseClock]:
    """Open clocks whose deadline has passed by `now` (the cached state may still say
    running: time breaches a clock, not an event), oldest deadline first, along the partial
    index ix_case_clocks_open_deadline. The page size is a literal (docs/architecture.md: a
    generic plan that cannot see the LIMIT chooses badly)."""
    stmt = (select(CaseClock).where(CaseClock.ended_at.is_(None), CaseClock.deadline < now)
            .order_by(CaseClock.deadline, CaseClock.id).limit(_n(limit)))
    if after is not None:
        stmt = stmt.where(tuple_(CaseClock.deadline, CaseClock.id) > tuple_(*after))
    return (await session.scalars(stmt)).all()


async def due_between(session: AsyncSession, start: datetime, end: datetime,
                      limit: int) -> Sequence[CaseClock]:
    """Open clocks with a deadline in [start, end), soonest first (the same partial index)."""
    return (await session.scalars(
        select(CaseClock).where(CaseClock.ended_at.is_(None), CaseClock.deadline >= start,
                                CaseClock.deadline < end)
        .order_by(CaseClock.deadline, CaseClock.id).limit(_n(limit)))).all()


async def cases(session: AsyncSession, case_ids: Sequence[uuid.UUID]) -> Sequence[Case]:
    if not case_ids:
        return []
    return (await session.scalars(select(Case).where(Case.id.in_(list(case_ids))))).all()
