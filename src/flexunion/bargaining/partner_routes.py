"""平台方接口 What a platform partner sees and answers.

Only the items addressed to the calling client's partner, from the moment they are on the
agenda (row-level security: `flexunion_partner()`; a disabled client's partner is NULL, so
it sees nothing). Writes take an Idempotency-Key like mobile writes (keys are per principal)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, JSONBody, PathParameter, QueryParameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining import board, rounds
from flexunion.bargaining.lifecycle import PARTNER_VISIBLE, STATUSES
from flexunion.bargaining.models import TOPICS, AgendaItem, AgendaItemEvent, PartnerResponse
from flexunion.bargaining.partner_schemas import (
    PartnerItemDetail,
    PartnerItemRead,
    PartnerRoundRead,
    PromiseRead,
    ResponseCreate,
    ResponseRead,
    ResponseResult,
    TimelineEntry,
)
from flexunion.bargaining.round_routes import offset_cursor, promise_read
from flexunion.bargaining.round_schemas import party_read
from flexunion.config import AUDIENCE_PARTNER, Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller, Role
from flexunion.core.pagination import Page, clamp, decode_time_cursor, encode_cursor

PARTNER = {"audiences": (AUDIENCE_PARTNER,), "roles": {Role.PARTNER}}
WRITE = {**PARTNER, "idempotent": True}
TAGS = ["partner 平台方"]
SECURITY = [{"bearer": []}]
ItemId = Annotated[uuid.UUID, PathParameter()]
IdempotencyKey = Annotated[str, HeaderParameter(name="Idempotency-Key", min_length=1,
                                                max_length=255)]
VisibleStatus = Literal["on_agenda", "in_negotiation", "agreed", "partially_agreed", "rejected",
                        "deferred", "ratified", "in_force"]
Topic = Literal["dispatch_rules", "commission_rates", "overtime", "appeals", "rest",
                "rewards_penalties", "other"]
assert set(VisibleStatus.__args__) == PARTNER_VISIBLE  # type: ignore[attr-defined]
assert set(Topic.__args__) == set(TOPICS)  # type: ignore[attr-defined]


def item_read(item: AgendaItem, tenants: dict[uuid.UUID, str]) -> PartnerItemRead:
    return PartnerItemRead(
        id=item.id, scope=tenants.get(item.tenant_id, ""), topic=item.topic,
        topic_zh=TOPICS[item.topic][0], topic_en=TOPICS[item.topic][1], title=item.title,
        summary=item.summary, details=item.details, status=item.status,
        status_zh=STATUSES[item.status][0], status_en=STATUSES[item.status][1],
        support_count=item.support_count, created_at=item.created_at, updated_at=item.updated_at)


def response_read(r: PartnerResponse) -> ResponseRead:
    return ResponseRead(id=r.id, item_id=r.item_id, client_id=r.client_id, body=r.body,
                        data=r.data, created_at=r.created_at, promise_id=r.promise_id)


async def _visible_item(session: AsyncSession, item_id: uuid.UUID) -> AgendaItem:
    if await rounds.caller_partner(session) is None:
        raise board.ItemNotFound("No such agenda item.")
    item = await board.access_item(session, item_id)
    if item.status not in PARTNER_VISIBLE:  # row-level security already hides these
        raise board.ItemNotFound("No such agenda item.")
    return item


@get("/v1/partner/bargaining/items", opt=PARTNER, tags=TAGS, security=SECURITY,
     summary="协商事项 Agenda items addressed to my platform (from the moment they are on the "
             "agenda), newest first")
async def partner_items(
    session: NamedDependency[AsyncSession], settings: NamedDependency[Settings],
    status: Annotated[VisibleStatus | None, QueryParameter()] = None,
    topic: Annotated[Topic | None, QueryParameter()] = None,
    cursor: Annotated[str | None, QueryParameter(max_length=512)] = None,
    limit: Annotated[int | None, QueryParameter()] = None,
) -> Page[PartnerItemRead]:
    size = clamp(limit, settings.api.page_size_default, settings.api.page_size_max)
    rows = await rounds.partner_items(session, visible=PARTNER_VISIBLE, status=status,
                                      topic=topic, after=decode_time_cursor(cursor),
                                      limit=size + 1)
    if not rows:
        return Page(items=[])
    tenants = await rounds.tenant_codes(session)
    last = rows[size - 1] if len(rows) > size else None
    return Page(items=[item_read(i, tenants) for i in rows[:size]],
                next_cursor=encode_cursor(last.created_at.isoformat(), last.id) if last else None)


@get("/v1/partner/bargaining/items/{item_id:uuid}", opt=PARTNER, tags=TAGS, security=SECURITY,
     summary="协商事项详情 One item: rounds and positions, open promises, our responses, "
             "timeline")
async def partner_item(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                       item_id: ItemId) -> PartnerItemDetail:
    item = await _visible_item(session, item_id)
    tenants = await rounds.tenant_codes(session)
    found = await rounds.item_negotiation(session, item.id)
    codes = await rounds.partner_codes(session, {item.partner_id})
    today = rounds.beijing_today(clock.now())
    events = (await session.scalars(
        select(AgendaItemEvent).where(AgendaItemEvent.item_id == item.id,
                                      AgendaItemEvent.audience == "all")
        .order_by(AgendaItemEvent.seq))).all()
    base = item_read(item, tenants)
    return PartnerItemDetail(
        **{f: getattr(base, f) for f in base.__struct_fields__},
        rounds=[PartnerRoundRead(
            round_id=r.id, held_on=r.held_on, location=r.location,
            parties=[party_read(p) for p in r.parties], union_position=ri.union_position,
            platform_position=ri.platform_position, outcome=ri.outcome,
            next_steps=r.next_steps) for r, ri in found["rounds"]],
        open_promises=[promise_read(p, codes, today) for p in found["promises"]
                       if p.delivered_at is None],
        responses=[response_read(r) for r in found["responses"]],
        timeline=[TimelineEntry(
            kind=e.kind, actor_kind=e.actor.partition(":")[0], created_at=e.created_at,
            from_status=e.from_status, to_status=e.to_status, reason=e.reason,
            payload=e.payload) for e in events],
    )


@post("/v1/partner/bargaining/items/{item_id:uuid}/responses", opt=WRITE, tags=TAGS,
      security=SECURITY,
      summary="平台答复 Answer on an item, optionally delivering promised data "
              "(needs Idempotency-Key)",
      description="404 agenda_item_not_found / promise_not_found; 409 promise_delivered; "
                  "422 response_data_too_large.")
async def respond(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], item_id: ItemId, data: JSONBody[ResponseCreate],
    idempotency_key: IdempotencyKey,
) -> ResponseResult:
    answer, promise = await rounds.respond(
        session, item_id, client_id=caller.subject, body=data.body, data=data.data,
        promise_id=data.promise_id, now=clock.now())
    codes = await rounds.partner_codes(session, {answer.partner_id})
    today = rounds.beijing_today(clock.now())
    return ResponseResult(response=response_read(answer),
                          promise=promise_read(promise, codes, today) if promise else None)


@get("/v1/partner/bargaining/promises", opt=PARTNER, tags=TAGS, security=SECURITY,
     summary="我方数据承诺 Data my platform promised in rounds: open ones first, soonest due "
             "first")
async def partner_promises(
    session: NamedDependency[AsyncSession], settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
    overdue: Annotated[bool | None, QueryParameter()] = None,
    cursor: Annotated[str | None, QueryParameter(max_length=512)] = None,
    limit: Annotated[int | None, QueryParameter()] = None,
) -> Page[PromiseRead]:
    mine = await rounds.caller_partner(session)
    if mine is None:
        return Page(items=[])
    size = clamp(limit, settings.api.page_size_default, settings.api.page_size_max)
    offset = offset_cursor(cursor)
    today = rounds.beijing_today(clock.now())
    rows = await rounds.list_promises(session, today=today, overdue=overdue, partner_id=mine,
                                      open_first=True, offset=offset, limit=size + 1)
    codes = await rounds.partner_codes(session, {mine})
    return Page(items=[promise_read(p, codes, today) for p in rows[:size]],
                next_cursor=encode_cursor(offset + size) if len(rows) > size else None)


ROUTES = [partner_items, partner_item, respond, partner_promises]
