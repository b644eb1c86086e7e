"""算法决定申诉: a 封号/限单 or 罚款/扣分 dispute appeals a platform's decision about a worker.
The platform owes its written reasons by `reply_due_at` (counted when the dispute opens:
settings.cases.platform_reply_days working days on the case's calendar) and posts them
through its machine API, once; then a union reviewer who did not open the dispute records
the outcome — upheld (维持), reversed (撤销) or compensated (补偿) — with text (docs/disputes.md).
Each write audited."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.cases.disputes import codes, repository, service
from flexunion.cases.disputes.models import CaseDispute, DisputeDecision
from flexunion.cases.disputes.schemas import DecisionCreate
from flexunion.cases.ledger import service as ledger
from flexunion.core.errors import Conflict
from flexunion.db import rls


def _not_algorithmic(row: CaseDispute) -> Conflict:
    zh, en = codes.KINDS[row.kind]
    return Conflict(f"“{zh}”争议不涉及算法决定，无需平台书面理由和人工复核。",
                    f"A '{en}' dispute is not about an algorithmic decision; it takes no "
                    "written reasons nor review.", code="dispute_not_algorithmic",
                    extra={"kind": row.kind, "kinds": sorted(codes.ALGORITHMIC)})


async def _decision(session: AsyncSession, row: CaseDispute) -> DisputeDecision:
    """The open decision, locked through staff's UPDATE arm (no outcome yet: a decided one
    is no longer there to lock)."""
    found = await repository.decision(session, row.id)
    if found is None:
        raise _not_algorithmic(row)
    if found.outcome is None:
        found = await repository.decision(session, row.id, lock=True) or found
    if found.outcome is not None:
        raise Conflict("人工复核已有结论。", "The review has its outcome already.",
                       code="dispute_decided")
    return found


async def give_reasons(session: AsyncSession, case_id: uuid.UUID, text: str, *,
                       now: datetime) -> CaseDispute:
    """The platform's written reasons for its decision (once; late ones are taken, and the
    read shows them overdue)."""
    row = await service.partner_dispute(session, case_id)
    if row.kind not in codes.ALGORITHMIC:
        raise _not_algorithmic(row)
    given = Conflict("平台已提交过书面理由。", "The platform gave its written reasons already.",
                     code="dispute_reasons_given")
    # Locked through the partner's UPDATE arm (reasons not yet given): gone when given.
    d = await repository.decision(session, row.id, lock=True)
    if d is None or d.reasons is not None:
        raise given
    d.reasons, d.reasons_by, d.reasons_at = text, await rls.principal(session), now
    await repository.flush(session)
    await audit.record(session, "dispute.reasons_given", tenant_id=row.tenant_id,
                       object_type="dispute", object_id=row.id,
                       payload={"late": now > d.reply_due_at,
                                "reply_due_at": d.reply_due_at.isoformat()})
    return row


async def review(session: AsyncSession, case_id: uuid.UUID, data: DecisionCreate, *,
                 now: datetime) -> CaseDispute:
    """人工复核: after the platform's reasons, by a reviewer other than the dispute's opener
    (four eyes: the one who brought the appeal does not also judge it), once."""
    case, row = await service.locked(session, case_id)
    d = await _decision(session, row)
    if d.reasons is None:
        raise Conflict("平台尚未提交书面理由，复核须以理由为据。",
                       "The platform has not given its written reasons; the review needs "
                       "them.", code="dispute_reasons_missing",
                       extra={"reply_due_at": d.reply_due_at.isoformat(),
                              "overdue": now > d.reply_due_at})
    actor = await rls.principal(session)
    if actor == row.opened_by:
        raise Conflict("人工复核须由立案人以外的工会干部进行。",
                       "The review must be made by someone other than the one who opened "
                       "the dispute.", code="dispute_reviewer_is_opener")
    d.reviewer, d.outcome, d.outcome_text, d.decided_at = actor, data.outcome, data.text, now
    row.updated_at = now
    await repository.flush(session)
    await ledger.record(session, case, "dispute_step", now=now, reason=data.text,
                        details={"dispute_id": str(row.id), "decision": data.outcome})
    await audit.record(session, "dispute.reviewed", tenant_id=row.tenant_id,
                       object_type="dispute", object_id=row.id,
                       payload={"outcome": data.outcome, "reason": data.text})
    return row
