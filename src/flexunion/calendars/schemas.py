"""The calendar as a file and over the API (msgspec)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
Hours = Annotated[str, msgspec.Meta(pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$",
                                    description="e.g. 09:00-12:00 (Beijing time)")]
Kind = Literal["holiday", "workday"]


class DaySpec(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A dated day: 休息日 `holiday` or 调休上班日 `workday`, with its name."""

    date: date
    kind: Kind
    name_zh: Name
    name_en: Annotated[str, msgspec.Meta(max_length=80)] = ""


class CalendarFile(msgspec.Struct, forbid_unknown_fields=True):
    """tenants/<fed>/calendar.yaml."""

    covered_years: list[Annotated[int, msgspec.Meta(ge=1990, le=2200)]]
    weekly_hours: dict[str, list[Hours]]
    makeup_day_hours: list[Hours]
    days: list[DaySpec] = msgspec.field(default_factory=list)
    # A region's own days (by the region's code), laid over the federation's.
    local: dict[str, list[DaySpec]] = msgspec.field(default_factory=dict)
    source: str = ""


class DayRead(msgspec.Struct):
    date: date
    kind: Kind
    kind_label: str
    name_zh: str
    name_en: str
    layer: Literal["federation", "local"]
    version: int


class CalendarRead(msgspec.Struct):
    """The calendar a tenant counts on at one version: the federation's days, and the local
    days of the caller's region (for a region or its stations)."""

    version: int
    tenant_code: str
    weekly_hours: dict[str, list[str]]
    makeup_day_hours: list[str]
    covered_years: list[int]
    days: list[DayRead]


class DaysSet(msgspec.Struct, forbid_unknown_fields=True):
    """Days to add or change in the caller's layer (HQ: the federation's; a region: its own)."""

    days: Annotated[list[DaySpec], msgspec.Meta(min_length=1, max_length=400)]


class HoursSet(msgspec.Struct, forbid_unknown_fields=True):
    """The federation's weekly hours (HQ only): all seven weekdays, mon…sun."""

    weekly_hours: dict[str, Annotated[list[Hours], msgspec.Meta(max_length=6)]]
    makeup_day_hours: Annotated[list[Hours], msgspec.Meta(max_length=6)]
    covered_years: Annotated[list[Annotated[int, msgspec.Meta(ge=1990, le=2200)]],
                             msgspec.Meta(max_length=300)]


class VersionRead(msgspec.Struct):
    version: int
    tenant_code: str
    change: str
    actor: str
    created_at: datetime


class DeadlineRead(msgspec.Struct):
    """A deadline previewed on the caller's calendar (the version in force)."""

    version: int
    start: datetime
    deadline: datetime
    working_minutes: int
    uncovered: bool
    uncovered_years: list[int]
    warning_zh: str | None = None
    warning_en: str | None = None
