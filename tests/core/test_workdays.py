"""Working days on the Chinese calendar (2026 as published by the State Council)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest

from flexunion.core import workdays
from flexunion.core.clock import BEIJING
from flexunion.core.workdays import add_working_days, deadline_after, is_working_day


@pytest.mark.parametrize(("day", "working"), [
    (date(2026, 9, 30), True),    # Wednesday before National Day
    (date(2026, 10, 1), False),   # 国庆节
    (date(2026, 10, 5), False),   # a Monday inside the holiday
    (date(2026, 10, 7), False),
    (date(2026, 10, 8), True),
    (date(2026, 10, 10), True),   # Saturday 调休: worked in exchange
    (date(2026, 10, 11), False),  # an ordinary Sunday
    (date(2026, 9, 20), True),    # Sunday 调休 before National Day
    (date(2026, 9, 25), False),   # 中秋节 (a Friday)
    (date(2026, 2, 28), True),    # Saturday 调休 after the Spring Festival
])
def test_official_2026_calendar(day: date, working: bool) -> None:
    assert is_working_day(day) is working


def test_counting_across_national_day() -> None:
    # Oct 1–7 off; Oct 8, 9, 10 (make-up Saturday), 12, 13.
    assert add_working_days(date(2026, 9, 30), 5) == date(2026, 10, 13)
    assert add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert add_working_days(date(2026, 9, 30), 0) == date(2026, 9, 30)
    # A plain week for comparison: Mon Nov 23 + 5 → Mon Nov 30.
    assert add_working_days(date(2026, 11, 23), 5) == date(2026, 11, 30)


def test_deadline_is_the_end_of_the_last_working_day_in_beijing() -> None:
    due = deadline_after(datetime(2026, 9, 30, 10, 0, tzinfo=BEIJING), 5)
    assert due == datetime(2026, 10, 14, 0, 0, tzinfo=BEIJING)
    assert due.tzinfo is UTC and due == datetime(2026, 10, 13, 16, 0, tzinfo=UTC)
    # 17:00 UTC on Friday Oct 9 is already Saturday Oct 10 (a make-up working day) in Beijing:
    # the count starts from the Beijing date, so the next working day is Monday Oct 12.
    assert deadline_after(datetime(2026, 10, 9, 17, 0, tzinfo=UTC), 1) == \
        datetime(2026, 10, 13, 0, 0, tzinfo=BEIJING)
    assert deadline_after(datetime(2026, 10, 9, 15, 0, tzinfo=UTC), 1) == \
        datetime(2026, 10, 11, 0, 0, tzinfo=BEIJING)


def test_years_the_library_does_not_know_fall_back_to_weekdays(
    caplog: pytest.LogCaptureFixture
) -> None:
    workdays._warned_years.discard(2099)
    with caplog.at_level(logging.WARNING, logger="flexunion.core.workdays"):
        assert is_working_day(date(2099, 1, 1)) is True    # a Thursday: no holiday data
        assert is_working_day(date(2099, 1, 3)) is False   # a Saturday
        assert add_working_days(date(2099, 1, 2), 1) == date(2099, 1, 5)
    warnings = [r for r in caplog.records if "2099" in r.getMessage()]
    assert len(warnings) == 1  # once per year, not once per day
