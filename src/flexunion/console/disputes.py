"""争议处置 in the console (需求台账): the 立为争议 form on a case's page, and the dispute's
own page — kind, platform, the evidence checklist with each slot's state (filled: file,
supplier, time and sha256; missing; requested from the platform with its deadline, or
overdue), the forms to file an attachment under a slot, to request a slot from the
platform within working days and to take the next rung of the ladder (only the next one is
offered, with the fields that rung needs, and the evidence waiver while required slots are
empty), and the ladder's history with the platform's replies.

Also the 争议 list of the disputes in my sight (filter by kind, rung and what the platform
still owes past its deadline; cursor-paged as GET /v1/disputes), the 发函 letter as the
stored PDF (as GET /v1/cases/{id}/dispute/letter serves it), and on the dispute's page the
forms for the human review of an algorithmic decision (维持 / 撤销 / 补偿; the opener is
refused, the message above the form), the resolution path with its 回访 and the settlement
check (已履行 / 未履行).

Each form is the API's service call (cases/disputes/service.py decides who may); a refusal
is shown on its form, next to the field its problem code concerns."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.evidence.store import EvidenceStore
from flexunion.cases.attachments import service as attachments
from flexunion.cases.disputes import codes, decisions, listing, resolutions, service
from flexunion.cases.disputes import evidence as dispute_evidence
from flexunion.cases.disputes.http import letter_download
from flexunion.cases.disputes.schemas import (
    DecisionCreate,
    DisputeOpen,
    EvidenceLink,
    ReferralCreate,
    RequestCreate,
    ResolutionCreate,
    SettlementCheck,
    StepCreate,
)
from flexunion.cases.ledger import service as ledger
from flexunion.config import Settings
from flexunion.console.cases import case_page, htmx
from flexunion.console.forms import Form, attempt, read_form
from flexunion.console.render import html, see_other, speaker
from flexunion.core.clock import BEIJING, Clock
from flexunion.core.context import ADMIN_ROLES, Caller
from flexunion.core.errors import NotFound
from flexunion.core.pagination import decode_time_cursor, encode_cursor
from flexunion.federation import directory

CaseId = Annotated[uuid.UUID, PathParameter()]
OPEN_FIELDS = {"dispute_kind_mismatch": "kind", "dispute_exists": "kind",
               "dispute_anonymous": "kind", "dispute_case_merged": "kind",
               "partner_required": "partner", "unknown_partner": "partner",
               "partner_not_found": "partner"}
LINK_FIELDS = {"slot_not_in_checklist": "slot", "unknown_attachment": "attachment",
               "evidence_already_linked": "attachment"}
REQUEST_FIELDS = {"slot_not_in_checklist": "slot"}
STEP_FIELDS = {"dispute_evidence_missing": "evidence_waiver", "minutes_required": "minutes",
               "letter_required": "letter", "review_outcome_required": "corrected",
               "referral_required": "to_name", "dispute_corrected": "to_name",
               "dispute_step_skipped": "step"}


async def dispute_page(request: Request[Any, Any, Any], session: AsyncSession,
                       case_id: uuid.UUID, *, forms: dict[str, Form] | None = None,
                       status: int = 200) -> Response[str]:
    row = await service.staff_dispute(session, case_id)
    now = request.app.state.clock.now()
    x = await service.read(session, row, audience="staff", now=now)
    case = await ledger.access_case(session, case_id)
    files = list(await attachments.attachments(session, case))
    names = {a.id: a.filename for a in files}
    requests: dict[str, list[Any]] = {}
    for r in x.requests:
        requests.setdefault(r.slot.code, []).append(r)
    upcoming = codes.next_step(row.step)
    tenants = list((await directory.directory(session, row.federation_id)).values())
    letter = next((s.details["letter_pdf"] for s in x.steps if "letter_pdf" in s.details),
                  None)
    return html(request, "disputes/detail.html", status=status, menu="cases", x=x,
                case=case, files=files, names=names, requests=requests, codes=codes,
                upcoming=upcoming, forms=forms or {}, letter=letter,
                units=sorted(e.code for e in tenants),
                unit_here=next((e.code for e in tenants if e.id == row.tenant_id), ""),
                today=now.astimezone(BEIJING).date().isoformat(),
                ask_waiver=bool(x.missing) and upcoming not in (None, codes.LADDER[0])
                and x.evidence_waiver is None,
                done=request.query_params.get("done"))


@get("/{case_id:uuid}/dispute", include_in_schema=False)
async def dispute_detail(request: Request[Any, Any, Any],
                         session: NamedDependency[AsyncSession],
                         case_id: CaseId) -> Response[str]:
    return await dispute_page(request, session, case_id)


def _back(request: Request[Any, Any, Any], case_id: uuid.UUID, done: str) -> Response[str]:
    return see_other(f"/console/cases/{case_id}/dispute?done={done}", htmx=htmx(request))


@post("/{case_id:uuid}/dispute/open", include_in_schema=False)
async def open_dispute(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                       caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                       settings: NamedDependency[Settings], case_id: CaseId) -> Response[str]:
    """立为争议, from the case's page (a refusal is shown there, on the form)."""
    form = await read_form(request, speaker(request))
    kind = form.choice("kind", codes.KINDS)
    statement = form.text("statement", max_length=4000)
    partner = form.text("partner", required=False, max_length=64)
    if not form.ok or kind is None or statement is None:
        return await case_page(request, session, caller, case_id, forms={"dispute": form},
                               status=422)
    data = DisputeOpen(kind=kind, statement=statement, partner=partner)  # type: ignore[arg-type]
    await attempt(form, service.open_dispute(session, case_id, data, now=clock.now(),
                                       reply_days=settings.cases.platform_reply_days),
                  OPEN_FIELDS)
    if not form.ok:
        return await case_page(request, session, caller, case_id, forms={"dispute": form},
                               status=form.status)
    return _back(request, case_id, "opened")


@post("/{case_id:uuid}/dispute/evidence", include_in_schema=False)
async def link_evidence(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                        clock: NamedDependency[Clock], case_id: CaseId) -> Response[str]:
    """File one of the case's attachments under a slot of the checklist."""
    form = await read_form(request, speaker(request))
    slot = form.choice("slot", codes.SLOTS)
    raw = form.text("attachment", max_length=64)
    attachment = None
    try:
        attachment = uuid.UUID(raw or "")
    except ValueError:
        if raw:
            form.errors["attachment"] = form.t("请从列表中选择。", "Choose one of the options.")
    if not form.ok or slot is None or attachment is None:
        return await dispute_page(request, session, case_id, forms={"evidence": form},
                                  status=422)
    data = EvidenceLink(slot=slot, attachment_id=attachment)  # type: ignore[arg-type]
    await attempt(form, dispute_evidence.link_evidence(session, case_id, data, now=clock.now()),
                  LINK_FIELDS)
    if not form.ok:
        return await dispute_page(request, session, case_id, forms={"evidence": form},
                                  status=form.status)
    return _back(request, case_id, "evidence")


@post("/{case_id:uuid}/dispute/request", include_in_schema=False)
async def request_evidence(request: Request[Any, Any, Any],
                           session: NamedDependency[AsyncSession],
                           clock: NamedDependency[Clock], case_id: CaseId) -> Response[str]:
    """调取证据: ask the platform for a slot within N working days."""
    form = await read_form(request, speaker(request))
    slot = form.choice("slot", codes.SLOTS)
    days_raw = form.text("days", max_length=2) or ""
    note = form.text("note", required=False, max_length=2000)
    if days_raw and (not days_raw.isdigit() or not 1 <= int(days_raw) <= 30):
        form.errors["days"] = form.t("请填写 1–30 个工作日。", "Enter 1 to 30 working days.")
    if not form.ok or slot is None:
        return await dispute_page(request, session, case_id, forms={"request": form},
                                  status=422)
    data = RequestCreate(slot=slot, days=int(days_raw), note=note)  # type: ignore[arg-type]
    await attempt(form, dispute_evidence.request_evidence(session, case_id, data, now=clock.now()),
                  REQUEST_FIELDS)
    if not form.ok:
        return await dispute_page(request, session, case_id, forms={"request": form},
                                  status=form.status)
    return _back(request, case_id, "requested")


def _sent(raw: str | None) -> list[str]:
    return [x.strip() for x in (raw or "").replace("，", ",").replace("\n", ",").split(",")
            if x.strip()][:50]


@post("/{case_id:uuid}/dispute/step", include_in_schema=False)
async def take_step(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                    clock: NamedDependency[Clock], attachments: NamedDependency[EvidenceStore],
                    case_id: CaseId) -> Response[str]:
    """The next rung of the ladder, with what that rung carries."""
    form = await read_form(request, speaker(request))
    step = form.choice("step", codes.STEPS)
    reason = form.text("reason", max_length=2000)
    waiver = form.text("evidence_waiver", required=False, max_length=2000)
    minutes = letter = to = to_name = note = None
    corrected: bool | None = None
    sent: list[str] = []
    if step == "consultation":
        minutes = form.text("minutes", max_length=4000)
    elif step == "letter":
        letter = form.text("letter", max_length=4000)
    elif step == "review":
        answer = form.choice("corrected", ("yes", "no"))
        corrected = None if answer is None else answer == "yes"
    elif step == "handover":
        to = form.choice("to", codes.REFERRALS)
        to_name = form.text("to_name", max_length=200)
        note = form.text("note", required=False, max_length=2000)
        sent = _sent(form.values.get("sent"))
        if any(len(s) > 200 for s in sent):
            form.errors["sent"] = form.t("每项最多 200 个字符。", "At most 200 characters each.")
    if not form.ok or step is None or reason is None:
        return await dispute_page(request, session, case_id, forms={"step": form},
                                  status=422)
    referral = (ReferralCreate(to=to, to_name=to_name, sent=sent, note=note)  # type: ignore[arg-type]
                if step == "handover" and to is not None and to_name is not None else None)
    data = StepCreate(step=step, reason=reason, minutes=minutes,  # type: ignore[arg-type]
                      letter=letter, corrected=corrected, referral=referral,
                      evidence_waiver=waiver)
    await attempt(form, service.take_step(session, attachments, case_id, data, now=clock.now()),
                  STEP_FIELDS)
    if not form.ok:
        return await dispute_page(request, session, case_id, forms={"step": form},
                                  status=form.status)
    return _back(request, case_id, "step")


# ---- the 争议 list, the letter, the review, the resolution ------------------------------------


PAGE = 50
STEP_FILTER = ("none", *codes.LADDER)
RESOLVE_FIELDS = {"settlement_terms_required": "terms", "transfer_target_required":
                  "transfer_to", "next_due_invalid": "next_due_on",
                  "unknown_unit": "responsible_unit"}
CHECK_FIELDS: dict[str, str] = {}
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _staff_only(caller: Caller) -> None:
    """The 12351 operator reaches the ledger, not its disputes: the 404 page."""
    if caller.role not in ADMIN_ROLES:
        raise NotFound("没有这个页面。", "No such page.")


@get("/disputes", include_in_schema=False)
async def dispute_list(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                       caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                       kind: Annotated[str | None, QueryParameter(max_length=40)] = None,
                       step: Annotated[str | None, QueryParameter(max_length=40)] = None,
                       overdue: Annotated[str | None, QueryParameter(max_length=5)] = None,
                       after: Annotated[str | None, QueryParameter(max_length=200)] = None,
                       ) -> Response[str]:
    """争议: the disputes in my sight, newest opened first (an unknown filter value is
    ignored, as the ledger's filters are)."""
    _staff_only(caller)
    now = clock.now()
    kind = kind if kind in codes.KINDS else None
    step = step if step in STEP_FILTER else None
    late = overdue == "1"
    rows = list(await listing.listed(session, kind=kind, step=step, overdue=late,
                                     after=decode_time_cursor(after), limit=PAGE + 1, now=now))
    next_cursor = encode_cursor(*listing.list_key(rows[PAGE - 1])) if len(rows) > PAGE else None
    filters = {k: v for k, v in (("kind", kind), ("step", step),
                                 ("overdue", "1" if late else None)) if v}
    return html(request, "disputes/list.html", menu="cases", tab="disputes", codes=codes,
                rows=await listing.reads(session, rows[:PAGE], now=now), filters=filters,
                next_query=urlencode(filters | {"after": next_cursor}) if next_cursor else "",
                next_cursor=next_cursor, now=now)


@get("/{case_id:uuid}/dispute/letter", include_in_schema=False)
async def letter(session: NamedDependency[AsyncSession],
                 attachments: NamedDependency[EvidenceStore], case_id: CaseId) -> Stream:
    """The 发函 letter as sent: the stored bytes (before 发函, the 404 page)."""
    row = await service.staff_dispute(session, case_id)
    return await letter_download(attachments, await service.letter_pdf(session, row))


@post("/{case_id:uuid}/dispute/decision", include_in_schema=False)
async def review(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                 clock: NamedDependency[Clock], case_id: CaseId) -> Response[str]:
    """人工复核 of the platform's decision (after its written reasons; not by the opener)."""
    form = await read_form(request, speaker(request))
    outcome = form.choice("outcome", codes.OUTCOMES)
    text = form.text("text", max_length=4000)
    if not form.ok or outcome is None or text is None:
        return await dispute_page(request, session, case_id, forms={"decision": form},
                                  status=422)
    data = DecisionCreate(outcome=outcome, text=text)  # type: ignore[arg-type]
    await attempt(form, decisions.review(session, case_id, data, now=clock.now()))
    if not form.ok:
        return await dispute_page(request, session, case_id, forms={"decision": form},
                                  status=form.status)
    return _back(request, case_id, "reviewed")


@post("/{case_id:uuid}/dispute/resolution", include_in_schema=False)
async def resolve(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                  clock: NamedDependency[Clock], case_id: CaseId) -> Response[str]:
    """分类处置: the cause, the path (terms / transfer_to), what was done, and the 回访."""
    form = await read_form(request, speaker(request))
    cause = form.choice("cause", codes.CAUSES)
    path = form.choice("path", codes.PATHS)
    text = form.text("text", max_length=4000)
    terms = form.text("terms", required=False, max_length=4000)
    transfer_to = form.text("transfer_to", required=False, max_length=200)
    node = form.text("next_node", max_length=200)
    due = form.text("next_due_on", max_length=10)
    unit = form.text("responsible_unit", max_length=64)
    informed = form.choice("worker_informed", ("yes", "no"), required=False)
    accepts = form.choice("worker_accepts", ("yes", "no"), required=False)
    if due and not DAY.match(due):
        form.errors["next_due_on"] = form.t("请填写日期（年-月-日）。",
                                            "Enter a date (YYYY-MM-DD).")
    if (not form.ok or cause is None or path is None or text is None or node is None
            or due is None or unit is None):
        return await dispute_page(request, session, case_id, forms={"resolution": form},
                                  status=422)
    data = ResolutionCreate(cause=cause, path=path, text=text,  # type: ignore[arg-type]
                            terms=terms, transfer_to=transfer_to, next_node=node,
                            next_due_on=due, responsible_unit=unit,
                            worker_informed=informed == "yes", worker_accepts=accepts == "yes")
    await attempt(form, resolutions.resolve(session, case_id, data, now=clock.now()),
                  RESOLVE_FIELDS)
    if not form.ok:
        return await dispute_page(request, session, case_id, forms={"resolution": form},
                                  status=form.status)
    return _back(request, case_id, "resolved")


@post("/{case_id:uuid}/dispute/resolution/check", include_in_schema=False)
async def check(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                clock: NamedDependency[Clock], case_id: CaseId) -> Response[str]:
    """履约核查: were the settlement's terms kept."""
    form = await read_form(request, speaker(request))
    kept = form.choice("kept", codes.KEPT)
    note = form.text("note", max_length=2000)
    if not form.ok or kept is None or note is None:
        return await dispute_page(request, session, case_id, forms={"check": form},
                                  status=422)
    data = SettlementCheck(kept=kept, note=note)  # type: ignore[arg-type]
    await attempt(form, resolutions.check_settlement(session, case_id, data, now=clock.now()),
                  CHECK_FIELDS)
    if not form.ok:
        return await dispute_page(request, session, case_id, forms={"check": form},
                                  status=form.status)
    return _back(request, case_id, "checked")



router = Router("/cases", route_handlers=[dispute_list, dispute_detail, open_dispute,
                                          link_evidence, request_evidence, take_step, letter,
                                          review, resolve, check])
