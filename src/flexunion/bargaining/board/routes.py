"""协商清单 over HTTP. Staff: items, regrouping, transitions, templates and bulk answers.
Members: the board their membership reaches (its home tenant and the tenants above it,
entries meant for everyone) and support (附议). A worker cannot read the partner list's
rows, so items show `partner` through the federation's public directory."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Router, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.board import answers, service, supports
from flexunion.bargaining.board.models import AgendaItem
from flexunion.bargaining.board.schemas import (
    AnswerCreate,
    AnswerResult,
    EventRead,
    ItemAdminRead,
    ItemCreate,
    ItemDetail,
    ItemFilters,
    ItemPatch,
    MergeCreate,
    MergeResult,
    SplitCreate,
    SplitResult,
    Status,
    StatusCount,
    SupportRead,
    TemplatePut,
    TemplateRead,
    TransitionCreate,
    WorkerItemRead,
    admin_read,
    answer_result,
    detail_read,
    event_reads,
    status_counts,
    support_read,
    template_read,
    worker_read,
)
from flexunion.bargaining.board.service import SourceIntake
from flexunion.bargaining.board.topics import Topic
from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import (
    BEARER,
    IDEMPOTENT,
    PAGING,
    STAFF,
    WORKER,
    IdempotencyKey,
    Paging,
    problems,
)
from flexunion.core.pagination import Page, decode_time_cursor, page_of, time_key

ItemId = Annotated[uuid.UUID, PathParameter()]
TemplateCode = Annotated[str, PathParameter(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}(?!\n)$")]
TopicQ = Annotated[Topic | None, QueryParameter()]
StatusQ = Annotated[Status | None, QueryParameter()]
PartnerQ = Annotated[str | None, QueryParameter(max_length=64, description="平台代码 partner code")]
RegionQ = Annotated[str | None, QueryParameter(max_length=64,
                                               description="事项范围 scope tenant code")]
SearchQ = Annotated[str | None, QueryParameter(max_length=200, description="标题/摘要 text search")]


async def _detail(session: AsyncSession, caller: Caller, item: AgendaItem) -> ItemDetail:
    return detail_read(item, await service.names(session, caller),
                       await service.sources(session, item.id), await service.links(session, item))


# ---- staff: items --------------------------------------------------------------------------


@post("/items", summary="新建协商事项 Put an item on the board (from reports and proposals)",
      responses=problems({
          403: "scope_not_yours",
          409: "proposal_not_open: a proposal was already taken or declined",
          422: "invalid_details, invalid_scope, invalid_topic, unknown_partner, "
               "source_not_found, source_partner_mismatch"}))
async def create_item(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], settings: NamedDependency[Settings],
    intake: NamedDependency[SourceIntake], data: JSONBody[ItemCreate],
) -> ItemDetail:
    item = await service.create(session, caller, data, intake=intake, now=clock.now(),
                                default_threshold=settings.bargaining.support_threshold)
    return await _detail(session, caller, item)


@get("/items", dependencies=PAGING,
     summary="协商清单 Items of my board (my subtree and the federation's), latest activity first",
     responses=problems({
         401: "token_tenant_unknown: the token's tenant no longer exists",
         422: "cursor_invalid, unknown_partner, unknown_region"}))
async def list_items(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    paging: NamedDependency[Paging], topic: TopicQ = None, status: StatusQ = None,
    partner: PartnerQ = None, region: RegionQ = None, q: SearchQ = None,
) -> Page[ItemAdminRead]:
    filters = await service.filters(session, caller, topic=topic, status=status,
                                    partner=partner, region=region, q=q)
    rows = await service.page(session, filters, after=decode_time_cursor(paging.cursor),
                              limit=paging.size + 1)
    names = await service.names(session, caller)
    return page_of(rows, paging.size, lambda i: admin_read(i, names),
                   lambda i: time_key(i.updated_at, i.id))


@get("/items/counts",
     summary="各状态事项数 Items per status (every status, zeros included), same filters",
     responses=problems({
         401: "token_tenant_unknown: the token's tenant no longer exists",
         422: "unknown_partner, unknown_region"}))
async def count_items(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    topic: TopicQ = None, status: StatusQ = None, partner: PartnerQ = None,
    region: RegionQ = None, q: SearchQ = None,
) -> list[StatusCount]:
    filters = await service.filters(session, caller, topic=topic, status=status,
                                    partner=partner, region=region, q=q)
    return status_counts(await service.counts(session, filters))


@get("/items/{item_id:uuid}", summary="事项详情 One item with its sources and support count",
     responses=problems({404: "agenda_item_not_found"}))
async def get_item(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                   item_id: ItemId) -> ItemDetail:
    return await _detail(session, caller, await service.access_item(session, item_id))


@get("/items/{item_id:uuid}/timeline", summary="事项时间线 Every event of the item, oldest first",
     responses=problems({404: "agenda_item_not_found"}))
async def item_timeline(session: NamedDependency[AsyncSession],
                        item_id: ItemId) -> list[EventRead]:
    return event_reads(await service.timeline(session, item_id))


@patch("/items/{item_id:uuid}",
       summary="修改事项 Edit title, summary, details or support threshold (not when closed)",
       responses=problems({
           404: "agenda_item_not_found",
           409: "item_closed",
           422: "invalid_details, invalid_topic, nothing_to_change"}))
async def edit_item(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], item_id: ItemId, data: JSONBody[ItemPatch],
) -> ItemDetail:
    item = await service.patch(session, item_id, data, now=clock.now())
    return await _detail(session, caller, item)


@post("/items/{item_id:uuid}/transitions", status_code=200,
      summary="事项流转 Move the item along its lifecycle, with a reason",
      responses=problems({
          404: "agenda_item_not_found",
          409: "invalid_transition, ballot_required: only a passed ballot ratifies; "
               "ballot_open: its members are voting"}))
async def transition_item(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], item_id: ItemId, data: JSONBody[TransitionCreate],
) -> ItemAdminRead:
    item = await service.move(session, item_id, data.to,
                              reason=data.reason.strip() or data.reason, now=clock.now())
    return admin_read(item, await service.names(session, caller))


@post("/items/merge", status_code=200,
      summary="合并事项 Fold items into one (sources follow; supports stay)",
      responses=problems({
          404: "agenda_item_not_found",
          409: "item_not_regroupable",
          422: "merge_into_self, merge_mismatch"}))
async def merge_items(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], data: JSONBody[MergeCreate],
) -> MergeResult:
    into, merged = await service.merge(session, data, now=clock.now())
    return MergeResult(into=admin_read(into, await service.names(session, caller)), merged=merged)


@post("/items/{item_id:uuid}/split", status_code=200,
      summary="拆分事项 Move some sources of an item to a new item",
      responses=problems({
          404: "agenda_item_not_found",
          409: "item_not_regroupable",
          422: "invalid_details, invalid_topic, nothing_to_split, source_not_on_item"}))
async def split_item(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], item_id: ItemId, data: JSONBody[SplitCreate],
) -> SplitResult:
    old, new = await service.split(session, item_id, data, now=clock.now())
    return SplitResult(item=await _detail(session, caller, old),
                       new_item=await _detail(session, caller, new))


# ---- staff: templates and bulk answers -----------------------------------------------------


@put("/templates/{code:str}",
     summary="保存答复模板 Create or replace my union's answer template",
     responses=problems({
         401: "token_tenant_unknown: the token's tenant no longer exists",
         422: "invalid_to_status, template_malformed, template_placeholder_unknown"}))
async def save_template(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], code: TemplateCode, data: JSONBody[TemplatePut],
) -> TemplateRead:
    template = await answers.put_template(session, caller, code, data, now=clock.now())
    return template_read(template, await service.names(session, caller))


@get("/templates", summary="答复模板 Templates of my subtree and the federation's")
async def list_templates(session: NamedDependency[AsyncSession],
                         caller: NamedDependency[Caller]) -> list[TemplateRead]:
    names = await service.names(session, caller)
    return [template_read(t, names) for t in await answers.templates(session)]


@post("/answers", status_code=200,
      summary="批量答复 Answer many items with a template (all or nothing)",
      responses=problems({
          404: "agenda_item_not_found (`missing` lists them), template_not_found",
          409: "answer_refused: some items cannot take the step (listed; nothing written); "
               "ballot_required, ballot_open"}))
async def bulk_answer(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], data: JSONBody[AnswerCreate],
) -> AnswerResult:
    template, done = await answers.answer(session, caller, data, now=clock.now())
    return answer_result(template, done)


# ---- members: the board and support --------------------------------------------------------


@get("/", dependencies=PAGING,
     summary="协商清单 The board my membership reaches, latest activity first",
     responses=problems({422: "cursor_invalid"}))
async def my_board(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    paging: NamedDependency[Paging], topic: TopicQ = None, status: StatusQ = None,
    partner_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
) -> Page[WorkerItemRead]:
    filters = ItemFilters(topic=topic, status=status, partner_id=partner_id)
    rows = await service.page(session, filters, after=decode_time_cursor(paging.cursor),
                              limit=paging.size + 1)
    mine = await supports.supported(session, caller, [i.id for i in rows[:paging.size]])
    names = await service.names(session, caller)
    return page_of(rows, paging.size, lambda i: worker_read(i, names, supported=i.id in mine),
                   lambda i: time_key(i.updated_at, i.id))


@get("/{item_id:uuid}", summary="事项详情 One item of my board",
     responses=problems({404: "agenda_item_not_found"}))
async def board_item(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                     item_id: ItemId) -> WorkerItemRead:
    item = await service.access_item(session, item_id)
    mine = await supports.supported(session, caller, [item.id])
    return worker_read(item, await service.names(session, caller), supported=item.id in mine)


@get("/{item_id:uuid}/timeline", summary="事项进展 The item's public timeline, oldest first",
     responses=problems({404: "agenda_item_not_found"}))
async def board_timeline(session: NamedDependency[AsyncSession],
                         item_id: ItemId) -> list[EventRead]:
    return event_reads(await service.timeline(session, item_id))


@put("/{item_id:uuid}/support", opt=IDEMPOTENT,
     summary="附议 Support this item (once per member; needs Idempotency-Key)",
     responses=problems({
         403: "membership_required, member_not_active",
         404: "agenda_item_not_found",
         409: "support_closed"}))
async def support_item(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], item_id: ItemId, idempotency_key: IdempotencyKey,
) -> SupportRead:
    return support_read(await supports.support(session, caller, item_id, now=clock.now()), True)


@delete("/{item_id:uuid}/support", opt=IDEMPOTENT, status_code=200,
        summary="撤回附议 Withdraw my support (needs Idempotency-Key)",
        responses=problems({
            403: "membership_required, member_not_active",
            404: "agenda_item_not_found",
            409: "support_closed"}))
async def withdraw_support(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    item_id: ItemId, idempotency_key: IdempotencyKey,
) -> SupportRead:
    return support_read(await supports.withdraw(session, caller, item_id), False)


router = Router("/", tags=["bargaining 集体协商"], security=BEARER, route_handlers=[
    Router("/v1/admin/bargaining", opt=STAFF, route_handlers=[
        create_item, list_items, count_items, get_item, item_timeline, edit_item,
        transition_item, merge_items, split_item, save_template, list_templates, bulk_answer]),
    Router("/v1/bargaining/items", opt=WORKER, route_handlers=[
        my_board, board_item, board_timeline, support_item, withdraw_support]),
])
