"""Working time on a federation's calendar (工作日历), pure: no database, no clock.

A `WorkCalendar` is one version of the calendar as a value: the weekly working hours (e.g.
Mon–Fri 09:00–12:00 and 13:30–18:00, Beijing time), the hours of a make-up working day
(调休上班日), the dated overrides (休息日 holiday / 调休上班日 make-up working day, each with
its name) and the years the official calendar covers. The rules:

- A day's working hours: a holiday override has none; a make-up working day override has
  `makeup` hours; any other day has its weekday's hours. A working day is a day with hours.
- Working time between two instants is the overlap of [start, end) with the working hours.
- `add_working_time(start, d)` is the earliest instant at which `d` of working time has
  elapsed after `start` (so a deadline that uses up a day lands on the day's close, 18:00,
  not on the next morning).
- **N working days** (`add_working_days`): the day of `start` is not counted (次日起算);
  day 1 is the first working day after `start`'s date, and a deadline "within N working
  days" ends at the close (the end of the last working interval) of the Nth working day.
  N = 0 (same working day, 即时答复) is the close of `start`'s own day when that is a
  working day and `start` is before its close, else the close of the next working day.
- **End of the Nth working day** (`end_of_working_days`, 24:00 Beijing): the same days
  counted, but the deadline is midnight ending that day rather than its close — the
  release deadline of a transfer (a decision "within N working days", not working time).
  N = 0 is the end of `start`'s own date, whatever kind of day it is.
- Every day is read in Beijing time (core/clock.py BEIJING; UTC+8 all year); instants come
  in aware and go out aware, in UTC.
- **Uncovered years.** A day in a year the calendar does not cover (the official holidays of
  that year are not known yet) is still counted by its weekday's hours, but every result
  that read such a day names the year in `uncovered_years`, so nobody can take it for an
  official deadline. Nothing here counts Monday to Friday silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Literal

from flexunion.core.clock import BEIJING

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DayKind = Literal["holiday", "workday"]
KIND_LABELS: dict[str, str] = {"holiday": "休息日 holiday",
                               "workday": "调休上班日 make-up working day"}
# The longest walk a computation may take: a calendar with no working day for ten years is
# a broken calendar, not a deadline.
MAX_DAYS = 3660
ZERO = timedelta(0)


class CalendarError(ValueError):
    """A calendar that cannot answer (no working hours at all, spans out of order)."""


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """Working hours within one day, [start, end) in Beijing time."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise CalendarError(f"working hours {self} end before they start")

    @classmethod
    def parse(cls, text: str) -> Span:
        """'09:00-12:00' → Span(09:00, 12:00)."""
        try:
            a, b = text.split("-")
            return cls(time.fromisoformat(a.strip()), time.fromisoformat(b.strip()))
        except ValueError as exc:
            raise CalendarError(f"'{text}' is not working hours like '09:00-12:00'") from exc

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def length(self) -> timedelta:
        return (datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start))


def check_spans(spans: Iterable[Span]) -> tuple[Span, ...]:
    ordered = tuple(sorted(spans))
    for a, b in pairwise(ordered):
        if b.start < a.end:
            raise CalendarError(f"working hours {a} and {b} overlap")
    return ordered


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """Working hours per weekday (Monday first) and those of a make-up working day."""

    days: tuple[tuple[Span, ...], ...]
    makeup: tuple[Span, ...]

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise CalendarError("weekly hours need all seven weekdays")
        object.__setattr__(self, "days", tuple(check_spans(d) for d in self.days))
        object.__setattr__(self, "makeup", check_spans(self.makeup))
        if not any(self.days):
            raise CalendarError("weekly hours without a single working day")

    @classmethod
    def parse(cls, weekly: Mapping[str, Iterable[str]], makeup: Iterable[str]) -> WeeklyHours:
        unknown = set(weekly) - set(WEEKDAYS)
        if unknown:
            raise CalendarError(f"unknown weekdays {sorted(unknown)} (use {', '.join(WEEKDAYS)})")
        return cls(tuple(tuple(Span.parse(s) for s in weekly.get(d, ())) for d in WEEKDAYS),
                   tuple(Span.parse(s) for s in makeup))

    def as_text(self) -> tuple[dict[str, list[str]], list[str]]:
        return ({d: [str(s) for s in spans] for d, spans in zip(WEEKDAYS, self.days, strict=True)},
                [str(s) for s in self.makeup])


STANDARD_DAY = (Span(time(9), time(12)), Span(time(13, 30), time(18)))
STANDARD_WEEK = WeeklyHours((STANDARD_DAY,) * 5 + ((), ()), STANDARD_DAY)


@dataclass(frozen=True, slots=True)
class DayOverride:
    day: date
    kind: DayKind
    name_zh: str
    name_en: str = ""


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """One version of a calendar: what a clock pins when it starts."""

    version: int
    weekly: WeeklyHours
    overrides: Mapping[date, DayOverride] = field(default_factory=dict)
    covered_years: frozenset[int] = frozenset()

    def with_local(self, local: Iterable[DayOverride]) -> WorkCalendar:
        """This calendar with a region's own days laid over it (a local day wins)."""
        merged = dict(self.overrides)
        merged.update({o.day: o for o in local})
        return WorkCalendar(self.version, self.weekly, merged, self.covered_years)

    def hours_on(self, day: date) -> tuple[Span, ...]:
        override = self.overrides.get(day)
        if override is not None:
            return () if override.kind == "holiday" else self.weekly.makeup
        return self.weekly.days[day.weekday()]

    def is_working_day(self, day: date) -> bool:
        return bool(self.hours_on(day))

    def covers(self, day: date) -> bool:
        return day.year in self.covered_years

    def intervals_on(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        for span in self.hours_on(day):
            yield (datetime.combine(day, span.start, BEIJING),
                   datetime.combine(day, span.end, BEIJING))

    def close_of(self, day: date) -> datetime:
        """The end of the day's last working interval (the day must be a working day)."""
        return datetime.combine(day, self.hours_on(day)[-1].end, BEIJING)


@dataclass(frozen=True, slots=True)
class Worked:
    """Working time, and the uncovered years it was counted across."""

    duration: timedelta
    uncovered_years: frozenset[int] = frozenset()

    @property
    def minutes(self) -> int:
        return int(self.duration.total_seconds() // 60)

    @property
    def uncovered(self) -> bool:
        return bool(self.uncovered_years)


@dataclass(frozen=True, slots=True)
class Moment:
    """An instant found on the calendar (UTC), and the uncovered years read to find it."""

    at: datetime
    uncovered_years: frozenset[int] = frozenset()

    @property
    def uncovered(self) -> bool:
        return bool(self.uncovered_years)


def _local_day(moment: datetime) -> date:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CalendarError("instants must be timezone-aware")
    return moment.astimezone(BEIJING).date()


def _days(first: date, last: date | None = None) -> Iterator[date]:
    day = first
    for _ in range(MAX_DAYS):
        if last is not None and day > last:
            return
        yield day
        day += timedelta(days=1)
    raise CalendarError(f"no answer within {MAX_DAYS} days of {first}")


def _uncovered(cal: WorkCalendar, first: date, last: date) -> frozenset[int]:
    return frozenset(y for y in range(first.year, last.year + 1) if y not in cal.covered_years)


def working_time(cal: WorkCalendar, start: datetime, end: datetime) -> Worked:
    """Working time in [start, end) (zero when end is not after start)."""
    first, last = _local_day(start), _local_day(end)
    if end <= start:
        return Worked(ZERO, _uncovered(cal, first, first))
    total = ZERO
    for day in _days(first, last):
        for a, b in cal.intervals_on(day):
            lo, hi = max(a, start), min(b, end)
            if lo < hi:
                total += hi - lo
    return Worked(total, _uncovered(cal, first, last))


def add_working_time(cal: WorkCalendar, start: datetime, amount: timedelta) -> Moment:
    """The earliest instant by which `amount` of working time has elapsed after `start`."""
    first = _local_day(start)
    if amount < ZERO:
        raise CalendarError("working time to add must not be negative")
    if amount == ZERO:
        return Moment(start.astimezone(UTC), _uncovered(cal, first, first))
    left = amount
    for day in _days(first):
        for a, b in cal.intervals_on(day):
            lo = max(a, start)
            if lo >= b:
                continue
            if b - lo >= left:
                at = lo + left
                return Moment(at.astimezone(UTC), _uncovered(cal, first, _local_day(at)))
            left -= b - lo
    raise AssertionError("unreachable")  # pragma: no cover (_days raises first)


def add_working_days(cal: WorkCalendar, start: datetime, days: int) -> Moment:
    """The close of the `days`-th working day after `start`'s date (see the module rule)."""
    if days < 0:
        raise CalendarError("working days must not be negative")
    first = _local_day(start)
    if days == 0:
        if cal.is_working_day(first) and start < cal.close_of(first):
            return Moment(cal.close_of(first).astimezone(UTC), _uncovered(cal, first, first))
        days = 1
    counted = 0
    for day in _days(first + timedelta(days=1)):
        if cal.is_working_day(day):
            counted += 1
            if counted == days:
                return Moment(cal.close_of(day).astimezone(UTC), _uncovered(cal, first, day))
    raise AssertionError("unreachable")  # pragma: no cover


def end_of_working_days(cal: WorkCalendar, start: datetime, days: int) -> Moment:
    """The end (24:00 Beijing) of the `days`-th working day after `start`'s date in Beijing
    (the date itself not counted; days=0: the end of that date), in UTC."""
    if days < 0:
        raise CalendarError("working days must not be negative")
    first = last = _local_day(start)
    counted = 0
    if days:
        for day in _days(first + timedelta(days=1)):
            if cal.is_working_day(day):
                counted += 1
                if counted == days:
                    last = day
                    break
    at = datetime.combine(last + timedelta(days=1), time(0), BEIJING).astimezone(UTC)
    return Moment(at, _uncovered(cal, first, last))
