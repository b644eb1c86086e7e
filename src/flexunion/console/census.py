"""摸清底数: run a coverage census of my subtree now (the same census as the API's
POST /v1/admin/geo/census, on the pandas engine), see the runs made before, and for a run its
figures zone by zone — how many platform workers, how many of them members, how many members
we are really in touch with — on a choropleth map coloured by coverage %, with its CSV,
GeoJSON and PNG to take away."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from markupsafe import escape
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import Settings
from flexunion.console.forms import Form, attempt, read_form
from flexunion.console.i18n import Speaker
from flexunion.console.render import html, see_other, speaker
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.pagination import decode_time_cursor, encode_cursor, time_key
from flexunion.geo.census import render, service
from flexunion.geo.census.models import CensusRun
from flexunion.geo.census.schemas import run_read, run_summary
from flexunion.geo.crs import Crs
from flexunion.geo.registry import GeoRegistry

PAGE = 20
RunId = Annotated[uuid.UUID, PathParameter()]
ZONE_KINDS = {"delivery_zone": ("配送片区", "Delivery zones"),
              "jurisdiction": ("工会辖区", "Jurisdictions")}
# Coverage % bands of the map (a light-to-dark green scale, as the PNG's YlGn), and the
# grey of a zone without roster workers (coverage has no denominator there).
NO_WORKERS = "#d9d9d9"
BANDS = ((20.0, "#f7fcb9"), (40.0, "#d9f0a3"), (60.0, "#addd8e"), (80.0, "#78c679"),
         (float("inf"), "#31a354"))
DOWNLOAD_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def fill(coverage_pct: float | None) -> str:
    """The zone's colour on the map, by its coverage %."""
    if coverage_pct is None:
        return NO_WORKERS
    return next(colour for upper, colour in BANDS if coverage_pct < upper)


def legend(t: Speaker) -> str:
    """The map's legend (data-legend: [[colour, label], …])."""
    labels = ["< 20%", "20–40%", "40–60%", "60–80%", "≥ 80%"]
    items = [[colour, t(f"覆盖率 {label}", f"coverage {label}")]
             for (_, colour), label in zip(BANDS, labels, strict=True)]
    items.append([NO_WORKERS, t("无从业者", "no workers")])
    return msgspec.json.encode(items).decode()


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def popup(t: Speaker, zone: dict[str, Any]) -> str:
    """What a click on a zone shows: its figures, every value escaped here."""
    rows = [
        (t("从业人数", "Workers"), zone["workers"]),
        (t("会员数", "Members"), zone["members"]),
        (t("覆盖率", "Coverage"), _pct(zone["coverage_pct"])),
        (t("保持联系", "In contact"), zone["members_in_contact"]),
        (t("每千人驿站数", "Stations per 1,000"),
         "—" if zone["stations_per_1000_workers"] is None
         else zone["stations_per_1000_workers"]),
    ]
    name = zone["name_en"] if t.lang == "en" and zone["name_en"] else zone["name_zh"]
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    return (f'<div class="census-popup" data-zone="{escape(zone["zone_code"])}">'
            f"<strong>{escape(name)}</strong> ({escape(zone['zone_code'])})"
            f'<table class="map-props">{cells}</table></div>')


@get("/", include_in_schema=False)
async def census(
    request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
    after: Annotated[str | None, QueryParameter(max_length=200)] = None,
) -> Response[str]:
    """The form to run a census, and the runs of my subtree, newest first."""
    return await _page(request, session, after)


async def _page(request: Request[Any, Any, Any], session: AsyncSession, after: str | None,
                form: Form | None = None, status: int = 200) -> Response[str]:
    rows = list(await service.runs(session, after=decode_time_cursor(after), limit=PAGE + 1))
    next_cursor = None
    if len(rows) > PAGE:
        rows = rows[:PAGE]
        next_cursor = encode_cursor(*time_key(rows[-1].started_at, rows[-1].id))
    return html(request, "census/list.html", status=status, menu="census",
                runs=[run_summary(r) for r in rows], next_cursor=next_cursor, form=form,
                kinds=ZONE_KINDS)


@post("/", include_in_schema=False)
async def run_census(
    request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
    caller: NamedDependency[Caller], geo: NamedDependency[GeoRegistry],
    clock: NamedDependency[Clock], settings: NamedDependency[Settings],
) -> Response[str]:
    """发起摸底: the API's census of my subtree, on the pandas engine."""
    form = await read_form(request, speaker(request))
    kind = form.choice("zone_kind", ZONE_KINDS)
    days_text = form.text("min_active_days", required=False, max_length=3)
    min_days = 1
    if days_text is not None:
        if days_text.isdigit() and int(days_text) <= 366:
            min_days = int(days_text)
        else:
            form.errors["min_active_days"] = form.t("请填写 0 到 366 之间的整数。",
                                                    "A whole number from 0 to 366.")
    if not form.ok or kind is None:
        return await _page(request, session, None, form, 422)
    done = await attempt(form, service.run_for(
        session, caller, geo, zone_kind=kind, engine="pandas",
        scheduler=settings.geo.dask_scheduler, contact_days=settings.geo.census_contact_days,
        min_active_days=min_days, now=clock.now()))
    if done is None or not form.ok:
        return await _page(request, session, None, form, form.status)
    return see_other(f"/console/census/{done.id}?done=run",
                     htmx=request.headers.get("hx-request") == "true")


@get("/{run_id:uuid}", include_in_schema=False)
async def census_run(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                     run_id: RunId) -> Response[str]:
    """One run: its totals, the map and the zones' table, and the downloads."""
    found = await service.access_run(session, run_id)
    return html(request, "census/run.html", menu="census", run=run_read(found),
                kinds=ZONE_KINDS, legend=legend(speaker(request)),
                done=request.query_params.get("done"))


@get("/{run_id:uuid}/map.geojson", include_in_schema=False)
async def census_map_data(request: Request[Any, Any, Any],
                          session: NamedDependency[AsyncSession],
                          run_id: RunId) -> Response[dict[str, Any]]:
    """The zones for the page's map: the export's GeoJSON (WGS-84), each zone with its fill
    colour and its popup."""
    found = await service.access_run(session, run_id)
    body = await _geojson(found)
    t = speaker(request)
    for feature, zone in zip(body["features"], found.zones, strict=True):
        feature["properties"] |= {"fill": fill(zone.get("coverage_pct")),
                                  "stroke": "#4d5b4d", "fill_opacity": 0.7,
                                  "popup": popup(t, zone)}
    return Response(body, media_type="application/geo+json", headers=DOWNLOAD_HEADERS)


async def _geojson(found: CensusRun) -> dict[str, Any]:
    return await asyncio.to_thread(render.zones_geojson, found.zones, Crs.WGS84, str(found.id))


@get("/{run_id:uuid}/zones.csv", include_in_schema=False)
async def census_csv(session: NamedDependency[AsyncSession], run_id: RunId) -> Response[bytes]:
    """The zones as CSV (UTF-8 with BOM, for Excel), as the API gives it."""
    found = await service.access_run(session, run_id)
    return Response(render.zones_csv(found.zones), media_type="text/csv; charset=utf-8",
                    headers={**DOWNLOAD_HEADERS, "Content-Disposition":
                             f'attachment; filename="census-{found.id}-zones.csv"'})


@get("/{run_id:uuid}/zones.geojson", include_in_schema=False)
async def census_geojson(session: NamedDependency[AsyncSession],
                         run_id: RunId) -> Response[dict[str, Any]]:
    """The zones with their figures, WGS-84, as the API gives it (a file to save)."""
    found = await service.access_run(session, run_id)
    return Response(await _geojson(found), media_type="application/geo+json",
                    headers={**DOWNLOAD_HEADERS, "Content-Disposition":
                             f'attachment; filename="census-{found.id}-zones.geojson"'})


@get("/{run_id:uuid}/map.png", include_in_schema=False)
async def census_png(session: NamedDependency[AsyncSession], run_id: RunId) -> Response[bytes]:
    """The choropleth the API draws (PNG)."""
    found = await service.access_run(session, run_id)
    png = await asyncio.to_thread(render.map_png, found.zones, kind=found.params["zone_kind"],
                                  scope=found.params["scope"], as_of=found.params["as_of"])
    return Response(png, media_type="image/png", headers={
        **DOWNLOAD_HEADERS, "Content-Disposition": f'inline; filename="census-{found.id}.png"'})


router = Router("/census", route_handlers=[census, run_census, census_run, census_map_data,
                                           census_csv, census_geojson, census_png])
