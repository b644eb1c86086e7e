"""Queries for the ledger. Row-level security decides which cases exist for the caller
(migration 0015): its subtree's, its units' while assigned, its own (a worker), those
addressed to it (a partner), or the one its pick-up code names."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

# Re-exported for the service: the session calls every repository shares.
from flexunion.cases.ledger.codes import ENDED
from flexunion.cases.ledger.models import (
    Case,
    CaseAssignment,
    CaseEvent,
    CaseFollowup,
    CaseSight,
)
from flexunion.db.rows import add as add
from flexunion.db.rows import flush as flush

_PARTNER_CASES = text("SELECT flexunion_case_partners()")


async def get(session: AsyncSession, case_id: uuid.UUID, *, lock: bool = False) -> Case | None:
    stmt = select(Case).where(Case.id == case_id)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def open_duplicates(session: AsyncSession, case: Case) -> Sequence[uuid.UUID]:
    """Other open cases of the same worker and category (并单 candidates)."""
    if case.worker_id is None:
        return []
    return (await session.scalars(
        select(Case.id).where(Case.worker_id == case.worker_id, Case.category == case.category,
                              Case.id != case.id,
                              Case.status.not_in(tuple(ENDED)))
        .order_by(Case.created_at, Case.id))).all()


async def page(
    session: AsyncSession, *, worker_id: uuid.UUID | None = None,
    status: str | None = None, route: str | None = None, category: str | None = None,
    channel: str | None = None, tier: str | None = None,
    only: Sequence[uuid.UUID] | None = None,
    after: tuple[datetime, uuid.UUID] | None, limit: int,
) -> Sequence[Case]:
    """Newest first; row-level security already narrows it to the caller."""
    stmt = select(Case).order_by(Case.created_at.desc(), Case.id.desc()).limit(limit)
    if worker_id is not None:
        stmt = stmt.where(Case.worker_id == worker_id)
    if only is not None:
        stmt = stmt.where(Case.id.in_(list(only)))
    for column, value in ((Case.status, status), (Case.route, route),
                          (Case.category, category), (Case.channel, channel),
                          (Case.tier, tier)):
        if value is not None:
            stmt = stmt.where(column == value)
    if after:
        stmt = stmt.where(tuple_(Case.created_at, Case.id) < tuple_(*after))
    return (await session.scalars(stmt)).all()


async def awaiting_acceptance(session: AsyncSession, unit_tenant_id: uuid.UUID, *,
                              limit: int) -> Sequence[Case]:
    """Cases whose open lead assignment names `unit_tenant_id` and waits for its 接单,
    oldest assignment first."""
    stmt = (select(Case).join(CaseAssignment, CaseAssignment.case_id == Case.id)
            .where(CaseAssignment.role == "lead", CaseAssignment.ended_at.is_(None),
                   CaseAssignment.status == "assigned",
                   CaseAssignment.unit_tenant_id == unit_tenant_id,
                   Case.status == "assigned")
            .order_by(CaseAssignment.assigned_at, Case.id).limit(limit))
    return (await session.scalars(stmt)).all()


async def partner_case_ids(session: AsyncSession) -> list[uuid.UUID]:
    """Cases with an open assignment to the calling partner."""
    ids = (await session.execute(_PARTNER_CASES)).scalar_one()
    return [uuid.UUID(str(i)) for i in ids or ()]


async def events(session: AsyncSession, case_id: uuid.UUID) -> Sequence[CaseEvent]:
    return (await session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                  .order_by(CaseEvent.at, CaseEvent.seq))).all()


async def assignments(session: AsyncSession, case_id: uuid.UUID, *,
                      lock: bool = False) -> Sequence[CaseAssignment]:
    stmt = (select(CaseAssignment).where(CaseAssignment.case_id == case_id)
            .order_by(CaseAssignment.seq, CaseAssignment.assigned_at))
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).all()


async def followups(session: AsyncSession, case_id: uuid.UUID) -> Sequence[CaseFollowup]:
    return (await session.scalars(select(CaseFollowup).where(CaseFollowup.case_id == case_id)
                                  .order_by(CaseFollowup.at, CaseFollowup.id))).all()


def _filtered(stmt: Any, *, category: str | None, route: str | None,
              tier: str | None) -> Any:
    for column, value in ((Case.category, category), (Case.route, route), (Case.tier, tier)):
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


async def returned(session: AsyncSession, *, category: str | None, route: str | None,
                   tier: str | None, after: tuple[datetime, uuid.UUID] | None,
                   limit: int) -> Sequence[Case]:
    """退回件: returned cases, the latest return first, along ix_cases_returned
    (tenant_id, updated_at, id) WHERE status = 'returned'."""
    stmt = _filtered(select(Case).where(Case.status == "returned")
                     .order_by(Case.updated_at.desc(), Case.id.desc()).limit(limit),
                     category=category, route=route, tier=tier)
    if after:
        stmt = stmt.where(tuple_(Case.updated_at, Case.id) < tuple_(*after))
    return (await session.scalars(stmt)).all()


async def return_reasons(session: AsyncSession,
                         case_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    """The reason of each case's latest 退单."""
    if not case_ids:
        return {}
    rows = await session.execute(
        select(CaseEvent.case_id, CaseEvent.reason).ext(distinct_on(CaseEvent.case_id))
        .where(CaseEvent.case_id.in_(list(case_ids)), CaseEvent.kind == "return")
        .order_by(CaseEvent.case_id, CaseEvent.at.desc(), CaseEvent.seq.desc()))
    return {case_id: reason for case_id, reason in rows.all()}


async def open_cases(
    session: AsyncSession, *, status: str | None, category: str | None, route: str | None,
    tier: str | None, unit: uuid.UUID | None, after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[tuple[Case, uuid.UUID | None]]:
    """Open cases (not answered, merged or closed) with the unit handling each — its open lead
    assignment's tenant, else None (the case's own union) — newest first, along ix_cases_open
    (tenant_id, created_at, id) WHERE status NOT IN ('answered', 'merged', 'closed'). The
    overdue list (超期件) builds on it."""
    lead = aliased(CaseAssignment)
    stmt = (select(Case, lead.unit_tenant_id)
            .outerjoin(lead, and_(lead.case_id == Case.id, lead.role == "lead",
                                  lead.ended_at.is_(None)))
            .where(Case.status.not_in(tuple(ENDED)))
            .order_by(Case.created_at.desc(), Case.id.desc()).limit(limit))
    stmt = _filtered(stmt, category=category, route=route, tier=tier)
    if status is not None:
        stmt = stmt.where(Case.status == status)
    if unit is not None:
        stmt = stmt.where(func.coalesce(lead.unit_tenant_id, Case.tenant_id) == unit)
    if after:
        stmt = stmt.where(tuple_(Case.created_at, Case.id) < tuple_(*after))
    return [(c, u) for c, u in (await session.execute(stmt)).all()]


async def sight_reasons(session: AsyncSession, case_id: uuid.UUID) -> set[str]:
    """Why the caller's scope reads the case without handling it: the reasons of the
    `case_sight` rows its policy lets the caller see (staff, tenant in scope)."""
    return set((await session.scalars(
        select(CaseSight.reason).where(CaseSight.case_id == case_id))).all())
