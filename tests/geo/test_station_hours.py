"""Opening hours and duty slots, as pure functions (the tenants/ loader uses them too)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from flexunion.core.clock import BEIJING
from flexunion.geo.stations.hours import (
    HoursError,
    WeekHours,
    beijing,
    hours_on,
    is_open,
    iso_week,
    parse_iso_week,
    parse_opening_hours,
    parse_shift_changes,
    slot_bounds,
    slots_of,
)

# Saturday 7 March 2026; the next day is Sunday 8 March.
SAT = date(2026, 3, 7)


def at(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, datetime.strptime(hhmm, "%H:%M").time(), BEIJING)


def test_normal_form_has_every_day_sorted_and_merged() -> None:
    got = parse_opening_hours({"tue": [["13:00", "18:00"], ["07:00", "12:00"],
                                       ["12:00", "13:00"]], "mon": [["07:00", "22:00"]]})
    assert list(got) == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert got["mon"] == [["07:00", "22:00"]]
    assert got["tue"] == [["07:00", "18:00"]]  # touching intervals merge
    assert got["wed"] == [] and got["sun"] == []
    assert parse_opening_hours(got) == got  # idempotent


def test_an_interval_across_midnight_is_split_into_the_next_day() -> None:
    got = parse_opening_hours({"sat": [["22:00", "02:00"]], "sun": [["08:00", "12:00"]]})
    assert got["sat"] == [["22:00", "24:00"]]
    assert got["sun"] == [["00:00", "02:00"], ["08:00", "12:00"]]
    # Sunday night runs into Monday; the explicit form means the same.
    wrapped = parse_opening_hours({"sun": [["20:00", "01:30"]]})
    assert wrapped["sun"] == [["20:00", "24:00"]] and wrapped["mon"] == [["00:00", "01:30"]]
    assert parse_opening_hours({"sun": [["20:00", "24:00"]], "mon": [["00:00", "01:30"]]}) \
        == wrapped


@pytest.mark.parametrize(("hours", "says"), [
    ({"mon": [["25:00", "26:00"]]}, "'25:00' is not a time"),
    ({"mon": [["07:00", "24:30"]]}, "'24:30' is not a time"),
    ({"mon": [["24:00", "23:00"]]}, "'24:00' is not a time"),  # 24:00 only ends a day
    ({"mon": [["7:00", "22:00"]]}, "'7:00' is not a time"),
    ({"mon": [["07:00", "12:00"], ["11:00", "13:00"]]}, "07:00–12:00 overlaps 11:00–13:00"),
    ({"sun": [["22:00", "03:00"]], "mon": [["02:00", "08:00"]]}, "mon: 00:00–03:00 overlaps"),
    ({"mon": [["07:00", "07:00"]]}, "is empty"),
    ({"monday": [["07:00", "22:00"]]}, "unknown day monday"),
    ({"mon": [["07:00"]]}, "must be a pair"),
    ({"mon": "07:00-22:00"}, "must be a list"),
    ({"mon": [[7, 22]]}, "is not a time"),
    ({}, "no open interval"),
    ({"mon": []}, "no open interval"),
    ([["07:00", "22:00"]], "must be an object"),
])
def test_bad_opening_hours_are_refused_with_a_reason(hours: object, says: str) -> None:
    with pytest.raises(HoursError, match=says.replace("(", r"\(")):
        parse_opening_hours(hours)
    assert issubclass(HoursError, ValueError)


def test_is_open_in_beijing_time_with_half_open_intervals() -> None:
    hours = parse_opening_hours({d: [["07:00", "22:00"]] for d in ("mon", "sat")}
                                | {"sat": [["07:00", "22:00"], ["23:00", "01:00"]]})
    assert not is_open(hours, at(SAT, "06:59"))
    assert is_open(hours, at(SAT, "07:00"))
    assert is_open(hours, at(SAT, "21:59"))
    assert not is_open(hours, at(SAT, "22:00"))  # the end is not included
    assert is_open(hours, at(SAT, "23:30"))
    assert is_open(hours, at(SAT + timedelta(days=1), "00:59"))  # Sunday, after midnight
    assert not is_open(hours, at(SAT + timedelta(days=1), "01:00"))
    # The same moment written in UTC: 07:30 Beijing is 23:30 UTC of the day before.
    assert is_open(hours, datetime(2026, 3, 6, 23, 30, tzinfo=UTC))
    assert not is_open(hours, datetime(2026, 3, 6, 22, 30, tzinfo=UTC))
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(hours, datetime(2026, 3, 7, 8, 0))


def test_is_open_reads_raw_hours_and_treats_unreadable_ones_as_closed() -> None:
    raw = {"sat": [["22:00", "02:00"]]}  # not normalised: the split is done on the fly
    assert is_open(raw, at(SAT + timedelta(days=1), "01:00"))
    assert not is_open(raw, at(SAT + timedelta(days=1), "02:00"))
    assert not is_open({"sat": [["25:00", "26:00"]]}, at(SAT, "12:00"))
    assert not is_open({}, at(SAT, "12:00"))
    assert hours_on(parse_opening_hours(raw), SAT) == [["22:00", "24:00"]]


def test_shift_changes_are_sorted_distinct_and_at_least_one() -> None:
    assert parse_shift_changes(["22:00", "06:00", "14:00"]) == ["06:00", "14:00", "22:00"]
    for bad, says in ([[], "at least one"], [None, "at least one"], [["06:00", "06:00"],
                      "06:00 appears more than once"], [["24:00"], "'24:00' is not a time"],
                      [["6:00"], "is not a time"]):
        with pytest.raises(HoursError, match=says):
            parse_shift_changes(bad)


def test_slot_bounds_the_last_slot_runs_to_the_next_morning() -> None:
    changes = ["06:00", "14:00", "22:00"]
    assert slot_bounds(changes, SAT, 0) == (at(SAT, "06:00"), at(SAT, "14:00"))
    assert slot_bounds(changes, SAT, 1) == (at(SAT, "14:00"), at(SAT, "22:00"))
    night = slot_bounds(changes, SAT, 2)
    assert night == (at(SAT, "22:00"), at(SAT + timedelta(days=1), "06:00"))
    assert night[0].utcoffset() == timedelta(hours=8)
    assert night[1] - night[0] == timedelta(hours=8)
    # One change a day: a single 24-hour slot. Midnight as a change: the last slot ends at 24:00.
    assert slot_bounds(["08:00"], SAT, 0) == (at(SAT, "08:00"), at(SAT + timedelta(days=1),
                                                                   "08:00"))
    assert slot_bounds(["00:00", "12:00"], SAT, 1)[1] == at(SAT + timedelta(days=1), "00:00")
    with pytest.raises(HoursError, match="shift_no 3 does not exist"):
        slot_bounds(changes, SAT, 3)
    with pytest.raises(HoursError):
        slot_bounds(changes, SAT, -1)
    assert slots_of(changes) == [(0, "06:00", "14:00"), (1, "14:00", "22:00"),
                                 (2, "22:00", "06:00")]


def test_iso_weeks() -> None:
    assert iso_week(date(2026, 1, 1)) == "2026-W01"
    assert iso_week(date(2027, 1, 1)) == "2026-W53"  # 2026 has 53 ISO weeks
    assert parse_iso_week("2026-W53") == date(2026, 12, 28)
    for bad in ("2025-W53", "2026-W00", "2026-5", ""):
        with pytest.raises(HoursError):
            parse_iso_week(bad)


@pytest.mark.parametrize("hours", [
    {d: [["07:00", "22:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    {"mon": [["00:00", "24:00"]], "sat": [["09:00", "12:00"], ["13:30", "18:00"]]},
    {"fri": [["20:00", "02:00"]], "sat": [["10:00", "11:00"]]},  # raw: crosses midnight
    {"sun": [["18:00", "08:00"]]},  # raw, and Sunday spills into Monday
    {"mon": [["7:00", "9:00"]], "tue": "nonsense"},  # unreadable: closed everywhere
    {"mon": [["06:00", "07:00"]], "wed": [["12:00", "12:00"]]},  # unreadable
    {},
])
def test_week_hours_read_once_answer_as_the_functions(hours: dict) -> None:
    """WeekHours (kept per station with the index snapshot) gives the same answers as
    is_open and hours_on, minute by minute through a week, from any timezone."""
    week = WeekHours(hours)
    start = datetime.combine(date(2026, 3, 2), datetime.min.time(), BEIJING)  # a Monday
    for minutes in range(0, 7 * 24 * 60 + 120, 7):
        moment = (start + timedelta(minutes=minutes)).astimezone(UTC)
        assert week.is_open(beijing(moment)) == is_open(hours, moment), moment
    for offset in range(8):
        day = date(2026, 3, 2) + timedelta(days=offset)
        if week.spans is not None:
            assert week.on(day) == hours_on(hours, day)
