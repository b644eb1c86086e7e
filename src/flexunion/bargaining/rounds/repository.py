"""Queries for rounds, promises and partner responses. Row-level security narrows them:
staff see their subtree's, a partner its own (through `flexunion_partner()`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.rounds.models import (
    DataPromise,
    NegotiationRound,
    NegotiationRoundItem,
    PartnerResponse,
)

# Re-exported for the service: the session calls every repository shares.
from flexunion.db.rows import add as add
from flexunion.db.rows import add_all as add_all
from flexunion.db.rows import flush as flush

# ---- rounds --------------------------------------------------------------------------------


async def get(session: AsyncSession, round_id: uuid.UUID) -> NegotiationRound | None:
    return await session.scalar(select(NegotiationRound).where(NegotiationRound.id == round_id))


async def positions(session: AsyncSession, round_id: uuid.UUID) -> Sequence[NegotiationRoundItem]:
    """Each item's positions in the round, by item id."""
    return (await session.scalars(
        select(NegotiationRoundItem).where(NegotiationRoundItem.round_id == round_id)
        .order_by(NegotiationRoundItem.item_id))).all()


async def rounds_so_far(session: AsyncSession,
                        item_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many rounds each item has been in."""
    rows = await session.execute(
        select(NegotiationRoundItem.item_id, func.count())
        .where(NegotiationRoundItem.item_id.in_(list(item_ids)))
        .group_by(NegotiationRoundItem.item_id))
    return {item_id: int(n) for item_id, n in rows.all()}


async def page(session: AsyncSession, *, partner_id: uuid.UUID | None,
               item_id: uuid.UUID | None, after: tuple[datetime, uuid.UUID] | None,
               limit: int) -> Sequence[NegotiationRound]:
    """Newest first, keyset on (created_at, id)."""
    stmt = select(NegotiationRound)
    if partner_id is not None:
        stmt = stmt.where(NegotiationRound.partner_id == partner_id)
    if item_id is not None:
        stmt = stmt.where(NegotiationRound.id.in_(
            select(NegotiationRoundItem.round_id).where(NegotiationRoundItem.item_id == item_id)))
    if after is not None:
        stmt = stmt.where(tuple_(NegotiationRound.created_at, NegotiationRound.id)
                          < tuple_(*after))
    stmt = stmt.order_by(NegotiationRound.created_at.desc(), NegotiationRound.id.desc())
    return (await session.scalars(stmt.limit(limit))).all()


async def item_ids(session: AsyncSession,
                   round_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Each round's items, by item id."""
    out: dict[uuid.UUID, list[uuid.UUID]] = {r: [] for r in round_ids}
    if round_ids:
        rows = await session.execute(
            select(NegotiationRoundItem.round_id, NegotiationRoundItem.item_id)
            .where(NegotiationRoundItem.round_id.in_(list(round_ids)))
            .order_by(NegotiationRoundItem.item_id))
        for rid, iid in rows.all():
            out[rid].append(iid)
    return out


async def rounds_of_item(session: AsyncSession, item_id: uuid.UUID,
                         ) -> list[tuple[NegotiationRound, NegotiationRoundItem]]:
    """The rounds an item was in, with its positions in each, oldest first."""
    rows = await session.execute(
        select(NegotiationRound, NegotiationRoundItem)
        .join(NegotiationRoundItem, and_(NegotiationRoundItem.round_id == NegotiationRound.id,
                                         NegotiationRoundItem.item_id == item_id))
        .order_by(NegotiationRound.held_on, NegotiationRound.created_at))
    return [(r, ri) for r, ri in rows.all()]


# ---- promises ------------------------------------------------------------------------------


async def promises(
    session: AsyncSession, *, round_id: uuid.UUID | None = None,
    item_id: uuid.UUID | None = None, partner_id: uuid.UUID | None = None,
    overdue_on: date | None = None, overdue: bool | None = None, open_first: bool = False,
    offset: int = 0, limit: int | None = None,
) -> Sequence[DataPromise]:
    """Soonest due first (open ones first with `open_first`); `overdue` is judged on
    `overdue_on`: past due and not delivered."""
    stmt = select(DataPromise)
    if round_id is not None:
        stmt = stmt.where(DataPromise.round_id == round_id)
    if item_id is not None:
        stmt = stmt.where(DataPromise.item_id == item_id)
    if partner_id is not None:
        stmt = stmt.where(DataPromise.partner_id == partner_id)
    if overdue is True and overdue_on is not None:
        stmt = stmt.where(DataPromise.delivered_at.is_(None), DataPromise.due_on < overdue_on)
    elif overdue is False and overdue_on is not None:
        stmt = stmt.where(or_(DataPromise.delivered_at.is_not(None),
                              DataPromise.due_on >= overdue_on))
    order: list[Any] = [DataPromise.due_on, DataPromise.id]
    if open_first:
        order.insert(0, DataPromise.delivered_at.is_not(None))
    stmt = stmt.order_by(*order).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return (await session.scalars(stmt)).all()


async def promise_on_item(session: AsyncSession, promise_id: uuid.UUID,
                          item_id: uuid.UUID) -> DataPromise | None:
    """The promise, locked, if it is about that item."""
    return await session.scalar(select(DataPromise).where(
        DataPromise.id == promise_id, DataPromise.item_id == item_id).with_for_update())


# ---- responses -----------------------------------------------------------------------------


async def responses(session: AsyncSession, item_id: uuid.UUID) -> Sequence[PartnerResponse]:
    return (await session.scalars(
        select(PartnerResponse).where(PartnerResponse.item_id == item_id)
        .order_by(PartnerResponse.created_at, PartnerResponse.id))).all()
