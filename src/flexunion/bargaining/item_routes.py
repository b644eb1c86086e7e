"""协商清单管理 Staff side of the agenda board: items, regrouping, transitions, templates
and bulk answers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from litestar import get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining import answers, board, items
from flexunion.bargaining.item_schemas import (
    AnswerCreate,
    AnsweredItem,
    AnswerResult,
    EventRead,
    ItemAdminRead,
    ItemCreate,
    ItemDetail,
    ItemPatch,
    MergeCreate,
    MergeResult,
    SourceRead,
    SplitCreate,
    SplitResult,
    Status,
    StatusCount,
    TemplatePut,
    TemplateRead,
    Topic,
    TransitionCreate,
)
from flexunion.bargaining.lifecycle import STATUSES
from flexunion.bargaining.models import AgendaItem, AgendaItemEvent, AgendaTemplate
from flexunion.config import AUDIENCE_ADMIN, Settings
from flexunion.core.clock import Clock
from flexunion.core.context import ADMIN_ROLES, Caller
from flexunion.core.pagination import Page, clamp, decode_time_cursor, encode_cursor
from flexunion.federation import directory as fed_directory

STAFF = {"audiences": (AUDIENCE_ADMIN,), "roles": ADMIN_ROLES}
TAGS = ["bargaining 集体协商"]
SECURITY = [{"bearer": []}]
ItemId = Annotated[uuid.UUID, PathParameter()]
TemplateCode = Annotated[str, PathParameter(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]


# ---- views (shared with the members' board) ---------------------------------------------


class Names:
    """Tenant codes and partner codes for a federation, fetched once per request."""

    def __init__(self, tenants: dict[uuid.UUID, str], partners: dict[uuid.UUID, str]) -> None:
        self.tenants, self.partners = tenants, partners

    @classmethod
    async def load(cls, session: AsyncSession, federation_id: uuid.UUID) -> Names:
        entries = await fed_directory.directory(session, federation_id)
        return cls({e.id: e.code for e in entries.values()},
                   await items.partner_codes(session, federation_id))


def item_fields(item: AgendaItem, names: Names) -> dict[str, Any]:
    return {
        "id": item.id, "scope": names.tenants.get(item.tenant_id, str(item.tenant_id)),
        "partner": names.partners.get(item.partner_id), "partner_id": item.partner_id,
        "topic": item.topic, "title": item.title, "summary": item.summary,
        "details": item.details, "status": item.status, "support_count": item.support_count,
        "support_threshold": item.support_threshold, "merged_into_id": item.merged_into_id,
        "created_at": item.created_at, "updated_at": item.updated_at, **items.labels(item),
    }


def admin_read(item: AgendaItem, names: Names) -> ItemAdminRead:
    return ItemAdminRead(**item_fields(item, names), created_by=item.created_by)


async def detail_read(session: AsyncSession, item: AgendaItem, names: Names) -> ItemDetail:
    rows = await items.sources(session, item.id)
    return ItemDetail(**item_fields(item, names), created_by=item.created_by, sources=[
        SourceRead(id=s.id, via=s.via, report_id=s.report_id, proposal_id=s.proposal_id,
                   from_item_id=s.from_item_id, moved_to_item_id=s.moved_to_item_id,
                   actor=s.actor, created_at=s.created_at) for s in rows])


def event_reads(rows: Sequence[AgendaItemEvent]) -> list[EventRead]:
    return [EventRead(id=e.id, kind=e.kind, actor=e.actor, reason=e.reason,
                      from_status=e.from_status, to_status=e.to_status, payload=e.payload,
                      audience=e.audience, created_at=e.created_at) for e in rows]


def template_read(t: AgendaTemplate, names: Names) -> TemplateRead:
    return TemplateRead(id=t.id, code=t.code, tenant=names.tenants.get(t.tenant_id, ""),
                        title_zh=t.title_zh, title_en=t.title_en, body=t.body,
                        to_status=t.to_status, created_by=t.created_by, created_at=t.created_at,
                        updated_at=t.updated_at)


async def _names(session: AsyncSession, caller: Caller) -> Names:
    return await Names.load(session, await items.federation_of(session, caller))


async def _filters(session: AsyncSession, caller: Caller, *, topic: str | None,
                   status: str | None, partner: str | None, region: str | None,
                   q: str | None) -> items.Filters:
    fed = await items.federation_of(session, caller)
    return items.Filters(
        topic=topic, status=status, q=q,
        partner_id=await items.partner_by_code(session, fed, partner) if partner else None,
        tenant_id=(await items.tenant_by_code(session, fed, region)).id if region else None)


TopicQ = Annotated[Topic | None, QueryParameter()]
StatusQ = Annotated[Status | None, QueryParameter()]
PartnerQ = Annotated[str | None, QueryParameter(max_length=64, description="平台代码 partner code")]
RegionQ = Annotated[str | None, QueryParameter(max_length=64,
                                               description="事项范围 scope tenant code")]
SearchQ = Annotated[str | None, QueryParameter(max_length=200, description="标题/摘要 text search")]


# ---- items ---------------------------------------------------------------------------


@post("/v1/admin/bargaining/items", opt=STAFF, tags=TAGS, security=SECURITY,
      summary="新建协商事项 Put an item on the board (from reports and proposals)")
async def create_item(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], settings: NamedDependency[Settings],
    data: JSONBody[ItemCreate],
) -> ItemDetail:
    item = await items.create(session, caller, data, now=clock.now(),
                              default_threshold=settings.bargaining.support_threshold)
    return await detail_read(session, item, await _names(session, caller))


@get("/v1/admin/bargaining/items", opt=STAFF, tags=TAGS, security=SECURITY,
     summary="协商清单 Items of my board (my subtree and the federation's), latest activity first")
async def list_items(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    settings: NamedDependency[Settings], topic: TopicQ = None, status: StatusQ = None,
    partner: PartnerQ = None, region: RegionQ = None, q: SearchQ = None,
    cursor: Annotated[str | None, QueryParameter(max_length=512)] = None,
    limit: Annotated[int | None, QueryParameter()] = None,
) -> Page[ItemAdminRead]:
    filters = await _filters(session, caller, topic=topic, status=status, partner=partner,
                             region=region, q=q)
    size = clamp(limit, settings.api.page_size_default, settings.api.page_size_max)
    rows = await items.page(session, filters, after=decode_time_cursor(cursor), limit=size + 1)
    names = await _names(session, caller)
    last = rows[size - 1] if len(rows) > size else None
    return Page(items=[admin_read(i, names) for i in rows[:size]],
                next_cursor=encode_cursor(last.updated_at.isoformat(), last.id) if last else None)


@get("/v1/admin/bargaining/items/counts", opt=STAFF, tags=TAGS, security=SECURITY,
     summary="各状态事项数 Items per status (every status, zeros included), same filters")
async def count_items(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    topic: TopicQ = None, status: StatusQ = None, partner: PartnerQ = None,
    region: RegionQ = None, q: SearchQ = None,
) -> list[StatusCount]:
    filters = await _filters(session, caller, topic=topic, status=status, partner=partner,
                             region=region, q=q)
    found = await items.counts(session, filters)
    return [StatusCount(status=s, label_zh=STATUSES[s][0], label_en=STATUSES[s][1], count=n)
            for s, n in found.items()]


@get("/v1/admin/bargaining/items/{item_id:uuid}", opt=STAFF, tags=TAGS, security=SECURITY,
     summary="事项详情 One item with its sources and support count")
async def get_item(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                   item_id: ItemId) -> ItemDetail:
    item = await board.access_item(session, item_id)
    return await detail_read(session, item, await _names(session, caller))


@get("/v1/admin/bargaining/items/{item_id:uuid}/timeline", opt=STAFF, tags=TAGS,
     security=SECURITY, summary="事项时间线 Every event of the item, oldest first")
async def item_timeline(session: NamedDependency[AsyncSession],
                        item_id: ItemId) -> list[EventRead]:
    return event_reads(await items.timeline(session, item_id))


@patch("/v1/admin/bargaining/items/{item_id:uuid}", opt=STAFF, tags=TAGS, security=SECURITY,
       summary="修改事项 Edit title, summary, details or support threshold (not when closed)")
async def edit_item(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], item_id: ItemId, data: JSONBody[ItemPatch],
) -> ItemDetail:
    item = await items.patch(session, item_id, data, now=clock.now())
    return await detail_read(session, item, await _names(session, caller))


@post("/v1/admin/bargaining/items/{item_id:uuid}/transitions", opt=STAFF, tags=TAGS,
      security=SECURITY, status_code=200,
      summary="事项流转 Move the item along its lifecycle, with a reason")
async def transition_item(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], item_id: ItemId, data: JSONBody[TransitionCreate],
) -> ItemAdminRead:
    item = await items.move(session, item_id, data.to, reason=data.reason.strip() or data.reason,
                            now=clock.now())
    return admin_read(item, await _names(session, caller))


@post("/v1/admin/bargaining/items/merge", opt=STAFF, tags=TAGS, security=SECURITY,
      status_code=200, summary="合并事项 Fold items into one (sources follow; supports stay)")
async def merge_items(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], data: JSONBody[MergeCreate],
) -> MergeResult:
    into, merged = await items.merge(session, data, now=clock.now())
    return MergeResult(into=admin_read(into, await _names(session, caller)), merged=merged)


@post("/v1/admin/bargaining/items/{item_id:uuid}/split", opt=STAFF, tags=TAGS,
      security=SECURITY, status_code=200,
      summary="拆分事项 Move some sources of an item to a new item")
async def split_item(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], item_id: ItemId, data: JSONBody[SplitCreate],
) -> SplitResult:
    old, new = await items.split(session, item_id, data, now=clock.now())
    names = await _names(session, caller)
    return SplitResult(item=await detail_read(session, old, names),
                       new_item=await detail_read(session, new, names))


# ---- templates and bulk answers ---------------------------------------------------------


@put("/v1/admin/bargaining/templates/{code:str}", opt=STAFF, tags=TAGS, security=SECURITY,
     summary="保存答复模板 Create or replace my union's answer template")
async def save_template(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], code: TemplateCode, data: JSONBody[TemplatePut],
) -> TemplateRead:
    template = await answers.put_template(session, caller, code, data, now=clock.now())
    return template_read(template, await _names(session, caller))


@get("/v1/admin/bargaining/templates", opt=STAFF, tags=TAGS, security=SECURITY,
     summary="答复模板 Templates of my subtree and the federation's")
async def list_templates(session: NamedDependency[AsyncSession],
                         caller: NamedDependency[Caller]) -> list[TemplateRead]:
    names = await _names(session, caller)
    return [template_read(t, names) for t in await answers.templates(session)]


@post("/v1/admin/bargaining/answers", opt=STAFF, tags=TAGS, security=SECURITY,
      status_code=200,
      summary="批量答复 Answer many items with a template (all or nothing)")
async def bulk_answer(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], data: JSONBody[AnswerCreate],
) -> AnswerResult:
    template, done = await answers.answer(session, caller, data, now=clock.now())
    return AnswerResult(template=template.code, items=[
        AnsweredItem(item_id=i.id, status=i.status, status_zh=STATUSES[i.status][0],
                     status_en=STATUSES[i.status][1], text=body) for i, body in done])


ROUTES = [create_item, list_items, count_items, get_item, item_timeline, edit_item,
          transition_item, merge_items, split_item, save_template, list_templates, bulk_answer]
