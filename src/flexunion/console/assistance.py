"""帮扶台账: the hardship ledger — the list (overdue and urgent first, so an urgent item never
waits behind ordinary ones; health and family details masked) with the 现场受理 form (by
会员号), a case page with the form of each step (受理, 核实, 会商, 发放, 回访; a step another role
takes, or the same person's 核实, is refused next to its field), the case's grants, and the
budget lines with used / allocated.
The same services and row-level security as /v1/admin/assistance."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import Settings
from flexunion.console.forms import Form, read_form
from flexunion.console.render import html, see_other, speaker
from flexunion.core.clock import BEIJING, Clock
from flexunion.core.context import Caller, Role
from flexunion.core.errors import DomainError
from flexunion.federation import directory
from flexunion.membership import service as membership
from flexunion.services.assistance import budget, service
from flexunion.services.assistance.lifecycle import ACTIONS, FOLLOW_UP_FROM, STEPS
from flexunion.services.assistance.schemas import (
    KINDS,
    Ask,
    Decide,
    Details,
    FollowUp,
    GrantCreate,
    Verify,
    WalkIn,
)

CaseId = Annotated[uuid.UUID, PathParameter()]
Action = Annotated[str, PathParameter(
    pattern=r"^(accept|verify|decide|grant|follow_up|ask)$")]
# Which field a refusal belongs next to, per problem code.
FIELDS = {"assistance_role_not_allowed": "step", "assistance_same_person": "step",
          "assistance_step_not_allowed": "step", "assistance_yearly_cap": "amount_fen",
          "assistance_over_approved": "amount_fen", "assistance_budget_exceeded": "budget_line",
          "assistance_budget_line_unknown": "budget_line"}


def _action_now(step: str) -> str | None:
    if step in FOLLOW_UP_FROM:
        return "follow_up"
    return next((a for a, (_, at, _roles) in ACTIONS.items() if at == step), None)


async def _ledger(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                  clock: Clock, *, closed: bool = False, form: Form | None = None,
                  status: int = 200) -> Response[str]:
    rows = await service.cases(session, now=clock.now(), include_closed=closed)
    return html(request, "assistance/list.html", status=status, menu="assistance", rows=rows,
                closed=closed, kinds=KINDS, form=form,
                walk_in=caller.role in (Role.STATION_OFFICER, Role.REGIONAL_ADMIN))


@get("/", include_in_schema=False)
async def ledger(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                 caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                 closed: Annotated[bool, QueryParameter()] = False) -> Response[str]:
    return await _ledger(request, session, caller, clock, closed=closed)


@post("/new", include_in_schema=False)
async def walk_in(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                  caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                  settings: NamedDependency[Settings]) -> Response[str]:
    """现场受理: station or regional staff open a member's case by 会员号 and accept it in the
    same step (POST /v1/admin/assistance/cases)."""
    form = await read_form(request, speaker(request))
    number = form.text("member_no", max_length=32)
    kind = form.choice("kind", KINDS)
    summary = form.text("summary", max_length=500)
    details = {name: form.text(name, required=False, max_length=2000)
               for name in ("diagnosis", "injury", "family_event")}
    member = None
    if number:
        member = await membership.member_by_number(
            session, await directory.federation_of(session, caller), number)
        if member is None:
            form.errors["member_no"] = form.t("没有这个会员号，或该会员不在你的管辖范围内。",
                                              "No such member number in your unit.")
    if not form.ok or member is None or kind is None or summary is None:
        return await _ledger(request, session, caller, clock, form=form, status=422)
    sealed = Details(diagnosis=details["diagnosis"], injury=details["injury"],
                     family_event=details["family_event"])
    data = WalkIn(member_id=member.id, kind=kind, summary=summary,  # type: ignore[arg-type]
                  urgent=form.values.get("urgent") == "1",
                  details=sealed if sealed.fields() else None)
    try:
        case = await service.walk_in(session, request.app.state.keyring, caller, data,
                                     defaults=settings.assistance, now=clock.now())
    except DomainError as exc:
        form.refused(exc, {"assistance_role_not_allowed": "member_no",
                           "member_not_found": "member_no"})
        return await _ledger(request, session, caller, clock, form=form, status=form.status)
    return see_other(f"/console/assistance/{case.id}?done=walk_in",
                     htmx=request.headers.get("hx-request") == "true")


async def _page(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                clock: Clock, case_id: uuid.UUID, form: Form | None = None,
                action: str | None = None, status: int = 200) -> Response[str]:
    keyring = request.app.state.keyring
    case = await service.read(session, keyring, caller, case_id, now=clock.now())
    lines = await budget.budget_lines(session, clock.now().astimezone(BEIJING).year)
    return html(request, "assistance/detail.html", status=status, menu="assistance", x=case,
                steps=STEPS, action=_action_now(case.step), actions=ACTIONS, lines=lines,
                form=form, failed=action, done=request.query_params.get("done"))


@get("/{case_id:uuid}", include_in_schema=False)
async def case_page(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                    caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                    case_id: CaseId) -> Response[str]:
    return await _page(request, session, caller, clock, case_id)


def _fen(form: Form, name: str, *, required: bool) -> int | None:
    """元 as typed (up to two decimals) → integer fen, never a float."""
    raw = form.values.get(name, "").strip()
    if not raw:
        if required:
            form.errors[name] = form.t("此项必填。", "This field is required.")
        return None
    whole, _, cents = raw.partition(".")
    if not whole.isdigit() or (cents and (not cents.isdigit() or len(cents) > 2)):
        form.errors[name] = form.t("请填写金额（元，最多两位小数）。",
                                   "An amount in yuan, at most two decimals.")
        return None
    fen = int(whole) * 100 + int((cents or "0").ljust(2, "0"))
    if fen <= 0:
        form.errors[name] = form.t("金额须大于零。", "The amount must be above zero.")
        return None
    return fen


@post("/{case_id:uuid}/{action:str}", include_in_schema=False)
async def take_step(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                    caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                    settings: NamedDependency[Settings], case_id: CaseId,
                    action: Action) -> Response[str]:
    form = await read_form(request, speaker(request))
    keyring, now, defaults = request.app.state.keyring, clock.now(), settings.assistance
    work: Any = None
    if action == "accept":
        work = service.accept(session, keyring, caller, case_id, defaults=defaults, now=now)
    elif action == "verify":
        note = form.text("note", max_length=2000)
        if form.ok and note:
            work = service.verify(session, keyring, caller, case_id, Verify(note=note),
                                  defaults=defaults, now=now)
    elif action == "decide":
        present = [p.strip() for p in form.values.get("members_present", "").replace("，", ",")
                   .split(",") if p.strip()]
        if not present:
            form.errors["members_present"] = form.t("请填写出席会商的委员。",
                                                    "Name the members present.")
        decision = form.choice("decision", ("approve", "refuse"))
        amount = _fen(form, "amount", required=decision == "approve")
        reason = form.text("reason", required=decision == "refuse", max_length=2000)
        note = form.text("note", required=False, max_length=2000)
        if form.ok and decision:
            work = service.decide(session, keyring, caller, case_id, Decide(
                members_present=present[:20], decision="approve" if decision == "approve"
                else "refuse", amount_fen=amount if decision == "approve" else None,
                reason=reason if decision == "refuse" else None, note=note),
                defaults=defaults, now=now)
    elif action == "grant":
        amount = _fen(form, "amount_fen", required=True)
        line = form.text("budget_line", max_length=63)
        note = form.text("note", required=False, max_length=2000)
        if form.ok and amount and line:
            work = service.grant(session, keyring, caller, case_id, GrantCreate(
                amount_fen=amount, budget_line=line, note=note), defaults=defaults, now=now)
    elif action == "ask":
        asked = form.text("asked_zh", max_length=500)
        if form.ok and asked:
            work = service.ask_worker(session, keyring, caller, case_id, Ask(asked_zh=asked),
                                      now=now)
    else:
        note = form.text("note", max_length=2000)
        if form.ok and note:
            work = service.follow_up(session, keyring, caller, case_id, FollowUp(note=note),
                                     defaults=defaults, now=now)
    if work is not None:
        try:
            await work
        except DomainError as exc:
            if exc.status == 404:
                raise
            fields = dict(FIELDS)
            if action == "ask":
                fields = {code: "asked_zh" for code in FIELDS}
            if exc.code == "assistance_decision_incomplete":
                fields[exc.code] = "amount" if exc.extra.get("field") == "amount_fen" \
                    else "reason"
            if action == "decide":
                fields["assistance_yearly_cap"] = "amount"
            form.refused(exc, fields)
    if not form.ok or work is None:
        return await _page(request, session, caller, clock, case_id, form, action,
                           form.status if not form.ok else 422)
    return see_other(f"/console/assistance/{case_id}?done={action}",
                     htmx=request.headers.get("hx-request") == "true")


@get("/budget", include_in_schema=False)
async def budget_page(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                      clock: NamedDependency[Clock],
                      year: Annotated[int | None, QueryParameter(ge=2000, le=2100)] = None
                      ) -> Response[str]:
    chosen = year or clock.now().astimezone(BEIJING).year
    lines = await budget.budget_lines(session, chosen)
    return html(request, "assistance/budget.html", menu="assistance", lines=lines,
                year=chosen)


router = Router("/assistance", route_handlers=[ledger, walk_in, case_page, take_step,
                                               budget_page])
