"""The SLA clock (在工作日上计时), pure: a clock's state is computed from its events alone.

A clock has a target (N working days or N working minutes), the calendar version pinned
when it started (`WorkCalendar`) and its events, in the order they happened:

    start → (pause(reason) → resume)* → (extend(by, approved))* → stop | cancel

The rules, each recomputable from the events at any later time:

- **Budget.** At `start` the target becomes a budget of working time: N minutes as given, or,
  for N working days, the working time from the start to the close of the Nth working day
  (calendars/hours.py: the start's own day is not counted).
- **Elapsed** is the working time the clock ran: from start or each resume to the next pause,
  stop or cancel (or `now`). A pause interval does not count; while paused, elapsed does not
  grow, and the deadline is not set (`deadline` None, `remaining` frozen).
- **Deadline** of a running clock: the instant at which elapsed reaches the budget, laid out
  from the last resume (or the start) on the pinned calendar. It depends on the events only,
  never on `now`; so a pause never moves it earlier.
- **Extension** (延期, only when `approved`; an unapproved request is recorded and changes
  nothing) adds working time to the budget: N minutes, or N working days = the working time
  from the deadline in force (for a paused clock: as if it resumed at the extension) to the
  close of the Nth working day after it. An approved extension after the deadline has passed
  is refused (an unapproved request then is recorded and changes nothing).
- **State**: `running`; `paused`; `breached` once the deadline passed while the clock ran
  (stays breached, a late stop included); `met` when stopped at or before the deadline;
  `cancelled`. Referral of a case to another unit is not an event here: elapsed time is kept.
- **Uncovered years**: every year read that the calendar does not cover is named
  (`uncovered_years`); such a deadline is counted on weekly hours only and must be shown as
  provisional, never as an official one.
- Each clock stands alone: no metric's deadline derives from another clock's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from flexunion.calendars.hours import (
    ZERO,
    WorkCalendar,
    add_working_days,
    add_working_time,
    working_time,
)

EventKind = Literal["start", "pause", "resume", "extend", "stop", "cancel"]
State = Literal["running", "paused", "met", "breached", "cancelled"]
STATE_LABELS: dict[str, str] = {
    "running": "计时中 running", "paused": "暂停 paused", "met": "按时完成 met",
    "breached": "已超期 breached", "cancelled": "已取消 cancelled",
}


class ClockError(ValueError):
    """Events a clock cannot have had (out of order, a resume without a pause...)."""


@dataclass(frozen=True, slots=True)
class Target:
    """Exactly one of: N working days, N working minutes."""

    days: int | None = None
    minutes: int | None = None

    def __post_init__(self) -> None:
        if (self.days is None) == (self.minutes is None):
            raise ClockError("a target is either working days or working minutes")
        if (self.days or 0) < 0 or (self.minutes or 0) < 0:
            raise ClockError("a target must not be negative")


@dataclass(frozen=True, slots=True)
class ClockEvent:
    kind: EventKind
    at: datetime
    reason: str | None = None  # pause: why (waiting for the worker, the partner's data)
    days: int | None = None  # extend: by working days…
    minutes: int | None = None  # …or by working minutes
    approved: bool = False  # extend: a superior approved it


@dataclass(frozen=True, slots=True)
class ClockView:
    state: State
    deadline: datetime | None  # UTC; None while paused (unless it had already passed)
    elapsed: timedelta
    remaining: timedelta  # budget − elapsed; negative when overdue
    budget: timedelta
    uncovered_years: frozenset[int]
    paused_since: datetime | None = None
    pause_reason: str | None = None

    @property
    def elapsed_minutes(self) -> int:
        return int(self.elapsed.total_seconds() // 60)

    @property
    def remaining_minutes(self) -> int:
        return int(self.remaining.total_seconds() // 60)

    @property
    def uncovered(self) -> bool:
        return bool(self.uncovered_years)


class _Reader:
    """The pinned calendar, remembering every uncovered year a computation read."""

    def __init__(self, calendar: WorkCalendar) -> None:
        self.calendar = calendar
        self.uncovered: set[int] = set()

    def between(self, start: datetime, end: datetime) -> timedelta:
        worked = working_time(self.calendar, start, end)
        self.uncovered |= worked.uncovered_years
        return worked.duration

    def after(self, start: datetime, amount: timedelta) -> datetime:
        moment = add_working_time(self.calendar, start, max(amount, ZERO))
        self.uncovered |= moment.uncovered_years
        return moment.at

    def close_after(self, start: datetime, days: int) -> datetime:
        moment = add_working_days(self.calendar, start, days)
        self.uncovered |= moment.uncovered_years
        return moment.at


def evaluate(target: Target, calendar: WorkCalendar, events: Sequence[ClockEvent],
             now: datetime) -> ClockView:
    """The clock as of `now`, from the events that happened by then."""
    seen = [e for e in events if e.at <= now]
    if not seen or seen[0].kind != "start":
        raise ClockError("a clock begins with its start")
    cal = _Reader(calendar)
    start = seen[0].at
    if target.minutes is not None:
        budget = timedelta(minutes=target.minutes)
    else:
        budget = cal.between(start, cal.close_after(start, target.days or 0))

    elapsed = ZERO  # up to the beginning of the current run
    run_from: datetime | None = start  # None while paused
    paused_since: datetime | None = None
    reason: str | None = None
    passed: datetime | None = None  # the deadline, once it passed while the clock ran
    last = start

    def ran_until(moment: datetime) -> timedelta:
        return cal.between(run_from, moment) if run_from is not None else ZERO

    for event in seen[1:]:
        if event.at < last:
            raise ClockError("clock events must be in the order they happened")
        last = event.at
        if event.kind == "start":
            raise ClockError("a clock starts once")
        due = passed if run_from is None else passed or cal.after(run_from, budget - elapsed)
        if passed is None and due is not None and due < event.at:
            passed = due
        if event.kind == "pause":
            if run_from is None:
                raise ClockError("the clock is already paused")
            elapsed += ran_until(event.at)
            run_from, paused_since, reason = None, event.at, event.reason
        elif event.kind == "resume":
            if run_from is None:
                run_from, paused_since, reason = event.at, None, None
            else:
                raise ClockError("the clock is not paused")
        elif event.kind == "extend":
            if event.approved and passed is not None:
                raise ClockError("an extension cannot be granted after the deadline passed")
            if event.approved:
                budget += _extension(cal, event, budget - elapsed - ran_until(event.at))
        else:  # stop | cancel: the clock ends here
            elapsed += ran_until(event.at)
            state: State = "cancelled" if event.kind == "cancel" else (
                "breached" if passed is not None else "met")
            return ClockView(state, due, elapsed, budget - elapsed, budget,
                             frozenset(cal.uncovered))
    if run_from is None:
        return ClockView("paused" if passed is None else "breached", passed, elapsed,
                         budget - elapsed, budget, frozenset(cal.uncovered), paused_since,
                         reason)
    deadline = passed or cal.after(run_from, budget - elapsed)
    elapsed += ran_until(now)
    return ClockView("breached" if deadline < now else "running", deadline, elapsed,
                     budget - elapsed, budget, frozenset(cal.uncovered))


def _extension(cal: _Reader, event: ClockEvent, left: timedelta) -> timedelta:
    if (event.days is None) == (event.minutes is None):
        raise ClockError("an extension is by working days or by working minutes")
    if (event.days or 0) < 0 or (event.minutes or 0) < 0:
        raise ClockError("an extension must not be negative")
    if event.minutes is not None:
        return timedelta(minutes=event.minutes)
    # The deadline in force, as if the clock ran on from the extension's approval.
    base = cal.after(event.at, left)
    return cal.between(base, cal.close_after(base, event.days or 0))
