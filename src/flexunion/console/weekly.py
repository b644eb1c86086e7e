"""周研判 in the console (需求台账): the week's review list of signals — kind, place, value
against its baseline, why, and the judgement — with a week picker (previous / next), a 研判
form per signal (judgement, action, follow-up node and its due date; refusals next to their
fields), a 重新计算 button for HQ and regional admins, and a map with one marker per signal at
its place: a station's point, a delivery zone's or a union's service-area centroid; a
partner-level signal has no point and is listed beside the map.

Every read and write is the weekly service's (cases/weekly/service.py decides who may; row-level
security keeps a station officer to its own station's signals); the places come from the geo
services."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated, Any

import shapely
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from markupsafe import escape
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.weekly import service
from flexunion.cases.weekly.rules import KIND_ZH, Week
from flexunion.cases.weekly.schemas import JudgementWrite, SignalRead
from flexunion.config import Settings
from flexunion.console.forms import Form, attempt, read_form
from flexunion.console.render import html, see_other, speaker
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.errors import DomainError
from flexunion.federation import directory
from flexunion.geo.areas import service as areas
from flexunion.geo.stations import service as stations

WeekQuery = Annotated[str | None, QueryParameter(max_length=16)]
SignalId = Annotated[uuid.UUID, PathParameter()]
MAP_MAX = 5000
JUDGEMENTS = (("system_flaw", "制度瑕疵", "System flaw"),
              ("execution_deviation", "执行偏差", "Execution deviation"),
              ("individual", "个案争议", "Individual dispute"))
KIND_EN = {"cases": "Case volume", "disputes": "Dispute volume", "category": "Repeated category",
           "overdue": "Overdue", "roster_drop": "Active riders dropping"}
# One colour per kind, for the markers and the legend (and the list's swatches).
KIND_COLOURS = {"cases": "#b42318", "disputes": "#7c3aed", "category": "#d97706",
                "overdue": "#1f5fa8", "roster_drop": "#047857"}
DIM = {"station": ("站点", "Station"), "zone": ("配送片区", "Delivery zone"),
       "partner": ("平台", "Platform")}


def _week(code: str | None, clock: Clock) -> Week:
    """The ISO week asked for (422 `week_invalid` if it is not one), or the last one."""
    return Week.parse(code) if code else Week.of(clock.now()).previous()


def _htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("HX-Request") == "true"


async def _points(session: AsyncSession, caller: Caller,
                  signals: list[SignalRead]) -> dict[uuid.UUID, tuple[float, float]]:
    """(lon, lat) in WGS84 of each signal that has a place on the map: a station tenant's
    station point (the station of the same code, else one the tenant keeps), a union's
    jurisdiction centroid, a delivery zone's centroid. A partner has none."""
    out: dict[uuid.UUID, tuple[float, float]] = {}
    if not signals:
        return out
    points = await stations.page(session, caller, tenant=None, active=None, after=None,
                                 limit=MAP_MAX)
    by_code = {p.code: p for p in points}
    by_tenant: dict[uuid.UUID, Any] = {}
    for p in points:
        by_tenant.setdefault(p.tenant_id, p)
    zones: dict[str, Any] = {}
    jurisdictions: dict[uuid.UUID, Any] = {}
    if any(s.place.dimension == "zone" or (s.place.dimension == "station"
                                            and s.place.code not in by_code) for s in signals):
        federation_id = await directory.federation_of(session, caller)
        zones = {a.code: a for a in await areas.delivery_zones(session, federation_id)}
        owned, _ = await areas.subtree_areas(session, caller)
        jurisdictions = {a.tenant_id: a for a in owned if a.kind == "jurisdiction"}

    def centroid(area: Any) -> tuple[float, float]:
        c = shapely.from_wkb(area.geom_wkb).centroid
        return (float(c.x), float(c.y))

    for s in signals:
        place = s.place
        if place.dimension == "station":
            point = by_code.get(place.code) or (by_tenant.get(place.tenant_id)
                                                if place.tenant_id else None)
            if point is not None:
                out[s.id] = (point.lon, point.lat)
            elif place.tenant_id in jurisdictions:
                out[s.id] = centroid(jurisdictions[place.tenant_id])
        elif place.dimension == "zone" and place.code in zones:
            out[s.id] = centroid(zones[place.code])
    return out


async def _page(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                week: Week, *, forms: dict[str, Form] | None = None,
                status: int = 200) -> Response[str]:
    t = speaker(request)
    review = await service.review(session, caller, week.code)
    placed = await _points(session, caller, review.signals)
    now_week = Week.of(request.app.state.clock.now())
    following = Week.of(week.end + timedelta(hours=12))
    legend = [[KIND_COLOURS[k], t(zh, KIND_EN[k])] for k, zh in KIND_ZH.items()]
    return html(request, "cases/weekly.html", status=status, menu="cases", tab="weekly",
                review=review, week=week, prev_week=week.previous().code,
                next_week=following.code if week.start < now_week.start else None,
                placed=placed, unplaced=[s for s in review.signals if s.id not in placed],
                colours=KIND_COLOURS, kind_en=KIND_EN, dims=DIM, judgements=JUDGEMENTS,
                legend=legend, manager=caller.role in service.MANAGERS, forms=forms or {},
                done=request.query_params.get("done"))


@get("/weekly-review", include_in_schema=False)
async def weekly_review(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                        caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                        week: WeekQuery = None) -> Response[str]:
    return await _page(request, session, caller, _week(week, clock))


@get("/weekly-review/map.geojson", include_in_schema=False)
async def weekly_map(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                     caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                     week: WeekQuery = None) -> Response[dict[str, Any]]:
    """The week's signals that have a place, as GeoJSON points (WGS84) coloured by kind."""
    t = speaker(request)
    review = await service.review(session, caller, _week(week, clock).code)
    placed = await _points(session, caller, review.signals)
    features = []
    for s in review.signals:
        if s.id not in placed:
            continue
        lon, lat = placed[s.id]
        colour = KIND_COLOURS.get(s.kind, "#1f5fa8")
        features.append({
            "type": "Feature", "id": str(s.id),
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "kind": "station", "signal_kind": s.kind, "stroke": colour, "fill": colour,
                "popup": f'<a href="#signal-{s.id}">{escape(t(s.kind_zh, KIND_EN[s.kind]))}</a>'
                         f"<br>{escape(t(s.place.name_zh, s.place.name_en))}"
                         f"<br>{s.value} / {s.baseline:.1f}"}})
    return Response({"type": "FeatureCollection", "features": features},
                    media_type="application/geo+json", headers={"Cache-Control": "no-store"})


@post("/weekly-review/run", include_in_schema=False)
async def run_review(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                     caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                     settings: NamedDependency[Settings]) -> Response[str]:
    """重新计算: the week's signals computed again for my regions (HQ and regional admins)."""
    form = await read_form(request, speaker(request))
    week = _week(form.values.get("week") or None, clock)
    await attempt(form, service.run(session, caller, week.code, settings.cases,
                                    now=clock.now()))
    if not form.ok:
        return await _page(request, session, caller, week, forms={"run": form},
                           status=form.status)
    return see_other(f"/console/cases/weekly-review?week={week.code}&done=run",
                     htmx=_htmx(request))


@post("/weekly-review/signals/{signal_id:uuid}/judgement", include_in_schema=False)
async def judge(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                signal_id: SignalId) -> Response[str]:
    """研判: the judgement, action and follow-up node of one signal."""
    form = await read_form(request, speaker(request))
    week = _week(form.values.get("week") or None, clock)
    judgement = form.choice("judgement", [j for j, _, _ in JUDGEMENTS])
    action = form.text("action", max_length=2000)
    node = form.text("follow_up_node", max_length=200)
    due_raw = form.text("follow_up_due", max_length=10)
    due: date | None = None
    if due_raw:
        try:
            due = date.fromisoformat(due_raw)
        except ValueError:
            form.errors["follow_up_due"] = form.t("请填写日期（如 2026-12-21）。",
                                                  "Enter a date like 2026-12-21.")
    if not form.ok or judgement is None or action is None or node is None or due is None:
        return await _page(request, session, caller, week, forms={str(signal_id): form},
                           status=422)
    data = JudgementWrite(judgement=judgement, action=action,  # type: ignore[arg-type]
                          follow_up_node=node, follow_up_due=due)
    try:
        await service.judge(session, caller, signal_id, data, now=clock.now())
    except DomainError as exc:
        if exc.status == 404:
            raise
        form.refused(exc)
        return await _page(request, session, caller, week, forms={str(signal_id): form},
                           status=form.status)
    return see_other(f"/console/cases/weekly-review?week={week.code}&done=judged"
                     f"#signal-{signal_id}", htmx=_htmx(request))


router = Router("/cases", route_handlers=[weekly_review, weekly_map, run_review, judge])
