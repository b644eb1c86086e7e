"""协商清单 — what callers send and see for board items, supports, templates and answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

Topic = Literal["dispatch_rules", "commission_rates", "overtime", "appeals", "rest",
                "rewards_penalties", "other"]
Status = Literal["collected", "under_review", "on_agenda", "in_negotiation", "agreed",
                 "partially_agreed", "rejected", "deferred", "ratified", "in_force", "merged"]
Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}\Z")]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Summary = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Threshold = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
Ids200 = Annotated[list[uuid.UUID], msgspec.Meta(max_length=200)]


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


class ItemDetail(ItemAdminRead, kw_only=True):
    sources: list[SourceRead]


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
