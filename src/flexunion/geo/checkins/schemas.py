"""Opt-in location check-ins (位置打卡) and transfer suggestions (接转提示): what the worker
sends and sees, and the functions that build those answers from rows."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Literal, cast

import msgspec

from flexunion.federation.directory import DirectoryEntry
from flexunion.geo.areas.schemas import ResolvedArea, UnionRef, resolved_area
from flexunion.geo.checkins.models import SUGGESTION_STATUSES, LocationCheckin, TransferSuggestion
from flexunion.geo.checkins.suggestions import votes
from flexunion.geo.crs import Crs, from_wgs84
from flexunion.geo.index import AreaHit
from flexunion.geo.registry import GeoSnapshot

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


# ---- building answers -----------------------------------------------------------------------

Unions = Mapping[uuid.UUID, DirectoryEntry]  # the federation's tenants by id


def union_ref(entry: DirectoryEntry) -> UnionRef:
    return UnionRef(code=entry.code, name_zh=entry.name_zh, name_en=entry.name_en,
                    city=entry.city)


def checkin_read(row: LocationCheckin, crs: Crs, unions: Unions, snap: GeoSnapshot,
                 hit: AreaHit | None = None, *, resolve: bool = False) -> CheckinRead:
    """A stored point in `crs`, with the union whose jurisdiction held it. `hit`: the index's
    answer when it was stored now; `resolve`: look the polygon up again (listing)."""
    jurisdiction = None
    union = unions.get(row.jurisdiction_tenant_id) if row.jurisdiction_tenant_id else None
    if hit is not None and hit.area.tenant_id != row.jurisdiction_tenant_id:
        hit = None  # a re-sent point stored before the areas changed: keep what was stored
    if union is not None:
        if resolve:  # listing: the polygon it fell in, if the federation still has it
            hit = next((h for h in snap.areas.resolve(row.lon, row.lat)
                        if h.area.kind == "jurisdiction"
                        and h.area.tenant_id == row.jurisdiction_tenant_id), None)
        jurisdiction = CheckinJurisdiction(union=union_ref(union),
                                           area=resolved_area(hit) if hit else None,
                                           on_border=bool(hit and hit.on_border))
    lon, lat = from_wgs84(row.lon, row.lat, crs)
    return CheckinRead(id=row.id, recorded_at=row.recorded_at, local_day=row.local_day,
                       lon=lon, lat=lat, crs=crs.value, accuracy_m=row.accuracy_m,
                       votes=votes(row.accuracy_m), jurisdiction=jurisdiction)


def suggestion_message(suggestion: TransferSuggestion, to: DirectoryEntry) -> tuple[str, str]:
    """The suggestion in words, Chinese first."""
    days, window = suggestion.days_away, suggestion.window_days
    place = to.city or to.name_zh
    zh = (f"您近{window}天中有{days}天主要在{place}（{to.name_zh}辖区）活动。"
          f"如您已在当地长期工作，可申请将工会会籍接转到{to.name_zh}。")
    en = (f"On {days} of the last {window} days you were mostly in {place} ({to.name_en}). "
          f"If you now work there, you can move your membership to {to.name_en}.")
    return zh, en


def suggestion_read(s: TransferSuggestion, unions: Unions) -> SuggestionRead:
    to = unions[s.to_tenant_id]
    zh, en = suggestion_message(s, to)
    return SuggestionRead(id=s.id, status=cast(SuggestionStatus, s.status),
                          status_zh=SUGGESTION_STATUSES[s.status], to=union_ref(to),
                          days_away=s.days_away, window_days=s.window_days, message_zh=zh,
                          message_en=en, offered_at=s.offered_at, decided_at=s.decided_at,
                          transfer_id=s.transfer_id)
