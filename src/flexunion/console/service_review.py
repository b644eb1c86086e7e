"""月度复盘 (its own menu): pick a month and a unit of my subtree; the units ranked where money
and visits should go next (需关注), a chart per unit below the one chosen — reach and
participation of its groups against night and heat hours per active rider — drawn here as
inline SVG (no script, no CDN: the CSP allows neither), the figures per unit and per group,
the delivery zones by workload, and the CSV (the API export's bytes). The same service and
row-level security as GET /v1/admin/services/review."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, Router, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.console.render import html
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.errors import DomainError
from flexunion.services.review import service
from flexunion.services.review.schemas import ReviewRead, UnitReview, csv_bytes

Text = Annotated[str | None, QueryParameter(max_length=64)]
SERIES = (("reach", "到达率", "Reach", "#2e6fbd"),
          ("participation", "参与率", "Participation", "#2e8b57"),
          ("strain", "人均夜间/高温工时", "Night + heat hours per rider", "#e67e22"))
BAR_W, GAP, GROUP_GAP, HEIGHT, LEFT = 16, 4, 22, 120, 28


def _rates(u: UnitReview) -> tuple[float, float, float]:
    members = sum(g.members for g in u.groups)
    reach = sum(g.reached for g in u.groups) / members if members else 0.0
    part = sum(g.participated for g in u.groups) / members if members else 0.0
    w = u.workload
    strain = (w.night_hours + w.heat_hours) / w.active_members if w.active_members else 0.0
    return reach, part, strain


def chart(read: ReviewRead) -> dict[str, Any]:
    """Three bars per unit below the chosen one (or the chosen one alone): reach and
    participation on 0–100 %, hours per active rider scaled to the busiest unit."""
    units = [u for u in read.units if u.parent == read.place] or read.units[:1]
    values = [(u, *_rates(u)) for u in units]
    top = max([1.0, *(v[3] for v in values)])
    step = 3 * (BAR_W + GAP) + GROUP_GAP
    groups = []
    for i, (u, reach, part, strain) in enumerate(values):
        x, bars = LEFT + i * step, []
        for j, (key, zh, en, colour) in enumerate(SERIES):
            share = {"reach": reach, "participation": part, "strain": strain / top}[key]
            label = f"{strain:.1f}" if key == "strain" else f"{share:.0%}"
            h = round(share * HEIGHT, 1)
            bars.append({"key": key, "x": x + j * (BAR_W + GAP), "y": round(HEIGHT - h, 1),
                         "h": h, "colour": colour, "zh": zh, "en": en, "label": label})
        groups.append({"unit": u.code, "name_zh": u.name_zh, "x": x, "bars": bars,
                       "mid": x + (3 * (BAR_W + GAP) - GAP) / 2})
    return {"groups": groups, "width": LEFT + max(1, len(values)) * step, "height": HEIGHT,
            "bar_w": BAR_W, "top": round(top, 1)}


@get("/", include_in_schema=False)
async def review_page(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                      caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                      month: Text = None, place: Text = None) -> Response[str]:
    read, problem = None, None
    try:
        read = await service.review(session, caller, month or None, now=clock.now(),
                                    place=place or None)
    except DomainError as exc:
        problem = exc.detail
    return html(request, "service_review/month.html", status=422 if problem else 200,
                menu="review", read=read, problem=problem, month=month or "",
                place=place or "", chart=chart(read) if read else None, series=SERIES)


@get("/export", include_in_schema=False)
async def review_csv(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                     clock: NamedDependency[Clock], month: Text = None,
                     place: Text = None) -> Response[bytes]:
    read = await service.review(session, caller, month or None, now=clock.now(),
                                place=place or None)
    return Response(csv_bytes(read), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="service-review-{read.month}.csv"',
        "Cache-Control": "no-store"})


router = Router("/service-review", route_handlers=[review_page, review_csv])
