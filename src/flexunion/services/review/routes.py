"""月度复盘 over HTTP: union staff read the month's review of their subtree, or of one unit in
it (/v1/admin/services/review), as JSON or CSV. Codes: docs/services.md."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, Router, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import BEARER, STAFF, downloads, problems
from flexunion.services.review import service
from flexunion.services.review.schemas import ReviewRead, csv_bytes

MonthQ = Annotated[str | None, QueryParameter(
    max_length=7, description="A month, Beijing time (2026-11); default the current one")]
PlaceQ = Annotated[str | None, QueryParameter(
    max_length=63, description="A unit of my subtree (region or station code); default mine")]
CODES = {404: "tenant_not_found", 422: "review_month_invalid"}


@get("/", summary="月度复盘 The month's review: reach, participation, repeated demands and "
                  "unfinished items per unit and group, against workload and turnover",
     responses=problems(CODES))
async def review(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                 clock: NamedDependency[Clock], month: MonthQ = None,
                 place: PlaceQ = None) -> ReviewRead:
    return await service.review(session, caller, month, now=clock.now(), place=place)


@get("/export.csv", summary="导出月度复盘 The same review as CSV (UTF-8 with BOM)",
     responses=downloads("text/csv", description="月度复盘 CSV") | problems(CODES))
async def review_csv(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                     clock: NamedDependency[Clock], month: MonthQ = None,
                     place: PlaceQ = None) -> Response[bytes]:
    read = await service.review(session, caller, month, now=clock.now(), place=place)
    return Response(csv_bytes(read), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="service-review-{read.month}.csv"',
        "Cache-Control": "no-store"})


router = Router("/v1/admin/services/review", opt=STAFF, security=BEARER,
                tags=["services-review 月度复盘"], route_handlers=[review, review_csv])
