"""工作日历 over HTTP: staff read the calendar they count on (any version) and preview a
deadline; the HQ admin changes the federation's days and weekly hours, a regional admin its
own local days. Every change answers the new version."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from litestar import Router, delete, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.calendars import service
from flexunion.calendars.schemas import (
    CalendarRead,
    DaysSet,
    DeadlineRead,
    HoursSet,
    VersionRead,
)
from flexunion.core.context import Caller
from flexunion.core.http import BEARER, STAFF, UNION_ADMINS, problems

_TENANT_GONE = "tenant_not_found: the token's tenant no longer exists"
_NOT_YOURS = "calendar_not_yours: only HQ and regional admins change a calendar"


@get("/", summary="工作日历 The working calendar I count on (the federation's days, my "
                  "region's local days), now or at a version",
     responses=problems({404: f"calendar_version_not_found; {_TENANT_GONE}"}))
async def read_calendar(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    version: Annotated[int | None, QueryParameter(ge=0, le=2**62)] = None,
) -> CalendarRead:
    return await service.read(session, caller, version)


@get("/versions", summary="日历版本 The calendar's versions, newest first (at most 100)",
     responses=problems({404: _TENANT_GONE}))
async def calendar_versions(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
) -> list[VersionRead]:
    return await service.versions(session, caller)


@get("/deadline", summary="期限预览 When N working days (or minutes) from a moment end on my "
                          "calendar; flags years the calendar does not cover",
     responses=problems({404: _TENANT_GONE,
                         422: "calendar_preview_invalid: days or minutes (one), an aware "
                              "`from`, a deadline within ten years"}))
async def preview_deadline(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    start: Annotated[datetime, QueryParameter(name="from", description="起算时间, with offset")],
    days: Annotated[int | None, QueryParameter(ge=0, le=500)] = None,
    minutes: Annotated[int | None, QueryParameter(ge=0, le=500 * 24 * 60)] = None,
) -> DeadlineRead:
    return await service.preview_deadline(session, caller, start, days=days, minutes=minutes)


@put("/days", summary="设定日期 Add or change holidays (休息日) and make-up working days "
                      "(调休上班日) of my layer: a new version (unchanged days: none)",
     responses=problems({403: _NOT_YOURS, 404: _TENANT_GONE,
                         422: "calendar_day_duplicate: a date listed twice"}))
async def set_days(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    data: JSONBody[DaysSet],
) -> CalendarRead:
    return await service.set_days(session, caller, data.days)


@delete("/days/{day:date}", status_code=200,
        summary="删除日期 Remove a day from my layer (it becomes an ordinary day): a new version",
        responses=problems({403: _NOT_YOURS,
                            404: f"calendar_day_not_found; {_TENANT_GONE}"}))
async def clear_day(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    day: Annotated[date, PathParameter()],
) -> CalendarRead:
    return await service.clear_day(session, caller, day)


@put("/hours", summary="每周工作时间 The federation's weekly hours and covered years (HQ): a "
                       "new version",
     responses=problems({403: f"calendar_hq_only; {_NOT_YOURS}", 404: _TENANT_GONE,
                         422: "calendar_hours_invalid: hours out of order or overlapping, an "
                              "unknown weekday, no working day at all"}))
async def set_hours(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    data: JSONBody[HoursSet],
) -> CalendarRead:
    return await service.set_hours(session, caller, data)


_TAGS = ["calendar 工作日历"]
router = Router("/v1/admin/calendar", tags=_TAGS, security=BEARER, route_handlers=[
    Router("/", opt=STAFF, route_handlers=[read_calendar, calendar_versions, preview_deadline]),
    Router("/", opt=UNION_ADMINS, route_handlers=[set_days, clear_day, set_hours]),
])
