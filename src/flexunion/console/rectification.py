"""整改清单 (under 需求台账): pick a quarter; the recurring groups of my subtree, each with a
form that makes it a rectification item; the quarter's items with their next node, status
and satisfaction trend; the CSV. The same services and row-level security as
/v1/cases/rectification (HQ and regional admins)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.rectification import export, service, steps
from flexunion.cases.rectification.quarters import Quarter
from flexunion.cases.rectification.schemas import ItemCreate
from flexunion.config import Settings
from flexunion.console.forms import Form, attempt, read_form
from flexunion.console.render import html, see_other, speaker
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.errors import DomainError
from flexunion.federation import directory

QuarterText = Annotated[str | None, QueryParameter(max_length=16)]
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


router = Router("/cases/rectification", route_handlers=[rectification_list, make_item,
                                                         export_csv])
