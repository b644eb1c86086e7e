"""会员看板与附议 The board as members see it, and support.

Row-level security shows a worker the items its active membership reaches (its home
tenant and the tenants above it) and their timeline entries meant for everyone. A worker
cannot read the partner list, so items show `partner_id` and `partner` only when known."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import delete, get, put
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining import board, items, supports
from flexunion.bargaining.item_routes import Names, event_reads, item_fields
from flexunion.bargaining.item_schemas import (
    EventRead,
    Status,
    SupportRead,
    Topic,
    WorkerItemRead,
)
from flexunion.bargaining.lifecycle import STATUSES
from flexunion.bargaining.models import AgendaItem
from flexunion.config import AUDIENCE_MOBILE, Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller, Role
from flexunion.core.pagination import Page, clamp, decode_time_cursor, encode_cursor

WORKER = {"audiences": (AUDIENCE_MOBILE,), "roles": {Role.WORKER}}
WRITE = {**WORKER, "idempotent": True}
TAGS = ["bargaining 集体协商"]
SECURITY = [{"bearer": []}]
IdempotencyKey = Annotated[str, HeaderParameter(name="Idempotency-Key", min_length=1,
                                                max_length=255)]
ItemId = Annotated[uuid.UUID, PathParameter()]


def support_read(item: AgendaItem, supported: bool) -> SupportRead:
    zh, en = STATUSES[item.status]
    return SupportRead(item_id=item.id, supported=supported, support_count=item.support_count,
                       support_threshold=item.support_threshold, status=item.status,
                       status_zh=zh, status_en=en)


@get("/v1/bargaining/items", opt=WORKER, tags=TAGS, security=SECURITY,
     summary="协商清单 The board my membership reaches, latest activity first")
async def my_board(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    settings: NamedDependency[Settings],
    topic: Annotated[Topic | None, QueryParameter()] = None,
    status: Annotated[Status | None, QueryParameter()] = None,
    partner_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
    cursor: Annotated[str | None, QueryParameter(max_length=512)] = None,
    limit: Annotated[int | None, QueryParameter()] = None,
) -> Page[WorkerItemRead]:
    size = clamp(limit, settings.api.page_size_default, settings.api.page_size_max)
    filters = items.Filters(topic=topic, status=status, partner_id=partner_id)
    rows = await items.page(session, filters, after=decode_time_cursor(cursor), limit=size + 1)
    shown = rows[:size]
    mine = await supports.supported(session, caller, [i.id for i in shown])
    names = await Names.load(session, caller.tenant_id)
    last = rows[size - 1] if len(rows) > size else None
    return Page(items=[WorkerItemRead(**item_fields(i, names), my_support=i.id in mine)
                       for i in shown],
                next_cursor=encode_cursor(last.updated_at.isoformat(), last.id) if last else None)


@get("/v1/bargaining/items/{item_id:uuid}", opt=WORKER, tags=TAGS, security=SECURITY,
     summary="事项详情 One item of my board")
async def board_item(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                     item_id: ItemId) -> WorkerItemRead:
    item = await board.access_item(session, item_id)
    mine = await supports.supported(session, caller, [item.id])
    return WorkerItemRead(**item_fields(item, await Names.load(session, caller.tenant_id)),
                          my_support=item.id in mine)


@get("/v1/bargaining/items/{item_id:uuid}/timeline", opt=WORKER, tags=TAGS, security=SECURITY,
     summary="事项进展 The item's public timeline, oldest first")
async def board_timeline(session: NamedDependency[AsyncSession],
                         item_id: ItemId) -> list[EventRead]:
    return event_reads(await items.timeline(session, item_id))


@put("/v1/bargaining/items/{item_id:uuid}/support", opt=WRITE, tags=TAGS, security=SECURITY,
     summary="附议 Support this item (once per member; needs Idempotency-Key)")
async def support_item(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], item_id: ItemId, idempotency_key: IdempotencyKey,
) -> SupportRead:
    return support_read(await supports.support(session, caller, item_id, now=clock.now()), True)


@delete("/v1/bargaining/items/{item_id:uuid}/support", opt=WRITE, tags=TAGS, security=SECURITY,
        status_code=200, summary="撤回附议 Withdraw my support (needs Idempotency-Key)")
async def withdraw_support(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], item_id: ItemId, idempotency_key: IdempotencyKey,
) -> SupportRead:
    return support_read(await supports.withdraw(session, caller, item_id, now=clock.now()), False)


ROUTES = [my_board, board_item, board_timeline, support_item, withdraw_support]
