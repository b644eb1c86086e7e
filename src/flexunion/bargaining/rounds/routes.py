"""协商轮次 over HTTP. Staff record rounds and follow the data platforms promised; a
platform partner's system reads the items addressed to it, answers on them and delivers
what it promised (evidence uploads are evidence/routes.py's)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Router, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.board import service as board
from flexunion.bargaining.board.topics import Topic
from flexunion.bargaining.rounds import service
from flexunion.bargaining.rounds.schemas import (
    PartnerCode,
    PartnerItemDetail,
    PartnerItemRead,
    PromiseRead,
    ResponseCreate,
    ResponseResult,
    RoundCreate,
    RoundRead,
    RoundSummary,
    VisibleStatus,
    partner_item_detail,
    partner_item_read,
    promise_read,
    response_read,
    round_read,
    round_summary,
)
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import (
    BEARER,
    IDEMPOTENT,
    PAGING,
    PARTNER,
    STAFF,
    IdempotencyKey,
    Paging,
    problems,
)
from flexunion.core.pagination import Page, decode_time_cursor, page_of, time_key

ItemId = Annotated[uuid.UUID, PathParameter()]
RoundId = Annotated[uuid.UUID, PathParameter()]
Overdue = Annotated[bool | None, QueryParameter()]


# ---- staff ---------------------------------------------------------------------------------


async def _round(session: AsyncSession, caller: Caller, clock: Clock,
                 round_id: uuid.UUID) -> RoundRead:
    detail = await service.access_round(session, round_id)
    names = await board.names(session, caller)
    return round_read(detail, names.tenants, names.partners, service.beijing_today(clock.now()))


@post("/rounds",
      summary="记录一轮协商 Record a negotiation round: parties, minutes, positions per item and "
              "promised data; items on the agenda move to in negotiation",
      description="422 parties_incomplete / duplicate_item / promise_item_not_in_round / "
                  "unknown_partner / partner_mismatch / mixed_scope; 404 agenda_item_not_found; "
                  "409 item_not_negotiable; 403 outside_subtree.",
      responses=problems({
          401: "token_tenant_unknown: the token's tenant no longer exists",
          403: "outside_subtree",
          404: "agenda_item_not_found",
          409: "item_not_negotiable, invalid_transition, ballot_required, ballot_open",
          422: "duplicate_item, mixed_scope, parties_incomplete, partner_mismatch, "
               "promise_item_not_in_round, unknown_partner"}))
async def record_round(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], data: JSONBody[RoundCreate],
) -> RoundRead:
    held = await service.record_round(session, caller, data, now=clock.now())
    return await _round(session, caller, clock, held.id)


@get("/rounds", dependencies=PAGING,
     summary="协商轮次列表 Rounds I can see, newest first (filter by partner or item)",
     responses=problems({
         401: "token_tenant_unknown: the token's tenant no longer exists",
         422: "cursor_invalid, unknown_partner"}))
async def list_rounds(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    paging: NamedDependency[Paging],
    partner: Annotated[PartnerCode | None, QueryParameter()] = None,
    item_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
) -> Page[RoundSummary]:
    rows = await service.list_rounds(session, caller, partner=partner, item_id=item_id,
                                     after=decode_time_cursor(paging.cursor),
                                     limit=paging.size + 1)
    if not rows:
        return Page(items=[])
    names = await board.names(session, caller)
    return page_of(rows, paging.size,
                   lambda row: round_summary(*row, names.tenants, names.partners),
                   lambda row: time_key(row[0].created_at, row[0].id))


@get("/rounds/{round_id:uuid}", summary="协商轮次详情 One round: parties, minutes, positions, "
                                         "promises",
     responses=problems({404: "round_not_found"}))
async def get_round(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                    clock: NamedDependency[Clock], round_id: RoundId) -> RoundRead:
    return await _round(session, caller, clock, round_id)


@get("/promises", dependencies=PAGING,
     summary="数据承诺 Data the platforms promised, soonest due first; overdue=true: past due "
             "(Beijing date) and not delivered",
     responses=problems({
         401: "token_tenant_unknown: the token's tenant no longer exists",
         422: "cursor_invalid, unknown_partner"}))
async def list_promises(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], paging: NamedDependency[Paging], overdue: Overdue = None,
    partner: Annotated[PartnerCode | None, QueryParameter()] = None,
    item_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
) -> Page[PromiseRead]:
    offset = service.offset_of(paging.cursor)
    today = service.beijing_today(clock.now())
    rows = await service.list_promises(session, caller, today=today, overdue=overdue,
                                       partner=partner, item_id=item_id, offset=offset,
                                       limit=paging.size + 1)
    codes = (await board.names(session, caller)).partners if rows else {}
    return page_of(rows, paging.size, lambda p: promise_read(p, codes, today),
                   lambda _: (offset + paging.size,))


# ---- the platform partner ------------------------------------------------------------------


@get("/items", dependencies=PAGING,
     summary="协商事项 Agenda items addressed to my platform (from the moment they are on the "
             "agenda), newest first",
     responses=problems({422: "cursor_invalid"}))
async def partner_items(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    paging: NamedDependency[Paging],
    status: Annotated[VisibleStatus | None, QueryParameter()] = None,
    topic: Annotated[Topic | None, QueryParameter()] = None,
) -> Page[PartnerItemRead]:
    rows = await service.partner_items(session, status=status, topic=topic,
                                       after=decode_time_cursor(paging.cursor),
                                       limit=paging.size + 1)
    if not rows:
        return Page(items=[])
    tenants = (await board.names(session, caller)).tenants
    return page_of(rows, paging.size, lambda i: partner_item_read(i, tenants),
                   lambda i: time_key(i.created_at, i.id))


@get("/items/{item_id:uuid}",
     summary="协商事项详情 One item: rounds and positions, open promises, our responses, "
             "timeline",
     responses=problems({404: "agenda_item_not_found"}))
async def partner_item(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                       clock: NamedDependency[Clock], item_id: ItemId) -> PartnerItemDetail:
    item = await service.partner_item(session, item_id)
    found = await service.item_negotiation(session, item)
    names = await board.names(session, caller)
    return partner_item_detail(item, found, names.tenants, names.partners,
                               service.beijing_today(clock.now()))


@post("/items/{item_id:uuid}/responses", opt=IDEMPOTENT,
      summary="平台答复 Answer on an item, optionally delivering promised data "
              "(needs Idempotency-Key)",
      description="404 agenda_item_not_found / promise_not_found; 409 promise_delivered; "
                  "422 response_data_too_large.",
      responses=problems({
          404: "agenda_item_not_found, promise_not_found",
          409: "promise_delivered",
          422: "response_data_too_large"}))
async def respond(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], item_id: ItemId, data: JSONBody[ResponseCreate],
    idempotency_key: IdempotencyKey,
) -> ResponseResult:
    answer, promise = await service.respond(
        session, item_id, client_id=caller.subject, body=data.body, data=data.data,
        promise_id=data.promise_id, now=clock.now())
    codes = (await board.names(session, caller)).partners
    today = service.beijing_today(clock.now())
    return ResponseResult(response=response_read(answer),
                          promise=promise_read(promise, codes, today) if promise else None)


@get("/promises", dependencies=PAGING,
     summary="我方数据承诺 Data my platform promised in rounds: open ones first, soonest due "
             "first",
     responses=problems({422: "cursor_invalid"}))
async def partner_promises(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], paging: NamedDependency[Paging], overdue: Overdue = None,
) -> Page[PromiseRead]:
    offset = service.offset_of(paging.cursor)
    today = service.beijing_today(clock.now())
    rows = await service.partner_promises(session, today=today, overdue=overdue, offset=offset,
                                          limit=paging.size + 1)
    codes = (await board.names(session, caller)).partners if rows else {}
    return page_of(rows, paging.size, lambda p: promise_read(p, codes, today),
                   lambda _: (offset + paging.size,))


router = Router("/", security=BEARER, route_handlers=[
    Router("/v1/admin/bargaining", opt=STAFF, tags=["negotiation 协商轮次"], route_handlers=[
        record_round, list_rounds, get_round, list_promises]),
    Router("/v1/partner/bargaining", opt=PARTNER, tags=["partner 平台方"], route_handlers=[
        partner_items, partner_item, respond, partner_promises]),
])
