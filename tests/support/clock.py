from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flexunion.core.clock import Clock


class ShiftableClock(Clock):
    """Real time, plus an offset a test can move (and the fixture resets)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)
