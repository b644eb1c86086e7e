"""统计期: a month (`2026-11`) or a quarter (`2026Q4`) in Beijing time, the period the
handling figures count over (1 Nov 00:00 – 1 Dec 00:00, China Standard Time). Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from flexunion.core.clock import BEIJING
from flexunion.core.errors import InvalidInput

PATTERN = r"^2[0-9]{3}(-(0[1-9]|1[0-2])|Q[1-4])$"
_MONTH = re.compile(r"^(2[0-9]{3})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(2[0-9]{3})Q([1-4])$")


@dataclass(frozen=True, slots=True)
class Period:
    kind: Literal["month", "quarter"]
    year: int
    number: int  # the month 1–12, or the quarter 1–4

    @property
    def code(self) -> str:
        return (f"{self.year}-{self.number:02d}" if self.kind == "month"
                else f"{self.year}Q{self.number}")

    @property
    def _first_month(self) -> int:
        return self.number if self.kind == "month" else 3 * self.number - 2

    @property
    def start(self) -> datetime:
        return datetime(self.year, self._first_month, 1, tzinfo=BEIJING)

    @property
    def end(self) -> datetime:
        month = self._first_month + (1 if self.kind == "month" else 3)
        return datetime(self.year + (month - 1) // 12, (month - 1) % 12 + 1, 1, tzinfo=BEIJING)

    @classmethod
    def month_of(cls, moment: datetime) -> Period:
        local = moment.astimezone(BEIJING)
        return cls("month", local.year, local.month)

    @classmethod
    def quarter_of(cls, moment: datetime) -> Period:
        local = moment.astimezone(BEIJING)
        return cls("quarter", local.year, (local.month - 1) // 3 + 1)

    def previous(self) -> Period:
        if self.number > 1:
            return Period(self.kind, self.year, self.number - 1)
        return Period(self.kind, self.year - 1, 12 if self.kind == "month" else 4)

    @classmethod
    def parse(cls, code: str) -> Period:
        month, quarter = _MONTH.match(code), _QUARTER.match(code)
        if month is not None:
            return cls("month", int(month.group(1)), int(month.group(2)))
        if quarter is not None:
            return cls("quarter", int(quarter.group(1)), int(quarter.group(2)))
        raise InvalidInput("统计期应为月份（如 2026-11）或季度（如 2026Q4），2000–2999 年。",
                           "A period is a month (2026-11) or a quarter (2026Q4), years "
                           "2000-2999.", code="period_invalid", extra={"period": code})
