"""Queries for the agenda board. Row-level security decides which items exist for the
caller (staff: their subtree's and the federation's; a worker: those its membership
reaches; a partner: those addressed to it, from `on_agenda` on). A locked read also applies
the UPDATE policy, so an item a caller may see but not change is not found for a write."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TypeVarTuple

from sqlalchemy import Select, func, or_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.board.models import (
    AgendaItem,
    AgendaItemEvent,
    AgendaItemSource,
    AgendaSupport,
    AgendaTemplate,
)
from flexunion.bargaining.board.schemas import ItemFilters

# Re-exported for the service: the session calls every repository shares.
from flexunion.db.rows import add as add
from flexunion.db.rows import flush as flush

# Support writes on one item are serialised by this lock (see service.support).
_SUPPORT_LOCK = text(
    "SELECT pg_advisory_xact_lock(hashtextextended('agenda_support:' || :item, 0))")
_SUPPORT_INSERT = text(
    "INSERT INTO agenda_supports (item_id, member_id, worker_id, federation_id, tenant_id,"
    " created_at) VALUES (:item, :member, :worker, :federation, :tenant, :now)"
    " ON CONFLICT (item_id, member_id) DO NOTHING")
_SUPPORT_DELETE = text("DELETE FROM agenda_supports WHERE item_id = :item AND member_id = :member")
_SUPPORT_TALLY = text("SELECT support_count, moved FROM flexunion_agenda_support_tally(:item)")

Ts = TypeVarTuple("Ts")


# ---- items -------------------------------------------------------------------------------


async def get(session: AsyncSession, item_id: uuid.UUID, *, lock: bool = False,
              fresh: bool = False) -> AgendaItem | None:
    """`fresh`: read the row again even if the session holds it (after a database function
    changed it)."""
    stmt = select(AgendaItem).where(AgendaItem.id == item_id)
    if lock:
        stmt = stmt.with_for_update()
    if fresh:
        stmt = stmt.execution_options(populate_existing=True)
    return await session.scalar(stmt)


async def by_ids(session: AsyncSession, ids: Iterable[uuid.UUID], *,
                 lock: bool = False) -> Sequence[AgendaItem]:
    """The visible items among `ids`, by id (the order locks are taken in: no deadlocks)."""
    stmt = (select(AgendaItem).where(AgendaItem.id.in_(set(ids))).order_by(AgendaItem.id)
            .execution_options(populate_existing=True))
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).all()


def _filtered(stmt: Select[*Ts], f: ItemFilters) -> Select[*Ts]:
    if f.topic:
        stmt = stmt.where(AgendaItem.topic == f.topic)
    if f.status:
        stmt = stmt.where(AgendaItem.status == f.status)
    if f.partner_id:
        stmt = stmt.where(AgendaItem.partner_id == f.partner_id)
    if f.tenant_id:
        stmt = stmt.where(AgendaItem.tenant_id == f.tenant_id)
    if f.q:
        like = "%" + f.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(AgendaItem.title.ilike(like), AgendaItem.summary.ilike(like)))
    return stmt


async def page(session: AsyncSession, filters: ItemFilters, *,
               after: tuple[datetime, uuid.UUID] | None, limit: int) -> Sequence[AgendaItem]:
    """Newest activity first, keyset on (updated_at, id)."""
    stmt = _filtered(select(AgendaItem), filters)
    if after is not None:
        stmt = stmt.where(tuple_(AgendaItem.updated_at, AgendaItem.id) < tuple_(*after))
    stmt = stmt.order_by(AgendaItem.updated_at.desc(), AgendaItem.id.desc()).limit(limit)
    return (await session.scalars(stmt)).all()


async def counts(session: AsyncSession, filters: ItemFilters) -> dict[str, int]:
    stmt = _filtered(select(AgendaItem.status, func.count()).select_from(AgendaItem), filters)
    rows = await session.execute(stmt.group_by(AgendaItem.status))
    return {status: int(n) for status, n in rows.all()}


async def partner_page(session: AsyncSession, partner_id: uuid.UUID, *,
                       statuses: Iterable[str], status: str | None, topic: str | None,
                       after: tuple[datetime, uuid.UUID] | None,
                       limit: int) -> Sequence[AgendaItem]:
    """The items addressed to a partner in `statuses`, newest first (keyset on created_at)."""
    stmt = select(AgendaItem).where(AgendaItem.partner_id == partner_id,
                                    AgendaItem.status.in_(sorted(statuses)))
    if status is not None:
        stmt = stmt.where(AgendaItem.status == status)
    if topic is not None:
        stmt = stmt.where(AgendaItem.topic == topic)
    if after is not None:
        stmt = stmt.where(tuple_(AgendaItem.created_at, AgendaItem.id) < tuple_(*after))
    stmt = stmt.order_by(AgendaItem.created_at.desc(), AgendaItem.id.desc()).limit(limit)
    return (await session.scalars(stmt)).all()


async def titles(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await session.execute(select(AgendaItem.id, AgendaItem.title)
                                 .where(AgendaItem.id.in_(set(ids))))
    return {row.id: row.title for row in rows}


# ---- timeline and sources ------------------------------------------------------------------


async def events(session: AsyncSession, item_id: uuid.UUID, *,
                 audience: str | None = None) -> Sequence[AgendaItemEvent]:
    """The item's timeline, oldest first (row-level security hides the union's own entries
    from workers and partners; `audience` narrows further)."""
    stmt = select(AgendaItemEvent).where(AgendaItemEvent.item_id == item_id)
    if audience is not None:
        stmt = stmt.where(AgendaItemEvent.audience == audience)
    return (await session.scalars(stmt.order_by(AgendaItemEvent.seq))).all()


async def sources(session: AsyncSession, item_id: uuid.UUID) -> Sequence[AgendaItemSource]:
    return (await session.scalars(
        select(AgendaItemSource).where(AgendaItemSource.item_id == item_id)
        .order_by(AgendaItemSource.created_at, AgendaItemSource.id))).all()


async def items_fed_by_report(session: AsyncSession, report_id: uuid.UUID,
                              proposal_ids: Sequence[uuid.UUID] = ()) -> Sequence[uuid.UUID]:
    """The items a report is an active source of — itself, or (when given) through the
    proposals that hold it — oldest link first."""
    fed = AgendaItemSource.report_id == report_id
    if proposal_ids:
        fed = or_(fed, AgendaItemSource.proposal_id.in_(list(proposal_ids)))
    return (await session.scalars(
        select(AgendaItemSource.item_id)
        .where(fed, AgendaItemSource.moved_to_item_id.is_(None))
        .order_by(AgendaItemSource.created_at, AgendaItemSource.id))).all()


# ---- supports ------------------------------------------------------------------------------


async def lock_supports(session: AsyncSession, item_id: uuid.UUID) -> None:
    await session.execute(_SUPPORT_LOCK, {"item": str(item_id)})


async def insert_support(session: AsyncSession, item: AgendaItem, *, member_id: uuid.UUID,
                         worker_id: uuid.UUID, now: datetime) -> None:
    await session.execute(_SUPPORT_INSERT, {
        "item": item.id, "member": member_id, "worker": worker_id,
        "federation": item.federation_id, "tenant": item.tenant_id, "now": now})


async def delete_support(session: AsyncSession, item_id: uuid.UUID,
                         member_id: uuid.UUID) -> None:
    await session.execute(_SUPPORT_DELETE, {"item": item_id, "member": member_id})


async def tally_supports(session: AsyncSession, item_id: uuid.UUID) -> tuple[int, bool]:
    """(supporters now, whether the count just moved the item to under_review)."""
    row = (await session.execute(_SUPPORT_TALLY, {"item": item_id})).one()
    return int(row.support_count), bool(row.moved)


async def supported(session: AsyncSession, worker_id: uuid.UUID,
                    item_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    rows = await session.scalars(select(AgendaSupport.item_id).where(
        AgendaSupport.worker_id == worker_id, AgendaSupport.item_id.in_(list(item_ids))))
    return set(rows)


# ---- answer templates ----------------------------------------------------------------------


async def template(session: AsyncSession, tenant_id: uuid.UUID, code: str, *,
                   lock: bool = False) -> AgendaTemplate | None:
    stmt = select(AgendaTemplate).where(AgendaTemplate.tenant_id == tenant_id,
                                        AgendaTemplate.code == code)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def templates(session: AsyncSession, *, code: str | None = None) -> Sequence[AgendaTemplate]:
    """The templates the caller sees (its subtree's and the federation's), by code."""
    stmt = select(AgendaTemplate)
    if code is not None:
        stmt = stmt.where(AgendaTemplate.code == code)
    return (await session.scalars(stmt.order_by(AgendaTemplate.code,
                                                AgendaTemplate.tenant_id))).all()
