"""The federation's calendar as a file (tenants/<fed>/calendar.yaml), and its generator.

The file holds the weekly hours, the hours of a make-up working day, the years it covers,
the federation's dated days (休息日 / 调休上班日, each with its name) and, optionally, a
region's own local days by the region's code. `generate()` writes it from the
`chinese-calendar` package for the years the package knows (it refuses a later year: a year
it does not know is exactly what the uncovered-year flag is for). docs/calendar.md."""

from __future__ import annotations

from datetime import date
from importlib.metadata import version as package_version
from pathlib import Path

import msgspec

from flexunion.calendars.hours import (
    STANDARD_WEEK,
    CalendarError,
    DayOverride,
    WeeklyHours,
    WorkCalendar,
)
from flexunion.calendars.schemas import CalendarFile, DaySpec
from flexunion.core.errors import OperatorError

FILE_NAME = "calendar.yaml"


class CalendarFileError(OperatorError):
    """A calendar file that cannot be read; the message names the file and the field."""


def known_years() -> range:
    """The years the installed chinese-calendar knows (its constants, first to last)."""
    from chinese_calendar import constants

    years = {d.year for d in constants.holidays} | {d.year for d in constants.workdays}
    return range(min(years), max(years) + 1)


def parse_years(text: str) -> list[int]:
    """'2025-2026' or '2024,2026' → the years, each checked against the package."""
    years: set[int] = set()
    try:
        for part in text.split(","):
            a, _, b = part.strip().partition("-")
            years.update(range(int(a), int(b or a) + 1))
    except ValueError as exc:
        raise CalendarFileError(f"years '{text}': use e.g. 2025-2026 or 2024,2026") from exc
    known = known_years()
    unknown = sorted(y for y in years if y not in known)
    if unknown or not years:
        raise CalendarFileError(
            f"chinese-calendar {package_version('chinese-calendar')} knows the years "
            f"{known.start}–{known.stop - 1}, not {unknown or text}: upgrade the package for"
            " a newly published year")
    return sorted(years)


def generate(years: list[int], weekly: WeeklyHours = STANDARD_WEEK) -> CalendarFile:
    """The federation's calendar for `years` from chinese-calendar: every statutory holiday
    day (with its name) and every 调休 make-up working day (named after its holiday)."""
    from chinese_calendar import constants

    names = {h.value: (h.chinese, h.value) for h in constants.Holiday}
    wanted = set(years)
    days = [DaySpec(date=d, kind="holiday", name_zh=names[n][0], name_en=names[n][1])
            for d, n in constants.holidays.items() if d.year in wanted]
    days += [DaySpec(date=d, kind="workday", name_zh=names[n][0] + "调休",
                     name_en=names[n][1] + " (make-up working day)")
             for d, n in constants.workdays.items() if d.year in wanted]
    week, makeup = weekly.as_text()
    return CalendarFile(covered_years=sorted(wanted), weekly_hours=week, makeup_day_hours=makeup,
                        days=sorted(days, key=lambda d: d.date),
                        source=f"chinese-calendar {package_version('chinese-calendar')}")


HEADER = ("# 工作日历 — the federation's working calendar (docs/calendar.md).\n"
          "# Generated from the chinese-calendar package; regenerate with\n"
          "#   flexunion tenants calendar --years {years} {path}\n"
          "# then `flexunion tenants plan` / `apply`. Local days of a region go under"
          " `local:`.\n")


def render(spec: CalendarFile, path: Path) -> str:
    years = spec.covered_years
    span = f"{years[0]}-{years[-1]}" if years else "YYYY-YYYY"
    body = msgspec.yaml.encode(spec).decode()
    return HEADER.format(years=span, path=path.parent) + body


def load(path: Path) -> CalendarFile:
    try:
        spec = msgspec.yaml.decode(path.read_bytes(), type=CalendarFile)
    except msgspec.ValidationError as exc:
        raise CalendarFileError(f"{path}: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise CalendarFileError(f"{path}: not valid YAML: {exc}") from exc
    try:
        weekly_of(spec)
    except CalendarError as exc:
        raise CalendarFileError(f"{path}: $.weekly_hours: {exc}") from exc
    for where, days in [("$.days", spec.days)] + [
            (f"$.local.{code}", local) for code, local in spec.local.items()]:
        seen: set[date] = set()
        for i, day in enumerate(days):
            if day.date in seen:
                raise CalendarFileError(f"{path}: {where}[{i}].date: {day.date} is listed twice")
            seen.add(day.date)
    return spec


def weekly_of(spec: CalendarFile) -> WeeklyHours:
    return WeeklyHours.parse(spec.weekly_hours, spec.makeup_day_hours)


def overrides_of(days: list[DaySpec]) -> list[DayOverride]:
    return [DayOverride(d.date, d.kind, d.name_zh, d.name_en) for d in days]


def calendar_of(spec: CalendarFile, version: int = 0, region: str | None = None) -> WorkCalendar:
    """The file as a calendar value (the federation's, or a region's with its local days)."""
    cal = WorkCalendar(version, weekly_of(spec), {o.day: o for o in overrides_of(spec.days)},
                       frozenset(spec.covered_years))
    return cal.with_local(overrides_of(spec.local.get(region, []))) if region else cal
