"""The clock steps of a case: pause (暂停计时), resume, extension request (延期申请) and its
decision (延期审批). Each is checked against cases/ledger/lifecycle.py's table on the locked,
re-read case row, written as one `case_events` row (which re-derives the clocks) and
audited (`case.paused|resumed|extension_requested|extension_decided`). The case's status
does not change.

Who takes which step:
- pause, resume, extension request: the handling side — staff whose subtree holds the
  case's tenant or its open lead unit (as for routing and answering);
- extension decision: **a superior of the handling unit** — an HQ or regional admin whose
  subtree holds the handling unit (the open lead assignment's unit, or the case's tenant
  when none is open) while its own tenant is not that unit (a strict ancestor), and who is
  not the one who asked.

Rules: one pause at a time (a pause needs none in force, a resume needs one); the reason
is `waiting_worker` (等待职工补充) or `waiting_partner_data` (等待平台提供数据). An extension
moves the resolution clock (办结) by N working days from the deadline in force at the
decision; it needs that clock running or paused and not past its deadline (an approval
after the deadline passed is refused; a refusal is always possible), and one request
pending at a time."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.cases.clocks import rules
from flexunion.cases.clocks import service as clocks
from flexunion.cases.clocks.schemas import (
    ExtensionDecisionCreate,
    ExtensionRequestCreate,
    PauseCreate,
    ResumeCreate,
)
from flexunion.cases.clocks.service import ClockStepRefused
from flexunion.cases.handling.service import InvalidCaseStep
from flexunion.cases.ledger import lifecycle
from flexunion.cases.ledger import repository as cases_repository
from flexunion.cases.ledger.codes import STATUSES
from flexunion.cases.ledger.models import Case
from flexunion.cases.ledger.service import access_case, record
from flexunion.core.context import Caller, Role
from flexunion.core.errors import Forbidden
from flexunion.db import rls


def _check(case: Case, step: str) -> None:
    if lifecycle.after(case.status, step) is None:
        zh, en = lifecycle.STEPS[step]
        raise InvalidCaseStep(
            f"状态为「{STATUSES[case.status][0]}」的诉求不能{zh}。",
            f"A case that is '{case.status}' cannot be {en}.",
            extra={"case_status": case.status, "step": step,
                   "allowed": lifecycle.allowed_steps(case.status)})


async def _lead_unit(session: AsyncSession, case: Case) -> uuid.UUID | None:
    for a in await cases_repository.assignments(session, case.id):
        if a.role == "lead" and a.ended_at is None:
            return a.unit_tenant_id
    return None


async def _handler(session: AsyncSession, case: Case) -> None:
    lead = await _lead_unit(session, case)
    if not (await rls.in_scope(session, case.tenant_id)
            or (lead is not None and await rls.in_scope(session, lead))):
        raise Forbidden("只有诉求所在地工会或牵头单位可以暂停计时或申请延期。",
                        "Only the case's own union or its lead unit pauses or asks for more "
                        "time.", code="case_step_not_yours")


async def _step(session: AsyncSession, case: Case, step: str, *, now: datetime,
                reason: str | None, details: dict[str, Any]) -> None:
    case.updated_at = now
    await cases_repository.flush(session)
    await record(session, case, step, now=now, reason=reason, details=details)
    await audit.record(session, f"case.{lifecycle.STEPS[step][1]}", tenant_id=case.tenant_id,
                       object_type="case", object_id=case.id,
                       payload={"case_no": case.case_no, "reason": reason, **details})


async def _steps(session: AsyncSession, case: Case) -> list[rules.Step]:
    return clocks.steps_of(await cases_repository.events(session, case.id))


async def pause(session: AsyncSession, case_id: uuid.UUID, data: PauseCreate, *,
                now: datetime) -> Case:
    case = await access_case(session, case_id, lock=True)
    _check(case, "pause")
    await _handler(session, case)
    if rules.paused_by(await _steps(session, case)) is not None:
        raise ClockStepRefused("计时已暂停，须先恢复。", "The clocks are already paused.",
                               code="clock_already_paused")
    await _step(session, case, "pause", now=now, reason=data.note,
                details={"reason": data.reason})
    return case


async def resume(session: AsyncSession, case_id: uuid.UUID, data: ResumeCreate, *,
                 now: datetime) -> Case:
    case = await access_case(session, case_id, lock=True)
    _check(case, "resume")
    await _handler(session, case)
    paused = rules.paused_by(await _steps(session, case))
    if paused is None:
        raise ClockStepRefused("计时没有暂停。", "The clocks are not paused.",
                               code="clock_not_paused")
    await _step(session, case, "resume", now=now, reason=data.note,
                details={"paused_at": paused.at.isoformat()})
    return case


def _too_late(now: datetime) -> ClockStepRefused:
    return ClockStepRefused("办结期限已过，不能再延期。",
                            "The resolution deadline has passed: it can no longer be extended.",
                            code="extension_too_late", extra={"at": now.isoformat()})


async def request_extension(session: AsyncSession, case_id: uuid.UUID,
                            data: ExtensionRequestCreate, *, now: datetime) -> Case:
    case = await access_case(session, case_id, lock=True)
    _check(case, "extension_request")
    await _handler(session, case)
    resolution = (await clocks.of_case(session, case.id)).get("resolution")
    if resolution is None or resolution.ended_at is not None:
        raise ClockStepRefused("办结计时尚未开始（接单后开始），不能申请延期。",
                               "The resolution clock has not started (it starts at acceptance).",
                               code="extension_not_applicable")
    if resolution.deadline is not None and resolution.deadline < now:
        raise _too_late(now)
    if rules.pending_extension(await _steps(session, case)) is not None:
        raise ClockStepRefused("已有一项延期申请待审批。", "An extension request is pending.",
                               code="extension_pending")
    await _step(session, case, "extension_request", now=now, reason=data.reason,
                details={"days": data.days})
    return case


async def _superior(session: AsyncSession, caller: Caller, case: Case) -> None:
    unit = await _lead_unit(session, case) or case.tenant_id
    if (caller.role not in (Role.HQ_ADMIN, Role.REGIONAL_ADMIN) or caller.tenant_id == unit
            or not await rls.in_scope(session, unit)):
        raise Forbidden("延期须由承办单位的上级工会审批。",
                        "An extension is decided by a union above the handling unit.",
                        code="extension_not_superior")


async def decide_extension(session: AsyncSession, caller: Caller, case_id: uuid.UUID,
                           data: ExtensionDecisionCreate, *, now: datetime) -> Case:
    case = await access_case(session, case_id, lock=True)
    _check(case, "extension_decision")
    asked = rules.pending_extension(await _steps(session, case))
    if asked is None:
        raise ClockStepRefused("没有待审批的延期申请。", "No extension request is pending.",
                               code="no_extension_pending")
    await _superior(session, caller, case)
    events = await cases_repository.events(session, case.id)
    asker = next(e.actor for e in reversed(events) if e.kind == "extension_request")
    if asker == caller.principal:
        raise Forbidden("申请人不能审批自己的延期申请。",
                        "Whoever asked for an extension does not decide it.",
                        code="extension_not_superior")
    approved = data.decision == "approve"
    resolution = (await clocks.of_case(session, case.id)).get("resolution")
    if approved and resolution is not None and resolution.deadline is not None and (
            resolution.deadline < now):
        raise _too_late(now)
    days = int((asked.details or {}).get("days", 0))
    await _step(session, case, "extension_decision", now=now, reason=data.reason,
                details={"approved": approved, "days": days,
                         "requested_at": asked.at.isoformat()})
    return case
