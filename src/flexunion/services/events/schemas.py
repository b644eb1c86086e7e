"""The documented schema of each event a partner pushes, the weather warnings a region loads,
and what their readers see.

Every event carries `event_id` (the partner's own id, unique per partner: a retried or re-sent
batch stores each event once), `kind` (the tag), `rider_id` (the worker as the partner knows
them: the `platform_worker_id` a member's platform link names; a pseudonym, never a phone or
ID number) and `occurred_at` (with its offset)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

from flexunion.services.events.models import PlatformEvent, WeatherWarning

EventId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$",
                                      description="The partner's id of the event (unique)")]
RiderId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
                                      description="The partner's rider id (platform_worker_id)")]
Moment = Annotated[datetime, msgspec.Meta(tz=True)]
Hours = Annotated[float, msgspec.Meta(ge=0, le=24)]
ZoneCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
Lon = Annotated[float, msgspec.Meta(ge=-180, le=180)]
Lat = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Code = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]

KIND_LABELS = {"worker_registered": "骑手注册", "worker_deregistered": "骑手注销",
               "shift_worked": "班次", "injury_reported": "工伤报告"}
WARNING_LABELS = {"heat": "高温预警", "cold": "低温寒潮预警", "storm": "暴雨大风预警"}


class _Event(msgspec.Struct, forbid_unknown_fields=True, tag_field="kind"):
    event_id: EventId
    rider_id: RiderId
    occurred_at: Moment


class WorkerRegistered(_Event, tag="worker_registered"):
    """骑手在平台注册 The worker registered on the platform (new-registration group)."""

    registered_on: date | None = None  # default: the day of occurred_at (Beijing)


class WorkerDeregistered(_Event, tag="worker_deregistered"):
    """骑手注销 The worker left the platform."""

    reason: Literal["left", "deactivated", "other"] = "left"


class ShiftWorked(_Event, tag="shift_worked"):
    """班次 A day's work: hours, of them night hours (22:00–06:00) and hours worked under a
    high-temperature warning or ≥ 35 °C; where: a delivery zone code or coordinates."""

    day: date
    hours: Hours
    night_hours: Hours = 0.0
    heat_hours: Hours = 0.0
    zone_code: ZoneCode | None = None
    lon: Lon | None = None
    lat: Lat | None = None


class InjuryReported(_Event, tag="injury_reported"):
    """工伤报告 An injury at work was reported (no health details: the assistance ledger asks
    the worker for what it needs, with consent)."""

    occurred_on: date
    severity: Literal["minor", "serious", "fatal"]
    zone_code: ZoneCode | None = None
    lon: Lon | None = None
    lat: Lat | None = None


EventIn = WorkerRegistered | WorkerDeregistered | ShiftWorked | InjuryReported


class EventBatch(msgspec.Struct, forbid_unknown_fields=True):
    """Up to 500 events; each stored once, whatever the batch is re-sent."""

    events: Annotated[list[EventIn], msgspec.Meta(min_length=1, max_length=500)]


class EventOutcome(msgspec.Struct):
    event_id: str
    status: str  # stored | duplicate


class BatchRead(msgspec.Struct):
    stored: int
    duplicates: int
    events: list[EventOutcome]


class PartnerEventRead(msgspec.Struct):
    """An event as the partner that pushed it reads it back (no word of membership)."""

    event_id: str
    kind: str
    rider_id: str
    occurred_at: datetime
    received_at: datetime
    payload: dict[str, Any]


class StaffEventRead(msgspec.Struct):
    id: uuid.UUID
    partner: str
    event_id: str
    kind: str
    kind_zh: str
    member_id: uuid.UUID | None  # None: no member's platform link names the rider
    occurred_at: datetime
    received_at: datetime
    payload: dict[str, Any]


class WarningCreate(msgspec.Struct, forbid_unknown_fields=True):
    """An official warning (气象台预警): its area as region/zone codes or a GeoJSON polygon."""

    source_ref: Code
    kind: Literal["heat", "cold", "storm"]
    level: Literal["blue", "yellow", "orange", "red"]
    title_zh: Title
    valid_from: Moment
    valid_to: Moment
    area_codes: Annotated[list[Code], msgspec.Meta(max_length=200)] = []
    polygon: dict[str, Any] | None = None


class WarningsLoad(msgspec.Struct, forbid_unknown_fields=True):
    warnings: Annotated[list[WarningCreate], msgspec.Meta(min_length=1, max_length=200)]


class WarningRead(msgspec.Struct):
    id: uuid.UUID
    source_ref: str
    kind: str
    kind_zh: str
    level: str
    title_zh: str
    area_codes: list[str]
    polygon: dict[str, Any] | None
    valid_from: datetime
    valid_to: datetime
    loaded_at: datetime


class WarningsLoaded(msgspec.Struct):
    created: int
    unchanged: int


def event_payload(event: EventIn) -> dict[str, Any]:
    """The kind's own fields, as stored."""
    out = msgspec.to_builtins(event)
    for common in ("kind", "event_id", "rider_id", "occurred_at"):
        out.pop(common, None)
    return dict(out)


def partner_read(row: PlatformEvent) -> PartnerEventRead:
    return PartnerEventRead(event_id=row.event_id, kind=row.kind, rider_id=row.rider_id,
                            occurred_at=row.occurred_at, received_at=row.received_at,
                            payload=row.payload)


def staff_read(row: PlatformEvent, partner_codes: dict[uuid.UUID, str]) -> StaffEventRead:
    return StaffEventRead(id=row.id, partner=partner_codes.get(row.partner_id, "?"),
                          event_id=row.event_id, kind=row.kind, kind_zh=KIND_LABELS[row.kind],
                          member_id=row.member_id, occurred_at=row.occurred_at,
                          received_at=row.received_at, payload=row.payload)


def warning_read(row: WeatherWarning) -> WarningRead:
    return WarningRead(id=row.id, source_ref=row.source_ref, kind=row.kind,
                       kind_zh=WARNING_LABELS[row.kind], level=row.level, title_zh=row.title_zh,
                       area_codes=list(row.area_codes), polygon=row.polygon,
                       valid_from=row.valid_from, valid_to=row.valid_to, loaded_at=row.loaded_at)
