"""协商轮次 — what staff send to record a round, and what staff and partners see of it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

PartnerCode = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}\Z")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Position = Annotated[str, msgspec.Meta(min_length=1, max_length=5000)]
Side = Literal["union", "platform"]


class PartyIn(msgspec.Struct, forbid_unknown_fields=True):
    """出席方: one person at the table, on the union's or the platform's side."""

    side: Side
    name: Name
    role: Name | None = None


class RoundItemIn(msgspec.Struct, forbid_unknown_fields=True):
    """Each side's position on one agenda item in this round."""

    item_id: uuid.UUID
    union_position: Position
    platform_position: Position | None = None
    outcome: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)] | None = None


class PromiseIn(msgspec.Struct, forbid_unknown_fields=True):
    """承诺提供的数据: what the platform promised for one of the round's items, by when."""

    item_id: uuid.UUID
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    due_on: date


class RoundCreate(msgspec.Struct, forbid_unknown_fields=True):
    """记录一轮协商. At least one party per side; every item on the agenda or in negotiation,
    addressed to `partner` and of one scope."""

    partner: PartnerCode
    held_on: date
    parties: Annotated[list[PartyIn], msgspec.Meta(min_length=2, max_length=100)]
    minutes: Annotated[str, msgspec.Meta(min_length=1, max_length=50_000)]
    items: Annotated[list[RoundItemIn], msgspec.Meta(min_length=1, max_length=50)]
    location: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    next_steps: Annotated[str, msgspec.Meta(min_length=1, max_length=5000)] | None = None
    promises: Annotated[list[PromiseIn], msgspec.Meta(max_length=100)] = []


class PartyRead(msgspec.Struct):
    side: Side
    side_zh: str
    name: str
    role: str | None = None


class RoundItemRead(msgspec.Struct):
    item_id: uuid.UUID
    title: str | None
    union_position: str
    platform_position: str | None
    outcome: str | None
    status: str | None = None
    status_zh: str | None = None
    status_en: str | None = None


class PromiseRead(msgspec.Struct):
    id: uuid.UUID
    round_id: uuid.UUID
    item_id: uuid.UUID
    partner: str
    description: str
    due_on: date
    delivered: bool
    overdue: bool
    created_at: datetime
    delivered_at: datetime | None = None
    response_id: uuid.UUID | None = None


class RoundRead(msgspec.Struct):
    id: uuid.UUID
    partner: str
    scope: str
    held_on: date
    location: str | None
    parties: list[PartyRead]
    minutes: str
    next_steps: str | None
    items: list[RoundItemRead]
    promises: list[PromiseRead]
    created_by: str
    created_at: datetime


class RoundSummary(msgspec.Struct):
    id: uuid.UUID
    partner: str
    scope: str
    held_on: date
    location: str | None
    item_ids: list[uuid.UUID]
    created_at: datetime


SIDES: dict[str, tuple[str, str]] = {"union": ("工会方", "Union side"),
                                     "platform": ("平台方", "Platform side")}


def party_read(raw: dict[str, Any]) -> PartyRead:
    return PartyRead(side=raw["side"], side_zh=SIDES[raw["side"]][0], name=raw["name"],
                     role=raw.get("role"))
