"""需求台账: the demand ledger as the union's officers run it — the list (by status, route,
category, channel and tier, newest first), the 受理 form for a station walk-in (现场受理), a
cadre's visit (走访) or a 12351 call, and each case's page: what was asked and where, the
evidence, the 会办单 (lead and assisting units, their order, feedback due and evidence
required), the route with who chose it and why, the agenda item it feeds, the duplicates
offered for 并单, the timeline, and the step forms (console/case_steps.py). Also the 政策库
(the HQ edits, others read) and each station's printable suggestion QR (意见收集二维码).

Every list and step is the API's service call under the same row-level security: a case of
a sibling region is the 404 page, as a missing one."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.board import service as board
from flexunion.cases.attachments import service as evidence
from flexunion.cases.intake import service as intake
from flexunion.cases.intake.schemas import StaffCaseCreate
from flexunion.cases.ledger import codes, service
from flexunion.cases.policies import service as library
from flexunion.cases.policies.schemas import PolicyCreate, PolicyUpdate, policy_read
from flexunion.config import Settings
from flexunion.console.forms import Form, attempt, read_form
from flexunion.console.i18n import Speaker
from flexunion.console.menus import UNIONS
from flexunion.console.render import html, see_other, speaker
from flexunion.core.clock import Clock
from flexunion.core.context import Caller, Role
from flexunion.core.pagination import decode_time_cursor, encode_cursor, time_key
from flexunion.federation import directory
from flexunion.geo.registry import GeoRegistry
from flexunion.geo.stations.service import StationNotFound
from flexunion.membership.cards.qr import qr_svg

PAGE = 50
CaseId = Annotated[uuid.UUID, PathParameter()]
Filter = Annotated[str | None, QueryParameter(max_length=64)]
StationCode = Annotated[str, PathParameter(max_length=64)]
PHONE = re.compile(r"^\+?[0-9]{7,15}$")
POLICY_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
INTAKE_FIELDS = {"work_place_outside_subtree": "station", "unknown_station": "station",
                 "unknown_member": "member_no", "unknown_partner": "partner",
                 "work_place_required": "station"}
POLICY_FIELDS = {"policy_code_taken": "code"}
ACTORS = {"hq_admin": ("总部管理员", "HQ admin"),
          "regional_admin": ("区域工会管理员", "Regional admin"),
          "station_officer": ("驿站工作人员", "Station officer"),
          "hotline_operator": ("12351 话务员", "12351 operator"),
          "partner": ("平台", "Platform"), "worker": ("职工本人", "The worker"),
          "pickup": ("匿名", "Anonymous"), "anonymous": ("匿名", "Anonymous")}
FILTERS = {"status": codes.STATUSES, "route": codes.ROUTES, "category": codes.CATEGORIES,
           "channel": codes.CHANNELS, "tier": codes.TIERS}


def htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def age(t: Speaker, since: datetime, now: datetime) -> str:
    """How long the case has been in the ledger: hours on its first day, then days."""
    hours = max(0, int((now - since).total_seconds() // 3600))
    if hours < 24:
        return t(f"{hours} 小时", f"{hours} h")
    return t(f"{hours // 24} 天", f"{hours // 24} d")


# ---- the ledger ---------------------------------------------------------------------------


@get("/", include_in_schema=False)
async def ledger(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                 clock: NamedDependency[Clock], status: Filter = None, route: Filter = None,
                 category: Filter = None, channel: Filter = None, tier: Filter = None,
                 after: Annotated[str | None, QueryParameter(max_length=200)] = None,
                 ) -> Response[str]:
    """需求台账, newest first; an unknown filter value is ignored (shown as 全部)."""
    chosen = {k: v for k, v in (("status", status), ("route", route), ("category", category),
                                ("channel", channel), ("tier", tier))
              if v and v in FILTERS[k]}
    rows = list(await service.ledger(
        session, status=chosen.get("status"), route=chosen.get("route"),
        category=chosen.get("category"), channel=chosen.get("channel"),
        tier=chosen.get("tier"), after=decode_time_cursor(after), limit=PAGE + 1))
    next_cursor = None
    if len(rows) > PAGE:
        rows = rows[:PAGE]
        next_cursor = encode_cursor(*time_key(rows[-1].created_at, rows[-1].id))
    reads = await service.reads(session, rows, audience="staff")
    now = clock.now()
    t = speaker(request)
    return html(request, "cases/list.html", menu="cases",
                rows=[(r, age(t, c.created_at, now)) for r, c in zip(reads, rows, strict=True)],
                filters=FILTERS, chosen=chosen, next_cursor=next_cursor,
                returned_view=chosen.get("status") == "returned",
                done=request.query_params.get("done"))


# ---- 受理 -----------------------------------------------------------------------------------


def default_channel(caller: Caller) -> str:
    return {Role.STATION_OFFICER: "station", Role.HOTLINE_OPERATOR: "hotline"}.get(
        caller.role, "visit")


async def _intake_page(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                       form: Form | None = None, status: int = 200) -> Response[str]:
    tenants = await directory.my_directory(session, caller)
    places = sorted((e for e in tenants.values() if e.kind == "station"),
                    key=lambda e: e.code)
    partners = await directory.partners(session, tenants.hq.id)
    return html(request, "cases/new.html", status=status, menu="cases", form=form,
                places=places, partners=partners, codes=codes,
                channel=default_channel(caller))


@get("/new", include_in_schema=False)
async def new_case(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                   caller: NamedDependency[Caller]) -> Response[str]:
    return await _intake_page(request, session, caller)


def _tags(values: list[str]) -> list[str]:
    return [v for v in dict.fromkeys(values) if v in codes.TAGS]


@post("/", include_in_schema=False)
async def take_case(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                    caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                    geo: NamedDependency[GeoRegistry]) -> Response[str]:
    """受理: the API's staff intake; a duplicate of an open case is created and offered for
    并单 on its page."""
    form = await read_form(request, speaker(request))
    channel = form.choice("channel", codes.STAFF_CHANNELS)
    category = form.choice("category", codes.CATEGORIES)
    description = form.text("description", max_length=4000)
    tier = form.choice("tier", codes.TIERS)
    station = form.text("station", required=False, max_length=64)
    partner = form.text("partner", required=False, max_length=64)
    member_no = form.text("member_no", required=False, max_length=200)
    contact_name = form.text("contact_name", required=False, max_length=200)
    phone = form.text("contact_phone", required=False, max_length=20)
    if phone and not PHONE.match(phone.replace(" ", "").replace("-", "")):
        form.errors["contact_phone"] = form.t("请填写 7–15 位电话号码。",
                                              "Enter a phone number of 7–15 digits.")
    if not (member_no or contact_name or phone):
        form.errors["member_no"] = form.t("请填写会员号，或联系人姓名、电话。",
                                          "Give the member number, or a contact name or phone.")
    tags = _tags([v for v in (await request.form()).getall("tags", []) if isinstance(v, str)])
    if not form.ok:
        return await _intake_page(request, session, caller, form, 422)
    data = msgspec.convert({
        "channel": channel, "category": category, "description": description, "tier": tier,
        "tags": tags, "station": station, "partner": partner, "member_no": member_no,
        "contact_name": contact_name,
        "contact_phone": phone.replace(" ", "").replace("-", "") if phone else None,
    }, StaffCaseCreate)
    case = await attempt(form, intake.intake_by_staff(session, geo, caller, data,
                                                       now=clock.now()), INTAKE_FIELDS)
    if not form.ok or case is None:
        return await _intake_page(request, session, caller, form, form.status)
    return see_other(f"/console/cases/{case.id}?done=intake", htmx=htmx(request))


# ---- one case -------------------------------------------------------------------------------


def _route_event(events: list[Any]) -> Any | None:
    return next((e for e in reversed(events) if e.kind == "route"), None)


async def case_page(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                    case_id: uuid.UUID, *, forms: dict[str, Form] | None = None,
                    status: int = 200) -> Response[str]:
    """The case's page; `forms` holds a refused step form (by step) with its errors."""
    case = await service.access_case(session, case_id)
    dupes = [await service.access_case(session, i)
             for i in await service.duplicates(session, case)]
    x = await service.read(session, case, audience="staff")
    tenants = await directory.my_directory(session, caller)
    partners = await directory.partners(session, tenants.hq.id)
    items: list[Any] = []
    if caller.role in UNIONS and "route" in x.allowed_steps:
        filters = await board.filters(session, caller, topic=None, status=None, partner=None,
                                      region=None, q=None)
        items = list(await board.page(session, filters, after=None, limit=100))
    policies = [p for p in await library.policies(session, caller) if p.active]
    return html(
        request, "cases/detail.html", status=status, menu="cases", x=x, case=case,
        attachments=await evidence.attachments(session, case),
        route_event=_route_event(x.events), actors=ACTORS, dupes=dupes,
        units=sorted(tenants.values(), key=lambda e: e.code), partners=partners,
        items=items, policies=policies, codes=codes, forms=forms or {},
        done=request.query_params.get("done"))


@get("/{case_id:uuid}", include_in_schema=False)
async def case_detail(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                      caller: NamedDependency[Caller], case_id: CaseId) -> Response[str]:
    return await case_page(request, session, caller, case_id)


# ---- 政策库 ---------------------------------------------------------------------------------


async def _policies_page(request: Request[Any, Any, Any], session: AsyncSession,
                         caller: Caller, form: Form | None = None,
                         status: int = 200) -> Response[str]:
    rows = [policy_read(p) for p in await library.policies(session, caller)]
    return html(request, "cases/policies.html", status=status, menu="cases", rows=rows,
                form=form, editable=caller.role is Role.HQ_ADMIN,
                done=request.query_params.get("done"))


@get("/policies", include_in_schema=False)
async def policies(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                   caller: NamedDependency[Caller]) -> Response[str]:
    return await _policies_page(request, session, caller)


@post("/policies", include_in_schema=False)
async def save_policy(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                      caller: NamedDependency[Caller],
                      clock: NamedDependency[Clock]) -> Response[str]:
    """新增政策 (the HQ; others get the refusal above the form)."""
    form = await read_form(request, speaker(request))
    code = form.text("code", max_length=64)
    if code and not POLICY_CODE.match(code):
        form.errors["code"] = form.t("编码只能用字母、数字和 _ . -。",
                                     "Use letters, digits and _ . - only.")
    values = {"code": code, "title_zh": form.text("title_zh", max_length=200),
              "title_en": form.text("title_en", max_length=200),
              "source": form.text("source", max_length=200),
              "body": form.text("body", max_length=4000),
              "url": form.text("url", required=False, max_length=500)}
    if values["url"] and not str(values["url"]).startswith(("http://", "https://")):
        form.errors["url"] = form.t("链接须以 http:// 或 https:// 开头。",
                                    "A link starts with http:// or https://.")
    if not form.ok:
        return await _policies_page(request, session, caller, form, 422)
    await attempt(form, library.create_policy(
        session, caller, msgspec.convert(values, PolicyCreate), now=clock.now()), POLICY_FIELDS)
    if not form.ok:
        return await _policies_page(request, session, caller, form, form.status)
    return see_other("/console/cases/policies?done=created", htmx=htmx(request))


@post("/policies/{code:str}/active", include_in_schema=False)
async def policy_active(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                        caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                        code: StationCode) -> Response[str]:
    """停用 / 启用 a policy (the HQ): a retired policy can no longer be cited."""
    form = await read_form(request, speaker(request))
    active = form.choice("active", ("true", "false"))
    if not form.ok:
        return await _policies_page(request, session, caller, form, 422)
    await attempt(form, library.update_policy(session, caller, code,
                                              PolicyUpdate(active=active == "true"),
                                              now=clock.now()))
    if not form.ok:
        return await _policies_page(request, session, caller, form, form.status)
    return see_other("/console/cases/policies?done=updated", htmx=htmx(request))


# ---- 意见收集二维码 ------------------------------------------------------------------------


def suggestion_link(settings: Settings, station: str) -> str:
    return f"{(settings.issuer or '').rstrip('/')}/v1/suggestions/{station}"


async def _station(session: AsyncSession, caller: Caller, code: str) -> Any:
    """A station (a tenant of kind station) of my subtree; the 404 page for any other."""
    tenants = await directory.my_directory(session, caller)
    entry = tenants.get(code)
    if entry is None or entry.kind != "station":
        raise StationNotFound(f"你的管辖范围内没有站点 {code}。",
                              f"No station '{code}' in your area.")
    await directory.subtree_in_scope(session, tenants.hq.id, code)
    return entry


@get("/qr/{station:str}", include_in_schema=False)
async def qr_page(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                  caller: NamedDependency[Caller], settings: NamedDependency[Settings],
                  station: StationCode) -> Response[str]:
    """A printable page: the station's name, its suggestion QR and the link under it."""
    entry = await _station(session, caller, station)
    return html(request, "cases/qr.html", menu="cases", point=entry,
                link=suggestion_link(settings, entry.code))


@get("/qr/{station:str}/svg", include_in_schema=False)
async def qr_image(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                   settings: NamedDependency[Settings], station: StationCode) -> Response[bytes]:
    entry = await _station(session, caller, station)
    return Response(qr_svg(suggestion_link(settings, entry.code)).encode(),
                    media_type="image/svg+xml",
                    headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


router = Router("/cases", route_handlers=[ledger, new_case, take_case, case_detail, policies,
                                          save_policy, policy_active, qr_page, qr_image])
