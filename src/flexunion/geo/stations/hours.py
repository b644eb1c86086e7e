"""Opening hours (营业时间) and duty slots (值班时段) of a station, in Beijing time.

Pure functions, no database: the admin API and the `tenants/` YAML loader share them.

Opening hours are `{"mon": [["07:00", "22:00"]], "tue": [...], ...}`:

- days `mon` … `sun`; a day that is absent or `[]` is closed;
- an interval is `[start, end]` in 24-hour "HH:MM"; `end` may be "24:00" (until midnight);
- an interval that crosses midnight may be written either way: `sat: [["22:00", "02:00"]]`
  or `sat: [["22:00", "24:00"]], sun: [["00:00", "02:00"]]`; the first is split into the
  second (Sunday's late interval continues into Monday);
- within a day intervals must not overlap; touching ones (`["07:00", "12:00"]`,
  `["12:00", "14:00"]`) are merged; at least one interval in the week.

`parse_opening_hours` returns the normal form: all seven days in order, each a sorted list
of non-overlapping `[start, end]` pairs with `start < end`. A station open around the clock
is `[["00:00", "24:00"]]` on every day.

Shift changes (交接班时间) are a sorted list of at least one "HH:MM": slot `i` (the
`shift_no`, counted from 0) runs from `shift_changes[i]` to `shift_changes[i + 1]`, and the
last slot from the last change to the first change of the next day. A slot belongs to the
day it starts on.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from flexunion.core.clock import BEIJING

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_LABELS = {"mon": "周一", "tue": "周二", "wed": "周三", "thu": "周四", "fri": "周五",
              "sat": "周六", "sun": "周日"}
MAX_INTERVALS_PER_DAY = 12
MAX_SHIFT_CHANGES = 24
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])\Z")
_DAY_MINUTES = 24 * 60

Interval = list[str]  # ["HH:MM", "HH:MM"]


class HoursError(ValueError):
    """Opening hours or shift changes that make no sense; the message says where and why."""


def _minutes(value: Any, where: str, *, allow_24: bool = False) -> int:
    if allow_24 and value == "24:00":
        return _DAY_MINUTES
    if not isinstance(value, str) or not _HHMM.match(value):
        end = ' (or "24:00" for midnight)' if allow_24 else ""
        raise HoursError(f'{where}: {value!r} is not a time "HH:MM" from 00:00 to 23:59{end}')
    return int(value[:2]) * 60 + int(value[3:])


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_opening_hours(obj: Any) -> dict[str, list[Interval]]:
    """Validate and normalise opening hours (see the module doc); HoursError if wrong."""
    if not isinstance(obj, dict):
        raise HoursError('opening_hours must be an object of days, e.g. {"mon": [["07:00", '
                         '"22:00"]]}')
    unknown = sorted(str(k) for k in obj if k not in DAYS)
    if unknown:
        raise HoursError(f"opening_hours: unknown day {', '.join(unknown)}; use "
                         f"{', '.join(DAYS)}")
    spans: dict[str, list[tuple[int, int]]] = {d: [] for d in DAYS}
    for i, day in enumerate(DAYS):
        intervals = obj.get(day)
        if intervals is None:
            continue
        if not isinstance(intervals, list):
            raise HoursError(f"opening_hours.{day} must be a list of [start, end] pairs")
        if len(intervals) > MAX_INTERVALS_PER_DAY:
            raise HoursError(f"opening_hours.{day}: at most {MAX_INTERVALS_PER_DAY} intervals")
        for j, pair in enumerate(intervals):
            where = f"opening_hours.{day}[{j}]"
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise HoursError(f'{where} must be a pair ["HH:MM", "HH:MM"]')
            start = _minutes(pair[0], where)
            end = _minutes(pair[1], where, allow_24=True)
            if start == end:
                raise HoursError(f"{where}: an interval from {pair[0]} to {pair[1]} is empty")
            if end > start:
                spans[day].append((start, end))
            else:  # crosses midnight: the rest belongs to the next day (Sunday's to Monday)
                spans[day].append((start, _DAY_MINUTES))
                spans[DAYS[(i + 1) % 7]].append((0, end))
    out: dict[str, list[Interval]] = {}
    for day in DAYS:
        merged: list[tuple[int, int]] = []
        for start, end in sorted(spans[day]):
            if merged and start < merged[-1][1]:
                raise HoursError(f"opening_hours.{day}: {_hhmm(merged[-1][0])}–"
                                 f"{_hhmm(merged[-1][1])} overlaps {_hhmm(start)}–{_hhmm(end)}")
            if merged and start == merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        out[day] = [[_hhmm(s), _hhmm(e)] for s, e in merged]
    if not any(out.values()):
        raise HoursError("opening_hours has no open interval in the week; deactivate the "
                         "station instead")
    return out


def _local(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is needed")
    return at.astimezone(BEIJING)


def hours_on(hours: dict[str, Any], day: date) -> list[Interval]:
    """The intervals of one local date (normal form expected; [] when closed)."""
    return [list(p) for p in (hours.get(DAYS[day.weekday()]) or [])]


def _normal_spans(intervals: Any) -> list[tuple[int, int]]:
    """One day's intervals as minutes, if already in normal form; HoursError otherwise."""
    if not isinstance(intervals, list):
        raise HoursError("not a list")
    spans = []
    for pair in intervals:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise HoursError("not a pair")
        s, e = _minutes(pair[0], ""), _minutes(pair[1], "", allow_24=True)
        if s >= e:
            raise HoursError("crosses midnight")
        spans.append((s, e))
    return spans


def is_open(hours: dict[str, Any], at: datetime) -> bool:
    """Whether the station is open at the moment `at` (any timezone), in Beijing time.
    Hours in normal form are read as they are; anything else is normalised first, and
    hours that cannot be read count as closed."""
    local = _local(at)
    minute = local.hour * 60 + local.minute
    today, yesterday = DAYS[local.weekday()], DAYS[(local.weekday() - 1) % 7]
    try:
        spans = _normal_spans(hours.get(today) or [])
        _normal_spans(hours.get(yesterday) or [])  # nothing of yesterday spills into today
    except (HoursError, AttributeError):
        try:
            spans = _normal_spans(parse_opening_hours(hours)[today])
        except HoursError:
            return False
    return any(s <= minute < e for s, e in spans)


class WeekHours:
    """A station's opening hours read once (per index snapshot), for answering many
    questions about them: `is_open` gives the same answers as the function of that name."""

    __slots__ = ("by_day", "hours", "spans")

    def __init__(self, hours: dict[str, Any]) -> None:
        self.hours = hours
        self.spans: tuple[tuple[tuple[int, int], ...], ...] | None
        try:  # every day in normal form: nothing spills over midnight, today's spans decide
            self.spans = tuple(tuple(_normal_spans(hours.get(d) or [])) for d in DAYS)
        except (HoursError, AttributeError):
            self.spans = None  # is_open normalises on each question, as for a raw dict
        self.by_day: tuple[list[Interval], ...] = tuple(
            [list(p) for p in (hours.get(d) or [])] for d in DAYS) if self.spans is not None \
            else ()

    def is_open(self, local: datetime) -> bool:
        """At `local`, a moment in Beijing time (`beijing(at)`)."""
        if self.spans is None:
            return is_open(self.hours, local)
        minute = local.hour * 60 + local.minute
        return any(s <= minute < e for s, e in self.spans[local.weekday()])

    def on(self, day: date) -> list[Interval]:
        """As `hours_on(hours, day)`; the list is shared: do not change it."""
        return self.by_day[day.weekday()] if self.spans is not None else hours_on(self.hours, day)


def beijing(at: datetime) -> datetime:
    """`at` in Beijing time (the time station hours are written in)."""
    return _local(at)


def local_today(at: datetime) -> date:
    return _local(at).date()


def week_of(day: date) -> tuple[date, date]:
    """Monday and Sunday of the ISO week holding `day`."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def iso_week(day: date) -> str:
    """ "2026-W05" for the ISO week holding `day`."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def parse_iso_week(value: str) -> date:
    """The Monday of an ISO week "YYYY-Www"; HoursError if there is no such week."""
    m = re.fullmatch(r"([0-9]{4})-W([0-9]{2})", value or "")
    if not m:
        raise HoursError(f'{value!r} is not an ISO week like "2026-W05"')
    try:
        return date.fromisocalendar(int(m[1]), int(m[2]), 1)
    except ValueError as exc:
        raise HoursError(f"{value!r}: year {m[1]} has no week {m[2]}") from exc


# ---- duty slots -----------------------------------------------------------------------------


def parse_shift_changes(obj: Any) -> list[str]:
    """Validate shift changes: a list of at least one distinct "HH:MM", returned sorted."""
    if not isinstance(obj, list | tuple) or not obj:
        raise HoursError('shift_changes must be a list of at least one time "HH:MM", e.g. '
                         '["06:00", "14:00", "22:00"]')
    if len(obj) > MAX_SHIFT_CHANGES:
        raise HoursError(f"shift_changes: at most {MAX_SHIFT_CHANGES} per day")
    minutes = [_minutes(v, f"shift_changes[{i}]") for i, v in enumerate(obj)]
    if len(set(minutes)) != len(minutes):
        twice = sorted({_hhmm(m) for m in minutes if minutes.count(m) > 1})
        raise HoursError(f"shift_changes: {', '.join(twice)} appears more than once")
    return [_hhmm(m) for m in sorted(minutes)]


def slot_bounds(shift_changes: list[str], day: date, shift_no: int) -> tuple[datetime, datetime]:
    """(starts_at, ends_at), Beijing time, of slot `shift_no` (from 0) starting on `day`."""
    changes = parse_shift_changes(shift_changes)
    if not 0 <= shift_no < len(changes):
        raise HoursError(f"shift_no {shift_no} does not exist: this station has "
                         f"{len(changes)} slot(s), numbered 0 to {len(changes) - 1}")
    start = datetime.combine(day, time.fromisoformat(changes[shift_no]), BEIJING)
    if shift_no + 1 < len(changes):
        end_day, end_time = day, changes[shift_no + 1]
    else:  # the last slot runs to the first change of the next day
        end_day, end_time = day + timedelta(days=1), changes[0]
    end = datetime.combine(end_day, time.fromisoformat(end_time), BEIJING)
    return start, end


def slots_of(shift_changes: list[str]) -> list[tuple[int, str, str]]:
    """(shift_no, from, to) of each slot, for display: `to` of the last is next day's first."""
    changes = parse_shift_changes(shift_changes)
    return [(i, c, changes[(i + 1) % len(changes)]) for i, c in enumerate(changes)]
