"""需求台账: the demand ledger as the union's officers run it — the list (by status, route,
category, channel and tier, newest first), the 受理 form for a station walk-in (现场受理), a
cadre's visit (走访) or a 12351 call, and each case's page: what was asked and where, the
evidence (each a download link, streamed under the session), the 会办单 (lead and assisting
units, their order, feedback due and evidence required), the route with who chose it and
why, the agenda item it feeds, the duplicates offered for 并单, the timeline, and the step
forms (console/case_steps.py), and each station's printable suggestion QR (意见收集二维码);
the 政策库 is console/case_policies.py.

Every list and step is the API's service call under the same row-level security: a case of
a sibling region is the 404 page, as a missing one."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.board import service as board
from flexunion.bargaining.board.topics import TOPICS
from flexunion.bargaining.evidence.store import EvidenceStore
from flexunion.cases.attachments import service as evidence
from flexunion.cases.attachments.http import download
from flexunion.cases.clocks import service as clocks
from flexunion.cases.clocks.schemas import (
    ClockRead,
    clock_key,
    escalation_key,
    escalation_read,
    overdue_read,
)
from flexunion.cases.disputes import codes as dispute_codes
from flexunion.cases.disputes import service as disputes
from flexunion.cases.intake import service as intake
from flexunion.cases.intake.schemas import StaffCaseCreate
from flexunion.cases.ledger import codes, service
from flexunion.cases.policies import service as library
from flexunion.cases.referrals import service as referrals
from flexunion.config import Settings
from flexunion.console.forms import Form, attempt, read_form
from flexunion.console.i18n import Speaker
from flexunion.console.menus import UNIONS
from flexunion.console.render import html, see_other, speaker
from flexunion.core.clock import BEIJING, Clock
from flexunion.core.context import ADMIN_ROLES, Caller, Role
from flexunion.core.pagination import decode_time_cursor, encode_cursor, time_key
from flexunion.core.uow import UnitOfWork
from flexunion.federation import directory
from flexunion.geo.registry import GeoRegistry
from flexunion.geo.stations import hours
from flexunion.geo.stations.service import StationNotFound
from flexunion.membership.cards import service as cards
from flexunion.membership.cards.qr import qr_svg
from flexunion.membership.models import STATUSES

PAGE = 50
CaseId = Annotated[uuid.UUID, PathParameter()]
Filter = Annotated[str | None, QueryParameter(max_length=64)]
StationCode = Annotated[str, PathParameter(max_length=64)]
PHONE = re.compile(r"^\+?[0-9]{7,15}$")
INTAKE_FIELDS = {"work_place_outside_subtree": "station", "unknown_station": "station",
                 "unknown_member": "member_no", "unknown_partner": "partner",
                 "work_place_required": "station", "card_member_mismatch": "member_no",
                 "card_check_not_allowed": "card",
                 **{f"card_{reason}": "card" for reason in cards.REASONS}}
WHITESPACE = re.compile(r"\s+")
ACTORS = {"hq_admin": ("总部管理员", "HQ admin"),
          "regional_admin": ("区域工会管理员", "Regional admin"),
          "station_officer": ("驿站工作人员", "Station officer"),
          "hotline_operator": ("12351 话务员", "12351 operator"),
          "partner": ("平台", "Platform"), "worker": ("职工本人", "The worker"),
          "provider": ("调解/法律援助机构", "Mediation or legal aid provider"),
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


def span(t: Speaker, minutes: int, *, days: bool = False) -> str:
    """A duration as hours and minutes — working time on a clock, where a day is not 24
    hours — or, with `days`, wall-clock time as days and hours past the first day."""
    hours, rest = divmod(abs(minutes), 60)
    whole, hours = divmod(hours, 24) if days else (0, hours)
    if whole:
        return t(f"{whole} 天 {hours} 小时", f"{whole} d {hours} h") if hours else t(
            f"{whole} 天", f"{whole} d")
    if hours:
        return t(f"{hours} 小时 {rest} 分", f"{hours} h {rest} min") if rest else t(
            f"{hours} 小时", f"{hours} h")
    return t(f"{rest} 分", f"{rest} min")


def since(t: Speaker, then: datetime, now: datetime) -> str:
    """Wall-clock time from `then` to `now` (how long a deadline has been past)."""
    return span(t, max(0, int((now - then) // timedelta(minutes=1))), days=True)


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


def _card_check(request: Request[Any, Any, Any], uow: UnitOfWork,
                caller: Caller) -> intake.CardCheck:
    """The card check of this instance (the API's and the 会员卡核验 page's verifier)."""
    verifier = cards.desk_of(request.app.state).verifier

    async def check(card: str) -> cards.Verdict:
        return await verifier.verify(uow, caller.tenant_id, card)

    return check


def _presented(form: Form) -> str | None:
    """The card as scanned or pasted (a pasted one may come wrapped over lines)."""
    text = form.text("card", required=False, max_length=cards.MAX_CARD_BYTES * 2)
    card = WHITESPACE.sub("", text or "") or None
    if card is not None and len(card) > cards.MAX_CARD_BYTES:
        form.errors["card"] = form.t("内容过长，不是会员卡。", "Too long to be a membership card.")
    return card


@post("/new/card", include_in_schema=False)
async def card_holder(request: Request[Any, Any, Any], caller: NamedDependency[Caller],
                      uow: NamedDependency[UnitOfWork]) -> Response[str]:
    """扫码识别会员 (HTMX): who the scanned or pasted card names, as the card check shows it
    (masked name, 会员号, home union) — or why it will not link. Writes nothing."""
    t = speaker(request)
    form = await read_form(request, t)
    card = _presented(form)
    verdict = None
    if card is not None and form.ok and caller.role in ADMIN_ROLES:
        found = await _card_check(request, uow, caller)(card)
        zh, en = cards.REASONS[found.reason]
        verdict = {"valid": found.valid, "reason": found.reason, "reason_text": t(zh, en),
                   "status_text": t(STATUSES.get(found.status, found.status), found.status)
                   if found.status else None, "holder": found.holder if found.valid else None}
    return html(request, "cases/_card_holder.html", form=form, verdict=verdict)


@post("/", include_in_schema=False)
async def take_case(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                    caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                    geo: NamedDependency[GeoRegistry],
                    uow: NamedDependency[UnitOfWork]) -> Response[str]:
    """受理: the API's staff intake; a duplicate of an open case is created and offered for
    并单 on its page. A presented card (扫码识别会员) names the member wherever they are homed."""
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
    card = _presented(form)
    if phone and not PHONE.match(phone.replace(" ", "").replace("-", "")):
        form.errors["contact_phone"] = form.t("请填写 7–15 位电话号码。",
                                              "Enter a phone number of 7–15 digits.")
    if not (member_no or card or contact_name or phone):
        form.errors["member_no"] = form.t("请扫会员卡或填写会员号，或联系人姓名、电话。",
                                          "Scan the member's card or give the member number, "
                                          "or a contact name or phone.")
    tags = _tags([v for v in (await request.form()).getall("tags", []) if isinstance(v, str)])
    if not form.ok:
        return await _intake_page(request, session, caller, form, 422)
    data = msgspec.convert({
        "channel": channel, "category": category, "description": description, "tier": tier,
        "tags": tags, "station": station, "partner": partner, "member_no": member_no,
        "contact_name": contact_name, "card": card,
        "contact_phone": phone.replace(" ", "").replace("-", "") if phone else None,
    }, StaffCaseCreate)
    case = await attempt(form, intake.intake_by_staff(
        session, geo, caller, data, now=clock.now(),
        check_card=_card_check(request, uow, caller)), INTAKE_FIELDS)
    if not form.ok or case is None:
        return await _intake_page(request, session, caller, form, form.status)
    return see_other(f"/console/cases/{case.id}?done=intake", htmx=htmx(request))


# ---- one case -------------------------------------------------------------------------------


def _route_event(events: list[Any]) -> Any | None:
    return next((e for e in reversed(events) if e.kind == "route"), None)


def _extensions(events: list[Any]) -> list[Any]:
    """The approved extensions (延期) of the resolution clock, oldest first."""
    return [e for e in events
            if e.kind == "extension_decision" and (e.details or {}).get("approved")]


def _pending_extension(events: list[Any]) -> Any | None:
    found = None
    for e in events:
        if e.kind == "extension_request":
            found = e
        elif e.kind == "extension_decision":
            found = None
    return found


def clock_left(t: Speaker, c: ClockRead) -> str:
    """剩余 / 已超期 in working time, for a clock still counting (running, paused, breached)."""
    if c.state.code in ("met", "cancelled"):
        return "—"
    if c.remaining_minutes < 0 or c.state.code == "breached":
        return t(f"已超期 {span(t, c.remaining_minutes)}（工作时间）",
                 f"overdue by {span(t, c.remaining_minutes)} (working time)")
    return t(f"剩余 {span(t, c.remaining_minutes)}（工作时间）",
             f"{span(t, c.remaining_minutes)} left (working time)")


def _handles(tenants: Any, caller: Caller, tenant_id: uuid.UUID) -> bool:
    """The caller's union handles the case: its tenant is the case's or one above it."""
    entry = tenants.by_id.get(tenant_id)
    seen: set[uuid.UUID] = set()
    while entry is not None and entry.id not in seen:
        if entry.id == caller.tenant_id:
            return True
        seen.add(entry.id)
        entry = tenants.get(entry.parent_code) if entry.parent_code else None
    return False


def slot_grid(provider: Any, now: datetime, days: int = 14) -> list[datetime]:
    """The provider's bookable slots: its grid of `slot_minutes` within its opening hours,
    in the future, the next `days` days (Beijing time); none for an inactive provider or one
    that takes no bookings."""
    step = provider.slot_minutes
    if not step or not provider.active:
        return []
    out: list[datetime] = []
    today = now.astimezone(BEIJING).date()
    for n in range(days):
        day = today + timedelta(days=n)
        midnight = datetime(day.year, day.month, day.day, tzinfo=BEIJING)
        for a, b in hours.hours_on(provider.opening_hours, day):
            begin = int(a[:2]) * 60 + int(a[3:])
            end = 24 * 60 if b == "24:00" else int(b[:2]) * 60 + int(b[3:])
            for m in range(begin, end - step + 1, step):
                at = midnight + timedelta(minutes=m)
                if at > now:
                    out.append(at)
    return out[:200]


async def case_page(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                    case_id: uuid.UUID, *, forms: dict[str, Form] | None = None,
                    status: int = 200) -> Response[str]:
    """The case's page; `forms` holds a refused step form (by step) with its errors."""
    case = await service.access_case(session, case_id)
    dupes = [await service.access_case(session, i)
             for i in await service.duplicates(session, case)]
    # The clocks live at this instant, as GET /v1/cases/{id} reads them.
    x = await service.read(session, case, audience="staff",
                           now=request.app.state.clock.now())
    tenants = await directory.my_directory(session, caller)
    partners = await directory.partners(session, tenants.hq.id)
    items: list[Any] = []
    if caller.role in UNIONS and "route" in x.allowed_steps:
        filters = await board.filters(session, caller, topic=None, status=None, partner=None,
                                      region=None, q=None)
        items = list(await board.page(session, filters, after=None, limit=100))
    policies = [p for p in await library.policies(session, caller) if p.active]
    handles = _handles(tenants, caller, case.tenant_id)
    try:
        dispute = await disputes.staff_dispute(session, case_id)
    except disputes.DisputeNotFound:
        dispute = None
    offered: list[Any] = []
    if handles and caller.role in ADMIN_ROLES and case.status not in referrals.ENDED:
        rows, names = await referrals.providers(session, caller, region=None, kind=None)
        now = request.app.state.clock.now()
        offered = [(referrals.read_provider(p, names), slot_grid(p, now)) for p in rows
                   if p.active and referrals.serves(names, p, case.tenant_id)]
    return html(
        request, "cases/detail.html", status=status, menu="cases", x=x, case=case,
        attachments=await evidence.attachments(session, case),
        route_event=_route_event(x.events), actors=ACTORS, dupes=dupes,
        units=sorted(tenants.values(), key=lambda e: e.code), partners=partners,
        items=items, policies=policies, topics=TOPICS, codes=codes, forms=forms or {},
        clock_left=clock_left, span=span, extensions=_extensions(x.events),
        pending_extension=_pending_extension(x.events),
        handles=handles, dispute=dispute, dispute_codes=dispute_codes,
        may_dispute=handles and caller.role in ADMIN_ROLES and dispute is None
        and case.status != "merged" and case.channel != "qr_suggestion",
        referrals=await referrals.staff_list(session, caller, case_id),
        may_refer=handles and caller.role in ADMIN_ROLES, providers=offered,
        done=request.query_params.get("done"))


@get("/{case_id:uuid}", include_in_schema=False)
async def case_detail(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                      caller: NamedDependency[Caller], case_id: CaseId) -> Response[str]:
    return await case_page(request, session, caller, case_id)


@get("/{case_id:uuid}/attachments/{attachment_id:uuid}", include_in_schema=False)
async def case_evidence(session: NamedDependency[AsyncSession],
                        attachments: NamedDependency[EvidenceStore], case_id: CaseId,
                        attachment_id: Annotated[uuid.UUID, PathParameter()]) -> Stream:
    """One piece of the case's evidence, as GET /v1/cases/{id}/attachments/{id} sends it;
    a case out of scope or another case's file is the 404 page."""
    case = await service.access_case(session, case_id)
    return await download(attachments, await evidence.attachment(session, case, attachment_id))


# ---- 超期件 and 督办 ------------------------------------------------------------------------


@get("/overdue", include_in_schema=False)
async def overdue_page(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                       clock: NamedDependency[Clock],
                       after: Annotated[str | None, QueryParameter(max_length=200)] = None,
                       ) -> Response[str]:
    """超期件: open clocks in my scope past their deadline, the oldest deadline first (the
    list GET /v1/cases/overdue pages)."""
    now = clock.now()
    rows = list(await clocks.overdue(session, now, after=decode_time_cursor(after),
                                     limit=PAGE + 1))
    next_cursor = encode_cursor(*clock_key(rows[PAGE - 1])) if len(rows) > PAGE else None
    rows = rows[:PAGE]
    found = await clocks.cases_of(session, rows)
    names = await service.names(session, rows[0].federation_id) if rows else None
    reads = []
    for row in rows:
        case = found[row.case_id]
        reads.append(overdue_read(
            row, case_no=case.case_no, status=case.status, category=case.category,
            route=case.route, now=now,
            work_tenant=names.tenants.get(case.tenant_id, "?") if names else "?"))
    t = speaker(request)
    return html(request, "cases/overdue.html", menu="cases", tab="overdue", now=now,
                rows=[(r, since(t, row.deadline or now, now))
                      for r, row in zip(reads, rows, strict=True)],
                next_cursor=next_cursor)


@get("/escalated", include_in_schema=False)
async def escalated_page(request: Request[Any, Any, Any],
                         session: NamedDependency[AsyncSession],
                         after: Annotated[str | None, QueryParameter(max_length=200)] = None,
                         ) -> Response[str]:
    """督办: the clocks escalated past their deadline to a unit of my subtree (超期升级), the
    newest first (the list GET /v1/cases/escalated pages)."""
    events, found = await clocks.escalated_to_my_subtree(
        session, after=decode_time_cursor(after), limit=PAGE + 1)
    shown = list(events[:PAGE])
    next_cursor = encode_cursor(*escalation_key(shown[-1])) if len(events) > PAGE else None
    names = await service.names(session, shown[0].federation_id) if shown else None
    rows = []
    for event in shown:
        case = found[event.case_id]
        rows.append(escalation_read(
            event, case_no=case.case_no, status=case.status, category=case.category,
            work_tenant=names.tenants.get(case.tenant_id, "?") if names else "?"))
    return html(request, "cases/escalated.html", menu="cases", tab="escalated", rows=rows,
                next_cursor=next_cursor)


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


router = Router("/cases", route_handlers=[ledger, new_case, card_holder, take_case, case_detail,
                                          case_evidence, overdue_page, escalated_page, qr_page,
                                          qr_image])
