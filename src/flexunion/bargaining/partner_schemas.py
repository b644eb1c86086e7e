"""平台方接口 — what a platform partner's system sends and reads."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

import msgspec

from flexunion.bargaining.round_schemas import PartyRead, PromiseRead


class ResponseCreate(msgspec.Struct, forbid_unknown_fields=True):
    """平台答复: text, optional structured data (≤ 64 KiB of JSON), optionally delivering a
    promise made in a round on this item."""

    body: Annotated[str, msgspec.Meta(min_length=1, max_length=20_000)]
    data: dict[str, Any] | None = None
    promise_id: uuid.UUID | None = None


class ResponseRead(msgspec.Struct):
    id: uuid.UUID
    item_id: uuid.UUID
    client_id: str
    body: str
    data: dict[str, Any]
    created_at: datetime
    promise_id: uuid.UUID | None = None


class PartnerItemRead(msgspec.Struct):
    id: uuid.UUID
    scope: str
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
    created_at: datetime
    updated_at: datetime


class PartnerRoundRead(msgspec.Struct):
    round_id: uuid.UUID
    held_on: date
    location: str | None
    parties: list[PartyRead]
    union_position: str
    platform_position: str | None
    outcome: str | None
    next_steps: str | None


class TimelineEntry(msgspec.Struct):
    kind: str
    actor_kind: str
    created_at: datetime
    from_status: str | None = None
    to_status: str | None = None
    reason: str | None = None
    payload: dict[str, Any] = {}


class PartnerItemDetail(PartnerItemRead, kw_only=True):
    rounds: list[PartnerRoundRead]
    open_promises: list[PromiseRead]
    responses: list[ResponseRead]
    timeline: list[TimelineEntry]


class ResponseResult(msgspec.Struct):
    response: ResponseRead
    promise: PromiseRead | None = None
