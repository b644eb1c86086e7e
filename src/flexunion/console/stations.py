"""驿站: the stations a union keeps for riders — the list and the map, and each station's
page: when it is open, what it offers, who is on duty (a week of the roster, in the
station's own shift slots), the seasonal supplies (高温/寒潮/暴雨) and the weekly check
(补货、保洁、设备); and the stations still missing this week's check. A station officer sees
and keeps only their own station (row-level security and the services decide)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from markupsafe import escape
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.console.forms import Form, attempt, read_form
from flexunion.console.i18n import Speaker
from flexunion.console.render import html, see_other, speaker
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.errors import DomainError, InvalidInput
from flexunion.federation import directory
from flexunion.geo.stations import hours as h
from flexunion.geo.stations import service
from flexunion.geo.stations.models import EQUIPMENT, SEASONS, ServicePoint
from flexunion.geo.stations.schemas import (
    CheckCreate,
    RosterSet,
    SupplyCreate,
    amenities,
    check_read,
    duty_reads,
    missing_check,
    supply_read,
)

PAGE = 50
MAP_MAX = 5000
WEEK = re.compile(r"^[0-9]{4}-W[0-9]{2}$")
NAMES = re.compile(r"[,，、;；\n]+")
Week = Annotated[str | None, QueryParameter(max_length=16)]
Code = Annotated[str, PathParameter(max_length=64)]
DAY_EN = {"mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu", "fri": "Fri", "sat": "Sat",
          "sun": "Sun"}
SUPPLY_FIELDS = {"supply_dates_invalid": "valid_to", "validation_failed": "item"}
ROSTER_FIELDS = {"shift_no_invalid": "day", "roster_duplicate": "day",
                 "validation_failed": "day"}


# ---- what the pages show ---------------------------------------------------------------------


def hours_view(opening: dict[str, Any], t: Speaker) -> list[tuple[str, list[str]]]:
    """Each weekday's intervals as read aloud: an evening that runs past midnight is one
    interval "22:00–次日 02:00" on its own day, and its morning part is marked on the next."""
    def first(day: str) -> list[str] | None:
        spans = opening.get(day) or []
        return list(spans[0]) if spans else None

    rows = []
    for i, day in enumerate(h.DAYS):
        shown = []
        spans = opening.get(day) or []
        for j, (start, end) in enumerate(spans):
            before = opening.get(h.DAYS[i - 1]) or []
            if j == 0 and start == "00:00" and end != "24:00" and before and \
                    before[-1][1] == "24:00" and before[-1][0] != "00:00":
                shown.append(f"00:00–{end} " + t("（前一日延续）", "(from the evening before)"))
                continue
            nxt = first(h.DAYS[(i + 1) % 7])
            if end == "24:00" and start != "00:00" and nxt and nxt[0] == "00:00" and \
                    nxt[1] != "24:00":
                shown.append(f"{start}–{t('次日', 'next day')} {nxt[1]}")
            elif (start, end) == ("00:00", "24:00"):
                shown.append(t("全天 24 小时", "Open 24 hours"))
            else:
                shown.append(f"{start}–{end}")
        rows.append((t(h.DAY_LABELS[day], DAY_EN[day]), shown))
    return rows


def slot_rows(point: ServicePoint, t: Speaker) -> list[tuple[int, str]]:
    """(shift_no, "06:00–14:00") of each of the station's slots; the last runs into the next
    day."""
    out = []
    for n, start, end in h.slots_of(point.shift_changes):
        wraps = n == len(point.shift_changes) - 1
        out.append((n, f"{start}–{t('次日', 'next day') + ' ' if wraps else ''}{end}"))
    return out


def _week_start(week: str | None, now: datetime) -> date:
    if week is None:
        return service.this_week(now)[0]
    try:
        return h.parse_iso_week(week)
    except h.HoursError as exc:
        raise InvalidInput(f"周次填写有误：{exc}", str(exc), code="check_week_invalid") from exc


async def _names(session: AsyncSession, caller: Caller) -> tuple[Any, dict[str, Any]]:
    """The federation's directory (by code, and `by_id`) and its platforms by code."""
    tenants = await directory.my_directory(session, caller)
    partners = await directory.partners(session, await directory.federation_of(session, caller))
    return tenants, partners


def union_of(tenants: Any, entry: Any) -> Any:
    """The union a station belongs to: its owner, or the owner's union if a station keeps it."""
    if entry is not None and entry.kind == "station" and entry.parent_code:
        return tenants.get(entry.parent_code, entry)
    return entry


# ---- the list and the map ----------------------------------------------------------------------


@get("/", include_in_schema=False)
async def stations(
    request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
    caller: NamedDependency[Caller],
    after: Annotated[str | None, QueryParameter(max_length=64)] = None,
) -> Response[str]:
    """The stations of my subtree, by code, and the same stations on the map."""
    rows = list(await service.page(session, caller, tenant=None, active=None, after=after,
                                   limit=PAGE + 1))
    more = rows[PAGE - 1].code if len(rows) > PAGE else None
    tenants, partners = await _names(session, caller)
    return html(request, "stations/list.html", menu="stations", rows=rows[:PAGE], more=more,
                by_id=tenants.by_id, union_of=lambda e: union_of(tenants, e),
                partners=partners, amenities=amenities)


@get("/map.geojson", include_in_schema=False)
async def stations_map(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                       request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """The stations of my subtree as GeoJSON points (WGS84), each with its popup."""
    t = speaker(request)
    rows = await service.page(session, caller, tenant=None, active=None, after=None,
                              limit=MAP_MAX)
    features = [{
        "type": "Feature", "id": p.code,
        "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
        "properties": {
            "kind": "station", "code": p.code, "active": p.active,
            "fill": None if p.active else "#8a8a8a",
            "popup": f'<a href="/console/stations/{escape(p.code)}">{escape(t.of(p))}</a>'
                     f"<br>{escape(p.address)}",
        }} for p in rows]
    return Response({"type": "FeatureCollection", "features": features},
                    media_type="application/geo+json", headers={"Cache-Control": "no-store"})


@get("/missing", include_in_schema=False)
async def missing(
    request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
    caller: NamedDependency[Caller], clock: NamedDependency[Clock], week: Week = None,
    after: Annotated[str | None, QueryParameter(max_length=64)] = None,
) -> Response[str]:
    """未巡检: active stations of my subtree without a check for the week (this one by
    default), with when each was last checked."""
    now = clock.now()
    wk = service.week_for(week, now)
    rows = await service.missing_checks(session, caller, week=wk, tenant=None, after=after,
                                        limit=PAGE + 1)
    more = rows[PAGE - 1].code if len(rows) > PAGE else None
    codes = await service.tenant_codes(session, caller)
    monday = h.parse_iso_week(wk)
    this_week = service.week_for(None, now)
    return html(request, "stations/missing.html", menu="stations", week=wk,
                rows=[missing_check(r, codes, wk) for r in rows[:PAGE]], more=more,
                prev_week=h.iso_week(monday - timedelta(days=7)),
                next_week=None if wk == this_week else h.iso_week(monday + timedelta(days=7)))


# ---- one station ---------------------------------------------------------------------------


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw and len(raw) == 10 else None
    except ValueError:
        return None


async def _detail(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                  clock: Clock, code: str, week: str | None = None, day: str | None = None,
                  forms: dict[str, Form] | None = None, status: int = 200) -> Response[str]:
    t = speaker(request)
    now = clock.now()
    point = await service.access_station(session, code)
    monday = _week_start(week, now)
    days = [monday + timedelta(days=i) for i in range(7)]
    duties = duty_reads(await service.roster(session, point, days[0], days[-1]))
    cells: dict[tuple[date, int], list[str]] = {}
    for d in duties:
        cells.setdefault((d.date, d.shift_no), []).append(d.officer_name)
    today = h.local_today(now)
    chosen = _day(day) or (today if today in days else monday)
    tenants, partners = await _names(session, caller)
    owner = tenants.by_id.get(point.tenant_id)
    partner = partners.get(owner.partner_code) if owner and owner.partner_code else None
    this_week = service.week_for(None, now)
    checks = [check_read(point.code, c) for c in await service.checks(session, point, 10)]
    return html(
        request, "stations/detail.html", status=status, menu="stations", point=point,
        owner=owner, union=union_of(tenants, owner), partner=partner,
        hours=hours_view(point.opening_hours, t), offered=amenities(point.amenities),
        slots=slot_rows(point, t), days=days, cells=cells, today=today,
        chosen=chosen, day_labels=[t(h.DAY_LABELS[d], DAY_EN[d]) for d in h.DAYS],
        week=h.iso_week(monday), prev_week=h.iso_week(monday - timedelta(days=7)),
        next_week=h.iso_week(monday + timedelta(days=7)), this_week=this_week,
        supplies=[supply_read(s) for s in await service.supplies(session, point, None, 20)],
        checks=checks, checked_this_week=any(c.week == this_week for c in checks),
        seasons=SEASONS, equipment=EQUIPMENT, forms=forms or {},
        done=request.query_params.get("done"))


@get("/{code:str}", include_in_schema=False)
async def station_detail(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                         caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                         code: Code, week: Week = None,
                         day: Annotated[str | None, QueryParameter(max_length=10)] = None,
                         ) -> Response[str]:
    return await _detail(request, session, caller, clock, code, week, day)


def _date(form: Form, name: str) -> date | None:
    raw = form.text(name, max_length=10)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        form.errors[name] = form.t("请填写日期（年-月-日）。", "Enter a date (YYYY-MM-DD).")
        return None


def _converted(form: Form, data: dict[str, Any], schema: Any, field: str) -> Any:
    """The API's own request schema, built from the form (its limits checked by msgspec)."""
    try:
        return msgspec.convert(data, schema, strict=False)
    except msgspec.ValidationError as exc:
        form.errors[field] = form.t(f"填写有误：{exc}", f"Not accepted: {exc}")
        return None


@post("/{code:str}/roster", include_in_schema=False)
async def set_roster(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                     caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                     code: Code) -> Response[str]:
    """排班: one day's roster, replaced whole — for each slot, the officers on duty."""
    form = await read_form(request, speaker(request))
    day = _date(form, "day")
    duties = []
    for key, value in sorted(form.values.items()):
        if key.startswith("slot_") and key[5:].isdigit():
            duties += [{"shift_no": int(key[5:]), "officer_name": n.strip()}
                       for n in NAMES.split(value) if n.strip()]
    data = _converted(form, {"date": day, "duties": duties}, RosterSet, "day") \
        if day else None
    if not form.ok or data is None:
        return await _detail(request, session, caller, clock, code,
                             h.iso_week(day) if day else None, None, {"roster": form}, 422)
    try:
        await service.set_roster(session, caller, code, data.date, data.duties, clock.now())
    except DomainError as exc:
        if exc.status == 404:
            raise
        form.refused(exc, ROSTER_FIELDS)
        return await _detail(request, session, caller, clock, code, h.iso_week(data.date), None,
                             {"roster": form}, exc.status)
    return see_other(f"/console/stations/{code}?week={h.iso_week(data.date)}"
                     f"&day={data.date.isoformat()}&done=roster#roster")


@post("/{code:str}/supplies", include_in_schema=False)
async def add_supply(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                     caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                     code: Code) -> Response[str]:
    """季节性物资: what was stocked for a season, how much, valid from when to when."""
    form = await read_form(request, speaker(request))
    season = form.choice("season", SEASONS)
    item = form.text("item", max_length=100)
    unit = form.text("unit", max_length=20)
    raw_quantity = form.text("quantity", max_length=7)
    if raw_quantity is not None and not raw_quantity.isdigit():
        form.errors["quantity"] = form.t("请填写 0 到 1000000 的整数。",
                                         "Enter a whole number from 0 to 1000000.")
    valid_from, valid_to = _date(form, "valid_from"), _date(form, "valid_to")
    data = _converted(form, {"season": season, "item": item, "quantity": raw_quantity,
                             "unit": unit, "valid_from": valid_from, "valid_to": valid_to},
                      SupplyCreate, "quantity") if form.ok else None
    if not form.ok or data is None:
        return await _detail(request, session, caller, clock, code, forms={"supply": form},
                             status=422)
    await attempt(form, service.add_supply(session, caller, code, data, clock.now()),
                  SUPPLY_FIELDS)
    if not form.ok:
        return await _detail(request, session, caller, clock, code, forms={"supply": form},
                             status=form.status)
    return see_other(f"/console/stations/{code}?done=supply#supplies")


@post("/{code:str}/checks", include_in_schema=False)
async def record_check(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                       caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                       code: Code) -> Response[str]:
    """每周巡检: this week's check — restocked, cleaned, the equipment's state; one a week."""
    form = await read_form(request, speaker(request))
    equipment = form.choice("equipment", EQUIPMENT)
    notes = form.text("notes", required=False, max_length=1000)
    data = _converted(form, {"restocked": form.values.get("restocked") == "1",
                             "cleaned": form.values.get("cleaned") == "1",
                             "equipment": equipment, "notes": notes},
                      CheckCreate, "equipment") if form.ok else None
    if not form.ok or data is None:
        return await _detail(request, session, caller, clock, code, forms={"check": form},
                             status=422)
    # check_exists (409): said above the form
    await attempt(form, service.record_check(session, caller, code, data, clock.now()))
    if not form.ok:
        return await _detail(request, session, caller, clock, code, forms={"check": form},
                             status=form.status)
    return see_other(f"/console/stations/{code}?done=check#checks")


router = Router("/stations", route_handlers=[
    stations, stations_map, missing, station_detail, set_roster, add_supply, record_check])
