"""违约立案: a checkpoint's breach — its first false evaluation — or its evidence missing past
`evidence_due_at` opens ONE case in the demand ledger, at the agreement's tenant, addressed
to the agreement's platform, and for a clause whose subject is a worker's dispute, that
dispute too (cases.intake + cases.disputes, the cases' own services).

Run by the `contracts-breach` job (principal `system:jobs:contracts-breach`, migration 0050:
it reads its federation's checkpoints, evidence and clauses, and writes only what opening
such a case writes). The checkpoint's `case_id` is set in the case's transaction, and only
while it is empty (policy and unique index): a re-run, a killed job or resubmitted evidence
never opens a second case for a checkpoint."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.cases.disputes import service as disputes
from flexunion.cases.disputes.schemas import DisputeOpen, Kind
from flexunion.cases.intake import service as intake
from flexunion.contracts.agreements import service as agreements
from flexunion.contracts.agreements.models import AgreementClause
from flexunion.contracts.checkpoints import files as evidence_files
from flexunion.contracts.checkpoints import repository
from flexunion.contracts.checkpoints.models import CheckpointEvidence, ClauseCheckpoint

# The clause's template → (case category, dispute kind or None). The bargaining outcomes
# over a worker's pay and time are a worker's dispute with the platform; the union's own
# clauses (支持建会, 会员转接, 经费列支, 活动场地, 基础数据对接) and other outcomes are the
# union's rights under the agreement — no dispute kind fits them: a case only, 法律咨询 (the
# one category any kind may later be opened from), for the union's staff to route.
CASE_OF: dict[str, tuple[str, Kind | None]] = {
    "outcome.commission": ("commission", "unpaid_pay"),        # 抽成 → 欠薪
    "outcome.overtime": ("overtime_judgement", "overtime"),    # 超时判定 → 超时
    "outcome.rest": ("leave_scheduling", "overtime"),          # 工作时长与休息 → 超时
    "outcome.appeals": ("appeal_review", "penalty"),           # 申诉复核 → 罚款/扣分
}
UNION_CASE: tuple[str, Kind | None] = ("legal_advice", None)


def case_of(clause: AgreementClause) -> tuple[str, Kind | None]:
    return CASE_OF.get(clause.template_code or "", UNION_CASE)


def _failed(row: CheckpointEvidence) -> dict[str, Any]:
    return {"evidence_id": str(row.id), "evidence_sha256": row.evidence_sha256,
            "condition": row.condition, "condition_version": row.condition_version,
            "parameters": row.parameters, "read": row.read, "result": row.result,
            "evaluated_at": row.evaluated_at.isoformat(), "submitted_by": row.submitted_by,
            "files": row.files}


def _files_text(files: list[dict[str, Any]]) -> str:
    if not files:
        return ""
    listed = "；".join(f"{f['filename']}（sha256 {f['sha256']}）" for f in files)
    return f" 附件 Files: {listed}。"


def _text(clause: AgreementClause, cp: ClauseCheckpoint, breach: CheckpointEvidence | None,
          files: list[dict[str, Any]]) -> str:
    if breach is not None:
        values = ", ".join(f"{k} = {v!r}" for k, v in sorted(breach.read.items()))
        return (f"协议条款“{clause.title_zh}”在 {cp.period} 核验节点未达标（条件 "
                f"{breach.condition} 不成立；实际值：{values}；材料 sha256 "
                f"{breach.evidence_sha256}）。 · Clause '{clause.title_en}' breached at "
                f"checkpoint {cp.period}." + _files_text(files))
    return (f"协议条款“{clause.title_zh}”在 {cp.period} 核验节点逾期未提交核验材料（应于 "
            f"{cp.evidence_due_at.isoformat()} 前提交）。 · Clause '{clause.title_en}': "
            f"no evidence for checkpoint {cp.period} by its due date." + _files_text(files))


async def open_cases(session: AsyncSession, now: datetime, *, reply_days: int) -> int:
    """One case per checkpoint owing one; how many were opened."""
    opened = 0
    for cp in await repository.case_due(session, now):
        breach = next((e for e in await repository.evaluations(session, [cp.id])
                       if e.breach), None)
        clause = await agreements.clause(session, cp.clause_id)
        category, kind = case_of(clause)
        reason = "breach" if breach is not None else "evidence_missing"
        # the files the failing evaluation was made on; with no evaluation, those attached
        attached = breach.files if breach is not None else [
            evidence_files.summary(f)
            for f in (await evidence_files.listed(session, [cp.id]))[cp.id]]
        description = _text(clause, cp, breach, attached)
        contract: dict[str, Any] = {
            "reason": reason, "agreement_id": str(cp.agreement_id),
            "clause_id": str(clause.id), "clause_key": clause.clause_key,
            "template_code": clause.template_code, "title_zh": clause.title_zh,
            "title_en": clause.title_en, "version_number": cp.version_number,
            "checkpoint_id": str(cp.id), "period": cp.period, "due_on": cp.due_on.isoformat(),
            "evidence_due_at": cp.evidence_due_at.isoformat(),
            "evidence": _failed(breach) if breach is not None else None, "files": attached}
        case = await intake.intake_by_contract(
            session, federation_id=cp.federation_id, tenant_id=cp.tenant_id,
            partner_id=cp.partner_id, category=category, description=description,
            contract=contract, now=now)
        dispute_id: str | None = None
        if kind is not None:
            dispute = await disputes.open_dispute(
                session, case.id, DisputeOpen(kind=kind, statement=description),
                now=now, reply_days=reply_days)
            dispute_id = str(dispute.id)
        cp.case_id, cp.case_reason, cp.case_opened_at = case.id, reason, now
        await repository.flush(session)
        await audit.record(session, "contracts.breach_case_opened", tenant_id=cp.tenant_id,
                           object_type="clause_checkpoint", object_id=cp.id,
                           payload={"case_id": str(case.id), "case_no": case.case_no,
                                    "reason": reason, "category": category, "kind": kind,
                                    "dispute_id": dispute_id, "clause_id": str(clause.id),
                                    "evidence_id": contract["evidence"] and
                                    contract["evidence"]["evidence_id"]})
        opened += 1
    return opened
