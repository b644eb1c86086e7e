"""核验节点: each clause in force is checked at its checkpoints — a date, or every quarter of
the version's term — on the evidence the partner submits through its machine API.

Submission validates the evidence against the clause's schema (the engine's
`validate_evidence`), evaluates the clause's condition over it (`engine.compile(...)
.evaluate`) and keeps, append-only, what a re-run needs to give the same answer: the
evidence and its sha256 over RFC 8785 canonical JSON, the condition's text and version (the
signed clause document's sha256), the parameters, the value of every variable read, the
result and when. `reverify` runs a stored evaluation again and says whether it agrees;
`evaluation.rerun` does it for a quarter's checkpoints at once. A clause's condition is
prepared once per (condition, schema, parameters) — compiled, and the schema's evidence
validator built — and kept (checkpoints/evaluation.py), so a submission re-parses and
re-compiles nothing.

A false result is the checkpoint's breach once: the first failing submission is marked
`breach` (a partial unique index keeps it to one per checkpoint, whatever the resubmissions).

三方共同核验: a checkpoint is verified when its latest evidence has been signed by the
platform's business unit and its HR line (two partner clients, each given its role by the
operator: `partner_clients.contracts_role`) and a union cadre; the database keeps one
signature per role and per signer (migration 0049), the service says why first."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining.evidence.schemas import Upload
from flexunion.bargaining.evidence.store import EvidenceStore
from flexunion.calendars import service as calendars
from flexunion.contracts.agreements import service as agreements
from flexunion.contracts.checkpoints import compliance as tallies
from flexunion.contracts.checkpoints import evaluation, repository, set_aside
from flexunion.contracts.checkpoints import files as evidence_files
from flexunion.contracts.checkpoints.models import (
    CheckpointEvidence,
    CheckpointEvidenceFile,
    CheckpointObjection,
    CheckpointSignature,
    ClauseCheckpoint,
)
from flexunion.contracts.checkpoints.schemas import CheckpointPlan
from flexunion.contracts.conditions import engine
from flexunion.core.clock import BEIJING
from flexunion.core.context import Caller, Role
from flexunion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from flexunion.db import rls

ROLES_NEEDED = frozenset({"platform_business", "platform_hr", "union"})


class CheckpointNotFound(NotFound):
    code, title, title_en = "checkpoint_not_found", "未找到该核验节点", "Checkpoint not found"


class EvidenceNotFound(NotFound):
    code, title, title_en = "evidence_not_found", "未找到该核验材料", "Evidence not found"


# ---- planning -------------------------------------------------------------------------------


def quarters(starts_on: date, ends_on: date) -> list[tuple[str, date]]:
    """(period, due date) for each calendar quarter the term touches: the quarter's last
    day, or the term's last day when it ends inside the quarter."""
    out: list[tuple[str, date]] = []
    year, q = starts_on.year, (starts_on.month - 1) // 3 + 1
    while True:
        first = date(year, 3 * q - 2, 1)
        if first > ends_on:
            return out
        nxt = date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
        out.append((f"{year}Q{q}", min(nxt - timedelta(days=1), ends_on)))
        year, q = (year + 1, 1) if q == 4 else (year, q + 1)


async def plan(session: AsyncSession, clause_id: uuid.UUID, data: CheckpointPlan, *,
               now: datetime) -> list[ClauseCheckpoint]:
    """The clause's checkpoints made (those already there kept); every one of the clause's."""
    clause = await agreements.clause(session, clause_id, lock=True)
    if clause.status != "in_force":
        raise Conflict("只有生效中的条款才设核验节点。",
                       "Only a clause in force has checkpoints.", code="clause_not_in_force",
                       extra={"clause_status": clause.status})
    if clause.condition is None or clause.evidence_schema is None:
        raise InvalidInput("该条款没有可核验的条件，不能设核验节点。",
                           "The clause has no machine-checkable condition to check.",
                           code="clause_without_condition")
    agreement = await agreements.access(session, clause.agreement_id)
    version = await agreements.version(session, agreement, clause.version_number)
    if data.schedule == "once":
        if data.due_on is None or not version.starts_on <= data.due_on <= version.ends_on:
            raise InvalidInput("核验日期须在协议期限之内。",
                               "A checkpoint's date lies within the agreement's term.",
                               code="checkpoint_outside_term",
                               extra={"starts_on": version.starts_on.isoformat(),
                                      "ends_on": version.ends_on.isoformat()})
        wanted = [("once", data.due_on)]
    elif data.due_on is not None:
        raise InvalidInput("按季度核验时不填 due_on。",
                           "A quarterly schedule takes no due_on.", code="checkpoint_due_on")
    else:
        wanted = quarters(version.starts_on, version.ends_on)
    # a date is planned once per clause key: a checkpoint carried from the earlier version of
    # an unchanged clause continues and covers its date (repository.carried_due_dates)
    have = await repository.due_dates(session, clause.id) | await repository.carried_due_dates(
        session, clause.agreement_id, clause.clause_key, clause.id)
    actor = await rls.principal(session)
    made: list[str] = []
    for period, due_on in wanted:
        if due_on in have:
            continue
        start = datetime.combine(due_on, time(12), BEIJING)
        at = (await calendars.deadline_after(session, clause.tenant_id, start,
                                             data.evidence_days)).at
        row = ClauseCheckpoint(
            id=uuid.uuid4(), federation_id=clause.federation_id, tenant_id=clause.tenant_id,
            partner_id=clause.partner_id, agreement_id=clause.agreement_id,
            clause_id=clause.id, version_number=clause.version_number, period=period,
            due_on=due_on, evidence_due_at=at, created_by=actor, created_at=now)
        repository.add(session, row)
        made.append(due_on.isoformat())
    await repository.flush(session)
    if made:
        await audit.record(session, "contracts.checkpoints_planned", tenant_id=clause.tenant_id,
                           object_type="agreement_clause", object_id=clause.id,
                           payload={"schedule": data.schedule, "due_on": made,
                                    "evidence_days": data.evidence_days})
    return list(await repository.listed(session, clause_id=clause.id))


# ---- reading --------------------------------------------------------------------------------


async def checkpoint(session: AsyncSession, checkpoint_id: uuid.UUID) -> ClauseCheckpoint:
    found = await repository.checkpoint(session, checkpoint_id)
    if found is None:
        raise CheckpointNotFound("没有这个核验节点。", "No such checkpoint.")
    return found


async def listed(session: AsyncSession, *,
                 clause_id: uuid.UUID | None = None) -> Sequence[ClauseCheckpoint]:
    if clause_id is not None:
        await agreements.clause(session, clause_id)
    return await repository.listed(session, clause_id=clause_id)


async def evaluations(session: AsyncSession, ids: Sequence[uuid.UUID],
                      ) -> dict[uuid.UUID, list[CheckpointEvidence]]:
    out: dict[uuid.UUID, list[CheckpointEvidence]] = {i: [] for i in ids}
    for e in await repository.evaluations(session, ids):
        out[e.checkpoint_id].append(e)
    return out


async def signatures(session: AsyncSession, ids: Sequence[uuid.UUID],
                     ) -> dict[uuid.UUID, list[CheckpointSignature]]:
    out: dict[uuid.UUID, list[CheckpointSignature]] = {i: [] for i in ids}
    for s in await repository.signatures(session, ids):
        out[s.checkpoint_id].append(s)
    return out


def verified(sigs: Sequence[CheckpointSignature]) -> bool:
    return {s.role for s in sigs} == ROLES_NEEDED and len({s.signer for s in sigs}) == 3


async def objections(session: AsyncSession, ids: Sequence[uuid.UUID],
                     ) -> dict[uuid.UUID, CheckpointObjection]:
    return {o.checkpoint_id: o for o in await repository.objections(session, ids)}


async def superseded(session: AsyncSession, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """The checkpoints no longer owed: their clause superseded by a renewal before they fell
    due, and not carried unchanged into the version in force (repository._superseded)."""
    return await repository.superseded(session, ids) if ids else set()


def status_of(cp: ClauseCheckpoint, evals: Sequence[CheckpointEvidence],
              sigs: Sequence[CheckpointSignature], now: datetime,
              objection: CheckpointObjection | None = None, *,
              superseded: bool = False) -> str:
    """superseded (no case opened before) / breached (under_objection / breach_set_aside while
    or once objected) / verified / met / evaluation_failed / evidence_missing /
    awaiting_evidence."""
    if superseded and cp.case_id is None:
        return "superseded"
    if any(e.breach for e in evals):
        if objection is not None and objection.status != "rejected":
            return "under_objection" if objection.status == "pending" else "breach_set_aside"
        return "breached"
    if evals and verified(sigs):
        return "verified"
    if evals:
        return "met" if evals[-1].result else "evaluation_failed"
    return "evidence_missing" if now > cp.evidence_due_at else "awaiting_evidence"


async def compliance(session: AsyncSession, caller: Caller, quarter: str, *,
                     now: datetime) -> list[tallies.PartnerCompliance]:
    """季度合规核查: the checkpoints due in `quarter` that the caller sees, per partner."""
    first, last = tallies.bounds(quarter)
    rows = await repository.due_between(session, first, last)
    ids = [r.id for r in rows]
    evals, sigs = await evaluations(session, ids), await signatures(session, ids)
    objected, gone = await objections(session, ids), await superseded(session, ids)
    _tenants, partners = await agreements.codes(session, caller)
    return tallies.tally(quarter, (
        (partners.get(r.partner_id, str(r.partner_id)),
         status_of(r, evals[r.id], sigs[r.id], now, objected.get(r.id),
                   superseded=r.id in gone)) for r in rows))


async def submit(session: AsyncSession, caller: Caller, checkpoint_id: uuid.UUID,
                 evidence: dict[str, Any], *, now: datetime) -> CheckpointEvidence:
    """The partner's evidence for one of its checkpoints, evaluated and kept."""
    cp = await checkpoint(session, checkpoint_id)
    if cp.case_id is None and await superseded(session, [cp.id]):
        raise Conflict("该核验节点的条款已被续签取代，不再提交材料。",
                       "The checkpoint's clause was superseded by a renewal; no evidence is "
                       "owed.", code="checkpoint_superseded")
    if (await signatures(session, [cp.id]))[cp.id]:
        raise Conflict("核验材料已有签署，不能再提交新的材料。",
                       "The evidence has been signed; no new evidence for this checkpoint.",
                       code="checkpoint_evidence_signed")
    clause = await agreements.clause(session, cp.clause_id)
    assert clause.condition is not None and clause.document_sha256 is not None
    try:
        result, read, error = evaluation.evaluate(clause, clause.parameters, clause.condition,
                                                  evidence)
    except engine.ConditionError as exc:
        raise InvalidInput(f"核验材料不符合条款的材料格式：{exc.message}", exc.message,
                           code=exc.code, extra={"path": exc.path or "evidence"}) from None
    breach = result is False and await repository.breach_of(session, cp.id) == 0
    attached = [evidence_files.summary(f)
                for f in (await evidence_files.listed(session, [cp.id]))[cp.id]]
    row = CheckpointEvidence(
        id=uuid.uuid4(), federation_id=cp.federation_id, tenant_id=cp.tenant_id,
        partner_id=cp.partner_id, checkpoint_id=cp.id, clause_id=clause.id, evidence=evidence,
        evidence_sha256=evaluation.sha256_of(evidence), condition=clause.condition,
        condition_version=clause.document_sha256, parameters=clause.parameters, read=read,
        result=result, error=error, breach=breach, evaluated_at=now,
        submitted_by=caller.principal, files=attached)
    try:
        async with session.begin_nested():
            repository.add(session, row)
            await repository.flush(session)
    except IntegrityError:
        raise Conflict("该核验节点正在被同时提交材料，请重试。",
                       "Evidence for this checkpoint is being submitted at the same time; "
                       "try again.", code="checkpoint_busy") from None
    await audit.record(session, "contracts.evidence_submitted", tenant_id=cp.tenant_id,
                       object_type="clause_checkpoint", object_id=cp.id,
                       payload={"evidence_id": str(row.id), "sha256": row.evidence_sha256,
                                "condition_version": row.condition_version,
                                "result": result, "breach": breach, "read": read,
                                "files": [f["sha256"] for f in attached]})
    return row


async def attach_file(session: AsyncSession, store: EvidenceStore, checkpoint_id: uuid.UUID,
                      upload: Upload, *, max_bytes: int, now: datetime) -> CheckpointEvidenceFile:
    """A file for the partner's checkpoint, through the evidence store (files.py)."""
    cp = await checkpoint(session, checkpoint_id)
    signed = bool((await signatures(session, [cp.id]))[cp.id])
    gone = cp.case_id is None and bool(await superseded(session, [cp.id]))
    return await evidence_files.attach(session, store, cp, upload, max_bytes=max_bytes,
                                       signed=signed, superseded=gone, now=now)


async def reverify(session: AsyncSession, evidence_id: uuid.UUID) -> dict[str, Any]:
    """A stored evaluation run again from what was stored, against the signed clause."""
    row = await repository.evidence(session, evidence_id)
    if row is None:
        raise EvidenceNotFound("没有这份核验材料。", "No such evidence.")
    clause = await agreements.clause(session, row.clause_id)
    result, read, _ = evaluation.evaluate(clause, row.parameters, row.condition, row.evidence)
    sha_holds = evaluation.sha256_of(row.evidence) == row.evidence_sha256
    condition_holds = (clause.document_sha256 == row.condition_version
                       and clause.condition == row.condition
                       and clause.parameters == row.parameters)
    same = sha_holds and condition_holds and result == row.result and read == row.read
    return {"evidence_id": row.id, "same": same, "sha256_holds": sha_holds,
            "condition_holds": condition_holds, "stored_result": row.result,
            "result": result, "read": read}


# ---- 三方共同核验 ------------------------------------------------------------------------


async def _role_of(session: AsyncSession, caller: Caller) -> str:
    if caller.role is not Role.PARTNER:
        return "union"
    role = await repository.partner_role(session)
    if role is None:
        raise Forbidden("该接口客户端未被指定为业务或人力签署方。",
                        "This client is designated neither business unit nor HR signer.",
                        code="signer_without_role")
    return role


async def sign(session: AsyncSession, caller: Caller, checkpoint_id: uuid.UUID, *,
               now: datetime) -> CheckpointSignature:
    cp = await checkpoint(session, checkpoint_id)
    role = await _role_of(session, caller)
    evals = (await evaluations(session, [cp.id]))[cp.id]
    if not evals:
        raise Conflict("尚无核验材料，不能签署。", "There is no evidence to sign yet.",
                       code="checkpoint_no_evidence")
    sigs = (await signatures(session, [cp.id]))[cp.id]
    if any(s.signer == caller.principal for s in sigs):
        raise Conflict("您已签署过该核验节点（同一签署人不能以两种身份签署）。",
                       "You have signed this checkpoint already (one signer, one role).",
                       code="checkpoint_already_signed")
    if any(s.role == role for s in sigs):
        raise Conflict("该身份已有人签署。", "This role has signed already.",
                       code="checkpoint_role_signed", extra={"role": role})
    row = CheckpointSignature(
        id=uuid.uuid4(), federation_id=cp.federation_id, tenant_id=cp.tenant_id,
        partner_id=cp.partner_id, checkpoint_id=cp.id, role=role, signer=caller.principal,
        evidence_id=evals[-1].id, signed_at=now)
    try:
        async with session.begin_nested():
            repository.add(session, row)
            await repository.flush(session)
    except IntegrityError:  # a race the checks above could not see: the database's answer
        raise Conflict("该核验节点已由同一签署人或同一身份签署。",
                       "This checkpoint is signed by this signer or in this role already.",
                       code="checkpoint_role_signed", extra={"role": role}) from None
    await audit.record(session, "contracts.checkpoint_signed", tenant_id=cp.tenant_id,
                       object_type="clause_checkpoint", object_id=cp.id,
                       payload={"role": role, "evidence_id": str(row.evidence_id)})
    if verified([*sigs, row]):
        await audit.record(session, "contracts.checkpoint_verified", tenant_id=cp.tenant_id,
                           object_type="clause_checkpoint", object_id=cp.id,
                           payload={"signers": sorted(s.signer for s in [*sigs, row])})
    return row


# ---- 异常复议 ---------------------------------------------------------------------------------


class ObjectionNotFound(NotFound):
    code, title, title_en = "objection_not_found", "未找到该复议", "Objection not found"


async def lodge(session: AsyncSession, caller: Caller, checkpoint_id: uuid.UUID, reasons: str,
                *, now: datetime, window_days: int) -> CheckpointObjection:
    """The partner objects to its checkpoint's breach within `window_days` working days of
    the failing evaluation (the agreement's tenant's calendar); one objection per breach."""
    cp = await checkpoint(session, checkpoint_id)
    breach = next((e for e in (await evaluations(session, [cp.id]))[cp.id] if e.breach), None)
    if breach is None:
        raise Conflict("该核验节点未判定违约，无需复议。",
                       "The checkpoint is not breached: there is nothing to object to.",
                       code="checkpoint_not_breached")
    due = (await calendars.deadline_after(session, cp.tenant_id, breach.evaluated_at,
                                          window_days, federation_id=cp.federation_id)).at
    if now > due:
        raise Conflict("已超过异常复议期限。", "The window for an objection has closed.",
                       code="objection_window_closed", extra={"due_at": due.isoformat()})
    if cp.id in await objections(session, [cp.id]):
        raise Conflict("已就该违约提出过复议。", "An objection to this breach is lodged already.",
                       code="objection_exists")
    row = CheckpointObjection(
        id=uuid.uuid4(), federation_id=cp.federation_id, tenant_id=cp.tenant_id,
        partner_id=cp.partner_id, checkpoint_id=cp.id, evidence_id=breach.id,
        reasons=reasons.strip(), lodged_by=caller.principal, lodged_at=now, due_at=due,
        status="pending")
    try:
        async with session.begin_nested():
            repository.add(session, row)
            await repository.flush(session)
    except IntegrityError:
        raise Conflict("已就该违约提出过复议。", "An objection to this breach is lodged already.",
                       code="objection_exists") from None
    await audit.record(session, "contracts.objection_lodged", tenant_id=cp.tenant_id,
                       object_type="clause_checkpoint", object_id=cp.id,
                       payload={"objection_id": str(row.id), "evidence_id": str(breach.id),
                                "due_at": due.isoformat()})
    return row


async def decide(session: AsyncSession, objection_id: uuid.UUID, outcome: str, note: str, *,
                 reopen_days: int, now: datetime) -> CheckpointObjection:
    """Staff decide an objection: upheld (the breach set aside: its case answered and closed
    with the note, set_aside.py) or rejected (the case stays open); once."""
    row = await repository.objection(session, objection_id, lock=True)
    if row is None:
        raise ObjectionNotFound("没有这项复议。", "No such objection.")
    if row.status != "pending":
        raise Conflict("该复议已作出决定。", "The objection is decided already.",
                       code="objection_decided", extra={"decision": row.status})
    actor = await rls.principal(session)  # before the row changes: a query autoflushes
    row.status, row.decision_note, row.decided_by, row.decided_at = (
        outcome, note.strip(), actor, now)
    await repository.flush(session)
    await audit.record(session, "contracts.objection_decided", tenant_id=row.tenant_id,
                       object_type="clause_checkpoint", object_id=row.checkpoint_id,
                       payload={"objection_id": str(row.id), "outcome": outcome,
                                "note": row.decision_note})
    if outcome == "upheld":
        await set_aside.close_case(session, await checkpoint(session, row.checkpoint_id),
                                   row.decision_note, reopen_days=reopen_days, now=now)
    return row
