"""办理统计 over HTTP: the figures per handling unit and period, as JSON and as CSV
(/v1/cases/figures and /v1/cases/figures.csv, HQ and regional admins). Definitions and
codes: docs/cases.md."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, Router, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.figures import export, service
from flexunion.cases.figures.periods import Period
from flexunion.cases.figures.schemas import FiguresRead
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import BEARER, UNION_ADMINS, downloads, problems

# No `pattern` here: the service checks the period and answers 422 `period_invalid`.
PeriodParam = Annotated[str, QueryParameter(
    max_length=16, description="统计期: a month (2026-11) or a quarter (2026Q4), Beijing time")]
INVALID = {422: "period_invalid: not a month like 2026-11 or a quarter like 2026Q4"}


@get("/figures", summary="办理统计 Figures per handling unit for a month or a quarter: 响应率, "
                  "解决率, 满意率, on-time closure, reopen rate, 督办 count",
     responses=problems(INVALID))
async def figures(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                  clock: NamedDependency[Clock], period: PeriodParam) -> FiguresRead:
    return await service.report(session, caller, Period.parse(period), now=clock.now())


@get("/figures.csv", summary="导出办理统计 The same figures as CSV (UTF-8 with BOM, "
                             "Chinese headers)",
     responses=downloads("text/csv", description="办理统计 CSV") | problems(INVALID))
async def figures_csv(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                      clock: NamedDependency[Clock], period: PeriodParam) -> Response[bytes]:
    read = await service.report(session, caller, Period.parse(period), now=clock.now())
    return Response(export.csv_bytes(read), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{export.filename(read)}"'})


router = Router("/v1/cases", tags=["cases 需求清单"], opt=UNION_ADMINS,
                security=BEARER, route_handlers=[figures, figures_csv])
