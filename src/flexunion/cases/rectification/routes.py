"""季度整改清单 over HTTP: the quarter's recurring groups, the items and their steps, the CSV
(/v1/cases/rectification, HQ and regional admins); an item, the items my unit owns and the
owner's report (责任方报告) for any union staff, a station's officer included; and a
platform's own items and its report (/v1/partner/cases/rectification); docs/cases.md."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Response, Router, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.rectification import export, service, steps
from flexunion.cases.rectification.quarters import PATTERN, Quarter
from flexunion.cases.rectification.schemas import (
    GroupRead,
    ItemCreate,
    ItemRead,
    ItemUpdate,
    LinkCreate,
    OwnerReport,
    ProgressCreate,
)
from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller, Role
from flexunion.core.http import (
    BEARER,
    IDEMPOTENT,
    PARTNER,
    STAFF,
    UNION_ADMINS,
    IdempotencyKey,
    downloads,
    problems,
)

ItemId = Annotated[uuid.UUID, PathParameter()]
QuarterParam = Annotated[str, QueryParameter(pattern=PATTERN,
                                             description="季度, e.g. 2026Q4 (Beijing time)")]
ITEM_404 = "rectification_item_not_found (also an item outside my scope)"
CLOSED = "rectification_item_closed: done or carried over"
ADMINS = frozenset({Role.HQ_ADMIN, Role.REGIONAL_ADMIN})


def _trend(caller: Caller) -> bool:
    """Union admins see the satisfaction trend; a station's officer, whose subtree is its
    station, would see it counted over its own cases only, so it sees none."""
    return caller.role in ADMINS


@get("/groups", summary="重复问题 The quarter's recurring groups (category × place) in my "
                        "subtree; `all=true` for every group",
     responses=problems({422: "quarter_invalid"}))
async def list_groups(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                      settings: NamedDependency[Settings], quarter: QuarterParam,
                      every: Annotated[bool, QueryParameter(name="all")] = False,
                      ) -> list[GroupRead]:
    return await service.groups(session, caller, Quarter.parse(quarter),
                                settings=settings.cases, recurring_only=not every)


@post("/items", summary="立项 Make a rectification item from a group (cases omitted: every "
                        "case of the group in the quarter is linked)",
      responses=problems({409: "rectification_item_exists",
                          422: "quarter_invalid, next_due_invalid, unknown_place, "
                               "owner_required, unknown_unit, unknown_partner, group_empty, "
                               "unknown_case"}))
async def create_item(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                      clock: NamedDependency[Clock], data: JSONBody[ItemCreate]) -> ItemRead:
    row = await steps.create(session, caller, data, now=clock.now())
    return (await service.reads(session, [row], now=clock.now()))[0]


@get("/items", summary="整改清单 The quarter's items I see, with next node and trend",
     responses=problems({422: "quarter_invalid"}))
async def list_items(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                     quarter: QuarterParam) -> list[ItemRead]:
    rows = await service.items(session, Quarter.parse(quarter))
    return await service.reads(session, rows, now=clock.now())


@get("/items/{item_id:uuid}", opt=STAFF,
     summary="整改项 One item with its history and the linked cases I see (a station's "
             "officer: an item its station owns, without the trend)",
     responses=problems({404: ITEM_404}))
async def get_item(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                   clock: NamedDependency[Clock], item_id: ItemId) -> ItemRead:
    return (await service.reads(session, [await service.item(session, item_id)],
                                now=clock.now(), trend=_trend(caller)))[0]


@get("/owned", opt=STAFF,
     summary="我方整改项 The items my unit (or a unit below it) owns, every quarter, without "
             "the trend")
async def owned_items(session: NamedDependency[AsyncSession],
                      clock: NamedDependency[Clock]) -> list[ItemRead]:
    return await service.reads(session, await service.unit_owned(session), now=clock.now(),
                               trend=False)


@post("/items/{item_id:uuid}/report", status_code=200, opt=STAFF,
      summary="责任方报告 The owner's report: a note, optionally a proposed next node and due "
              "date; an open item becomes in progress (完成 stays the union's)",
      responses=problems({403: "rectification_not_owner: my unit does not own the item",
                          404: ITEM_404, 409: CLOSED, 422: "next_due_invalid"}))
async def report_item(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                      clock: NamedDependency[Clock], item_id: ItemId,
                      data: JSONBody[OwnerReport]) -> ItemRead:
    row = await steps.report(session, item_id, data, now=clock.now(), partner=False)
    return (await service.reads(session, [row], now=clock.now(), trend=_trend(caller)))[0]


@patch("/items/{item_id:uuid}", summary="修改整改项 Change the problem, measure or owner",
       responses=problems({404: ITEM_404, 409: CLOSED,
                           422: "owner_required, unknown_unit, unknown_partner"}))
async def update_item(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                      item_id: ItemId, data: JSONBody[ItemUpdate]) -> ItemRead:
    row = await steps.update(session, item_id, data, now=clock.now())
    return (await service.reads(session, [row], now=clock.now()))[0]


@post("/items/{item_id:uuid}/progress", status_code=200,
      summary="推进 / 完成 Move the item on (a note, a new next node) or finish it",
      responses=problems({404: ITEM_404, 409: CLOSED, 422: "next_due_invalid"}))
async def progress_item(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                        item_id: ItemId, data: JSONBody[ProgressCreate]) -> ItemRead:
    row = await steps.progress(session, item_id, note=data.note, status=data.status,
                               next_node=data.next_node, next_due_on=data.next_due_on,
                               now=clock.now())
    return (await service.reads(session, [row], now=clock.now()))[0]


@post("/items/{item_id:uuid}/cases", status_code=200,
      summary="关联诉求 Link (`add`) or unlink (`remove`) cases",
      responses=problems({404: ITEM_404, 409: CLOSED, 422: "unknown_case"}))
async def link_item_cases(session: NamedDependency[AsyncSession],
                          clock: NamedDependency[Clock], item_id: ItemId,
                          data: JSONBody[LinkCreate]) -> ItemRead:
    row = await steps.link_cases(session, item_id, data, now=clock.now())
    return (await service.reads(session, [row], now=clock.now()))[0]


@get("/export", summary="导出整改清单 The quarter's list as CSV (UTF-8 with BOM, Chinese headers)",
     responses=downloads("text/csv", description="季度整改清单 CSV")
     | problems({422: "quarter_invalid"}))
async def export_items(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                       quarter: QuarterParam) -> Response[bytes]:
    q = Quarter.parse(quarter)
    reads = await service.reads(session, await service.items(session, q), now=clock.now())
    return Response(export.csv_bytes(reads), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="rectification-{q.code}.csv"'})


@get("/items", summary="我方整改项 The rectification items my platform owns (no worker data)")
async def partner_items(session: NamedDependency[AsyncSession],
                        clock: NamedDependency[Clock]) -> list[ItemRead]:
    return await service.reads(session, await service.owned(session), now=clock.now(),
                               partner=True)


@get("/items/{item_id:uuid}", summary="我方整改项详情 One item my platform owns",
     responses=problems({404: ITEM_404}))
async def partner_item(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                       item_id: ItemId) -> ItemRead:
    return (await service.reads(session, [await service.owned_item(session, item_id)],
                                now=clock.now(), partner=True))[0]


@post("/items/{item_id:uuid}/progress", status_code=200, opt=IDEMPOTENT,
      summary="责任方报告 My platform's report on an item it owns: a note, optionally a "
              "proposed next node and due date; an open item becomes in progress (完成 stays "
              "the union's)",
      responses=problems({404: ITEM_404, 409: CLOSED, 422: "next_due_invalid"}))
async def partner_report(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                         item_id: ItemId, idempotency_key: IdempotencyKey,
                         data: JSONBody[OwnerReport]) -> ItemRead:
    row = await steps.report(session, item_id, data, now=clock.now(), partner=True)
    return (await service.reads(session, [row], now=clock.now(), partner=True))[0]


router = Router("/", tags=["cases 需求清单"], route_handlers=[
    Router("/v1/cases/rectification", opt=UNION_ADMINS, security=BEARER, route_handlers=[
        list_groups, create_item, list_items, get_item, owned_items, update_item,
        progress_item, report_item, link_item_cases, export_items]),
    Router("/v1/partner/cases/rectification", opt=PARTNER, security=BEARER,
           route_handlers=[partner_items, partner_item, partner_report]),
])
