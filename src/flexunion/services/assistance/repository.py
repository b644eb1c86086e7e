"""帮扶台账 SQL (row-level security decides whose rows; migration 0053)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case as when
from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.db.rows import add, flush
from flexunion.services.assistance.models import (
    AssistanceCase,
    AssistanceDetails,
    AssistancePolicy,
    BudgetLine,
    Grant,
    MemberTotal,
)

__all__ = ["add", "flush"]


async def policy_of(session: AsyncSession, federation_id: uuid.UUID) -> AssistancePolicy | None:
    return await session.scalar(select(AssistancePolicy).where(
        AssistancePolicy.federation_id == federation_id))


async def case_by_id(session: AsyncSession, case_id: uuid.UUID, *,
                     lock: bool = False) -> AssistanceCase | None:
    query = select(AssistanceCase).where(AssistanceCase.id == case_id)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def case_by_source(session: AsyncSession, federation_id: uuid.UUID, source: str,
                         source_ref: str) -> AssistanceCase | None:
    return await session.scalar(select(AssistanceCase).where(
        AssistanceCase.federation_id == federation_id, AssistanceCase.source == source,
        AssistanceCase.source_ref == source_ref))


async def other_open_case(session: AsyncSession, member_id: uuid.UUID,
                          case_id: uuid.UUID) -> bool:
    """Whether the member has another open case (accepted or later, not closed)."""
    return bool(await session.scalar(select(AssistanceCase.id).where(
        AssistanceCase.member_id == member_id, AssistanceCase.id != case_id,
        AssistanceCase.closed_at.is_(None), AssistanceCase.step != "applied").limit(1)))


async def open_cases_first(session: AsyncSession, now: datetime, *, include_closed: bool,
                           limit: int) -> Sequence[AssistanceCase]:
    """Overdue first, then urgent, then by due time: an urgent item never waits behind an
    ordinary one (the console's 帮扶台账 and GET /v1/admin/assistance/cases)."""
    is_open = AssistanceCase.closed_at.is_(None)
    late = when((is_open & (AssistanceCase.step_due_at < now), 0), else_=1)
    query = select(AssistanceCase)
    if not include_closed:
        query = query.where(is_open)
    query = query.order_by(when((is_open, 0), else_=1), late, AssistanceCase.urgent.desc(),
                           AssistanceCase.step_due_at.asc().nulls_last(),
                           AssistanceCase.created_at, AssistanceCase.id).limit(limit)
    return (await session.scalars(query)).all()


async def cases_of_worker(session: AsyncSession, worker_id: uuid.UUID) -> Sequence[AssistanceCase]:
    return (await session.scalars(select(AssistanceCase).where(
        AssistanceCase.worker_id == worker_id).order_by(
        AssistanceCase.created_at.desc(), AssistanceCase.id))).all()


async def insert_details(session: AsyncSession, values: dict[str, Any]) -> None:
    """No RETURNING: a worker files its details but may not read them back."""
    await session.execute(insert(AssistanceDetails).values(**values))


async def details_of(session: AsyncSession, case_id: uuid.UUID) -> AssistanceDetails | None:
    return await session.scalar(select(AssistanceDetails).where(
        AssistanceDetails.case_id == case_id))


async def cases_with_details(session: AsyncSession,
                             case_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these cases have details the caller may see (RLS: the handlers only)."""
    wanted = list(case_ids)
    if not wanted:
        return set()
    return set((await session.scalars(select(AssistanceDetails.case_id).where(
        AssistanceDetails.case_id.in_(wanted)))).all())


async def grants_of(session: AsyncSession, case_id: uuid.UUID) -> Sequence[Grant]:
    return (await session.scalars(select(Grant).where(Grant.case_id == case_id).order_by(
        Grant.granted_at, Grant.id))).all()


async def budget_line(session: AsyncSession, tenant_ids: Sequence[uuid.UUID], year: int,
                      code: str, *, lock: bool = False) -> BudgetLine | None:
    """The nearest of `tenant_ids` (the case's tenant, then its parents) holding the line."""
    query = select(BudgetLine).where(BudgetLine.tenant_id.in_(list(tenant_ids)),
                                     BudgetLine.year == year, BudgetLine.code == code)
    if lock:
        query = query.with_for_update()
    lines = {line.tenant_id: line for line in (await session.scalars(query)).all()}
    return next((lines[t] for t in tenant_ids if t in lines), None)


async def budget_lines(session: AsyncSession, year: int | None) -> Sequence[BudgetLine]:
    query = select(BudgetLine)
    if year is not None:
        query = query.where(BudgetLine.year == year)
    return (await session.scalars(query.order_by(BudgetLine.year.desc(), BudgetLine.tenant_id,
                                                 BudgetLine.code))).all()


async def locked_total(session: AsyncSession, federation_id: uuid.UUID, member_id: uuid.UUID,
                       year: int) -> MemberTotal:
    """The member's yearly total row, created if absent, locked FOR UPDATE: two grants to one
    member take turns here, so the cap is checked against the committed total."""
    await session.execute(pg_insert(MemberTotal).values(
        id=uuid.uuid4(), federation_id=federation_id, tenant_id=federation_id,
        member_id=member_id, year=year, total_fen=0).on_conflict_do_nothing(
        constraint="uq_assistance_member_totals_member_year"))
    total = await session.scalar(select(MemberTotal).where(
        MemberTotal.member_id == member_id, MemberTotal.year == year).with_for_update()
        .execution_options(populate_existing=True))
    assert total is not None
    return total


async def purgeable(session: AsyncSession, closed_before: datetime) -> Sequence[AssistanceCase]:
    return (await session.scalars(select(AssistanceCase).where(
        AssistanceCase.closed_at < closed_before,
        AssistanceCase.details_purged_at.is_(None)).with_for_update()
        .order_by(AssistanceCase.closed_at, AssistanceCase.id))).all()


async def delete_details(session: AsyncSession, case_ids: Sequence[uuid.UUID]) -> int:
    done = await session.execute(delete(AssistanceDetails).where(
        AssistanceDetails.case_id.in_(list(case_ids))))
    return int(done.rowcount or 0)  # type: ignore[attr-defined]


async def transaction_time(session: AsyncSession) -> datetime:
    moment: datetime | None = await session.scalar(select(func.now()))
    assert moment is not None
    return moment
