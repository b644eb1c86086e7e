"""附议 Support: one per member and item, by active members on items their membership
reaches, while the item is still open for support.

The primary key (item, member) makes a support one; `INSERT ... ON CONFLICT DO NOTHING`
makes a retry (or fifty concurrent ones) harmless. Support writes on one item are
serialised by a transaction-scoped advisory lock on the item taken BEFORE the insert: the
insert's foreign-key check takes a KEY SHARE lock on the item row and the tally function
then wants FOR UPDATE on it, so two unserialised supporters would deadlock each other.
`flexunion_agenda_support_tally` recounts and, at the threshold, moves the item from
collected to under_review exactly once (the row lock makes the check-and-move atomic)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining import board
from flexunion.bargaining.lifecycle import SUPPORTABLE
from flexunion.bargaining.models import AgendaItem, AgendaSupport
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict, Forbidden
from flexunion.membership import service as membership
from flexunion.membership.models import Member

_INSERT = text(
    "INSERT INTO agenda_supports (item_id, member_id, worker_id, federation_id, tenant_id,"
    " created_at) VALUES (:item, :member, :worker, :federation, :tenant, :now)"
    " ON CONFLICT (item_id, member_id) DO NOTHING")
_DELETE = text("DELETE FROM agenda_supports WHERE item_id = :item AND member_id = :member")
_TALLY = text("SELECT support_count, moved FROM flexunion_agenda_support_tally(:item)")
_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended('agenda_support:' || :item, 0))")


async def active_member(session: AsyncSession, caller: Caller) -> Member:
    member = await membership.own_member(session, caller)
    if member is None:
        raise Forbidden("Only union members can support items; join first.",
                        code="membership_required")
    if member.status != "active":
        raise Forbidden(f"Your membership is '{member.status}': only active members can support "
                        "items.", code="member_not_active", extra={"member_status": member.status})
    return member


async def _open_item(session: AsyncSession, item_id: uuid.UUID) -> AgendaItem:
    """The item as it is now, after taking the item's support lock (404 if out of reach)."""
    await board.access_item(session, item_id)
    await session.execute(_LOCK, {"item": str(item_id)})
    item = (await session.scalars(select(AgendaItem).where(AgendaItem.id == item_id)
                                  .execution_options(populate_existing=True))).one()
    if item.status not in SUPPORTABLE:
        raise Conflict(f"Support is closed for an item that is '{item.status}'.",
                       code="support_closed", extra={"item_status": item.status})
    return item


async def _tally(session: AsyncSession, item: AgendaItem) -> AgendaItem:
    row = (await session.execute(_TALLY, {"item": item.id})).one()
    if row.moved:
        await audit.record(session, "agenda.transition", tenant_id=item.tenant_id,
                           object_type="agenda_item", object_id=item.id,
                           payload={"from": "collected", "to": "under_review",
                                    "reason": "support threshold reached",
                                    "supporters": row.support_count,
                                    "threshold": item.support_threshold})
    return (await session.scalars(select(AgendaItem).where(AgendaItem.id == item.id)
                                  .execution_options(populate_existing=True))).one()


async def support(session: AsyncSession, caller: Caller, item_id: uuid.UUID, *,
                  now: datetime) -> AgendaItem:
    member = await active_member(session, caller)
    item = await _open_item(session, item_id)
    await session.execute(_INSERT, {
        "item": item.id, "member": member.id, "worker": member.worker_id,
        "federation": item.federation_id, "tenant": item.tenant_id, "now": now})
    return await _tally(session, item)


async def withdraw(session: AsyncSession, caller: Caller, item_id: uuid.UUID, *,
                   now: datetime) -> AgendaItem:
    member = await active_member(session, caller)
    item = await _open_item(session, item_id)
    await session.execute(_DELETE, {"item": item.id, "member": member.id})
    return await _tally(session, item)


async def supported(session: AsyncSession, caller: Caller,
                    item_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these items the calling worker supports (its own rows only)."""
    if not item_ids:
        return set()
    rows = await session.scalars(select(AgendaSupport.item_id).where(
        AgendaSupport.worker_id == uuid.UUID(caller.subject),
        AgendaSupport.item_id.in_(list(item_ids))))
    return set(rows)
