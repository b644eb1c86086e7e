"""The service's clock: one seam for tests to move time (the outside world), and the one
time zone every user-facing day and deadline is counted in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

# Beijing time (China Standard Time, UTC+8 all year, no daylight saving since 1991): the
# union's days, shifts, opening hours and working-day deadlines.
BEIJING = ZoneInfo("Asia/Shanghai")


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock(Clock):
    """A clock tests can set and advance."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at = self.at + timedelta(**delta)
