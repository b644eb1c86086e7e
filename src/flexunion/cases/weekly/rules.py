"""The rules that turn a week's counts into signals (pure; thresholds from settings, see
docs/weekly-review.md "Why noise is not flagged").

A count (cases, disputes, a category at a place, overdue clocks) is flagged when

    value >= max(min_count, mean + k * max(sd, sqrt(1.25 * mean + floor ** 2)))

over the same place's previous four weeks (a week with nothing counts as 0; `min_count` is
`repeat_min` for a category at a place). Counts of events are Poisson-like: next week varies
by sqrt(mean) however alike the four baseline weeks happened to be, and a four-week mean is
itself off by sqrt(mean / 4) — so the spread is never taken below sqrt(mean + mean / 4),
whatever the sample sd says (four alike weeks, sd 0, would otherwise flag ordinary variation);
`floor` keeps a place with a mean near 0 from being flagged for one or two cases, and
`min_count` a quiet place from being flagged for a handful. Over seeded Poisson noise the rule
flags under 1 % of place-weeks at every mean (tests/cases/test_weekly_review.py).

A roster drop is flagged when a partner's active workers at a station fell by at least
`drop_pct` % and `drop_min` workers from the week before, from at least `roster_min`."""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flexunion.core.clock import BEIJING
from flexunion.core.errors import InvalidInput

WEEK_PATTERN = r"^[0-9]{4}-W[0-9]{2}$"
_WEEK = re.compile(r"^([0-9]{4})-W([0-9]{2})$")
KINDS = ("cases", "disputes", "category", "overdue", "roster_drop")
DIMENSIONS = ("station", "zone", "partner")
JUDGEMENTS = ("system_flaw", "execution_deviation", "individual")
JUDGEMENT_ZH = {"system_flaw": "制度瑕疵", "execution_deviation": "执行偏差",
                "individual": "个案争议"}
KIND_ZH = {"cases": "诉求量", "disputes": "争议量", "category": "同类诉求",
           "overdue": "超期", "roster_drop": "在岗骑手减少"}


@dataclass(frozen=True, slots=True)
class Week:
    """An ISO week in Beijing time: Monday 00:00 to the next Monday 00:00 (+08:00)."""

    year: int
    number: int

    @property
    def code(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def start(self) -> datetime:
        day = date.fromisocalendar(self.year, self.number, 1)
        return datetime(day.year, day.month, day.day, tzinfo=BEIJING)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=7)

    @classmethod
    def parse(cls, code: str) -> Week:
        found = _WEEK.match(code)
        if found is not None:
            try:
                date.fromisocalendar(int(found[1]), int(found[2]), 1)
                return cls(int(found[1]), int(found[2]))
            except ValueError:
                pass
        raise InvalidInput(f"{code!r} 不是 ISO 周（如 2026-W49）。",
                           f"{code!r} is not an ISO week like 2026-W49.", code="week_invalid")

    @classmethod
    def of(cls, moment: datetime) -> Week:
        year, number, _ = moment.astimezone(BEIJING).isocalendar()
        return cls(year, number)

    def previous(self) -> Week:
        return Week.of(self.start - timedelta(days=1))


@dataclass(frozen=True, slots=True)
class Thresholds:
    min_count: int = 5
    repeat_min: int = 8
    k: float = 3.0
    floor: float = 1.0
    drop_pct: float = 30.0
    drop_min: int = 5
    roster_min: int = 10


@dataclass(frozen=True, slots=True)
class Verdict:
    value: int
    baseline: float
    spread: float
    threshold: float


def count_verdict(value: int, history: list[int], rules: Thresholds, *,
                  min_count: int | None = None) -> Verdict | None:
    """The verdict when `value` crosses the threshold over `history` (4 weeks), else None."""
    mean = statistics.fmean(history) if history else 0.0
    sd = statistics.pstdev(history) if len(history) > 1 else 0.0
    spread = max(sd, math.sqrt(1.25 * mean + rules.floor ** 2))
    least = rules.min_count if min_count is None else min_count
    threshold = max(float(least), mean + rules.k * spread)
    if value >= threshold:
        return Verdict(value, mean, sd, threshold)
    return None


def drop_verdict(now: int, before: int, rules: Thresholds) -> Verdict | None:
    """The verdict when the active count fell from `before` to `now` past the thresholds."""
    if before < rules.roster_min or before - now < rules.drop_min:
        return None
    if (before - now) * 100 < rules.drop_pct * before:
        return None
    return Verdict(now, float(before), float(before - now),
                   before * (1 - rules.drop_pct / 100))
