"""周研判 — what officers send (a judgement) and what the review list reads."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

Judgement = Literal["system_flaw", "execution_deviation", "individual"]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Node = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class JudgementWrite(msgspec.Struct, forbid_unknown_fields=True):
    """研判: 制度瑕疵 system_flaw / 执行偏差 execution_deviation / 个案争议 individual, the
    action taken and the follow-up node (跟进节点) with its due date."""

    judgement: Judgement
    action: Text
    follow_up_node: Node
    follow_up_due: date


class Place(msgspec.Struct):
    """Where a signal is: a station or union (`kind` its tenant kind, `code` its code: the map
    places it through /v1/stations), a delivery zone (`code` the zone code) or a partner."""

    dimension: str
    code: str
    name_zh: str
    name_en: str
    tenant_id: uuid.UUID | None


class SignalRead(msgspec.Struct):
    id: uuid.UUID
    week: str
    region: str
    kind: str
    kind_zh: str
    place: Place
    detail: str
    value: int
    baseline: float
    spread: float
    threshold: float
    why_zh: str
    why_en: str
    computed_at: datetime
    judgement: str | None
    judgement_zh: str | None
    action: str | None
    follow_up_node: str | None
    follow_up_due: date | None
    judged_by: str | None
    judged_at: datetime | None


class ReviewRead(msgspec.Struct):
    """The week's review list (周研判清单) of the caller's regions."""

    week: str
    start: datetime
    end: datetime
    signals: list[SignalRead]


class RunRead(msgspec.Struct):
    """A run: the week, the regions computed, the signals standing after it."""

    week: str
    regions: list[str]
    signals: int
