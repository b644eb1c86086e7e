"""Working days (工作日) on the Chinese official calendar: statutory holidays are days off,
调休 make-up days (a Saturday or Sunday worked in exchange) are working days.

`chinese_calendar` knows the State Council's published years only. For a year it does not
know yet, Monday to Friday counts as working, and a warning says so once per year: the
deadline may then fall a few days early or late around a holiday, never fail."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta

import chinese_calendar

from flexunion.core.clock import BEIJING

log = logging.getLogger(__name__)

_warned_years: set[int] = set()


def is_working_day(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning("chinese_calendar has no holiday data for %s; counting Monday to Friday"
                        " as working days (upgrade chinese-calendar)", day.year)
        return day.weekday() < 5


def add_working_days(start: date, days: int) -> date:
    """The `days`-th working day after `start` (start itself not counted)."""
    if days < 0:
        raise ValueError("days must be >= 0")
    day = start
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


def deadline_after(moment: datetime, days: int) -> datetime:
    """The end (24:00 Beijing time) of the `days`-th working day after `moment`'s date
    in Beijing, as an aware datetime in UTC. With days=0: the end of that same day."""
    local_day = moment.astimezone(BEIJING).date()
    last = add_working_days(local_day, days)
    return datetime.combine(last + timedelta(days=1), time(0), BEIJING).astimezone(UTC)
