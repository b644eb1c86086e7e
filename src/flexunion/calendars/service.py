"""The federation's working calendar (工作日历): read at a version, changed by layer.

A tenant counts on its federation's calendar (the HQ's layer: weekly hours and the dated
days) with its region's local days laid over it (a region and its stations). Every change
is a new version of the federation's calendar (one counter per federation, numbered under a
transaction-level lock); nothing is rewritten, so `work_calendar(…, version=N)` answers
later exactly as it did when a clock pinned N. With no calendar at all (version 0) every
year is uncovered: a deadline is then counted on standard hours and always flagged.

HQ admins change the federation's layer and its weekly hours; a regional admin changes its
own region's local days only (RLS in migration 0013 holds the same rule)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.calendars import repository
from flexunion.calendars.hours import (
    KIND_LABELS,
    STANDARD_WEEK,
    CalendarError,
    DayOverride,
    Moment,
    WeeklyHours,
    WorkCalendar,
    add_working_days,
    add_working_time,
    end_of_working_days,
    working_time,
)
from flexunion.calendars.models import CalendarDay, CalendarSettings, CalendarVersion
from flexunion.calendars.schemas import (
    CalendarRead,
    DayRead,
    DaySpec,
    DeadlineRead,
    HoursSet,
    VersionRead,
)
from flexunion.core.context import Caller, Role
from flexunion.core.errors import Forbidden, InvalidInput, NotFound
from flexunion.federation import directory
from flexunion.federation.models import Tenant


class CalendarVersionNotFound(NotFound):
    code = "calendar_version_not_found"


class CalendarDayNotFound(NotFound):
    code = "calendar_day_not_found"


@dataclass(frozen=True, slots=True)
class Layers:
    """Whose days a tenant counts on: the federation's, and its region's (if any)."""

    federation_id: uuid.UUID
    region_id: uuid.UUID | None

    @property
    def ids(self) -> list[uuid.UUID]:
        return [self.federation_id] + ([self.region_id] if self.region_id else [])


def layers_of(tenant: Tenant) -> Layers:
    if tenant.kind == "hq":
        return Layers(tenant.federation_id, None)
    return Layers(tenant.federation_id, tenant.id if tenant.kind == "regional"
                  else tenant.parent_id)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The calendar at one version, as stored."""

    version: int
    settings: CalendarSettings | None
    days: list[CalendarDay]  # in force, `cleared` left out

    def weekly(self) -> WeeklyHours:
        if self.settings is None:
            return STANDARD_WEEK
        return WeeklyHours.parse(self.settings.weekly_hours, self.settings.makeup_day_hours)

    def calendar(self, layers: Layers) -> WorkCalendar:
        def of(tenant_id: uuid.UUID | None) -> list[DayOverride]:
            return [DayOverride(d.day, "holiday" if d.kind == "holiday" else "workday",
                                d.name_zh, d.name_en) for d in self.days
                    if d.tenant_id == tenant_id]
        base = WorkCalendar(self.version, self.weekly(),
                            {o.day: o for o in of(layers.federation_id)},
                            frozenset(self.settings.covered_years if self.settings else ()))
        return base.with_local(of(layers.region_id)) if layers.region_id else base


async def snapshot(session: AsyncSession, layers: Layers, version: int | None = None) -> Snapshot:
    latest = await repository.latest_version(session, layers.federation_id) or 0
    if version is None:
        version = latest
    elif version != 0 and (version > latest or not await repository.version_exists(
            session, layers.federation_id, version)):
        raise CalendarVersionNotFound(f"工作日历没有第 {version} 版。",
                                      f"The calendar has no version {version}.")
    settings = await repository.settings_at(session, layers.federation_id, version)
    days = await repository.days_at(session, layers.federation_id, layers.ids, version)
    return Snapshot(version, settings, [d for d in days if d.kind != "cleared"])


async def work_calendar(session: AsyncSession, tenant_id: uuid.UUID,
                        version: int | None = None) -> WorkCalendar:
    """The calendar `tenant_id` counts on, at `version` (None: the one in force now) — what
    an SLA clock pins when it starts (`.version`)."""
    layers = layers_of(await directory.tenant_by_id(session, tenant_id))
    return (await snapshot(session, layers, version)).calendar(layers)


async def deadline_after(session: AsyncSession, tenant_id: uuid.UUID, start: datetime,
                         days: int, *, federation_id: uuid.UUID | None = None) -> Moment:
    """N working days after `start` on `tenant_id`'s calendar (in force now), at the end
    (24:00 Beijing) of that working day: what another domain counts a "within N working
    days" deadline on (a transfer's auto-release; the cases' time limits). `start`'s own
    date is not counted; days=0 is the end of that date. `.uncovered_years` names every year
    from `start` to the deadline that the calendar does not cover: such a deadline is
    counted on weekly hours only and must be shown as provisional (`deadline_warnings`),
    never taken for an official one.

    With `federation_id` the tenant is found in the federation's directory (public within
    it: a worker's session, which sees no tenant row, counts a deadline this way)."""
    if federation_id is None:
        layers = layers_of(await directory.tenant_by_id(session, tenant_id))
    else:
        found = await directory.directory(session, federation_id)
        entry = found.by_id.get(tenant_id)
        if entry is None:
            raise directory.TenantNotFound("没有该组织。", "No such tenant.")
        region = found.region_of(entry)
        layers = Layers(federation_id, region.id if region is not None else None)
    cal = (await snapshot(session, layers)).calendar(layers)
    return end_of_working_days(cal, start, days)


def deadline_warnings(years: Iterable[int]) -> tuple[str | None, str | None]:
    """The warning (Chinese, English) a deadline counted across uncovered `years` carries;
    (None, None) when it crossed none."""
    listed = sorted(years)
    if not listed:
        return None, None
    return (f"工作日历未覆盖 {'、'.join(map(str, listed))} 年的法定节假日：此期限仅按每周"
            "工作时间推算，不是正式期限，须人工核对。",
            f"The calendar does not cover {', '.join(map(str, listed))}: this deadline counts "
            "weekly hours only, is provisional and must be checked by hand.")


def _to_read(snap: Snapshot, layers: Layers, tenant_code: str) -> CalendarRead:
    week, makeup = snap.weekly().as_text()
    days = sorted(snap.days, key=lambda d: (d.day, d.tenant_id != layers.federation_id))
    return CalendarRead(
        version=snap.version, tenant_code=tenant_code, weekly_hours=week,
        makeup_day_hours=makeup,
        covered_years=sorted(snap.settings.covered_years) if snap.settings else [],
        days=[DayRead(date=d.day, kind=d.kind, kind_label=KIND_LABELS[d.kind],  # type: ignore[arg-type]
                      name_zh=d.name_zh, name_en=d.name_en, version=d.version,
                      layer="federation" if d.tenant_id == layers.federation_id else "local")
              for d in days])


async def read(session: AsyncSession, caller: Caller, version: int | None = None) -> CalendarRead:
    layers = layers_of(await directory.tenant_by_id(session, caller.tenant_id))
    return _to_read(await snapshot(session, layers, version), layers, caller.tenant_code)


async def versions(session: AsyncSession, caller: Caller, limit: int = 100) -> list[VersionRead]:
    tenant = await directory.tenant_by_id(session, caller.tenant_id)
    codes = {e.id: e.code for e in (await directory.directory(
        session, tenant.federation_id)).values()}
    return [VersionRead(version=v.version, tenant_code=codes.get(v.tenant_id, ""),
                        change=v.change, actor=v.actor, created_at=v.created_at)
            for v in await repository.versions(session, tenant.federation_id, limit)]


# ---- changes: each one a new version ---------------------------------------------------------

async def new_version(session: AsyncSession, federation_id: uuid.UUID, tenant_id: uuid.UUID,
                      change: str, actor: str) -> int:
    """Number and record the next version (call before adding its rows)."""
    await repository.lock_numbering(session, federation_id)
    version = (await repository.latest_version(session, federation_id) or 0) + 1
    repository.add(session, CalendarVersion(federation_id=federation_id, tenant_id=tenant_id,
                                            version=version, change=change, actor=actor))
    await repository.flush(session)
    return version


async def _writable_layer(session: AsyncSession, caller: Caller) -> tuple[Tenant, Layers]:
    tenant = await directory.tenant_by_id(session, caller.tenant_id)
    if caller.role not in (Role.HQ_ADMIN, Role.REGIONAL_ADMIN) or tenant.kind not in (
            "hq", "regional"):
        raise Forbidden("只有总部管理员（全联合会）和区域工会管理员（本地日期）可以修改工作日历。",
                        "Only HQ admins (the federation's days) and regional admins (their "
                        "local days) change the calendar.", code="calendar_not_yours")
    return tenant, layers_of(tenant)


def _layer_days(snap: Snapshot, tenant_id: uuid.UUID) -> dict[date, CalendarDay]:
    return {d.day: d for d in snap.days if d.tenant_id == tenant_id}


async def set_days(session: AsyncSession, caller: Caller, days: list[DaySpec]) -> CalendarRead:
    """Add or change days of the caller's layer; unchanged days make no new version."""
    tenant, layers = await _writable_layer(session, caller)
    seen: set[date] = set()
    for i, d in enumerate(days):
        if d.date in seen:
            raise InvalidInput(f"第 {i + 1} 项的日期 {d.date} 重复。",
                               f"days[{i}]: {d.date} is listed twice.",
                               code="calendar_day_duplicate")
        seen.add(d.date)
    await repository.lock_numbering(session, layers.federation_id)
    current = _layer_days(await snapshot(session, layers), tenant.id)
    changed = [d for d in days if (c := current.get(d.date)) is None
               or (c.kind, c.name_zh, c.name_en) != (d.kind, d.name_zh, d.name_en)]
    if changed:
        version = await new_version(session, layers.federation_id, tenant.id,
                                    f"days set: {len(changed)}", caller.principal)
        repository.add_all(session, [CalendarDay(
            federation_id=layers.federation_id, tenant_id=tenant.id, version=version,
            day=d.date, kind=d.kind, name_zh=d.name_zh, name_en=d.name_en) for d in changed])
        await repository.flush(session)
        await audit.record(session, "calendar.days_set", tenant_id=tenant.id,
                           object_type="calendar", object_id=str(version),
                           payload={"days": [str(d.date) for d in changed]})
    return _to_read(await snapshot(session, layers), layers, caller.tenant_code)


async def clear_day(session: AsyncSession, caller: Caller, day: date) -> CalendarRead:
    """Remove a day from the caller's layer: a new version in which the day is ordinary."""
    tenant, layers = await _writable_layer(session, caller)
    await repository.lock_numbering(session, layers.federation_id)
    current = _layer_days(await snapshot(session, layers), tenant.id).get(day)
    if current is None:
        raise CalendarDayNotFound(f"本级工作日历中没有 {day}。",
                                  f"{day} is not a day of your calendar layer.")
    version = await new_version(session, layers.federation_id, tenant.id, f"day cleared: {day}",
                                caller.principal)
    repository.add(session, CalendarDay(
        federation_id=layers.federation_id, tenant_id=tenant.id, version=version, day=day,
        kind="cleared", name_zh=current.name_zh, name_en=current.name_en))
    await repository.flush(session)
    await audit.record(session, "calendar.day_cleared", tenant_id=tenant.id,
                       object_type="calendar", object_id=str(version), payload={"day": str(day)})
    return _to_read(await snapshot(session, layers), layers, caller.tenant_code)


def weekly_from(body: HoursSet) -> WeeklyHours:
    try:
        return WeeklyHours.parse(body.weekly_hours, body.makeup_day_hours)
    except CalendarError as exc:
        raise InvalidInput("工作时间无效：" + str(exc), f"Invalid working hours: {exc}",
                           code="calendar_hours_invalid") from exc


async def set_hours(session: AsyncSession, caller: Caller, body: HoursSet) -> CalendarRead:
    """The federation's weekly hours and covered years (HQ only)."""
    tenant, layers = await _writable_layer(session, caller)
    if tenant.kind != "hq":
        raise Forbidden("每周工作时间由总部设定。", "The weekly hours are the HQ's to set.",
                        code="calendar_hq_only")
    week, makeup = weekly_from(body).as_text()
    years = sorted(set(body.covered_years))
    await repository.lock_numbering(session, layers.federation_id)
    old = (await snapshot(session, layers)).settings
    if old is None or (old.weekly_hours, old.makeup_day_hours, sorted(old.covered_years)) != (
            week, makeup, years):
        version = await new_version(session, layers.federation_id, tenant.id, "hours set",
                                    caller.principal)
        repository.add(session, CalendarSettings(
            federation_id=layers.federation_id, tenant_id=tenant.id, version=version,
            weekly_hours=week, makeup_day_hours=makeup, covered_years=years))
        await repository.flush(session)
        await audit.record(session, "calendar.hours_set", tenant_id=tenant.id,
                           object_type="calendar", object_id=str(version),
                           payload={"covered_years": years})
    return _to_read(await snapshot(session, layers), layers, caller.tenant_code)


async def preview_deadline(session: AsyncSession, caller: Caller, start: datetime, *,
                           days: int | None, minutes: int | None) -> DeadlineRead:
    """期限预览: when N working days (or minutes) from `start` end on the caller's calendar."""
    if (days is None) == (minutes is None):
        raise InvalidInput("请给出 days 或 minutes 之一。", "Give either days or minutes.",
                           code="calendar_preview_invalid")
    if start.tzinfo is None:
        raise InvalidInput("起算时间须带时区。", "`from` needs a time zone offset.",
                           code="calendar_preview_invalid")
    if not 1990 <= start.year <= 2200:
        raise InvalidInput("起算时间须在 1990 至 2200 年之间。", "`from` must lie in 1990–2200.",
                           code="calendar_preview_invalid")
    cal = await work_calendar(session, caller.tenant_id)
    try:
        found = (add_working_days(cal, start, days) if days is not None
                 else add_working_time(cal, start, timedelta(minutes=minutes or 0)))
    except CalendarError as exc:
        raise InvalidInput("无法在工作日历上计算该期限。", f"No such deadline: {exc}",
                           code="calendar_preview_invalid") from exc
    worked = working_time(cal, start, found.at)
    years = sorted(found.uncovered_years | worked.uncovered_years)
    return DeadlineRead(
        version=cal.version, start=start, deadline=found.at, working_minutes=worked.minutes,
        uncovered=bool(years), uncovered_years=years,
        warning_zh=(f"工作日历未覆盖 {'、'.join(map(str, years))} 年的法定节假日，该期限仅按每周"
                    "工作时间推算，须人工核对。") if years else None,
        warning_en=(f"The calendar does not cover {', '.join(map(str, years))}: this deadline "
                    "counts weekly hours only and must be checked by hand.") if years else None)
