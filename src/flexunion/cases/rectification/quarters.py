"""季度: a quarter in Beijing time (2026Q4 = 1 Oct 00:00 to 1 Jan 00:00, China Standard
Time), the one calendar unit of the rectification list. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flexunion.core.clock import BEIJING
from flexunion.core.errors import InvalidInput

PATTERN = r"^2[0-9]{3}Q[1-4]$"
_QUARTER = re.compile(r"^(2[0-9]{3})Q([1-4])$")


@dataclass(frozen=True, slots=True, order=True)
class Quarter:
    year: int
    number: int

    @property
    def code(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def start(self) -> datetime:
        return datetime(self.year, 3 * self.number - 2, 1, tzinfo=BEIJING)

    @property
    def end(self) -> datetime:
        return self.next().start

    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year,
                                                                          self.number + 1)

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year,
                                                                          self.number - 1)

    @classmethod
    def of(cls, moment: datetime) -> Quarter:
        local = moment.astimezone(BEIJING)
        return cls(local.year, (local.month - 1) // 3 + 1)

    @classmethod
    def parse(cls, code: str) -> Quarter:
        found = _QUARTER.match(code)
        if found is None:
            raise InvalidInput("季度格式应为 2026Q4（2000–2999 年）。",
                               "A quarter looks like 2026Q4 (years 2000-2999).",
                               code="quarter_invalid", extra={"quarter": code})
        return cls(int(found.group(1)), int(found.group(2)))
