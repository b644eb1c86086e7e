"""协商轮次 Negotiation rounds with a platform, the data it promised (承诺提供的数据), and
the platform's side: the items addressed to it and its answers through its machine API.

Recording a round is one transaction: the round, each side's positions per item, the
promises; items still `on_agenda` move to `in_negotiation`; a 'round' entry on every item's
timeline; one audit event. Row-level security decides what staff and partners see; the
explicit checks below turn what it would refuse into stable 4xx codes first.

A partner sees only the items addressed to the calling client's partner, from the moment
they are on the agenda (`flexunion_partner()`; a disabled client's partner is NULL, so it
sees nothing). Its writes take an Idempotency-Key like mobile writes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining.board import service as board
from flexunion.bargaining.board.lifecycle import PARTNER_VISIBLE
from flexunion.bargaining.board.models import AgendaItem
from flexunion.bargaining.rounds import repository
from flexunion.bargaining.rounds.models import (
    DataPromise,
    NegotiationRound,
    NegotiationRoundItem,
    PartnerResponse,
)
from flexunion.bargaining.rounds.schemas import ItemNegotiation, RoundCreate, RoundDetail
from flexunion.core.clock import BEIJING
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from flexunion.core.pagination import decode_cursor
from flexunion.db import rls
from flexunion.federation import directory

NEGOTIABLE = frozenset({"on_agenda", "in_negotiation"})
DATA_MAX_BYTES = 64 * 1024


class PromiseNotFound(NotFound):
    code, title, title_en = "promise_not_found", "未找到该数据承诺", "Promise not found"


class RoundNotFound(NotFound):
    code, title, title_en = "round_not_found", "未找到该协商轮次", "Negotiation round not found"


def beijing_today(now: datetime) -> date:
    """The date in Beijing: a promise is overdue from the day after its due date there."""
    return now.astimezone(BEIJING).date()


def offset_of(cursor: str | None) -> int:
    """The position a promise list's cursor points at (promises page by offset, since
    they are ordered by due date)."""
    values = decode_cursor(cursor, 1)
    if values is None:
        return 0
    if not isinstance(values[0], int) or values[0] < 0:
        raise InvalidInput("翻页游标无效，请从第一页重新开始。",
                           "The cursor is not one this API issued.", code="cursor_invalid")
    return values[0]


# ---- staff: recording a round ----------------------------------------------------------------


def _check_shape(data: RoundCreate) -> None:
    sides = {p.side for p in data.parties}
    if sides != {"union", "platform"}:
        raise InvalidInput("一轮协商须有工会方和平台方各至少一人出席。",
                           "A round needs at least one party on each side (union, platform).",
                           code="parties_incomplete", extra={"sides": sorted(sides)})
    ids = [i.item_id for i in data.items]
    if len(set(ids)) != len(ids):
        raise InvalidInput("同一事项在一轮中只能出现一次。", "An item may appear once per round.",
                           code="duplicate_item")
    stray = sorted({str(p.item_id) for p in data.promises} - {str(i) for i in ids})
    if stray:
        raise InvalidInput("数据承诺须针对本轮协商的事项。",
                           "A promise must be about one of the round's items.",
                           code="promise_item_not_in_round", extra={"item_ids": stray})


async def _items(session: AsyncSession, ids: list[uuid.UUID], *,
                 lock: bool = False) -> list[AgendaItem]:
    """The round's items; locking needs the update policy too (the caller's subtree only)."""
    rows = list(await board.items_by_ids(session, ids, lock=lock))
    missing = sorted({str(i) for i in ids} - {str(r.id) for r in rows})
    if missing:
        raise board.ItemNotFound("有些事项不在你能看到的协商清单上。",
                                 "Some items are not on a board you can see.",
                                 extra={"item_ids": missing})
    return rows


def _check_negotiable(items: list[AgendaItem]) -> None:
    refused = [{"item_id": str(i.id), "status": i.status} for i in items
               if i.status not in NEGOTIABLE]
    if refused:
        raise Conflict("只有已列入协商清单或协商中的事项可以协商。",
                       "Only items on the agenda or in negotiation can be negotiated.",
                       code="item_not_negotiable", extra={"items": refused})


async def record_round(session: AsyncSession, caller: Caller, data: RoundCreate, *,
                       now: datetime) -> NegotiationRound:
    _check_shape(data)
    partner = await directory.partner_by_code(
        session, await directory.federation_of(session, caller), data.partner)
    ids = [i.item_id for i in data.items]
    items = await _items(session, ids)
    others = sorted(str(i.id) for i in items if i.partner_id != partner.id)
    if others:
        raise InvalidInput(f"一轮协商的所有事项都须是向 {data.partner} 提出的。",
                           f"Every item of a round must be addressed to '{data.partner}'.",
                           code="partner_mismatch", extra={"item_ids": others})
    scopes = {i.tenant_id for i in items}
    if len(scopes) != 1:
        raise InvalidInput("一轮协商的所有事项须属同一范围（区域工会或总部）。",
                           "All items of a round must share one scope (regional union or HQ).",
                           code="mixed_scope", extra={"item_ids": sorted(str(i.id) for i in items)})
    _check_negotiable(items)
    scope = scopes.pop()
    if not await rls.in_scope(session, scope):
        raise Forbidden("这些事项的协商轮次由其所属工会记录。",
                        "Rounds on these items are recorded by the union that owns them.",
                        code="outside_subtree")
    items = await _items(session, ids, lock=True)
    _check_negotiable(items)  # again, now that no one else can move them

    actor = await rls.principal(session)
    by_id = {i.id: i for i in items}
    held = NegotiationRound(
        id=uuid.uuid4(), federation_id=items[0].federation_id, tenant_id=scope,
        partner_id=partner.id, held_on=data.held_on, location=data.location,
        parties=[msgspec.to_builtins(p) for p in data.parties], minutes=data.minutes,
        next_steps=data.next_steps, created_by=actor, created_at=now)
    repository.add(session, held)
    await repository.flush(session)
    earlier = await repository.rounds_so_far(session, by_id)
    repository.add_all(session, [NegotiationRoundItem(
        round_id=held.id, item_id=entry.item_id, federation_id=held.federation_id,
        tenant_id=scope, partner_id=partner.id, union_position=entry.union_position,
        platform_position=entry.platform_position, outcome=entry.outcome)
        for entry in data.items])
    promises = [DataPromise(
        id=uuid.uuid4(), federation_id=held.federation_id, tenant_id=scope, round_id=held.id,
        item_id=p.item_id, partner_id=partner.id, description=p.description, due_on=p.due_on,
        delivered_at=None, response_id=None, created_at=now) for p in data.promises]
    repository.add_all(session, promises)
    await repository.flush(session)

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


# ---- reading rounds and promises (staff and partner: row-level security narrows) -------------


async def access_round(session: AsyncSession, round_id: uuid.UUID) -> RoundDetail:
    held = await repository.get(session, round_id)
    if held is None:
        raise RoundNotFound("没有这轮协商。", "No such negotiation round.")
    positions = await repository.positions(session, round_id)
    items = {i.id: i for i in await board.items_by_ids(session, [p.item_id for p in positions])}
    return RoundDetail(held, [(p, items.get(p.item_id)) for p in positions],
                       await repository.promises(session, round_id=round_id))


async def list_rounds(session: AsyncSession, caller: Caller, *, partner: str | None,
                      item_id: uuid.UUID | None, after: tuple[datetime, uuid.UUID] | None,
                      limit: int) -> list[tuple[NegotiationRound, list[uuid.UUID]]]:
    partner_id = await _partner_id(session, caller, partner)
    rounds = await repository.page(session, partner_id=partner_id, item_id=item_id, after=after,
                                   limit=limit)
    items = await repository.item_ids(session, [r.id for r in rounds])
    return [(r, items[r.id]) for r in rounds]


async def _partner_id(session: AsyncSession, caller: Caller,
                      code: str | None) -> uuid.UUID | None:
    if code is None:
        return None
    fed = await directory.federation_of(session, caller)
    return (await directory.partner_by_code(session, fed, code)).id


async def list_promises(session: AsyncSession, caller: Caller, *, today: date,
                        overdue: bool | None, partner: str | None, item_id: uuid.UUID | None,
                        offset: int, limit: int) -> Sequence[DataPromise]:
    """Soonest due first; overdue: past due (Beijing date) and not delivered."""
    return await repository.promises(
        session, item_id=item_id, partner_id=await _partner_id(session, caller, partner),
        overdue_on=today, overdue=overdue, offset=offset, limit=limit)


# ---- the partner's side ----------------------------------------------------------------------


async def partner_items(session: AsyncSession, *, status: str | None, topic: str | None,
                        after: tuple[datetime, uuid.UUID] | None,
                        limit: int) -> Sequence[AgendaItem]:
    mine = await rls.current_partner(session)
    if mine is None:
        return []
    return await board.partner_items(session, mine, statuses=PARTNER_VISIBLE, status=status,
                                     topic=topic, after=after, limit=limit)


async def partner_item(session: AsyncSession, item_id: uuid.UUID) -> AgendaItem:
    """An item addressed to the calling partner, from `on_agenda` on; else 404."""
    if await rls.current_partner(session) is None:
        raise board.no_such_item()
    item = await board.access_item(session, item_id)
    if item.status not in PARTNER_VISIBLE:  # row-level security already hides these
        raise board.no_such_item()
    return item


async def item_negotiation(session: AsyncSession, item: AgendaItem) -> ItemNegotiation:
    return ItemNegotiation(await repository.rounds_of_item(session, item.id),
                           await repository.promises(session, item_id=item.id),
                           await repository.responses(session, item.id),
                           await board.public_timeline(session, item))


async def partner_promises(session: AsyncSession, *, today: date, overdue: bool | None,
                           offset: int, limit: int) -> Sequence[DataPromise]:
    """My platform's promises: open ones first, soonest due first."""
    mine = await rls.current_partner(session)
    if mine is None:
        return []
    return await repository.promises(session, partner_id=mine, overdue_on=today,
                                     overdue=overdue, open_first=True, offset=offset,
                                     limit=limit)


def _check_data(data: dict[str, Any] | None) -> dict[str, Any]:
    if data is None:
        return {}
    if len(msgspec.json.encode(data)) > DATA_MAX_BYTES:
        raise InvalidInput(f"`data` 最多 {DATA_MAX_BYTES} 字节的 JSON。",
                           f"`data` may be at most {DATA_MAX_BYTES} bytes of JSON.",
                           code="response_data_too_large", extra={"max_bytes": DATA_MAX_BYTES})
    return data


async def respond(session: AsyncSession, item_id: uuid.UUID, *, client_id: str, body: str,
                  data: dict[str, Any] | None, promise_id: uuid.UUID | None, now: datetime,
                  ) -> tuple[PartnerResponse, DataPromise | None]:
    payload = _check_data(data)
    if await rls.current_partner(session) is None:
        raise board.no_such_item()
    item = await board.access_item(session, item_id)
    promise = None
    if promise_id is not None:
        promise = await repository.promise_on_item(session, promise_id, item.id)
        if promise is None:
            raise PromiseNotFound("该事项没有这项数据承诺。", "No such promise on this item.")
        if promise.delivered_at is not None:
            raise Conflict("这项数据承诺已经交付。", "This promise was already delivered.",
                           code="promise_delivered",
                           extra={"promise_id": str(promise.id),
                                  "response_id": str(promise.response_id)})
    answer = PartnerResponse(
        id=uuid.uuid4(), federation_id=item.federation_id, tenant_id=item.tenant_id,
        item_id=item.id, partner_id=item.partner_id, client_id=client_id, body=body,
        data=payload, promise_id=promise_id, created_at=now)
    repository.add(session, answer)
    await repository.flush(session)
    if promise is not None:
        promise.delivered_at = now
        promise.response_id = answer.id
        await repository.flush(session)
    actor = await rls.principal(session)
    await board.record_event(session, item, "partner_response", actor=actor, now=now,
                             payload={"response_id": str(answer.id),
                                      "promise_id": str(promise_id) if promise_id else None})
    await audit.record(session, "partner.responded", tenant_id=item.tenant_id,
                       object_type="agenda_item", object_id=item.id,
                       payload={"response_id": str(answer.id), "client_id": client_id,
                                "promise_id": str(promise_id) if promise_id else None})
    return answer, promise
