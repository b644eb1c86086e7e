"""Shapes of opt-in location check-ins (位置打卡) and transfer suggestions (接转提示)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from flexunion.geo.area_schemas import ResolvedArea, UnionRef
from flexunion.geo.crs import Crs

MAX_BATCH = 100
SuggestionStatus = Literal["offered", "accepted", "dismissed"]


class CheckinPoint(msgspec.Struct, forbid_unknown_fields=True):
    """One position. `recorded_at` (with a time zone) is when the phone took it: at most
    24 h ago and not in the future (2 min of clock skew allowed); the time of the request
    when omitted. Points less accurate than 200 m are kept but do not count toward
    transfer suggestions."""

    lon: float
    lat: float
    crs: Crs = Crs.WGS84
    recorded_at: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
    accuracy_m: Annotated[float, msgspec.Meta(ge=0, le=100_000)] | None = None


class CheckinBatch(msgspec.Struct, forbid_unknown_fields=True):
    """位置打卡: 1–100 points, e.g. what the phone buffered while offline."""

    points: Annotated[list[CheckinPoint], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class CheckinJurisdiction(msgspec.Struct):
    """The union whose territory (工会辖区) held the point; `area` is its polygon when the
    federation still has it. On a shared border the member's own region counts."""

    union: UnionRef
    area: ResolvedArea | None
    on_border: bool = False


class CheckinRead(msgspec.Struct):
    id: uuid.UUID
    recorded_at: datetime
    local_day: date  # the day in Asia/Shanghai
    lon: float
    lat: float
    crs: str  # the system lon/lat are given in
    accuracy_m: float | None
    votes: bool  # counts toward transfer suggestions (accurate enough)
    jurisdiction: CheckinJurisdiction | None


class SuggestionRead(msgspec.Struct):
    """接转提示: "you seem to work in another city now — move your membership there?"."""

    id: uuid.UUID
    status: SuggestionStatus
    status_zh: str
    to: UnionRef
    days_away: int
    window_days: int
    message_zh: str
    message_en: str
    offered_at: datetime
    decided_at: datetime | None = None
    transfer_id: uuid.UUID | None = None


class CheckinBatchRead(msgspec.Struct):
    items: list[CheckinRead]
    suggestion: SuggestionRead | None = None


class CheckinsErased(msgspec.Struct):
    erased: int


class SuggestionAccept(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)] | None = None
