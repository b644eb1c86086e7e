"""整改清单 (under 需求台账): pick a quarter; the recurring groups of my subtree, each with a
form that makes it a rectification item; the quarter's items with their next node, status
and satisfaction trend; the CSV (HQ and regional admins). An item's page, with its history
and, for its owner (staff of the owner tenant or a union above it, a station's officer
included), the 责任方报告 form; 我方整改项, the items my unit owns (any union staff). The same
services and row-level security as /v1/cases/rectification."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.rectification import export, service, steps
from flexunion.cases.rectification.quarters import Quarter
from flexunion.cases.rectification.schemas import ItemCreate, OwnerReport
from flexunion.config import Settings
from flexunion.console.forms import Form, attempt, read_form
from flexunion.console.render import html, see_other, speaker
from flexunion.core.clock import Clock
from flexunion.core.context import Caller, Role
from flexunion.core.errors import DomainError
from flexunion.federation import directory

QuarterText = Annotated[str | None, QueryParameter(max_length=16)]
ItemId = Annotated[uuid.UUID, PathParameter()]
REPORT_FIELDS = {"next_due_invalid": "next_due_on"}
FIELDS = {"owner_required": "owner", "unknown_unit": "owner", "unknown_partner": "owner",
          "next_due_invalid": "next_due_on", "rectification_item_exists": "owner"}


def _quarter(code: str | None, clock: Clock) -> Quarter:
    try:
        return Quarter.parse(code) if code else Quarter.of(clock.now())
    except DomainError:
        return Quarter.of(clock.now())


async def _page(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                settings: Settings, clock: Clock, quarter: Quarter, form: Form | None = None,
                status: int = 200) -> Response[str]:
    now = clock.now()
    current = Quarter.of(now)
    choices = [current.next(), current]
    while len(choices) < 6:
        choices.append(choices[-1].previous())
    if quarter not in choices:
        choices.append(quarter)
    tenants = await directory.my_directory(session, caller)
    mine = tenants.subtree(tenants[caller.tenant_code])
    units = sorted((e for e in tenants.values() if e.id in mine), key=lambda e: e.code)
    partners = await directory.partners(session, tenants.hq.id)
    groups = await service.groups(session, caller, quarter, settings=settings.cases)
    items = await service.reads(session, await service.items(session, quarter), now=now)
    return html(request, "rectification/list.html", status=status, menu="cases",
                quarter=quarter.code, quarters=[q.code for q in choices], groups=groups,
                items=items, units=units, partners=partners, form=form,
                done=request.query_params.get("done"))


@get("/", include_in_schema=False)
async def rectification_list(request: Request[Any, Any, Any],
                             session: NamedDependency[AsyncSession],
                             caller: NamedDependency[Caller],
                             settings: NamedDependency[Settings], clock: NamedDependency[Clock],
                             quarter: QuarterText = None) -> Response[str]:
    return await _page(request, session, caller, settings, clock, _quarter(quarter, clock))


@post("/items", include_in_schema=False)
async def make_item(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                    caller: NamedDependency[Caller], settings: NamedDependency[Settings],
                    clock: NamedDependency[Clock]) -> Response[str]:
    """立项 from a recurring group; the owner is `tenant:<code>` or `partner:<code>`."""
    form = await read_form(request, speaker(request))
    quarter = _quarter(form.values.get("quarter"), clock)
    category = form.text("category", max_length=64)
    dimension = form.choice("dimension", ("tenant", "zone", "partner"))
    place = form.text("place", max_length=64)
    owner = form.text("owner", max_length=80) or ""
    problem = form.text("problem", max_length=4000)
    measure = form.text("measure", max_length=4000)
    next_node = form.text("next_node")
    due = form.text("next_due_on", max_length=10)
    kind, _, code = owner.partition(":")
    if owner and (kind not in ("tenant", "partner") or not code):
        form.errors["owner"] = form.t("请从列表中选择。", "Choose one of the options.")
    if form.ok:
        try:
            data = msgspec.convert({
                "quarter": quarter.code, "category": category, "dimension": dimension,
                "place": place, "owner": {kind: code}, "problem": problem,
                "measure": measure, "next_node": next_node, "next_due_on": due}, ItemCreate)
        except msgspec.ValidationError:
            form.problem = form.t("输入有误。", "Invalid input.")
        else:
            await attempt(form, steps.create(session, caller, data, now=clock.now()), FIELDS)
    if not form.ok:
        return await _page(request, session, caller, settings, clock, quarter, form,
                           form.status)
    return see_other(f"/console/cases/rectification?quarter={quarter.code}&done=created",
                     htmx=request.headers.get("hx-request") == "true")


@get("/export", include_in_schema=False)
async def export_csv(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                     quarter: QuarterText = None) -> Response[bytes]:
    q = _quarter(quarter, clock)
    reads = await service.reads(session, await service.items(session, q), now=clock.now())
    return Response(export.csv_bytes(reads), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="rectification-{q.code}.csv"',
        "Cache-Control": "no-store"})


async def _item_page(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                     clock: Clock, item_id: uuid.UUID, form: Form | None = None,
                     status: int = 200) -> Response[str]:
    row = await service.item(session, item_id)  # 404 page when not mine to see
    admin = caller.role in (Role.HQ_ADMIN, Role.REGIONAL_ADMIN)
    read = (await service.reads(session, [row], now=clock.now(), trend=admin))[0]
    return html(request, "rectification/item.html", status=status, menu="cases", item=read,
                owner=await service.owns(session, row, partner=False), admin=admin,
                open=row.status in service.OPEN, form=form,
                done=request.query_params.get("done"))


@get("/items/{item_id:uuid}", include_in_schema=False)
async def item_page(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                    caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                    item_id: ItemId) -> Response[str]:
    return await _item_page(request, session, caller, clock, item_id)


@post("/items/{item_id:uuid}/report", include_in_schema=False)
async def report_item(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                      caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                      item_id: ItemId) -> Response[str]:
    """责任方报告: a note, optionally a proposed next node and due date."""
    form = await read_form(request, speaker(request))
    note = form.text("note", max_length=2000)
    node = form.text("next_node", required=False)
    due = form.text("next_due_on", required=False, max_length=10)
    if form.ok:
        try:
            data = msgspec.convert({"note": note, "next_node": node, "next_due_on": due},
                                   OwnerReport)
        except msgspec.ValidationError:
            form.errors["next_due_on"] = form.t("日期无效。", "Not a date.")
        else:
            await attempt(form, steps.report(session, item_id, data, now=clock.now(),
                                              partner=False), REPORT_FIELDS)
    if not form.ok:
        return await _item_page(request, session, caller, clock, item_id, form, form.status)
    return see_other(f"/console/cases/rectification/items/{item_id}?done=report",
                     htmx=request.headers.get("hx-request") == "true")


@get("/owned", include_in_schema=False)
async def owned_page(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                     clock: NamedDependency[Clock]) -> Response[str]:
    items = await service.reads(session, await service.unit_owned(session), now=clock.now(),
                                trend=False)
    return html(request, "rectification/owned.html", menu="cases", items=items)


router = Router("/cases/rectification", route_handlers=[rectification_list, make_item,
                                                         export_csv])
# Any union staff: what its unit owns, and one item (row-level security decides which).
owners = Router("/cases/rectification", route_handlers=[item_page, report_item, owned_page])
