"""协商轮次 Negotiation rounds with a platform, the data it promised (承诺提供的数据), and
the platform's answers through its machine API.

Recording a round is one transaction: the round, each side's positions per item, the
promises; items still `on_agenda` move to `in_negotiation`; a 'round' entry on every item's
timeline; one audit event. Row-level security decides what staff and partners see; the
explicit checks below turn what it would refuse into stable 4xx codes first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import msgspec
from sqlalchemy import and_, func, or_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining import board
from flexunion.bargaining.models import (
    AgendaItem,
    DataPromise,
    NegotiationRound,
    NegotiationRoundItem,
    PartnerResponse,
)
from flexunion.bargaining.round_schemas import RoundCreate
from flexunion.core.clock import BEIJING
from flexunion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from flexunion.federation.models import PlatformPartner

NEGOTIABLE = frozenset({"on_agenda", "in_negotiation"})
DATA_MAX_BYTES = 64 * 1024


class PromiseNotFound(NotFound):
    code, title, title_en = "promise_not_found", "未找到该数据承诺", "Promise not found"


class RoundNotFound(NotFound):
    code, title, title_en = "round_not_found", "未找到该协商轮次", "Negotiation round not found"


def beijing_today(now: datetime) -> date:
    return now.astimezone(BEIJING).date()


async def federation_id(session: AsyncSession) -> uuid.UUID:
    return (await session.execute(text("SELECT flexunion_federation()"))).scalar_one()


async def in_my_subtree(session: AsyncSession, tenant_id: uuid.UUID) -> bool:
    return bool((await session.execute(
        text("SELECT CAST(:t AS uuid) = ANY(flexunion_tenant_scope())"), {"t": tenant_id}
    )).scalar_one())


async def partner_by_code(session: AsyncSession, code: str) -> PlatformPartner:
    fed = await federation_id(session)
    partner = await session.scalar(select(PlatformPartner).where(
        PlatformPartner.tenant_id == fed, PlatformPartner.code == code))
    if partner is None:
        raise InvalidInput(f"No platform partner '{code}' in this federation.",
                           code="unknown_partner", extra={"partner": code})
    return partner


async def partner_codes(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = await session.execute(select(PlatformPartner.id, PlatformPartner.code)
                                 .where(PlatformPartner.id.in_(ids)))
    return {r.id: r.code for r in rows}


async def tenant_codes(session: AsyncSession) -> dict[uuid.UUID, str]:
    rows = await session.execute(
        text("SELECT id, code FROM flexunion_directory(flexunion_federation())"))
    return {r.id: r.code for r in rows}


# ---- staff: recording a round ---------------------------------------------------------------

def _check_shape(data: RoundCreate) -> None:
    sides = {p.side for p in data.parties}
    if sides != {"union", "platform"}:
        raise InvalidInput("A round needs at least one party on each side (union, platform).",
                           code="parties_incomplete", extra={"sides": sorted(sides)})
    ids = [i.item_id for i in data.items]
    if len(set(ids)) != len(ids):
        raise InvalidInput("An item may appear once per round.", code="duplicate_item")
    stray = sorted({str(p.item_id) for p in data.promises} - {str(i) for i in ids})
    if stray:
        raise InvalidInput("A promise must be about one of the round's items.",
                           code="promise_item_not_in_round", extra={"item_ids": stray})


async def _items(session: AsyncSession, ids: list[uuid.UUID], *, lock: bool = False
                 ) -> list[AgendaItem]:
    query = select(AgendaItem).where(AgendaItem.id.in_(ids)).order_by(AgendaItem.id)
    if lock:  # locking needs the update policy too: only items of the caller's subtree
        query = query.with_for_update()
    rows = (await session.scalars(query.execution_options(populate_existing=True))).all()
    missing = sorted({str(i) for i in ids} - {str(r.id) for r in rows})
    if missing:
        raise board.ItemNotFound("Some items are not on a board you can see.",
                                 extra={"item_ids": missing})
    return list(rows)


def _check_negotiable(items: list[AgendaItem]) -> None:
    refused = [{"item_id": str(i.id), "status": i.status} for i in items
               if i.status not in NEGOTIABLE]
    if refused:
        raise Conflict("Only items on the agenda or in negotiation can be negotiated.",
                       code="item_not_negotiable", extra={"items": refused})


async def record_round(session: AsyncSession, data: RoundCreate, *, now: datetime
                       ) -> NegotiationRound:
    _check_shape(data)
    partner = await partner_by_code(session, data.partner)
    ids = [i.item_id for i in data.items]
    items = await _items(session, ids)
    others = sorted(str(i.id) for i in items if i.partner_id != partner.id)
    if others:
        raise InvalidInput(f"Every item of a round must be addressed to '{data.partner}'.",
                           code="partner_mismatch", extra={"item_ids": others})
    scopes = {i.tenant_id for i in items}
    if len(scopes) != 1:
        raise InvalidInput("All items of a round must share one scope (regional union or HQ).",
                           code="mixed_scope", extra={"item_ids": sorted(str(i.id) for i in items)})
    _check_negotiable(items)
    scope = scopes.pop()
    if not await in_my_subtree(session, scope):
        raise Forbidden("Rounds on these items are recorded by the union that owns them.",
                        code="outside_subtree")
    items = await _items(session, ids, lock=True)
    _check_negotiable(items)  # again, now that no one else can move them

    actor = await board.principal(session)
    by_id = {i.id: i for i in items}
    held = NegotiationRound(
        id=uuid.uuid4(), federation_id=items[0].federation_id, tenant_id=scope,
        partner_id=partner.id, held_on=data.held_on, location=data.location,
        parties=[msgspec.to_builtins(p) for p in data.parties], minutes=data.minutes,
        next_steps=data.next_steps, created_by=actor, created_at=now)
    session.add(held)
    await session.flush()
    earlier = dict((await session.execute(
        select(NegotiationRoundItem.item_id, func.count())
        .where(NegotiationRoundItem.item_id.in_(list(by_id)))
        .group_by(NegotiationRoundItem.item_id))).all())
    for entry in data.items:
        session.add(NegotiationRoundItem(
            round_id=held.id, item_id=entry.item_id, federation_id=held.federation_id,
            tenant_id=scope, partner_id=partner.id, union_position=entry.union_position,
            platform_position=entry.platform_position, outcome=entry.outcome))
    promises = [DataPromise(
        id=uuid.uuid4(), federation_id=held.federation_id, tenant_id=scope, round_id=held.id,
        item_id=p.item_id, partner_id=partner.id, description=p.description, due_on=p.due_on,
        delivered_at=None, response_id=None, created_at=now) for p in data.promises]
    session.add_all(promises)
    await session.flush()

    for entry in data.items:
        item = by_id[entry.item_id]
        number = earlier.get(item.id, 0) + 1
        reason = f"第 {number} 轮协商 Round {number} held on {data.held_on.isoformat()}"
        if item.status == "on_agenda":
            await board.transition(session, item, "in_negotiation", actor=actor, reason=reason,
                                   now=now, payload={"round_id": str(held.id)})
        await board.record_event(
            session, item, "round", actor=actor, now=now, reason=reason,
            payload={"round_id": str(held.id), "round_no": number,
                     "held_on": data.held_on.isoformat(), "outcome": entry.outcome,
                     "promises": sum(1 for p in data.promises if p.item_id == item.id)})
    await audit.record(session, "negotiation.round_recorded", tenant_id=scope,
                       object_type="negotiation_round", object_id=held.id,
                       payload={"partner": data.partner, "held_on": data.held_on.isoformat(),
                                "items": [str(i.item_id) for i in data.items],
                                "promises": [str(p.id) for p in promises]})
    return held


# ---- reading rounds and promises (staff and partner: row-level security narrows) ------------

@dataclass
class RoundDetail:
    round: NegotiationRound
    items: list[tuple[NegotiationRoundItem, AgendaItem | None]]
    promises: list[DataPromise]


async def access_round(session: AsyncSession, round_id: uuid.UUID) -> RoundDetail:
    held = await session.get(NegotiationRound, round_id)
    if held is None:
        raise RoundNotFound("No such negotiation round.")
    rows = (await session.execute(
        select(NegotiationRoundItem, AgendaItem)
        .outerjoin(AgendaItem, AgendaItem.id == NegotiationRoundItem.item_id)
        .where(NegotiationRoundItem.round_id == round_id)
        .order_by(NegotiationRoundItem.item_id))).all()
    promises = (await session.scalars(select(DataPromise).where(DataPromise.round_id == round_id)
                                      .order_by(DataPromise.due_on, DataPromise.id))).all()
    return RoundDetail(held, list(rows), list(promises))


async def list_rounds(session: AsyncSession, *, partner: str | None, item_id: uuid.UUID | None,
                      after: tuple[datetime, uuid.UUID] | None, limit: int
                      ) -> list[tuple[NegotiationRound, list[uuid.UUID]]]:
    query = select(NegotiationRound)
    if partner is not None:
        query = query.where(NegotiationRound.partner_id == (await partner_by_code(session,
                                                                                   partner)).id)
    if item_id is not None:
        query = query.where(NegotiationRound.id.in_(
            select(NegotiationRoundItem.round_id).where(NegotiationRoundItem.item_id == item_id)))
    if after is not None:
        query = query.where(tuple_(NegotiationRound.created_at, NegotiationRound.id)
                            < tuple_(after[0], after[1]))
    rounds = (await session.scalars(query.order_by(NegotiationRound.created_at.desc(),
                                                   NegotiationRound.id.desc())
                                    .limit(limit))).all()
    members: dict[uuid.UUID, list[uuid.UUID]] = {r.id: [] for r in rounds}
    if rounds:
        for rid, iid in (await session.execute(
                select(NegotiationRoundItem.round_id, NegotiationRoundItem.item_id)
                .where(NegotiationRoundItem.round_id.in_(list(members)))
                .order_by(NegotiationRoundItem.item_id))):
            members[rid].append(iid)
    return [(r, members[r.id]) for r in rounds]


async def list_promises(
    session: AsyncSession, *, today: date, overdue: bool | None = None,
    partner_id: uuid.UUID | None = None, item_id: uuid.UUID | None = None,
    open_first: bool = False, offset: int = 0, limit: int,
) -> list[DataPromise]:
    query = select(DataPromise)
    if overdue is True:
        query = query.where(DataPromise.delivered_at.is_(None), DataPromise.due_on < today)
    elif overdue is False:
        query = query.where(or_(DataPromise.delivered_at.is_not(None),
                                DataPromise.due_on >= today))
    if partner_id is not None:
        query = query.where(DataPromise.partner_id == partner_id)
    if item_id is not None:
        query = query.where(DataPromise.item_id == item_id)
    order = [DataPromise.due_on, DataPromise.id]
    if open_first:
        order.insert(0, DataPromise.delivered_at.is_not(None))
    return list((await session.scalars(query.order_by(*order).offset(offset).limit(limit))).all())


# ---- partner: answering on an item, delivering promised data --------------------------------

async def caller_partner(session: AsyncSession) -> uuid.UUID | None:
    """The calling client's partner; None when the client is disabled (it then sees nothing)."""
    return (await session.execute(text("SELECT flexunion_partner()"))).scalar_one()


def _check_data(data: dict[str, Any] | None) -> dict[str, Any]:
    if data is None:
        return {}
    if len(msgspec.json.encode(data)) > DATA_MAX_BYTES:
        raise InvalidInput(f"`data` may be at most {DATA_MAX_BYTES} bytes of JSON.",
                           code="response_data_too_large", extra={"max_bytes": DATA_MAX_BYTES})
    return data


async def respond(session: AsyncSession, item_id: uuid.UUID, *, client_id: str, body: str,
                  data: dict[str, Any] | None, promise_id: uuid.UUID | None, now: datetime
                  ) -> tuple[PartnerResponse, DataPromise | None]:
    payload = _check_data(data)
    if await caller_partner(session) is None:
        raise board.ItemNotFound("No such agenda item.")
    item = await board.access_item(session, item_id)
    promise = None
    if promise_id is not None:
        promise = await session.scalar(select(DataPromise).where(
            DataPromise.id == promise_id, DataPromise.item_id == item.id).with_for_update())
        if promise is None:
            raise PromiseNotFound("No such promise on this item.")
        if promise.delivered_at is not None:
            raise Conflict("This promise was already delivered.", code="promise_delivered",
                           extra={"promise_id": str(promise.id),
                                  "response_id": str(promise.response_id)})
    answer = PartnerResponse(
        id=uuid.uuid4(), federation_id=item.federation_id, tenant_id=item.tenant_id,
        item_id=item.id, partner_id=item.partner_id, client_id=client_id, body=body,
        data=payload, promise_id=promise_id, created_at=now)
    session.add(answer)
    await session.flush()
    if promise is not None:
        promise.delivered_at = now
        promise.response_id = answer.id
        await session.flush()
    actor = await board.principal(session)
    await board.record_event(session, item, "partner_response", actor=actor, now=now,
                             payload={"response_id": str(answer.id),
                                      "promise_id": str(promise_id) if promise_id else None})
    await audit.record(session, "partner.responded", tenant_id=item.tenant_id,
                       object_type="agenda_item", object_id=item.id,
                       payload={"response_id": str(answer.id), "client_id": client_id,
                                "promise_id": str(promise_id) if promise_id else None})
    return answer, promise


async def partner_items(session: AsyncSession, *, visible: frozenset[str], status: str | None,
                        topic: str | None, after: tuple[datetime, uuid.UUID] | None, limit: int
                        ) -> list[AgendaItem]:
    mine = await caller_partner(session)
    if mine is None:
        return []
    query = select(AgendaItem).where(AgendaItem.partner_id == mine,
                                     AgendaItem.status.in_(sorted(visible)))
    if status is not None:
        query = query.where(AgendaItem.status == status)
    if topic is not None:
        query = query.where(AgendaItem.topic == topic)
    if after is not None:
        query = query.where(tuple_(AgendaItem.created_at, AgendaItem.id)
                            < tuple_(after[0], after[1]))
    return list((await session.scalars(query.order_by(AgendaItem.created_at.desc(),
                                                      AgendaItem.id.desc()).limit(limit))).all())


async def item_negotiation(session: AsyncSession, item_id: uuid.UUID) -> dict[str, Any]:
    """Rounds (with positions), promises and responses on one item, as the caller may see."""
    rounds = (await session.execute(
        select(NegotiationRound, NegotiationRoundItem)
        .join(NegotiationRoundItem, and_(NegotiationRoundItem.round_id == NegotiationRound.id,
                                         NegotiationRoundItem.item_id == item_id))
        .order_by(NegotiationRound.held_on, NegotiationRound.created_at))).all()
    promises = (await session.scalars(select(DataPromise).where(DataPromise.item_id == item_id)
                                      .order_by(DataPromise.due_on, DataPromise.id))).all()
    responses = (await session.scalars(
        select(PartnerResponse).where(PartnerResponse.item_id == item_id)
        .order_by(PartnerResponse.created_at, PartnerResponse.id))).all()
    return {"rounds": list(rounds), "promises": list(promises), "responses": list(responses)}
