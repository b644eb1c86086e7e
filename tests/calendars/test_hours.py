"""The pure working-time engine (calendars/hours.py) on the calendar generated from
chinese-calendar: hand-checked dates around 国庆 2026 and its make-up working days, the
uncovered-year flag, and properties checked by Hypothesis against chinese-calendar itself."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flexunion.calendars import files
from flexunion.calendars.hours import (
    CalendarError,
    DayOverride,
    Span,
    WeeklyHours,
    add_working_days,
    add_working_time,
    end_of_working_days,
    working_time,
)
from flexunion.core.clock import BEIJING

CAL = files.calendar_of(files.generate([2025, 2026]), version=3)


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=BEIJING)  # type: ignore[misc]


def test_national_day_2026_is_what_chinese_calendar_says() -> None:
    """国庆 2026: 1–7 October off, Sunday 20 September and Saturday 10 October worked."""
    holidays = {date(2026, 10, d) for d in range(1, 8)}
    makeup = {date(2026, 9, 20), date(2026, 10, 10)}
    for d in holidays:
        assert chinese_calendar.get_holiday_detail(d) == (True, "National Day")
        assert not CAL.is_working_day(d)
        assert CAL.overrides[d].name_zh == "国庆节"
    for d in makeup:
        assert chinese_calendar.is_workday(d) and d.weekday() >= 5
        assert CAL.is_working_day(d) and CAL.overrides[d].kind == "workday"
    day = date(2026, 9, 1)
    while day < date(2026, 11, 1):
        assert CAL.is_working_day(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_working_days_across_national_day() -> None:
    start = bj(2026, 9, 30, 10)  # a Wednesday, the last working day before the holiday
    assert add_working_days(CAL, start, 1).at == bj(2026, 10, 8, 18).astimezone(UTC)
    # 8 Oct (Thu), 9 (Fri), 10 (the make-up Saturday), 12 (Mon), 13 (Tue)
    five = add_working_days(CAL, start, 5)
    assert five.at == bj(2026, 10, 13, 18)
    assert five.at.tzinfo is UTC and not five.uncovered
    assert add_working_days(CAL, start, 3).at == bj(2026, 10, 10, 18)


def test_the_same_working_day_rule() -> None:
    assert add_working_days(CAL, bj(2026, 9, 30, 10), 0).at == bj(2026, 9, 30, 18)
    assert add_working_days(CAL, bj(2026, 9, 30, 18), 0).at == bj(2026, 10, 8, 18)  # at close
    assert add_working_days(CAL, bj(2026, 10, 3, 11), 0).at == bj(2026, 10, 8, 18)  # a holiday
    # a day received on a Saturday: day 1 is the next working day (次日起算)
    assert add_working_days(CAL, bj(2026, 10, 17, 11), 1).at == bj(2026, 10, 19, 18)


def test_working_time_skips_the_holiday_and_counts_the_makeup_saturday() -> None:
    assert working_time(CAL, bj(2026, 9, 30, 17), bj(2026, 10, 8, 9, 30)).minutes == 90
    assert working_time(CAL, bj(2026, 10, 10), bj(2026, 10, 11)).minutes == 450
    assert working_time(CAL, bj(2026, 10, 17), bj(2026, 10, 18)).minutes == 0  # plain Saturday
    assert working_time(CAL, bj(2026, 9, 20), bj(2026, 9, 21)).minutes == 450  # make-up Sunday
    assert working_time(CAL, bj(2026, 10, 8, 11), bj(2026, 10, 8, 14)).minutes == 90  # lunch
    # 120 minutes from 17:00 on 30 Sep: one hour that day, one hour from 09:00 on 8 Oct
    assert add_working_time(CAL, bj(2026, 9, 30, 17), timedelta(minutes=120)).at == bj(
        2026, 10, 8, 10)
    # a duration that ends a day ends at its close, not the next morning
    assert add_working_time(CAL, bj(2026, 10, 9, 9), timedelta(minutes=450)).at == bj(
        2026, 10, 9, 18)


def test_a_deadline_reaching_an_uncovered_year_is_flagged() -> None:
    only_2026 = files.calendar_of(files.generate([2026]))
    start = bj(2026, 12, 30, 10)  # Wednesday
    inside = add_working_days(only_2026, start, 1)
    assert inside.at == bj(2026, 12, 31, 18) and not inside.uncovered
    beyond = add_working_days(only_2026, start, 5)
    assert beyond.uncovered_years == {2027} and beyond.uncovered
    # counted on the weekly hours only (1 Jan 2027 is a Friday), and said so
    assert beyond.at == bj(2027, 1, 6, 18)
    assert working_time(only_2026, start, beyond.at).uncovered_years == {2027}
    assert add_working_time(only_2026, start, timedelta(hours=20)).uncovered_years == {2027}
    with pytest.raises(NotImplementedError):  # what chinese-calendar itself does for 2027
        chinese_calendar.is_workday(date(2027, 1, 4))


def test_a_region_lays_its_local_days_over_the_federation() -> None:
    local = CAL.with_local([DayOverride(date(2026, 10, 9), "holiday", "地方节日")])
    assert add_working_days(local, bj(2026, 9, 30, 10), 2).at == bj(2026, 10, 10, 18)
    assert add_working_days(CAL, bj(2026, 9, 30, 10), 2).at == bj(2026, 10, 9, 18)


def test_refusals() -> None:
    with pytest.raises(CalendarError):
        working_time(CAL, datetime(2026, 10, 8, 10), bj(2026, 10, 9))  # naive
    with pytest.raises(CalendarError):
        add_working_time(CAL, bj(2026, 10, 8), timedelta(minutes=-1))
    with pytest.raises(CalendarError):
        WeeklyHours.parse({"mon": ["12:00-09:00"]}, [])
    with pytest.raises(CalendarError):
        WeeklyHours.parse({"mon": ["09:00-12:00", "11:00-13:00"]}, [])
    with pytest.raises(CalendarError):
        WeeklyHours.parse({"sat": [], "sun": []}, [])  # not a single working day
    with pytest.raises(CalendarError):
        WeeklyHours.parse({"funday": ["09:00-10:00"]}, [])
    assert str(Span(time(9), time(12))) == "09:00-12:00"


def test_the_generator_refuses_a_year_the_package_does_not_know() -> None:
    assert files.known_years()[-1] == 2026
    with pytest.raises(files.CalendarFileError, match="2027"):
        files.parse_years("2026-2027")
    assert files.parse_years("2024,2026") == [2024, 2026]


instants = st.datetimes(min_value=datetime(2026, 9, 1), max_value=datetime(2026, 11, 30),
                        timezones=st.just(BEIJING))
durations = st.integers(min_value=0, max_value=30 * 450 * 60).map(lambda s: timedelta(seconds=s))


@given(instants, durations)
def test_adding_working_time_is_undone_by_measuring_it(start: datetime, amount: timedelta) -> None:
    end = add_working_time(CAL, start, amount)
    assert working_time(CAL, start, end.at).duration == amount
    if amount:  # the earliest such instant: a second earlier falls short
        assert working_time(CAL, start, end.at - timedelta(seconds=1)).duration < amount


@given(instants, instants, instants)
def test_working_time_adds_up(a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    assert (working_time(CAL, a, b).duration + working_time(CAL, b, c).duration
            == working_time(CAL, a, c).duration)


@given(instants, st.integers(min_value=1, max_value=20))
def test_n_working_days_end_at_the_close_of_the_nth_official_working_day(
        start: datetime, n: int) -> None:
    found = add_working_days(CAL, start, n).at.astimezone(BEIJING)
    assert found.time() == time(18)
    day, counted = start.date(), 0
    while day < found.date():
        day += timedelta(days=1)
        counted += chinese_calendar.is_workday(day)
    assert counted == n and chinese_calendar.is_workday(found.date())


def test_the_end_of_the_nth_working_day() -> None:
    """24:00 Beijing ending the Nth working day (a transfer's release deadline)."""
    start = bj(2026, 9, 30, 10)
    five = end_of_working_days(CAL, start, 5)
    assert five.at == bj(2026, 10, 14, 0) and five.at.tzinfo is UTC and not five.uncovered
    assert end_of_working_days(CAL, bj(2026, 10, 3, 23, 59), 0).at == bj(2026, 10, 4, 0)
    assert end_of_working_days(CAL, bj(2026, 9, 18, 16), 5).at == bj(2026, 9, 25, 0)  # 调休 Sun
    late = end_of_working_days(CAL, bj(2026, 12, 28, 10), 5)
    assert late.at == bj(2027, 1, 5, 0) and late.uncovered_years == {2027}
    with pytest.raises(CalendarError):
        end_of_working_days(CAL, start, -1)


def chinese_calendar_deadline(start: datetime, n: int) -> datetime:
    """The oracle: 24:00 Beijing of the n-th working day after start's date, counted with the
    chinese-calendar package directly (what core/workdays.py answered before it was retired)."""
    day = start.astimezone(BEIJING).date()
    counted = 0
    while counted < n:
        day += timedelta(days=1)
        counted += bool(chinese_calendar.is_workday(day))
    return datetime.combine(day + timedelta(days=1), time(0), BEIJING)


@given(instants, st.integers(min_value=0, max_value=20))
def test_the_end_of_the_nth_working_day_is_the_day_after_its_close(
        start: datetime, n: int) -> None:
    """The same day as add_working_days for N ≥ 1, at the following midnight — and, on a
    covered year, what the chinese-calendar package counts."""
    moment = end_of_working_days(CAL, start, n)
    assert moment.at == chinese_calendar_deadline(start, n)
    found = moment.at.astimezone(BEIJING)
    assert found.time() == time(0)
    if n:
        closed = add_working_days(CAL, start, n).at.astimezone(BEIJING)
        assert found.date() == closed.date() + timedelta(days=1)
    else:
        assert found.date() == start.astimezone(BEIJING).date() + timedelta(days=1)

