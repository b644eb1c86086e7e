"""协商清单 — what callers send and see for board items, supports, templates and answers,
and the pure mappings from rows to what they see."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

import msgspec

from flexunion.bargaining.board.lifecycle import STATUSES
from flexunion.bargaining.board.models import (
    AgendaItem,
    AgendaItemEvent,
    AgendaItemSource,
    AgendaTemplate,
)
from flexunion.bargaining.board.topics import TOPICS, Topic

Status = Literal["collected", "under_review", "on_agenda", "in_negotiation", "agreed",
                 "partially_agreed", "rejected", "deferred", "ratified", "in_force", "merged"]
Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}(?!\n)$")]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Summary = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Threshold = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
Ids200 = Annotated[list[uuid.UUID], msgspec.Meta(max_length=200)]
assert set(get_args(Status)) == set(STATUSES)


class ItemCreate(msgspec.Struct, forbid_unknown_fields=True):
    """新建协商事项: `scope` is a regional union or the HQ (default: my own tenant)."""

    partner: Code
    topic: Topic
    title: Title
    summary: Summary
    details: dict[str, Any]
    scope: Code | None = None
    support_threshold: Threshold | None = None
    report_ids: Ids200 = msgspec.field(default_factory=list)
    proposal_ids: Ids200 = msgspec.field(default_factory=list)


class ItemPatch(msgspec.Struct, forbid_unknown_fields=True):
    title: Title | None = None
    summary: Summary | None = None
    details: dict[str, Any] | None = None
    support_threshold: Threshold | None = None


class TransitionCreate(msgspec.Struct, forbid_unknown_fields=True):
    to: Status
    reason: Reason


class MergeCreate(msgspec.Struct, forbid_unknown_fields=True):
    """合并: fold `items` into `into` (all collected/under review, same platform, topic, scope)."""

    into: uuid.UUID
    items: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=50)]
    reason: Reason


class SplitCreate(msgspec.Struct, forbid_unknown_fields=True):
    """拆分: move the named sources of an item to a new item."""

    title: Title
    reason: Reason
    summary: Summary | None = None
    details: dict[str, Any] | None = None
    report_ids: Ids200 = msgspec.field(default_factory=list)
    proposal_ids: Ids200 = msgspec.field(default_factory=list)


class SourceRead(msgspec.Struct):
    id: uuid.UUID
    via: str
    report_id: uuid.UUID | None
    proposal_id: uuid.UUID | None
    from_item_id: uuid.UUID | None
    moved_to_item_id: uuid.UUID | None
    actor: str
    created_at: datetime


class ItemRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    scope: str
    partner: str | None
    partner_id: uuid.UUID
    topic: str
    topic_zh: str
    topic_en: str
    title: str
    summary: str
    details: dict[str, Any]
    status: str
    status_zh: str
    status_en: str
    support_count: int
    support_threshold: int
    merged_into_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class ItemAdminRead(ItemRead, kw_only=True):
    created_by: str


class ItemLink(msgspec.Struct, kw_only=True):
    """Something another domain made from the item (`kind` clause: its clause in an
    agreement's annex), registered with board.service.read_links."""

    kind: str
    id: uuid.UUID
    title: str
    status: str
    href: str


class ItemDetail(ItemAdminRead, kw_only=True):
    sources: list[SourceRead]
    links: list[ItemLink] = []


class WorkerItemRead(ItemRead, kw_only=True):
    my_support: bool


class StatusCount(msgspec.Struct):
    status: str
    label_zh: str
    label_en: str
    count: int


class EventRead(msgspec.Struct):
    id: uuid.UUID
    kind: str
    actor: str
    reason: str | None
    from_status: str | None
    to_status: str | None
    payload: dict[str, Any]
    audience: str
    created_at: datetime


class MergeResult(msgspec.Struct):
    into: ItemAdminRead
    merged: list[uuid.UUID]


class SplitResult(msgspec.Struct):
    item: ItemDetail
    new_item: ItemDetail


class SupportRead(msgspec.Struct):
    """附议: whether I support the item now, and its count."""

    item_id: uuid.UUID
    supported: bool
    support_count: int
    support_threshold: int
    status: str
    status_zh: str
    status_en: str


class TemplatePut(msgspec.Struct, forbid_unknown_fields=True):
    """答复模板: `body` may use {title} and {reason}."""

    title_zh: Title
    title_en: Title
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=8000)]
    to_status: Status | None = None


class TemplateRead(msgspec.Struct):
    id: uuid.UUID
    code: str
    tenant: str
    title_zh: str
    title_en: str
    body: str
    to_status: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime


class AnswerCreate(msgspec.Struct, forbid_unknown_fields=True):
    template: Code
    item_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=200)]
    reason: Reason | None = None


class AnsweredItem(msgspec.Struct):
    item_id: uuid.UUID
    status: str
    status_zh: str
    status_en: str
    text: str


class AnswerResult(msgspec.Struct):
    template: str
    items: list[AnsweredItem]


# ---- reading rows --------------------------------------------------------------------------


class ItemFilters(msgspec.Struct, frozen=True, kw_only=True):
    """Which items a list or a count is about (ids already resolved from codes)."""

    topic: str | None = None
    status: str | None = None
    partner_id: uuid.UUID | None = None
    tenant_id: uuid.UUID | None = None
    q: str | None = None


@dataclass(frozen=True, slots=True)
class Names:
    """Tenant codes and partner codes of a federation, by id, fetched once per request."""

    tenants: dict[uuid.UUID, str]
    partners: dict[uuid.UUID, str]


def labels(status: str, topic: str) -> dict[str, str]:
    zh, en = STATUSES[status]
    tzh, ten = TOPICS[topic]
    return {"status_zh": zh, "status_en": en, "topic_zh": tzh, "topic_en": ten}


def item_fields(item: AgendaItem, names: Names) -> dict[str, Any]:
    return {
        "id": item.id, "scope": names.tenants.get(item.tenant_id, str(item.tenant_id)),
        "partner": names.partners.get(item.partner_id), "partner_id": item.partner_id,
        "topic": item.topic, "title": item.title, "summary": item.summary,
        "details": item.details, "status": item.status, "support_count": item.support_count,
        "support_threshold": item.support_threshold, "merged_into_id": item.merged_into_id,
        "created_at": item.created_at, "updated_at": item.updated_at,
        **labels(item.status, item.topic),
    }


def admin_read(item: AgendaItem, names: Names) -> ItemAdminRead:
    return ItemAdminRead(**item_fields(item, names), created_by=item.created_by)


def worker_read(item: AgendaItem, names: Names, *, supported: bool) -> WorkerItemRead:
    return WorkerItemRead(**item_fields(item, names), my_support=supported)


def detail_read(item: AgendaItem, names: Names, sources: Sequence[AgendaItemSource],
                links: Sequence[ItemLink] = ()) -> ItemDetail:
    read = [SourceRead(id=s.id, via=s.via, report_id=s.report_id, proposal_id=s.proposal_id,
                       from_item_id=s.from_item_id, moved_to_item_id=s.moved_to_item_id,
                       actor=s.actor, created_at=s.created_at) for s in sources]
    return ItemDetail(**item_fields(item, names), created_by=item.created_by, sources=read,
                      links=list(links))


def event_reads(rows: Sequence[AgendaItemEvent]) -> list[EventRead]:
    return [EventRead(id=e.id, kind=e.kind, actor=e.actor, reason=e.reason,
                      from_status=e.from_status, to_status=e.to_status, payload=e.payload,
                      audience=e.audience, created_at=e.created_at) for e in rows]


def status_counts(found: dict[str, int]) -> list[StatusCount]:
    return [StatusCount(status=s, label_zh=STATUSES[s][0], label_en=STATUSES[s][1], count=n)
            for s, n in found.items()]


def support_read(item: AgendaItem, supported: bool) -> SupportRead:
    zh, en = STATUSES[item.status]
    return SupportRead(item_id=item.id, supported=supported, support_count=item.support_count,
                       support_threshold=item.support_threshold, status=item.status,
                       status_zh=zh, status_en=en)


def template_read(t: AgendaTemplate, names: Names) -> TemplateRead:
    return TemplateRead(id=t.id, code=t.code, tenant=names.tenants.get(t.tenant_id, ""),
                        title_zh=t.title_zh, title_en=t.title_en, body=t.body,
                        to_status=t.to_status, created_by=t.created_by, created_at=t.created_at,
                        updated_at=t.updated_at)


def answer_result(template: AgendaTemplate,
                  done: Sequence[tuple[AgendaItem, str]]) -> AnswerResult:
    return AnswerResult(template=template.code, items=[
        AnsweredItem(item_id=i.id, status=i.status, status_zh=STATUSES[i.status][0],
                     status_en=STATUSES[i.status][1], text=body) for i, body in done])
