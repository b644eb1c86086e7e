"""协商轮次与平台方接口 — what staff send to record a round, what a platform partner's
system sends and reads, and the pure mappings from rows to what they see."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal, get_args

import msgspec

from flexunion.bargaining.board.lifecycle import PARTNER_VISIBLE, STATUSES
from flexunion.bargaining.board.models import AgendaItem, AgendaItemEvent
from flexunion.bargaining.board.topics import TOPICS
from flexunion.bargaining.rounds.models import (
    DataPromise,
    NegotiationRound,
    NegotiationRoundItem,
    PartnerResponse,
)

PartnerCode = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}(?!\n)$")]
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


# ---- the partner's side (平台方接口) --------------------------------------------------------

VisibleStatus = Literal["on_agenda", "in_negotiation", "agreed", "partially_agreed", "rejected",
                        "deferred", "ratified", "in_force"]
assert set(get_args(VisibleStatus)) == PARTNER_VISIBLE


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


# ---- reading rows --------------------------------------------------------------------------


@dataclass
class RoundDetail:
    """A round with each item's positions (the item, if the caller can see it) and promises."""

    round: NegotiationRound
    items: list[tuple[NegotiationRoundItem, AgendaItem | None]]
    promises: Sequence[DataPromise]


@dataclass
class ItemNegotiation:
    """Rounds (with positions), promises, responses and the public timeline of one item."""

    rounds: list[tuple[NegotiationRound, NegotiationRoundItem]]
    promises: Sequence[DataPromise]
    responses: Sequence[PartnerResponse]
    timeline: Sequence[AgendaItemEvent]


SIDES: dict[str, tuple[str, str]] = {"union": ("工会方", "Union side"),
                                     "platform": ("平台方", "Platform side")}


def party_read(raw: dict[str, Any]) -> PartyRead:
    return PartyRead(side=raw["side"], side_zh=SIDES[raw["side"]][0], name=raw["name"],
                     role=raw.get("role"))


def promise_read(p: DataPromise, codes: Mapping[uuid.UUID, str], today: date) -> PromiseRead:
    return PromiseRead(
        id=p.id, round_id=p.round_id, item_id=p.item_id, partner=codes.get(p.partner_id, ""),
        description=p.description, due_on=p.due_on, delivered=p.delivered_at is not None,
        overdue=p.delivered_at is None and p.due_on < today, created_at=p.created_at,
        delivered_at=p.delivered_at, response_id=p.response_id)


def round_read(detail: RoundDetail, tenants: Mapping[uuid.UUID, str],
               codes: Mapping[uuid.UUID, str], today: date) -> RoundRead:
    held = detail.round
    return RoundRead(
        id=held.id, partner=codes.get(held.partner_id, ""), scope=tenants.get(held.tenant_id, ""),
        held_on=held.held_on, location=held.location,
        parties=[party_read(p) for p in held.parties], minutes=held.minutes,
        next_steps=held.next_steps,
        items=[RoundItemRead(
            item_id=ri.item_id, title=item.title if item else None,
            union_position=ri.union_position, platform_position=ri.platform_position,
            outcome=ri.outcome, status=item.status if item else None,
            status_zh=STATUSES[item.status][0] if item else None,
            status_en=STATUSES[item.status][1] if item else None)
            for ri, item in detail.items],
        promises=[promise_read(p, codes, today) for p in detail.promises],
        created_by=held.created_by, created_at=held.created_at)


def round_summary(r: NegotiationRound, item_ids: list[uuid.UUID],
                  tenants: Mapping[uuid.UUID, str],
                  codes: Mapping[uuid.UUID, str]) -> RoundSummary:
    return RoundSummary(id=r.id, partner=codes.get(r.partner_id, ""),
                        scope=tenants.get(r.tenant_id, ""), held_on=r.held_on,
                        location=r.location, item_ids=item_ids, created_at=r.created_at)


def partner_item_read(item: AgendaItem, tenants: Mapping[uuid.UUID, str]) -> PartnerItemRead:
    return PartnerItemRead(
        id=item.id, scope=tenants.get(item.tenant_id, ""), topic=item.topic,
        topic_zh=TOPICS[item.topic][0], topic_en=TOPICS[item.topic][1], title=item.title,
        summary=item.summary, details=item.details, status=item.status,
        status_zh=STATUSES[item.status][0], status_en=STATUSES[item.status][1],
        support_count=item.support_count, created_at=item.created_at, updated_at=item.updated_at)


def response_read(r: PartnerResponse) -> ResponseRead:
    return ResponseRead(id=r.id, item_id=r.item_id, client_id=r.client_id, body=r.body,
                        data=r.data, created_at=r.created_at, promise_id=r.promise_id)


def _timeline(events: Sequence[AgendaItemEvent]) -> list[TimelineEntry]:
    return [TimelineEntry(kind=e.kind, actor_kind=e.actor.partition(":")[0],
                          created_at=e.created_at, from_status=e.from_status,
                          to_status=e.to_status, reason=e.reason, payload=e.payload)
            for e in events]


def partner_item_detail(item: AgendaItem, found: ItemNegotiation, tenants: Mapping[uuid.UUID, str],
                        codes: Mapping[uuid.UUID, str], today: date) -> PartnerItemDetail:
    base = partner_item_read(item, tenants)
    return PartnerItemDetail(
        **{f: getattr(base, f) for f in base.__struct_fields__},
        rounds=[PartnerRoundRead(
            round_id=r.id, held_on=r.held_on, location=r.location,
            parties=[party_read(p) for p in r.parties], union_position=ri.union_position,
            platform_position=ri.platform_position, outcome=ri.outcome,
            next_steps=r.next_steps) for r, ri in found.rounds],
        open_promises=[promise_read(p, codes, today) for p in found.promises
                       if p.delivered_at is None],
        responses=[response_read(r) for r in found.responses],
        timeline=_timeline(found.timeline))
