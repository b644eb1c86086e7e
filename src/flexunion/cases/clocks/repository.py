"""Queries for the SLA clocks. Row-level security shows a clock to whoever sees its case, and
to the federation's system principals (the SLA jobs; migration 0017)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import DateTime, Integer, Text, cast, exists, literal_column, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.clocks.models import CaseClock
from flexunion.cases.ledger.models import Case, CaseEvent
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


# ---- the SLA sweep (临期提醒, 超期升级) and the 督办 list --------------------------------------


def _marked(kind: str, *, same_deadline: bool = False):  # type: ignore[no-untyped-def]
    """EXISTS an event of `kind` naming the clock (and, for a reminder, its deadline)."""
    cond = [CaseEvent.case_id == CaseClock.case_id, CaseEvent.kind == kind,
            CaseEvent.details["clock_id"].astext == cast(CaseClock.id, Text)]
    if same_deadline:
        cond.append(cast(CaseEvent.details["deadline"].astext, DateTime(timezone=True))
                    == CaseClock.deadline)
    return exists().where(*cond)


async def unescalated_breaches(session: AsyncSession, now: datetime, *,
                               after: tuple[datetime, uuid.UUID] | None,
                               limit: int) -> Sequence[CaseClock]:
    """Open clocks past their deadline with no `escalation` event yet, oldest first."""
    stmt = (select(CaseClock).where(CaseClock.ended_at.is_(None), CaseClock.deadline < now,
                                    ~_marked("escalation"))
            .order_by(CaseClock.deadline, CaseClock.id).limit(_n(limit)))
    if after is not None:
        stmt = stmt.where(tuple_(CaseClock.deadline, CaseClock.id) > tuple_(*after))
    return (await session.scalars(stmt)).all()


async def unreminded_between(session: AsyncSession, start: datetime, end: datetime, *,
                             after: tuple[datetime, uuid.UUID] | None,
                             limit: int) -> Sequence[CaseClock]:
    """Open clocks with a deadline in [start, end) not reminded for that deadline yet."""
    stmt = (select(CaseClock).where(CaseClock.ended_at.is_(None), CaseClock.deadline >= start,
                                    CaseClock.deadline < end,
                                    ~_marked("reminder", same_deadline=True))
            .order_by(CaseClock.deadline, CaseClock.id).limit(_n(limit)))
    if after is not None:
        stmt = stmt.where(tuple_(CaseClock.deadline, CaseClock.id) > tuple_(*after))
    return (await session.scalars(stmt)).all()


async def clock_locked(session: AsyncSession, clock_id: uuid.UUID) -> CaseClock | None:
    """The clock row, locked and re-read (what another transaction committed meanwhile)."""
    return await session.scalar(select(CaseClock).where(CaseClock.id == clock_id)
                                .with_for_update().execution_options(populate_existing=True))


async def marked(session: AsyncSession, clock: CaseClock, kind: str) -> bool:
    """Whether the clock already has its `reminder` (for its deadline) or `escalation`."""
    stmt = select(CaseEvent.id).where(
        CaseEvent.case_id == clock.case_id, CaseEvent.kind == kind,
        CaseEvent.details["clock_id"].astext == str(clock.id)).limit(1)
    if kind == "reminder":
        stmt = stmt.where(cast(CaseEvent.details["deadline"].astext, DateTime(timezone=True))
                          == clock.deadline)
    return await session.scalar(stmt) is not None


async def escalations(session: AsyncSession, to: Sequence[uuid.UUID], *,
                      after: tuple[datetime, uuid.UUID] | None,
                      limit: int) -> Sequence[CaseEvent]:
    """`escalation` events to one of the tenants `to`, newest first, along
    ix_case_events_escalations (RLS: only events of cases the caller sees)."""
    if not to:
        return []
    stmt = (select(CaseEvent).where(CaseEvent.kind == "escalation",
                                    CaseEvent.details["to_tenant_id"].astext
                                    .in_([str(t) for t in to]))
            .order_by(CaseEvent.at.desc(), CaseEvent.id.desc()).limit(_n(limit)))
    if after is not None:
        stmt = stmt.where(tuple_(CaseEvent.at, CaseEvent.id) < tuple_(*after))
    return (await session.scalars(stmt)).all()
