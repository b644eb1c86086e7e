"""办理环节: route, assign, accept, return, reassign, answer, merge and a unit's feedback,
each checked against the table in cases/ledger/lifecycle.py on the locked, re-read case row, written
as one `case_events` row (kind, at, actor principal, reason, details) and audited.

Who takes which step:
- the dispatching union — staff whose subtree holds the case's tenant — assigns, reassigns
  (改派), merges (并单) and routes;
- the lead unit (牵头单位) — staff whose subtree holds the open lead assignment's tenant —
  accepts (接单), returns (退单, with a reason), routes and answers;
- an assisting unit (a tenant's staff, or a platform through its machine API) gives feedback
  on its own open assignment, by its `feedback_due_at`.

SLA clocks (derived from the events by cases/clocks/ after each one; no metric's deadline is
derived from another's):
- first response (首次响应): starts at `intake`; met by the first `accept` or `answer`.
- resolution (办结): starts at the first `accept` by a lead unit (or at `answer` for a case
  answered straight from intake, which then starts and meets it at once); its length comes
  from the route in force (即时答复: the same working day; 限期协调: 3/4/5 working days by
  tier; 集体协商 and 政策释明: their own policy); met by `answer`.
- follow-up (回访): starts at `answer`.
- `return` stops no clock (the case is back with the dispatcher, still running);
  `reassign` keeps the elapsed time (the clock keeps running from where it was; it is never
  restarted); `route` again re-derives the resolution deadline from the new route but not
  its start; `merge` cancels the merged case's clocks (the target's keep running)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining.board import service as board
from flexunion.bargaining.reports import service as reports
from flexunion.calendars import service as calendars
from flexunion.cases.handling.schemas import AssignCreate, RouteCreate, UnitAssign
from flexunion.cases.ledger import lifecycle, repository
from flexunion.cases.ledger.codes import CATEGORIES, COORDINATION_DAYS, STATUSES
from flexunion.cases.ledger.models import Case, CaseAssignment
from flexunion.cases.ledger.service import access_case, no_such_case, record, tell_worker
from flexunion.cases.policies import repository as policies_repository
from flexunion.core.errors import Conflict, Forbidden, InvalidInput
from flexunion.db import rls
from flexunion.federation import directory


class InvalidCaseStep(Conflict):
    code, title, title_en = "invalid_case_step", "诉求状态不允许此操作", "Step not allowed"


class CaseNotReportable(Conflict):
    code, title, title_en = ("case_worker_not_member", "该诉求不能提报为协商问题",
                             "The case cannot be filed as a report")


def _check(case: Case, step: str) -> str:
    target = lifecycle.after(case.status, step)
    if target is None:
        zh, en = lifecycle.STEPS[step]
        raise InvalidCaseStep(
            f"状态为「{STATUSES[case.status][0]}」的诉求不能{zh}。",
            f"A case that is '{case.status}' cannot be {en}.",
            extra={"case_status": case.status, "step": step,
                   "allowed": lifecycle.allowed_steps(case.status)})
    return target


def _not_yours(zh: str, en: str) -> Forbidden:
    return Forbidden(zh, en, code="case_step_not_yours")


async def _lead(session: AsyncSession, case: Case, *,
                lock: bool = False) -> CaseAssignment | None:
    rows = await repository.assignments(session, case.id, lock=lock)
    return next((a for a in rows if a.role == "lead" and a.ended_at is None), None)


async def _dispatcher(session: AsyncSession, case: Case) -> None:
    if not await rls.in_scope(session, case.tenant_id):
        raise _not_yours("只有诉求所在地工会（或其上级）可以派单、改派、并单。",
                         "Only the case's own union (or one above it) dispatches it.")


async def _is_lead(session: AsyncSession, case: Case) -> bool:
    lead = await _lead(session, case)
    return bool(lead and lead.unit_tenant_id and lead.status == "accepted"
                and await rls.in_scope(session, lead.unit_tenant_id))


async def _dispatcher_or_lead(session: AsyncSession, case: Case) -> None:
    if not (await rls.in_scope(session, case.tenant_id) or await _is_lead(session, case)):
        raise _not_yours("只有诉求所在地工会或已接单的牵头单位可以办理此步。",
                         "Only the case's own union or its accepted lead unit takes this step.")


async def _step(session: AsyncSession, case: Case, step: str, target: str, *, now: datetime,
                reason: str | None = None, details: dict[str, Any] | None = None) -> None:
    before = case.status
    case.status = target
    case.updated_at = now
    await repository.flush(session)
    payload = {"from": before, "to": target, **(details or {})}
    await record(session, case, step, now=now, reason=reason, details=payload)
    await audit.record(session, f"case.{lifecycle.STEPS[step][1]}", tenant_id=case.tenant_id,
                       object_type="case", object_id=case.id,
                       payload={"case_no": case.case_no, "reason": reason, **payload})
    if target != before:
        await tell_worker(session, case, now)


# ---- 分流 and 答复 --------------------------------------------------------------------------


async def route(session: AsyncSession, case_id: uuid.UUID, data: RouteCreate, *,
                now: datetime) -> Case:
    """四类路径: the route with who chose it and why. 集体协商 either makes the case a source
    of an agenda item (shown on the item's timeline) or files it as a problem report for the
    worker (`_bargaining`); 政策释明 cites an active policy of the HQ's library, pinned as it
    reads now."""
    case = await access_case(session, case_id, lock=True)
    target = _check(case, "route")
    await _dispatcher_or_lead(session, case)
    details: dict[str, Any] = {}
    if data.route in ("coordinate", "instant"):
        # On the case's own calendar (calendars.deadline_after); the resolution clock keeps
        # the binding deadline, this is the route's stated time limit as recorded.
        days = COORDINATION_DAYS[case.tier] if data.route == "coordinate" else 0
        due = await calendars.deadline_after(session, case.tenant_id, now, days,
                                             federation_id=case.federation_id)
        details = {"working_days": days, "due_at": due.at.isoformat()}
        if due.uncovered_years:
            details["uncovered_years"] = sorted(due.uncovered_years)
    elif data.route == "bargaining":
        details = await _bargaining(session, case, data, now)
    elif data.route == "policy":
        if data.policy is None:
            raise InvalidInput("政策释明须引用政策库中的一项政策。",
                               "A policy explanation cites a policy of the library.",
                               code="policy_required")
        cited = await policies_repository.policy(session, case.federation_id, data.policy)
        if cited is None or not cited.active:
            raise InvalidInput(f"政策库中没有有效的政策 {data.policy}。",
                               f"No active policy '{data.policy}' in the library.",
                               code="unknown_policy", extra={"policy": data.policy})
        details = {"policy": {"code": cited.code, "title_zh": cited.title_zh,
                              "title_en": cited.title_en, "source": cited.source,
                              "body": cited.body, "url": cited.url,
                              "version_at": cited.updated_at.isoformat()}}
    previous = case.route
    case.route = data.route
    case.route_details = details
    await _step(session, case, "route", target, now=now, reason=data.reason,
                details={"route": data.route, "previous_route": previous, **details})
    return case


async def _bargaining(session: AsyncSession, case: Case, data: RouteCreate,
                      now: datetime) -> dict[str, Any]:
    """集体协商: exactly one of `agenda_item_id` (the case becomes a source of that item) or
    `report` (the case is filed as a problem report, 问题提报, on the worker's behalf).

    A report needs a worker who is a member: the case's member (linked at intake when the
    worker was an active member; 409 `case_worker_not_member` for a non-member, an anonymous
    suggestion or a hotline caller without a 会员号), and the case's platform partner (422
    `case_partner_required`). It is filed where the case is handled — the case's tenant
    (where the worker works) and that tenant's region, not the member's home (issue 15: a
    worker takes part where they work; bargaining/reports/service.py `file_for_case`) — at
    the case's station (the place's station, or the case's tenant when that is a station)
    and delivery zone. One report per case (409 `case_already_reported`). The report records
    the case (`source_case_id`) and who filed it; the case records the report
    (`route_details.report_id`) and shows it with the board items it feeds."""
    if (data.agenda_item_id is None) == (data.report is None):
        if data.agenda_item_id is None:
            raise InvalidInput("集体协商须指明协商清单上的事项，或提报为问题。",
                               "Collective bargaining names the agenda item, or a report.",
                               code="agenda_item_required")
        raise InvalidInput("集体协商只能二选一：关联已有事项，或提报为问题。",
                           "Collective bargaining takes either an agenda item or a report,"
                           " not both.", code="bargaining_target_ambiguous")
    if data.agenda_item_id is not None:
        item = await board.access_item(session, data.agenda_item_id)
        await board.record_event(session, item, "case_linked", actor=await rls.principal(session),
                                 now=now, payload={"case_id": str(case.id),
                                                   "case_no": case.case_no}, audience="union")
        case.agenda_item_id = item.id
        return {"agenda_item_id": str(item.id)}
    assert data.report is not None
    if case.worker_id is None or case.member_id is None:
        raise CaseNotReportable(
            "只有会员的诉求可以提报为协商问题（匿名建议、非会员或未提供会员号的来电不能）。",
            "Only a member's case can be filed as a problem report (not an anonymous"
            " suggestion, a non-member or a caller without a member number).",
            code="case_worker_not_member",
            extra={"anonymous": case.worker_id is None})
    if case.partner_id is None:
        raise InvalidInput("诉求未指明平台，不能提报为协商问题。",
                           "The case names no platform: it cannot be filed as a report.",
                           code="case_partner_required")
    earlier = await reports.report_of_case(session, case.id)
    if earlier is not None:
        raise CaseNotReportable("这条诉求已经提报为协商问题。",
                                "This case has already been filed as a report.",
                                code="case_already_reported",
                                extra={"report_id": str(earlier)})
    tenants = await directory.directory(session, case.federation_id)
    work = tenants.by_id[case.tenant_id]
    station = case.place.get("station") or (work.code if work.kind == "station" else None)
    category = CATEGORIES[case.category][0]
    report = await reports.file_for_case(
        session, federation_id=case.federation_id, tenant_id=case.tenant_id,
        member_id=case.member_id, worker_id=case.worker_id, partner_id=case.partner_id,
        station_code=station, zone_code=case.place.get("zone"), topic=data.report.topic,
        title=data.report.title or f"{category}（诉求 {case.case_no}）",
        body=case.description, details=data.report.details, source_case_id=case.id, now=now)
    return {"report_id": str(report.id), "topic": report.topic}


async def answer(session: AsyncSession, case_id: uuid.UUID, text: str, *,
                 now: datetime) -> Case:
    """答复: the handling unit's answer to the worker (needs a route)."""
    case = await access_case(session, case_id, lock=True)
    target = _check(case, "answer")
    await _dispatcher_or_lead(session, case)
    if case.route is None:
        raise InvalidCaseStep("答复前须先选定办理路径。", "Choose a route before answering.",
                              code="route_required", extra={"case_status": case.status})
    case.answer = text.strip()
    case.answered_at = now
    open_rows = [a for a in await repository.assignments(session, case.id, lock=True)
                 if a.ended_at is None]
    await _step(session, case, "answer", target, now=now, details={"route": case.route})
    # The lead's assignment ends as answered; an assisting unit's (a tenant, or a platform
    # through its API) ends with it, so nobody keeps an answered case as open work. The
    # assisting rows go first: a lead unit sees the case through its open assignment, and
    # PostgreSQL checks that sight on every row it updates.
    for a in sorted(open_rows, key=lambda a: a.role == "lead"):
        a.ended_at = now
        if a.role == "lead":
            a.status = "answered"
        else:
            a.status, a.end_reason = "closed", "诉求已答复 The case was answered"
        await repository.flush(session)
    return case


# ---- 派单, 接单, 退单, 改派 ------------------------------------------------------------------


async def _units(session: AsyncSession, case: Case, data: AssignCreate, actor: str,
                 now: datetime, seq0: int
                 ) -> tuple[list[CaseAssignment], dict[int, list[int]]]:
    """The new assignments, and the years each feedback deadline (by seq) reached that the
    calendar does not cover (counted on weekly hours only: provisional)."""
    tenants = await directory.directory(session, case.federation_id)
    lead = tenants.get(data.lead)
    if lead is None:
        raise InvalidInput(f"{data.lead} 不是本联合会的组织。",
                           f"'{data.lead}' is not a tenant of this federation.",
                           code="unknown_unit", extra={"unit": data.lead})

    async def row(role: str, seq: int, unit: UnitAssign | AssignCreate,
                  tenant_id: uuid.UUID | None, partner_id: uuid.UUID | None) -> CaseAssignment:
        # The unit's own calendar (a platform answers on the case's tenant's calendar).
        due = await calendars.deadline_after(session, tenant_id or case.tenant_id, now,
                                             unit.feedback_days,
                                             federation_id=case.federation_id)
        if due.uncovered_years:
            uncovered[seq] = sorted(due.uncovered_years)
        return CaseAssignment(
            id=uuid.uuid4(), federation_id=case.federation_id,
            tenant_id=tenant_id or case.tenant_id, case_id=case.id,
            case_tenant_id=case.tenant_id, role=role, seq=seq,
            unit_tenant_id=tenant_id, unit_partner_id=partner_id,
            evidence_required=list(unit.evidence_required),
            feedback_due_at=due.at, status="assigned",
            assigned_by=actor, assigned_at=now)

    uncovered: dict[int, list[int]] = {}
    rows = [await row("lead", seq0, data, lead.id, None)]
    for i, unit in enumerate(data.assisting, start=1):
        if (unit.tenant is None) == (unit.partner is None):
            raise InvalidInput("协办单位须是一个组织或一个平台（二选一）。",
                               "An assisting unit is either a tenant or a platform.",
                               code="unit_ambiguous")
        if unit.tenant is not None:
            entry = tenants.get(unit.tenant)
            if entry is None:
                raise InvalidInput(f"{unit.tenant} 不是本联合会的组织。",
                                   f"'{unit.tenant}' is not a tenant of this federation.",
                                   code="unknown_unit", extra={"unit": unit.tenant})
            rows.append(await row("assist", seq0 + i, unit, entry.id, None))
        else:
            assert unit.partner is not None
            partner = await directory.partner_by_code(session, case.federation_id, unit.partner)
            rows.append(await row("assist", seq0 + i, unit, None, partner.id))
    return rows, uncovered


def _unit_details(rows: Sequence[CaseAssignment],
                  uncovered: dict[int, list[int]]) -> list[dict[str, Any]]:
    return [{"role": a.role, "seq": a.seq,
             "feedback_due_uncovered_years": uncovered.get(a.seq, []),
             "tenant_id": str(a.unit_tenant_id) if a.unit_tenant_id else None,
             "partner_id": str(a.unit_partner_id) if a.unit_partner_id else None,
             "feedback_due_at": a.feedback_due_at.isoformat() if a.feedback_due_at else None,
             "evidence_required": a.evidence_required} for a in rows]


async def _end_open(session: AsyncSession, case: Case, status: str, reason: str | None,
                    now: datetime) -> int:
    rows = [a for a in await repository.assignments(session, case.id, lock=True)
            if a.ended_at is None]
    for a in rows:
        a.status, a.ended_at, a.end_reason = status, now, reason
    await repository.flush(session)
    return max((a.seq for a in await repository.assignments(session, case.id)), default=0)


async def assign(session: AsyncSession, case_id: uuid.UUID, data: AssignCreate, *,
                 now: datetime, reassign: bool = False) -> Case:
    """派单 (from received or returned) or 改派 (from assigned or accepted, reason required):
    the open assignments end, the new lead and assisting units get theirs. A reassignment
    keeps the case's elapsed time: it writes no clock restart, only the step."""
    case = await access_case(session, case_id, lock=True)
    step = "reassign" if reassign else "assign"
    target = _check(case, step)
    await _dispatcher(session, case)
    if reassign and not data.reason:
        raise InvalidInput("改派须说明原因。", "A reassignment needs a reason.",
                           code="reason_required")
    actor = await rls.principal(session)
    last = await _end_open(session, case, "reassigned", data.reason, now) if reassign else max(
        (a.seq for a in await repository.assignments(session, case.id)), default=0)
    rows, uncovered = await _units(session, case, data, actor, now, last + 1)
    for r in rows:
        repository.add(session, r)
    await repository.flush(session)
    await _step(session, case, step, target, now=now, reason=data.reason,
                details={"units": _unit_details(rows, uncovered)})
    return case


async def _own_lead(session: AsyncSession, case: Case) -> CaseAssignment:
    lead = await _lead(session, case, lock=True)
    if lead is None or lead.unit_tenant_id is None or not await rls.in_scope(
            session, lead.unit_tenant_id):
        raise _not_yours("只有牵头单位可以接单或退单。",
                         "Only the lead unit accepts or returns a case.")
    return lead


async def accept(session: AsyncSession, case_id: uuid.UUID, *, now: datetime) -> Case:
    """接单 by the lead unit: the resolution clock starts at the first acceptance."""
    case = await access_case(session, case_id, lock=True)
    target = _check(case, "accept")
    lead = await _own_lead(session, case)
    await _step(session, case, "accept", target, now=now,
                details={"assignment_id": str(lead.id)})
    lead.status, lead.accepted_at = "accepted", now
    await repository.flush(session)
    return case


async def return_case(session: AsyncSession, case_id: uuid.UUID, reason: str, *,
                      now: datetime) -> Case:
    """退单 by the lead unit, with a reason: back to the dispatcher (退回件). No clock stops."""
    case = await access_case(session, case_id, lock=True)
    target = _check(case, "return")
    lead = await _own_lead(session, case)
    # The case first, while the lead's open assignment still shows it to the unit.
    await _step(session, case, "return", target, now=now, reason=reason,
                details={"assignment_id": str(lead.id)})
    for a in await repository.assignments(session, case.id, lock=True):
        if a.ended_at is None:
            a.status, a.ended_at, a.end_reason = "returned", now, reason
    await repository.flush(session)
    return case


async def merge(session: AsyncSession, case_id: uuid.UUID, into: uuid.UUID,
                reason: str | None, *, now: datetime) -> Case:
    """并单: this case joins `into`, an open case of the same worker; both logs say so."""
    case = await access_case(session, case_id, lock=True)
    target = _check(case, "merge")
    await _dispatcher(session, case)
    other = await access_case(session, into, lock=True)
    if other.id == case.id or other.status not in ("received", "assigned", "accepted",
                                                   "returned"):
        raise InvalidCaseStep("只能并入另一条办理中的诉求。",
                              "A case merges only into another open case.",
                              code="merge_target_invalid", extra={"into": str(into)})
    if case.worker_id is None or other.worker_id != case.worker_id:
        raise InvalidCaseStep("只能合并同一职工的诉求。",
                              "Only cases of the same worker are merged.",
                              code="merge_target_invalid", extra={"into": str(into)})
    case.merged_into_id = other.id
    await _end_open(session, case, "closed", "merged", now)
    await _step(session, case, "merge", target, now=now, reason=reason,
                details={"into": str(other.id), "into_case_no": other.case_no})
    await record(session, other, "merged_from", now=now, reason=reason,
                 details={"case_id": str(case.id), "case_no": case.case_no,
                          "description": case.description})
    return case


async def feedback(session: AsyncSession, case_id: uuid.UUID, text: str, *,
                   now: datetime, partner: bool) -> CaseAssignment:
    """An assisting unit's feedback (a tenant's staff, or the platform by API) on its open
    assignment; 404 when none is open for the caller. Only the assignment row is locked (a
    unit may not update the case itself)."""
    case = await access_case(session, case_id)
    me = await rls.current_partner(session) if partner else None
    mine = None
    for a in await repository.assignments(session, case.id, lock=True):
        if a.ended_at is not None or a.role != "assist":
            continue
        if (partner and a.unit_partner_id == me) or (
                not partner and a.unit_tenant_id and await rls.in_scope(session,
                                                                       a.unit_tenant_id)):
            mine = a
            break
    if mine is None:
        raise no_such_case()
    mine.feedback, mine.status = text.strip(), "answered"
    await repository.flush(session)
    await record(session, case, "feedback", now=now,
                 details={"assignment_id": str(mine.id), "late": bool(
                     mine.feedback_due_at and now > mine.feedback_due_at)})
    await audit.record(session, "case.feedback", tenant_id=case.tenant_id, object_type="case",
                       object_id=case.id, payload={"assignment_id": str(mine.id)})
    return mine


# The pieces the 回访 steps (cases/followup/service.py) share.
check = _check
dispatcher = _dispatcher
take_step = _step
