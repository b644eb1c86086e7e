"""调解与法律援助 in the console (需求台账): the providers page — every officer reads the
federation's providers; HQ and regional admins add and edit those of their subtree (kind,
names, address, map point, the tenants served, opening hours and, for bookings, the slot
length) — and, on a case's page, the 转介 forms: book a slot (picked from the provider's
grid within its hours, the next 14 days) or record a hand-over, and cancel a referral.

Each form is the API's service call (cases/referrals/service.py decides who may); a refusal
is shown on its form, next to the field its problem code concerns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.referrals import service
from flexunion.cases.referrals.schemas import (
    KINDS,
    Booking,
    Handover,
    ProviderCreate,
    ProviderUpdate,
    ReferralCreate,
)
from flexunion.console.cases import case_page, htmx
from flexunion.console.forms import Form, attempt, read_form
from flexunion.console.render import html, see_other, speaker
from flexunion.core.clock import BEIJING, Clock
from flexunion.core.context import Caller, Role
from flexunion.core.errors import Forbidden, NotFound
from flexunion.geo.stations import hours as h

CaseId = Annotated[uuid.UUID, PathParameter()]
Code = Annotated[str, PathParameter(max_length=64)]
MANAGERS = frozenset({Role.HQ_ADMIN, Role.REGIONAL_ADMIN})
PROVIDER_FIELDS = {"provider_code_taken": "code", "served_tenant_unknown": "serves",
                   "opening_hours_invalid": "hours", "unknown_region": "region",
                   "provider_outside_subtree": "region"}
REFER_FIELDS = {"slot_taken": "slot", "slot_outside_hours": "slot", "slot_in_past": "slot",
                "slot_invalid": "slot", "provider_takes_no_bookings": "slot",
                "unknown_provider": "provider", "provider_inactive": "provider",
                "provider_not_serving": "provider", "handover_time_invalid": "sent_at"}


def hours_text(opening: dict[str, Any]) -> str:
    """Opening hours as the form shows them: a line per open day, `mon 09:00-12:00 13:00-17:00`."""
    return "\n".join(f"{d} " + " ".join(f"{a}-{b}" for a, b in opening.get(d) or [])
                     for d in h.DAYS if opening.get(d))


def parse_hours(form: Form, raw: str | None) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for line in (raw or "").splitlines():
        parts = line.replace("–", "-").split()
        if not parts:
            continue
        day, spans = parts[0].lower(), parts[1:]
        if day not in h.DAYS or not spans or any(s.count("-") != 1 for s in spans):
            form.errors["hours"] = form.t(
                "每行写一天：周几（mon…sun）和时段，如 mon 09:00-12:00 13:00-17:00。",
                "One day a line: mon…sun and its intervals, e.g. mon 09:00-12:00 13:00-17:00.")
            return None
        out[day] = [s.split("-") for s in spans]
    if not out:
        form.errors["hours"] = form.t("此项必填。", "This field is required.")
        return None
    return out


def _codes(raw: str | None) -> list[str]:
    return [x.strip() for x in (raw or "").replace("，", ",").replace("\n", ",").split(",")
            if x.strip()][:200]


def _float(form: Form, name: str, low: float, high: float) -> float | None:
    raw = form.text(name, max_length=32)
    try:
        value = float(raw or "")
    except ValueError:
        value = None
    if raw and (value is None or not low <= value <= high):
        form.errors[name] = form.t(f"请填写 {low}–{high} 之间的数。",
                                   f"Enter a number from {low} to {high}.")
        return None
    return value


def _slot_minutes(form: Form) -> int | None:
    raw = form.text("slot_minutes", required=False, max_length=3)
    if raw and (not raw.isdigit() or not 10 <= int(raw) <= 480):
        form.errors["slot_minutes"] = form.t("请填写 10–480 分钟，或留空（不接受预约）。",
                                             "Enter 10 to 480 minutes, or leave it empty "
                                             "(no bookings).")
        return None
    return int(raw) if raw else None


# ---- providers -------------------------------------------------------------------------------


async def _providers_page(request: Request[Any, Any, Any], session: AsyncSession,
                          caller: Caller, form: Form | None = None,
                          status: int = 200) -> Response[str]:
    rows, tenants = await service.providers(session, caller, region=None, kind=None)
    return html(request, "referrals/providers.html", status=status, menu="cases",
                rows=[service.read_provider(r, tenants) for r in rows], kinds=KINDS,
                form=form, editable=caller.role in MANAGERS, mine=caller.tenant_code,
                hours_text=hours_text, done=request.query_params.get("done"))


@get("/providers", include_in_schema=False)
async def providers(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                    caller: NamedDependency[Caller]) -> Response[str]:
    return await _providers_page(request, session, caller)


def _provider_values(form: Form, *, create: bool) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name_zh": form.text("name_zh", max_length=200),
        "name_en": form.text("name_en", max_length=200),
        "address": form.text("address", max_length=200),
        "phone": form.text("phone", required=False, max_length=40),
        "slot_minutes": _slot_minutes(form),
    }
    lon = _float(form, "lon", -180, 180)
    lat = _float(form, "lat", -90, 90)
    crs = form.choice("crs", ("wgs84", "gcj02", "bd09"))
    values["location"] = {"lon": lon, "lat": lat, "crs": crs}
    serves = _codes(form.values.get("serves"))
    if not serves:
        form.errors["serves"] = form.t("此项必填。", "This field is required.")
    values["serves"] = serves
    values["opening_hours"] = parse_hours(form, form.values.get("hours"))
    if create:
        values["code"] = form.text("code", max_length=64)
        values["kind"] = form.choice("kind", KINDS)
        values["region"] = form.text("region", required=False, max_length=64)
    return values


@post("/providers", include_in_schema=False)
async def create_provider(request: Request[Any, Any, Any],
                          session: NamedDependency[AsyncSession],
                          caller: NamedDependency[Caller],
                          clock: NamedDependency[Clock]) -> Response[str]:
    form = await read_form(request, speaker(request))
    values = _provider_values(form, create=True)
    if not form.ok:
        return await _providers_page(request, session, caller, form, 422)
    try:
        data = msgspec.convert(values, ProviderCreate)
    except msgspec.ValidationError as exc:
        form.problem = form.t(f"填写有误：{exc}", f"Invalid: {exc}")
        return await _providers_page(request, session, caller, form, 422)
    await attempt(form, service.create_provider(session, caller, data, now=clock.now()),
                  PROVIDER_FIELDS)
    if not form.ok:
        return await _providers_page(request, session, caller, form, form.status)
    return see_other("/console/cases/providers?done=created", htmx=htmx(request))


async def provider_view(session: AsyncSession, caller: Caller, code: str) -> Any:
    rows, tenants = await service.providers(session, caller, region=None, kind=None)
    found = next((r for r in rows if r.code == code), None)
    if found is None:
        raise NotFound("没有该调解或法律援助机构。", "No such provider.",
                       code="provider_not_found")
    return service.read_provider(found, tenants)


async def _edit_page(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                     code: str, form: Form | None = None, status: int = 200) -> Response[str]:
    return html(request, "referrals/provider_edit.html", status=status, menu="cases",
                p=await provider_view(session, caller, code), form=form, kinds=KINDS,
                hours_text=hours_text)


@get("/providers/{code:str}/edit", include_in_schema=False)
async def edit_provider(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                        caller: NamedDependency[Caller], code: Code) -> Response[str]:
    if caller.role not in MANAGERS:
        raise Forbidden("调解和法律援助机构由总部或地区工会维护。",
                        "HQ and regional admins keep the providers.",
                        code="providers_admin_only")
    return await _edit_page(request, session, caller, code)


@post("/providers/{code:str}/edit", include_in_schema=False)
async def save_provider(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                        caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                        code: Code) -> Response[str]:
    form = await read_form(request, speaker(request))
    values = _provider_values(form, create=False)
    values["active"] = form.choice("active", ("true", "false")) == "true"
    if not form.ok:
        return await _edit_page(request, session, caller, code, form, 422)
    if values["slot_minutes"] is None:
        del values["slot_minutes"]  # the API keeps it; a provider's bookings stay possible
    try:
        data = msgspec.convert(values, ProviderUpdate)
    except msgspec.ValidationError as exc:
        form.problem = form.t(f"填写有误：{exc}", f"Invalid: {exc}")
        return await _edit_page(request, session, caller, code, form, 422)
    await attempt(form, service.update_provider(session, caller, code, data, now=clock.now()),
                  PROVIDER_FIELDS)
    if not form.ok:
        return await _edit_page(request, session, caller, code, form, form.status)
    return see_other("/console/cases/providers?done=updated", htmx=htmx(request))


# ---- 转介 on a case --------------------------------------------------------------------------


async def _refused(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                   case_id: uuid.UUID, name: str, form: Form) -> Response[str]:
    return await case_page(request, session, caller, case_id, forms={name: form},
                           status=form.status)


def _done(request: Request[Any, Any, Any], case_id: uuid.UUID, done: str) -> Response[str]:
    return see_other(f"/console/cases/{case_id}?done={done}#referrals", htmx=htmx(request))


@post("/{case_id:uuid}/referrals/book", include_in_schema=False)
async def book(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
               caller: NamedDependency[Caller], clock: NamedDependency[Clock],
               case_id: CaseId) -> Response[str]:
    """预约时段: `slot` is `PROVIDER|start` from the picker."""
    form = await read_form(request, speaker(request))
    raw = form.text("slot", max_length=120) or ""
    note = form.text("note", required=False, max_length=2000)
    provider, _, start_raw = raw.partition("|")
    start = None
    try:
        start = datetime.fromisoformat(start_raw)
    except ValueError:
        if raw:
            form.errors["slot"] = form.t("请从列表中选择时段。", "Choose a slot from the list.")
    if not form.ok or start is None:
        form.status = 422
        return await _refused(request, session, caller, case_id, "referral_book", form)
    data = ReferralCreate(provider=provider, booking=Booking(start=start), note=note)
    await attempt(form, service.refer(session, caller, case_id, data, now=clock.now()),
                  REFER_FIELDS)
    if not form.ok:
        return await _refused(request, session, caller, case_id, "referral_book", form)
    return _done(request, case_id, "referral")


@post("/{case_id:uuid}/referrals/handover", include_in_schema=False)
async def handover(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                   caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                   case_id: CaseId) -> Response[str]:
    """记录移交: to which provider, what was sent, to whom, when (Beijing time; empty: now)."""
    form = await read_form(request, speaker(request))
    provider = form.text("provider", max_length=64)
    sent_what = form.text("sent_what", max_length=2000)
    sent_to = form.text("sent_to", max_length=200)
    at_raw = form.text("sent_at", required=False, max_length=32)
    note = form.text("note", required=False, max_length=2000)
    sent_at = clock.now()
    if at_raw:
        try:
            sent_at = datetime.fromisoformat(at_raw)
            if sent_at.tzinfo is None:
                sent_at = sent_at.replace(tzinfo=BEIJING)
        except ValueError:
            form.errors["sent_at"] = form.t("请填写日期和时间。", "Enter a date and time.")
    if not form.ok or provider is None or sent_what is None or sent_to is None:
        form.status = 422
        return await _refused(request, session, caller, case_id, "referral_handover", form)
    data = ReferralCreate(provider=provider, note=note, handover=Handover(
        sent_what=sent_what, sent_to=sent_to, sent_at=sent_at))
    await attempt(form, service.refer(session, caller, case_id, data, now=clock.now()),
                  REFER_FIELDS)
    if not form.ok:
        return await _refused(request, session, caller, case_id, "referral_handover", form)
    return _done(request, case_id, "referral")


@post("/{case_id:uuid}/referrals/{referral_id:uuid}/cancel", include_in_schema=False)
async def cancel(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                 caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                 case_id: CaseId,
                 referral_id: Annotated[uuid.UUID, PathParameter()]) -> Response[str]:
    form = await read_form(request, speaker(request))
    reason = form.text("reason", max_length=2000)
    if not form.ok or reason is None:
        form.status = 422
        return await _refused(request, session, caller, case_id, f"cancel-{referral_id}", form)
    await attempt(form, service.cancel(session, caller, case_id, referral_id, reason,
                                       now=clock.now()))
    if not form.ok:
        return await _refused(request, session, caller, case_id, f"cancel-{referral_id}", form)
    return _done(request, case_id, "cancelled")


router = Router("/cases", route_handlers=[providers, create_provider, edit_provider,
                                          save_provider, book, handover, cancel])
