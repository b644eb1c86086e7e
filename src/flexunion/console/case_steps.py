"""The step forms on a case's page (需求台账): 分流 (one of the four routes, with its reason;
政策释明 picks a policy of the library, 集体协商 an agenda item or a topic to file the case
as a problem report for the worker), 派单 and 改派 (a lead unit
and assisting units, tenants or platforms, in their order; 改派 with its reason), 接单, 退单
(reason required), 答复, 并单 and 回访 (已解决 closes the case; 阶段推进 / 暂难解决 name
the next node, its date and the responsible unit). Each is the API's step (cases/handling/service.py
decides who may take it): a refusal is shown on its form, next to the field its code concerns."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, post
from litestar.di import NamedDependency
from litestar.params import PathParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.board.topics import TOPICS
from flexunion.cases.followup import service as followup
from flexunion.cases.followup.schemas import FollowupCreate
from flexunion.cases.handling import service as steps
from flexunion.cases.handling.schemas import AssignCreate, CaseReport, RouteCreate
from flexunion.cases.ledger import codes, service
from flexunion.config import Settings
from flexunion.console.cases import case_page, htmx
from flexunion.console.forms import Form, attempt, read_form
from flexunion.console.render import see_other, speaker
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.federation import directory

CaseId = Annotated[uuid.UUID, PathParameter()]
ROUTE_FIELDS = {"agenda_item_required": "agenda_item", "agenda_item_not_found": "agenda_item",
                "bargaining_target_ambiguous": "report_topic",
                "case_worker_not_member": "report_topic", "case_partner_required": "report_topic",
                "case_already_reported": "report_topic", "invalid_details": "report_topic",
                "policy_required": "policy", "unknown_policy": "policy",
                "route_required": "route"}
ASSIGN_FIELDS = {"unknown_unit": "lead", "unit_ambiguous": "assisting",
                 "unknown_partner": "assisting", "reason_required": "reason"}


def _lines(raw: str | None) -> list[str]:
    return [x.strip() for x in (raw or "").replace("，", ",").replace("\n", ",").split(",")
            if x.strip()][:20]


async def _refused(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                   case_id: uuid.UUID, step: str, form: Form) -> Response[str]:
    return await case_page(request, session, caller, case_id, forms={step: form},
                           status=form.status)


async def _done(request: Request[Any, Any, Any], session: AsyncSession, case_id: uuid.UUID,
                step: str) -> Response[str]:
    """Back to the case's page — or, when the step took it out of my sight (a unit that
    answered or returned another union's case is no longer assigned), to the ledger."""
    try:
        await service.access_case(session, case_id)
    except service.CaseNotFound:
        return see_other(f"/console/cases?done={step}", htmx=htmx(request))
    return see_other(f"/console/cases/{case_id}?done={step}", htmx=htmx(request))


@post("/{case_id:uuid}/route", include_in_schema=False)
async def route(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                case_id: CaseId) -> Response[str]:
    form = await read_form(request, speaker(request))
    chosen = form.choice("route", codes.ROUTES)
    reason = form.text("reason", max_length=2000)
    policy = form.text("policy", required=chosen == "policy", max_length=64)
    topic = form.choice("report_topic", TOPICS, required=False)
    title = form.text("report_title", required=False, max_length=200)
    item = form.text("agenda_item", required=chosen == "bargaining" and topic is None,
                     max_length=64)
    item_id = None
    if item and chosen == "bargaining":
        try:
            item_id = uuid.UUID(item)
        except ValueError:
            form.errors["agenda_item"] = form.t("请从列表中选择。", "Choose one of the options.")
    if not form.ok:
        return await _refused(request, session, caller, case_id, "route", form)
    report = (CaseReport(topic=topic, title=title)  # type: ignore[arg-type]
              if topic is not None and chosen == "bargaining" else None)
    data = RouteCreate(route=chosen, reason=reason or "", agenda_item_id=item_id,  # type: ignore[arg-type]
                       report=report, policy=policy if chosen == "policy" else None)
    await attempt(form, steps.route(session, case_id, data, now=clock.now()), ROUTE_FIELDS)
    if not form.ok:
        return await _refused(request, session, caller, case_id, "route", form)
    return await _done(request, session, case_id, "route")


async def _assign(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                  clock: Clock, case_id: uuid.UUID, *, reassign: bool) -> Response[str]:
    step = "reassign" if reassign else "assign"
    form = await read_form(request, speaker(request))
    tenants = await directory.my_directory(session, caller)
    partners = await directory.partners(session, tenants.hq.id)
    lead = form.choice("lead", list(tenants))
    reason = form.text("reason", required=reassign, max_length=2000)
    days_raw = form.text("feedback_days", required=False, max_length=2) or "3"
    if not days_raw.isdigit() or int(days_raw) > 30:
        form.errors["feedback_days"] = form.t("请填写 0–30 个工作日。",
                                              "Enter 0 to 30 working days.")
    assisting: list[dict[str, Any]] = []
    for code in _lines(form.values.get("assisting"))[:10]:
        if code in tenants:
            assisting.append({"tenant": code})
        elif code in partners:
            assisting.append({"partner": code})
        else:
            form.errors["assisting"] = form.t(f"{code} 既不是本联合会的组织，也不是平台。",
                                              f"'{code}' is neither a tenant nor a platform.")
    evidence = _lines(form.values.get("evidence_required"))
    if not form.ok:
        return await _refused(request, session, caller, case_id, step, form)
    days = int(days_raw)
    data = msgspec.convert({
        "lead": lead, "reason": reason, "feedback_days": days, "evidence_required": evidence,
        "assisting": [u | {"feedback_days": days, "evidence_required": evidence}
                      for u in assisting]}, AssignCreate)
    await attempt(form, steps.assign(session, case_id, data, now=clock.now(),
                                     reassign=reassign), ASSIGN_FIELDS)
    if not form.ok:
        return await _refused(request, session, caller, case_id, step, form)
    return await _done(request, session, case_id, step)


@post("/{case_id:uuid}/assign", include_in_schema=False)
async def assign(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                 caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                 case_id: CaseId) -> Response[str]:
    return await _assign(request, session, caller, clock, case_id, reassign=False)


@post("/{case_id:uuid}/reassign", include_in_schema=False)
async def reassign(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                   caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                   case_id: CaseId) -> Response[str]:
    return await _assign(request, session, caller, clock, case_id, reassign=True)


@post("/{case_id:uuid}/accept", include_in_schema=False)
async def accept(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                 caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                 case_id: CaseId) -> Response[str]:
    form = await read_form(request, speaker(request))
    await attempt(form, steps.accept(session, case_id, now=clock.now()))
    if not form.ok:
        return await _refused(request, session, caller, case_id, "accept", form)
    return await _done(request, session, case_id, "accept")


@post("/{case_id:uuid}/return", include_in_schema=False)
async def return_case(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                      caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                      case_id: CaseId) -> Response[str]:
    form = await read_form(request, speaker(request))
    reason = form.text("reason", max_length=2000)
    if not form.ok or reason is None:
        return await _refused(request, session, caller, case_id, "return", form)
    await attempt(form, steps.return_case(session, case_id, reason, now=clock.now()))
    if not form.ok:
        return await _refused(request, session, caller, case_id, "return", form)
    return await _done(request, session, case_id, "return")


@post("/{case_id:uuid}/answer", include_in_schema=False)
async def answer(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                 caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                 case_id: CaseId) -> Response[str]:
    form = await read_form(request, speaker(request))
    text = form.text("text", max_length=4000)
    if not form.ok or text is None:
        return await _refused(request, session, caller, case_id, "answer", form)
    await attempt(form, steps.answer(session, case_id, text, now=clock.now()),
                  {"route_required": "text"})
    if not form.ok:
        return await _refused(request, session, caller, case_id, "answer", form)
    return await _done(request, session, case_id, "answer")


@post("/{case_id:uuid}/merge", include_in_schema=False)
async def merge(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                case_id: CaseId) -> Response[str]:
    form = await read_form(request, speaker(request))
    raw = form.text("into", max_length=64)
    reason = form.text("reason", required=False, max_length=2000)
    into = None
    try:
        into = uuid.UUID(raw or "")
    except ValueError:
        form.errors["into"] = form.t("请从列表中选择。", "Choose one of the options.")
    if not form.ok or into is None:
        return await _refused(request, session, caller, case_id, "merge", form)
    await attempt(form, steps.merge(session, case_id, into, reason, now=clock.now()),
                  {"merge_target_invalid": "into"})
    if not form.ok:
        return await _refused(request, session, caller, case_id, "merge", form)
    return await _done(request, session, case_id, "merge")


FOLLOW_UP_FIELDS = {"next_node_required": "next_node", "next_due_invalid": "next_due_on",
                    "unknown_unit": "responsible_unit"}


@post("/{case_id:uuid}/follow-up", include_in_schema=False)
async def follow_up(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                    caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                    settings: NamedDependency[Settings], case_id: CaseId) -> Response[str]:
    form = await read_form(request, speaker(request))
    outcome = form.choice("outcome", codes.OUTCOMES)
    informed = form.choice("worker_informed", ("yes", "no"))
    accepts = form.choice("worker_accepts", ("yes", "no"))
    note = form.text("note", required=False, max_length=2000)
    keeps_open = outcome in ("in_progress", "hard")
    node = form.text("next_node", required=keeps_open, max_length=200)
    due = form.text("next_due_on", required=keeps_open, max_length=10)
    unit = form.text("responsible_unit", required=keeps_open, max_length=64)
    if not form.ok or outcome is None:
        return await _refused(request, session, caller, case_id, "follow_up", form)
    data = FollowupCreate(outcome=outcome, worker_informed=informed == "yes",  # type: ignore[arg-type]
                          worker_accepts=accepts == "yes", note=note,
                          next_node=node if keeps_open else None,
                          next_due_on=due if keeps_open else None,
                          responsible_unit=unit if keeps_open else None)
    await attempt(form, followup.follow_up(session, case_id, data,
                                           reopen_days=settings.cases.reopen_days,
                                           now=clock.now()), FOLLOW_UP_FIELDS)
    if not form.ok:
        return await _refused(request, session, caller, case_id, "follow_up", form)
    return await _done(request, session, case_id, "follow_up")


router = Router("/cases", route_handlers=[route, assign, reassign, accept, return_case, answer,
                                          merge, follow_up])
