"""超期升级 of what a platform owes in a dispute: the `sla-sweep` job (jobs/tasks.py) runs this
after the clocks' sweep (cases/clocks/sweep.py), as the app role with the principal
`system:jobs:sla-sweep` and the federation's scope.

Two deadlines are the platform's, not a union unit's, and so are no SLA clock: the written
reasons of an algorithmic decision (`dispute_decisions.reply_due_at`) and the evidence a
request asks for (`dispute_requests.due_at`). Each that passes unanswered — on a dispute not
handed over (衔接), a case not closed or merged — gets ONE case event `escalation` (details:
`metric` platform_reply | evidence_request with its labels, `deadline_id` the decision or
request, dispute_id, deadline, slot, the handling unit — the dispute's tenant, where the
dispute is handled — and `to`, its parent; HQ escalates to itself) and an audit row
`dispute.escalated`. The event puts it on the parent's 督办 list (`GET /v1/cases/escalated`)
like a breached clock, and on the case's timeline.

The sweep's principal reads no dispute table: the candidates come from the owner's
`flexunion_dispute_overdue(now)` (migration 0038), which leaves out those already marked.
Idempotent across runs and races: each case row is locked (as every case step does) and the
mark re-checked before writing, so two sweeps write one event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.cases.disputes import codes, repository
from flexunion.cases.ledger import service as ledger
from flexunion.federation import directory


async def escalate(session: AsyncSession, now: datetime) -> int:
    """One `escalation` per overdue platform answer; how many were written."""
    written = 0
    trees: dict[uuid.UUID, directory.Directory] = {}
    for due in await repository.overdue_answers(session, now):
        case = await ledger.access_case(session, due.case_id, lock=True)
        if not await repository.overdue_answers(session, now, deadline_id=due.deadline_id):
            continue  # answered, or marked by another sweep, while this one waited
        if case.federation_id not in trees:
            trees[case.federation_id] = await directory.directory(session, case.federation_id)
        tree = trees[case.federation_id]
        unit = tree.by_id[case.tenant_id]
        parent = tree.get(unit.parent_code or "") or unit  # HQ escalates to itself
        zh, en = codes.DEADLINES[due.kind]
        details: dict[str, Any] = {
            "metric": due.kind, "label_zh": zh, "label_en": en,
            "deadline_id": str(due.deadline_id), "dispute_id": str(due.dispute_id),
            "deadline": due.due_at.astimezone(UTC).isoformat(), "slot": due.slot,
            "unit_tenant_id": str(unit.id), "unit": unit.code,
            "to_tenant_id": str(parent.id), "to": parent.code}
        await ledger.record(session, case, "escalation", now=now, details=details)
        await audit.record(session, "dispute.escalated", tenant_id=case.tenant_id,
                           object_type="dispute", object_id=due.dispute_id,
                           payload={"case_no": case.case_no} | details)
        written += 1
    return written
