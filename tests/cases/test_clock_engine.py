"""The pure SLA clock (cases/clocks/engine.py) on the 2026 calendar from chinese-calendar,
on a frozen clock that crosses 国庆 (1–7 October off, Sunday 20 September and Saturday
10 October worked). Hand-checked examples, then Hypothesis: elapsed time and the deadline
are checked against an oracle that counts half-hours on chinese-calendar directly."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import chinese_calendar
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from flexunion.calendars import files
from flexunion.cases.clocks.engine import ClockError, ClockEvent, Target, evaluate
from flexunion.core.clock import BEIJING, FixedClock

CAL = files.calendar_of(files.generate([2026]), version=7)
SLOT = timedelta(minutes=30)
HOURS = ((time(9), time(12)), (time(13, 30), time(18)))


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=BEIJING)  # type: ignore[misc]


def ev(kind: str, at: datetime, **kw: object) -> ClockEvent:
    return ClockEvent(kind, at, **kw)  # type: ignore[arg-type]


# ---- examples, checked by hand ---------------------------------------------------------------

def test_a_three_working_day_clock_across_national_day_on_a_frozen_clock() -> None:
    clock = FixedClock(bj(2026, 9, 30, 10))
    events = [ev("start", clock.now())]
    view = evaluate(Target(days=3), CAL, events, clock.now())
    # 8 Oct, 9 Oct, then the make-up Saturday 10 Oct: its close
    assert view.state == "running" and view.deadline == bj(2026, 10, 10, 18)
    assert view.budget == timedelta(hours=6.5 + 3 * 7.5) and view.elapsed_minutes == 0
    clock.advance(days=3)  # 3 Oct, inside the holiday: nothing counted but 30 Sep's 6.5 h
    assert evaluate(Target(days=3), CAL, events, clock.now()).elapsed_minutes == 390
    clock.at = bj(2026, 10, 10, 17)
    view = evaluate(Target(days=3), CAL, events, clock.now())
    assert view.state == "running" and view.remaining_minutes == 60
    clock.at = bj(2026, 10, 10, 18, 0, 1)
    assert evaluate(Target(days=3), CAL, events, clock.now()).state == "breached"


def test_a_pause_moves_the_deadline_by_the_working_time_it_took() -> None:
    events = [ev("start", bj(2026, 9, 29, 9)),
              ev("pause", bj(2026, 9, 30, 16), reason="等待平台提供数据"),
              ev("resume", bj(2026, 10, 8, 10))]
    paused = evaluate(Target(days=1), CAL, events[:2], bj(2026, 10, 5))
    assert paused.state == "paused" and paused.deadline is None
    # 29 Sep whole (7.5 h) and 30 Sep 09:00–12:00, 13:30–16:00 (5.5 h) ran before the pause
    assert paused.pause_reason == "等待平台提供数据" and paused.elapsed_minutes == 450 + 330
    # budget: 29 Sep whole + 30 Sep whole (the 1st working day) = 15 h; 2 h left at the pause
    view = evaluate(Target(days=1), CAL, events, bj(2026, 10, 8, 10, 30))
    assert view.budget == timedelta(hours=15)
    assert view.deadline == bj(2026, 10, 8, 12)  # 2 h left, from 10:00
    assert view.remaining_minutes == 90


def test_an_approved_extension_moves_the_deadline_and_an_unapproved_one_does_not() -> None:
    start = [ev("start", bj(2026, 9, 30, 10))]
    asked = [*start, ev("extend", bj(2026, 10, 8, 9), days=2, approved=False)]
    assert evaluate(Target(days=1), CAL, asked, bj(2026, 10, 8, 9)).deadline == bj(2026, 10, 8, 18)
    granted = [*start, ev("extend", bj(2026, 10, 8, 9), days=2, approved=True)]
    assert evaluate(Target(days=1), CAL, granted, bj(2026, 10, 8, 9)).deadline == bj(
        2026, 10, 10, 18)  # two working days after 8 Oct: 9 Oct, the make-up 10 Oct
    by_minutes = [*start, ev("extend", bj(2026, 10, 8, 9), minutes=30, approved=True)]
    assert evaluate(Target(days=1), CAL, by_minutes, bj(2026, 10, 8, 9)).deadline == bj(
        2026, 10, 9, 9, 30)
    late = [*start, ev("extend", bj(2026, 10, 9, 9), days=1, approved=True)]
    with pytest.raises(ClockError, match="after the deadline"):
        evaluate(Target(days=1), CAL, late, bj(2026, 10, 9, 9))
    late_request = [*start, ev("extend", bj(2026, 10, 9, 9), days=1, approved=False)]
    view = evaluate(Target(days=1), CAL, late_request, bj(2026, 10, 9, 9))
    assert view.state == "breached" and view.deadline == bj(2026, 10, 8, 18)


def test_stop_cancel_and_late_stop() -> None:
    start = ev("start", bj(2026, 10, 8, 9))
    met = evaluate(Target(minutes=60), CAL, [start, ev("stop", bj(2026, 10, 8, 10))],
                   bj(2026, 10, 20))
    assert met.state == "met" and met.deadline == bj(2026, 10, 8, 10)
    assert met.remaining == timedelta()
    late = evaluate(Target(minutes=60), CAL, [start, ev("stop", bj(2026, 10, 8, 11))],
                    bj(2026, 10, 20))
    assert late.state == "breached" and late.elapsed_minutes == 120
    assert late.remaining_minutes == -60
    gone = evaluate(Target(minutes=60), CAL, [start, ev("cancel", bj(2026, 10, 8, 9, 30))],
                    bj(2026, 10, 20))
    assert gone.state == "cancelled" and gone.elapsed_minutes == 30
    # a pause after the deadline passed keeps the clock breached, its deadline shown
    after = evaluate(Target(minutes=60), CAL, [start, ev("pause", bj(2026, 10, 8, 11))],
                     bj(2026, 10, 20))
    assert after.state == "breached" and after.deadline == bj(2026, 10, 8, 10)


def test_a_deadline_reaching_2027_is_flagged() -> None:
    view = evaluate(Target(days=5), CAL, [ev("start", bj(2026, 12, 29, 10))], bj(2026, 12, 29, 11))
    assert view.uncovered and view.uncovered_years == {2027}
    assert view.deadline == bj(2027, 1, 5, 18)  # 30, 31 Dec, then 1 (Fri), 4, 5 Jan on weekly hours
    inside = evaluate(Target(days=1), CAL, [ev("start", bj(2026, 12, 29, 10))],
                      bj(2026, 12, 29, 11))
    assert not inside.uncovered


def test_impossible_event_lists_are_refused() -> None:
    s = ev("start", bj(2026, 10, 8, 9))
    for events in ([], [ev("pause", s.at)], [s, ev("resume", s.at)],
                   [s, ev("pause", s.at), ev("pause", s.at)],
                   [s, ev("pause", bj(2026, 10, 9)), ev("resume", bj(2026, 10, 8, 10))],
                   [s, s], [s, ev("extend", s.at, approved=True)]):
        with pytest.raises(ClockError):
            evaluate(Target(days=1), CAL, events, bj(2026, 10, 20))
    with pytest.raises(ClockError):
        Target(days=1, minutes=1)


# ---- properties against an oracle on chinese-calendar ----------------------------------------

def _working_slot(at: datetime) -> bool:
    local = at.astimezone(BEIJING)
    return chinese_calendar.is_workday(local.date()) and any(
        a <= local.time() < b for a, b in HOURS)


def oracle_elapsed(events: list[ClockEvent], until: datetime) -> timedelta:
    """Working half-hours the clock ran (events and `until` on half-hour marks)."""
    runs, began = [], None
    for e in events:
        if e.kind in ("start", "resume"):
            began = e.at
        elif e.kind in ("pause", "stop", "cancel") and began is not None:
            runs.append((began, e.at))
            began = None
    if began is not None:
        runs.append((began, until))
    total = timedelta()
    for a, b in runs:
        t = a
        while t < min(b, until):
            total += SLOT if _working_slot(t) else timedelta()
            t += SLOT
    return total


def oracle_budget(target: Target, start: datetime) -> timedelta:
    if target.minutes is not None:
        return timedelta(minutes=target.minutes)
    day, counted = start.astimezone(BEIJING).date(), 0
    assert target.days
    while counted < target.days:
        day += timedelta(days=1)
        counted += chinese_calendar.is_workday(day)
    return oracle_elapsed([ClockEvent("start", start)], datetime.combine(day, time(18), BEIJING))


@st.composite
def clocks(draw: st.DrawFn) -> tuple[Target, list[ClockEvent], datetime]:
    """A clock started in September–October 2026 on a half-hour, with pauses, resumes and
    approved or unapproved extensions by minutes, ending running or paused."""
    start = bj(2026, 9, 14) + SLOT * draw(st.integers(0, 48 * 30))
    target = draw(st.one_of(st.builds(Target, days=st.integers(1, 6)),
                            st.builds(Target, minutes=st.integers(0, 40).map(lambda n: n * 30))))
    events, at, paused = [ClockEvent("start", start)], start, False
    for _ in range(draw(st.integers(0, 6))):
        at += SLOT * draw(st.integers(0, 96))
        kind = draw(st.sampled_from(["toggle", "toggle", "extend"]))
        if kind == "extend":
            events.append(ClockEvent("extend", at, minutes=30 * draw(st.integers(0, 8)),
                                     approved=draw(st.booleans())))
        else:
            events.append(ClockEvent("resume" if paused else "pause", at, reason="等待劳动者"))
            paused = not paused
    now = at + SLOT * draw(st.integers(0, 96))
    return target, events, now


def _view(target: Target, events: list[ClockEvent], now: datetime):  # type: ignore[no-untyped-def]
    try:
        return evaluate(target, CAL, events, now)
    except ClockError:
        assume(False)  # an extension after the deadline passed: refused by rule


@settings(max_examples=150, deadline=None)
@given(clocks())
def test_elapsed_is_the_working_time_the_clock_ran(clock: tuple) -> None:
    target, events, now = clock
    view = _view(target, events, now)
    assert view.elapsed == oracle_elapsed(events, now)
    assert view.budget == oracle_budget(target, events[0].at) + sum(
        (timedelta(minutes=e.minutes or 0) for e in events if e.kind == "extend" and e.approved),
        timedelta())
    assert view.remaining == view.budget - view.elapsed


@settings(max_examples=150, deadline=None)
@given(clocks())
def test_the_deadline_is_the_earliest_moment_the_budget_is_used_and_is_recomputable(
        clock: tuple) -> None:
    target, events, now = clock
    view = _view(target, events, now)
    if view.state != "running":
        return
    assert view.deadline is not None and view.deadline.tzinfo is UTC
    last_run = max(e.at for e in events if e.kind in ("start", "resume"))
    assert oracle_elapsed(events, view.deadline) == view.budget or view.deadline == last_run
    if view.deadline - SLOT >= last_run:
        assert oracle_elapsed(events, view.deadline - SLOT) < view.budget
    # recomputed later from the same events (or a copy of them): the same deadline
    for later in (now + timedelta(hours=5), now + timedelta(days=9), view.deadline):
        again = evaluate(target, CAL, [replace(e) for e in events], max(later, now))
        assert again.deadline == view.deadline


@settings(max_examples=150, deadline=None)
@given(clocks(), st.integers(1, 200))
def test_while_paused_elapsed_does_not_grow(clock: tuple, wait: int) -> None:
    target, events, now = clock
    paused = [*events, ClockEvent("pause", now, reason="等待劳动者")] \
        if events[-1].kind != "pause" and _view(target, events, now).state == "running" \
        else None
    assume(paused is not None)
    assert paused is not None
    first = evaluate(target, CAL, paused, now)
    later = evaluate(target, CAL, paused, now + SLOT * wait)
    assert first.elapsed == later.elapsed and first.remaining == later.remaining
    assert later.state in ("paused", "breached")


@settings(max_examples=150, deadline=None)
@given(clocks(), st.integers(0, 400), st.integers(1, 200))
def test_adding_a_pause_interval_never_moves_the_deadline_earlier(
        clock: tuple, offset: int, length: int) -> None:
    target, events, now = clock
    view = _view(target, events, now)
    assume(view.state == "running" and view.deadline is not None)
    last_run = max(e.at for e in events if e.kind in ("start", "resume"))
    pause_at = last_run + SLOT * offset
    with_pause = [*events, ClockEvent("pause", pause_at), ClockEvent("resume",
                                                                     pause_at + SLOT * length)]
    later_now = max(now, pause_at + SLOT * length)
    try:
        paused_view = evaluate(target, CAL, with_pause, later_now)
    except ClockError:
        return
    assert paused_view.deadline is not None
    assert paused_view.deadline >= view.deadline


def test_the_frozen_clock_crosses_the_make_up_saturday() -> None:
    """A 60-minute clock started on Friday 9 Oct at 17:30 runs on the make-up Saturday."""
    clock = FixedClock(bj(2026, 10, 9, 17, 30))
    events = [ev("start", clock.now())]
    due = evaluate(Target(minutes=60), CAL, events, clock.now()).deadline
    assert due == bj(2026, 10, 10, 9, 30)
    clock.at = bj(2026, 10, 10, 9, 15)
    assert evaluate(Target(minutes=60), CAL, events, clock.now()).elapsed_minutes == 45
    assert date(2026, 10, 10).weekday() == 5
