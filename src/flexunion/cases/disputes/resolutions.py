"""分类处置: after sorting a dispute's cause (制度瑕疵 / 执行偏差 / 个案争议) the union takes one
path — 释法答疑, 内部调解, 和解协议 (its terms, and later the check that they were kept) or
分流转办 (to whom) — and each path schedules a follow-up visit (回访): the next node, its
due date (end of that day, Beijing) and the responsible unit, the same three things a
回访复核 of the case's follow-up records. It is the case's own 回访, in the same
transaction: cases/followup/service.py `schedule` sets the case's next node and, on an
answered case, takes its 阶段推进 follow-up (跟进中), so the lists show it (docs/disputes.md).
Each write is a case event and an audit entry."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.cases.disputes import codes, repository, service
from flexunion.cases.disputes.models import CaseDispute, DisputeResolution
from flexunion.cases.disputes.schemas import ResolutionCreate, SettlementCheck
from flexunion.cases.followup import service as followup
from flexunion.cases.ledger import service as ledger
from flexunion.core.clock import BEIJING
from flexunion.core.errors import Conflict, InvalidInput
from flexunion.db import rls
from flexunion.federation import directory


def _due(day: str, now: datetime) -> datetime:
    try:
        on = datetime.strptime(day, "%Y-%m-%d").date()
    except ValueError as exc:
        raise InvalidInput("日期无效。", "Not a date.", code="next_due_invalid") from exc
    due = datetime.combine(on + timedelta(days=1), time(0), BEIJING)  # end of that day
    if due <= now:
        raise InvalidInput("回访节点的完成日期须在今天或以后。",
                           "The follow-up is due today or later.", code="next_due_invalid")
    return due


async def resolve(session: AsyncSession, case_id: uuid.UUID, data: ResolutionCreate, *,
                  now: datetime) -> CaseDispute:
    """One resolution per dispute (409 `dispute_resolved`); not after 衔接 (the dispute is
    handed over: 409 `dispute_ladder_ended`)."""
    case, row = await service.locked(session, case_id)
    if row.step == codes.LADDER[-1]:
        raise Conflict("争议已衔接移交，不再分类处置。", "The dispute was handed over; it takes "
                       "no resolution path here.", code="dispute_ladder_ended")
    if await repository.resolution(session, row.id) is not None:
        raise Conflict("这起争议已有处置路径。", "The dispute has its resolution path already.",
                       code="dispute_resolved")
    if data.path == "settlement" and data.terms is None:
        raise InvalidInput("和解协议须写明协议条款（terms）。",
                           "A settlement needs its terms.", code="settlement_terms_required",
                           extra={"field": "terms"})
    if data.path == "transfer" and data.transfer_to is None:
        raise InvalidInput("分流转办须写明转办单位（transfer_to）。",
                           "A transfer names the body it goes to.",
                           code="transfer_target_required", extra={"field": "transfer_to"})
    due = _due(data.next_due_on, now)
    unit = (await directory.directory(session, row.federation_id)).get(data.responsible_unit)
    if unit is None:
        raise InvalidInput(f"{data.responsible_unit} 不是本联合会的组织。",
                           f"'{data.responsible_unit}' is not a tenant of this federation.",
                           code="unknown_unit", extra={"unit": data.responsible_unit})
    res = DisputeResolution(
        id=uuid.uuid4(), federation_id=row.federation_id, tenant_id=row.tenant_id,
        dispute_id=row.id, cause=data.cause, path=data.path, text=data.text,
        terms=data.terms if data.path == "settlement" else None,
        transfer_to=data.transfer_to if data.path == "transfer" else None,
        followup_node=data.next_node, followup_due_at=due, followup_tenant_id=unit.id,
        by=await rls.principal(session), at=now)
    repository.add(session, res)
    row.updated_at = now
    await repository.flush(session)
    # The 回访 is the case's own: its next node, and 跟进中 once the case was answered.
    fed = await followup.schedule(
        session, case, next_node=data.next_node, due=due, unit_id=unit.id,
        unit_code=data.responsible_unit, note=data.text, worker_informed=data.worker_informed,
        worker_accepts=data.worker_accepts, now=now,
        source={"dispute_id": str(row.id), "resolution": data.path})
    await ledger.record(session, case, "dispute_step", now=now, reason=data.text, details={
        "dispute_id": str(row.id), "resolution": data.path, "cause": data.cause,
        "next_node": data.next_node, "next_due_at": due.isoformat(),
        "responsible_unit": data.responsible_unit, "case_followup": fed})
    await audit.record(session, "dispute.resolved", tenant_id=row.tenant_id,
                       object_type="dispute", object_id=row.id,
                       payload={"cause": data.cause, "path": data.path,
                                "next_due_at": due.isoformat(),
                                "responsible_unit": data.responsible_unit,
                                "case_followup": fed})
    return row


async def check_settlement(session: AsyncSession, case_id: uuid.UUID, data: SettlementCheck,
                           *, now: datetime) -> CaseDispute:
    """履约核查: a settlement's terms kept or broken — once (409 `settlement_checked`); only a
    settlement has terms to check (409 `not_a_settlement`)."""
    case, row = await service.locked(session, case_id)
    res = await repository.resolution(session, row.id)
    if res is None or res.path != "settlement":
        raise Conflict("这起争议没有和解协议，无可核查的履约。",
                       "The dispute has no settlement agreement to check.",
                       code="not_a_settlement")
    if res.kept is not None:
        raise Conflict("和解协议的履约已核查过。", "The settlement was checked already.",
                       code="settlement_checked")
    actor = await rls.principal(session)  # before the row changes (autoflush)
    res.kept, res.check_note, res.checked_by, res.checked_at = data.kept, data.note, actor, now
    row.updated_at = now
    await repository.flush(session)
    await ledger.record(session, case, "dispute_step", now=now, reason=data.note,
                        details={"dispute_id": str(row.id), "settlement": data.kept})
    await audit.record(session, "dispute.settlement_checked", tenant_id=row.tenant_id,
                       object_type="dispute", object_id=row.id,
                       payload={"kept": data.kept, "reason": data.note})
    return row
