"""办理统计: the figures per handling unit and period (issue 14, closing the loop).

For a period (a month or a quarter, Beijing time) and the caller's own subtree, over the
cases *received* in the period (merged cases left out), grouped by handling unit — the lead
unit whose assignment ended as answered (the latest answer), else the case's tenant:

- 受理 received: the cases;
- 响应率 response rate: first-response clocks met / first-response clocks judged (stopped
  met or late, or still open past their deadline);
- 解决率 resolution rate: cases closed (已办结, status closed now) / cases received;
- 满意率 satisfaction rate: (满意 + 基本满意) / ratings (every closing's rating);
- 按时办结率 on-time closure: resolution clocks met / resolution clocks stopped;
- 重启率 reopen rate: cases reopened at least once / cases closed at least once;
- 督办 supervised: cases on the 限期协调 route.

A rate with a zero denominator is None (null), never 0. Clocks are judged at `now`. One
query per call (repository.unit_rows); nothing is stored."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.figures import repository
from flexunion.cases.figures.periods import Period
from flexunion.cases.figures.schemas import Figures, FiguresRead, Unit, UnitFigures
from flexunion.core.context import Caller
from flexunion.federation import directory

COUNTS = ("received", "responded_on_time", "response_judged", "closed", "satisfied",
          "basically_satisfied", "rated", "resolved_on_time", "resolution_stopped",
          "reopened", "ever_closed", "supervised")


def rate(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to judge."""
    return None if whole == 0 else part / whole


def figures(counts: dict[str, int]) -> dict[str, Any]:
    """The counts with the five rates made from them."""
    return counts | {
        "response_rate": rate(counts["responded_on_time"], counts["response_judged"]),
        "resolution_rate": rate(counts["closed"], counts["received"]),
        "satisfaction_rate": rate(counts["satisfied"] + counts["basically_satisfied"],
                                  counts["rated"]),
        "on_time_rate": rate(counts["resolved_on_time"], counts["resolution_stopped"]),
        "reopen_rate": rate(counts["reopened"], counts["ever_closed"]),
    }


def _unit(tenants: directory.Directory, unit_id: uuid.UUID) -> Unit:
    entry = tenants.by_id.get(unit_id)
    if entry is None:  # a tenant of the federation the directory no longer names
        return Unit(id=unit_id, code=str(unit_id), name_zh=str(unit_id),
                    name_en=str(unit_id), kind="unknown")
    return Unit(id=entry.id, code=entry.code, name_zh=entry.name_zh, name_en=entry.name_en,
                kind=entry.kind)


async def report(session: AsyncSession, caller: Caller, period: Period, *,
                 now: datetime) -> FiguresRead:
    """The period's figures per handling unit of my subtree, and their total."""
    rows: Sequence[Any] = await repository.unit_rows(session, start=period.start,
                                                     end=period.end, now=now)
    tenants = await directory.my_directory(session, caller)
    units = []
    total = dict.fromkeys(COUNTS, 0)
    for row in rows:  # one row per unit, not per case
        counts = {name: int(getattr(row, name)) for name in COUNTS}
        for name in COUNTS:
            total[name] += counts[name]
        units.append(UnitFigures(unit=_unit(tenants, row.unit_id), **figures(counts)))
    units.sort(key=lambda u: u.unit.code)
    return FiguresRead(period=period.code, kind=period.kind, start=period.start,
                       end=period.end, as_of=now, units=units,
                       total=Figures(**figures(total)))


@dataclass(frozen=True, slots=True)
class RepeatedDemand:
    """A member's demands of one category received more than once in a period, at a unit."""

    tenant_id: uuid.UUID
    member_id: uuid.UUID
    category: str
    cases: int


async def repeated_demands(session: AsyncSession, *, start: datetime,
                           end: datetime) -> list[RepeatedDemand]:
    """重复诉求: every (unit, member, category) with more than one case received in
    [start, end), within the caller's own subtree (row-level security and the scope)."""
    return [RepeatedDemand(r.tenant_id, r.member_id, r.category, int(r.cases))
            for r in await repository.repeated_rows(session, start=start, end=end)]
