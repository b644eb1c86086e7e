"""办理统计 (under 需求台账): pick a month or a quarter; per handling unit of my subtree the
cases received, 响应率, 解决率, 满意率, on-time closure, reopen rate and the 督办 count, with
their total; the CSV. The same service and row-level security as /v1/cases/figures (HQ and
regional admins)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, Router, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.figures import export, service
from flexunion.cases.figures.periods import Period
from flexunion.console.render import html
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.errors import DomainError

PeriodText = Annotated[str | None, QueryParameter(max_length=16)]


def _period(code: str | None, clock: Clock) -> Period:
    """The period asked for; this month when none (or a malformed one) is given."""
    try:
        return Period.parse(code) if code else Period.month_of(clock.now())
    except DomainError:
        return Period.month_of(clock.now())


def _choices(now: Any, chosen: Period) -> tuple[list[str], list[str]]:
    months, quarters = [Period.month_of(now)], [Period.quarter_of(now)]
    while len(months) < 12:
        months.append(months[-1].previous())
    while len(quarters) < 6:
        quarters.append(quarters[-1].previous())
    for found in (months, quarters):
        if chosen.kind == found[0].kind and chosen not in found:
            found.append(chosen)
    return [m.code for m in months], [q.code for q in quarters]


@get("/", include_in_schema=False)
async def figures_page(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                       caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                       period: PeriodText = None) -> Response[str]:
    chosen = _period(period, clock)
    read = await service.report(session, caller, chosen, now=clock.now())
    months, quarters = _choices(clock.now(), chosen)
    return html(request, "figures/list.html", menu="cases", period=chosen.code, read=read,
                months=months, quarters=quarters)


@get("/export", include_in_schema=False)
async def figures_csv(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                      clock: NamedDependency[Clock], period: PeriodText = None) -> Response[bytes]:
    read = await service.report(session, caller, _period(period, clock), now=clock.now())
    return Response(export.csv_bytes(read), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{export.filename(read)}"',
        "Cache-Control": "no-store"})


router = Router("/cases/figures", route_handlers=[figures_page, figures_csv])
