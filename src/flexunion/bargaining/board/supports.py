"""附议 Members' support for agenda items.

Support: the primary key (item, member) makes a support one, and `ON CONFLICT DO NOTHING`
makes a retry (or fifty concurrent ones) harmless. Support writes on one item are
serialised by a transaction-scoped advisory lock taken BEFORE the insert: the insert's
foreign-key check takes a KEY SHARE lock on the item and the tally function then wants FOR
UPDATE on it, so two unserialised supporters would deadlock each other.
`flexunion_agenda_support_tally` recounts and, at the threshold, moves the item from
collected to under_review exactly once (the row lock makes the check-and-move atomic)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining.board import repository
from flexunion.bargaining.board.lifecycle import (
    STATUSES,
    SUPPORTABLE,
)
from flexunion.bargaining.board.models import (
    AgendaItem,
)
from flexunion.bargaining.board.service import access_item, no_such_item
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict
from flexunion.membership import service as membership

# ---- support (附议) ------------------------------------------------------------------------


async def _open_for_support(session: AsyncSession, item_id: uuid.UUID) -> AgendaItem:
    """The item as it is now, after taking the item's support lock (404 if out of reach)."""
    await access_item(session, item_id)
    await repository.lock_supports(session, item_id)
    item = await repository.get(session, item_id, fresh=True)
    if item is None:
        raise no_such_item()
    if item.status not in SUPPORTABLE:
        raise Conflict(f"状态为「{STATUSES[item.status][0]}」的事项已不能附议。",
                       f"Support is closed for an item that is '{item.status}'.",
                       code="support_closed", extra={"item_status": item.status})
    return item


async def _tally(session: AsyncSession, item: AgendaItem) -> AgendaItem:
    supporters, moved = await repository.tally_supports(session, item.id)
    if moved:
        await audit.record(session, "agenda.transition", tenant_id=item.tenant_id,
                           object_type="agenda_item", object_id=item.id,
                           payload={"from": "collected", "to": "under_review",
                                    "reason": "support threshold reached",
                                    "supporters": supporters,
                                    "threshold": item.support_threshold})
    fresh = await repository.get(session, item.id, fresh=True)
    if fresh is None:
        raise no_such_item()
    return fresh


async def support(session: AsyncSession, caller: Caller, item_id: uuid.UUID, *,
                  now: datetime) -> AgendaItem:
    """附议: active members, once per member and item, while the item is open for support."""
    member = await membership.require_active(session, caller)
    item = await _open_for_support(session, item_id)
    await repository.insert_support(session, item, member_id=member.id,
                                    worker_id=member.worker_id, now=now)
    return await _tally(session, item)


async def withdraw(session: AsyncSession, caller: Caller, item_id: uuid.UUID) -> AgendaItem:
    member = await membership.require_active(session, caller)
    item = await _open_for_support(session, item_id)
    await repository.delete_support(session, item.id, member.id)
    return await _tally(session, item)


async def supported(session: AsyncSession, caller: Caller,
                    item_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these items the calling worker supports (its own rows only)."""
    if not item_ids:
        return set()
    return await repository.supported(session, uuid.UUID(caller.subject), item_ids)


