"""核验节点 over HTTP: admins plan a clause's checkpoints; the partner submits evidence
through its machine API (Idempotency-Key) and signs as its business unit or its HR line; a
union cadre signs; staff re-run a stored evaluation. Codes: docs/contracts.md."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from litestar import Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import JSONBody, MultipartBody, PathParameter, QueryParameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.evidence.schemas import Upload
from flexunion.bargaining.evidence.store import EvidenceStore
from flexunion.config import Settings
from flexunion.contracts.checkpoints import compliance, evaluation, service
from flexunion.contracts.checkpoints import files as evidence_files
from flexunion.contracts.checkpoints.http import DOWNLOAD, download
from flexunion.contracts.checkpoints.models import (
    CheckpointEvidence,
    CheckpointEvidenceFile,
    CheckpointObjection,
    CheckpointSignature,
    ClauseCheckpoint,
)
from flexunion.contracts.checkpoints.schemas import (
    CASE_REASONS,
    OBJECTIONS,
    ROLES,
    STATUSES,
    CheckpointCase,
    CheckpointDetail,
    CheckpointPlan,
    CheckpointRead,
    EvaluationRead,
    EvidenceFileRead,
    EvidenceSubmit,
    ObjectionCreate,
    ObjectionDecide,
    ObjectionRead,
    ReverifyRead,
    SignatureRead,
    label,
)
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import (
    BEARER,
    IDEMPOTENT,
    PARTNER,
    STAFF,
    UNION_ADMINS,
    IdempotencyKey,
    downloads,
    problems,
)

CheckpointId = Annotated[uuid.UUID, PathParameter()]
ClauseId = Annotated[uuid.UUID, PathParameter()]
EvidenceId = Annotated[uuid.UUID, PathParameter()]
FileId = Annotated[uuid.UUID, PathParameter()]
ADMIN_BASE, PARTNER_BASE = "/v1/admin/contracts", "/v1/partner/contracts"
BODY_CEILING = 64 * 1_048_576
FILE_404 = "checkpoint_not_found, attachment_not_found (not on this checkpoint)"
QuarterQ = Annotated[str, QueryParameter(pattern=r"^2[0-9]{3}Q[1-4]$",
                                         description="季度 quarter, e.g. 2027Q2")]
CP_404 = "checkpoint_not_found (also another partner's checkpoint)"
SIGN_PROBLEMS = problems({404: CP_404,
                          409: "checkpoint_no_evidence, checkpoint_already_signed, "
                               "checkpoint_role_signed"})


def _evaluation(e: CheckpointEvidence) -> EvaluationRead:
    return EvaluationRead(id=e.id, evidence=e.evidence, evidence_sha256=e.evidence_sha256,
                          condition=e.condition, condition_version=e.condition_version,
                          parameters=e.parameters, read=e.read, result=e.result, error=e.error,
                          breach=e.breach, evaluated_at=e.evaluated_at, files=e.files)


def _file(f: CheckpointEvidenceFile, base: str) -> EvidenceFileRead:
    return EvidenceFileRead(id=f.id, filename=f.filename, content_type=f.content_type,
                            size_bytes=f.size_bytes, sha256=f.sha256,
                            uploaded_by_kind=f.uploaded_by.partition(":")[0],
                            created_at=f.created_at,
                            href=f"{base}/checkpoints/{f.checkpoint_id}/files/{f.id}")


def _objection(o: CheckpointObjection | None) -> ObjectionRead | None:
    if o is None:
        return None
    return ObjectionRead(id=o.id, evidence_id=o.evidence_id, reasons=o.reasons,
                         lodged_at=o.lodged_at, due_at=o.due_at,
                         status=label(OBJECTIONS, o.status), decision_note=o.decision_note,
                         decided_at=o.decided_at)


def _signature(s: CheckpointSignature) -> SignatureRead:
    return SignatureRead(role=label(ROLES, s.role), signer=s.signer, evidence_id=s.evidence_id,
                         signed_at=s.signed_at)


def _case(r: ClauseCheckpoint) -> CheckpointCase | None:
    if r.case_id is None or r.case_reason is None or r.case_opened_at is None:
        return None
    return CheckpointCase(case_id=r.case_id, reason=label(CASE_REASONS, r.case_reason),
                          opened_at=r.case_opened_at)


async def _reads(session: AsyncSession, rows: Sequence[ClauseCheckpoint],
                 now: datetime, base: str = ADMIN_BASE) -> list[CheckpointDetail]:
    ids = [r.id for r in rows]
    attached = await evidence_files.listed(session, ids)
    evals, sigs = await service.evaluations(session, ids), await service.signatures(session, ids)
    objected, gone = await service.objections(session, ids), await service.superseded(session, ids)
    return [CheckpointDetail(
        id=r.id, agreement_id=r.agreement_id, clause_id=r.clause_id, version=r.version_number,
        period=r.period, due_on=r.due_on, evidence_due_at=r.evidence_due_at,
        status=label(STATUSES, service.status_of(r, evals[r.id], sigs[r.id], now,
                                                 objected.get(r.id), superseded=r.id in gone)),
        objection=_objection(objected.get(r.id)), case=_case(r),
        verified=bool(evals[r.id]) and service.verified(sigs[r.id]),
        latest=_evaluation(evals[r.id][-1]) if evals[r.id] else None,
        signatures=[_signature(s) for s in sigs[r.id]],
        files=[_file(f, base) for f in attached[r.id]],
        evaluations=[_evaluation(e) for e in evals[r.id]]) for r in rows]


def _brief(d: CheckpointDetail) -> CheckpointRead:
    return CheckpointRead(id=d.id, agreement_id=d.agreement_id, clause_id=d.clause_id,
                          version=d.version, period=d.period, due_on=d.due_on,
                          evidence_due_at=d.evidence_due_at, status=d.status,
                          verified=d.verified, latest=d.latest, signatures=d.signatures,
                          objection=d.objection, case=d.case, files=d.files)


async def _one(session: AsyncSession, checkpoint_id: uuid.UUID, now: datetime,
               base: str = ADMIN_BASE) -> CheckpointDetail:
    return (await _reads(session, [await service.checkpoint(session, checkpoint_id)], now,
                         base))[0]


@post("/clauses/{clause_id:uuid}/checkpoints", status_code=201,
      summary="设核验节点 Plan a clause's checkpoints: once, or each quarter of the term",
      responses=problems({404: "clause_not_found", 409: "clause_not_in_force",
                          422: "clause_without_condition, checkpoint_outside_term, "
                               "checkpoint_due_on"}))
async def plan(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
               clause_id: ClauseId, data: JSONBody[CheckpointPlan]) -> list[CheckpointRead]:
    now = clock.now()
    rows = await service.plan(session, clause_id, data, now=now)
    return [_brief(d) for d in await _reads(session, rows, now)]


@get("/clauses/{clause_id:uuid}/checkpoints", summary="核验节点 A clause's checkpoints",
     responses=problems({404: "clause_not_found"}))
async def staff_list(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                     clause_id: ClauseId) -> list[CheckpointRead]:
    rows = await service.listed(session, clause_id=clause_id)
    return [_brief(d) for d in await _reads(session, rows, clock.now())]


@get("/checkpoints/{checkpoint_id:uuid}",
     summary="核验节点 A checkpoint: every evaluation and the signatures",
     responses=problems({404: CP_404}))
async def staff_checkpoint(session: NamedDependency[AsyncSession],
                           clock: NamedDependency[Clock],
                           checkpoint_id: CheckpointId) -> CheckpointDetail:
    return await _one(session, checkpoint_id, clock.now())


@post("/checkpoints/{checkpoint_id:uuid}/signatures", status_code=201,
      summary="工会核验签署 Sign a checkpoint as the union cadre", responses=SIGN_PROBLEMS)
async def staff_sign(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                     clock: NamedDependency[Clock],
                     checkpoint_id: CheckpointId) -> CheckpointDetail:
    await service.sign(session, caller, checkpoint_id, now=clock.now())
    return await _one(session, checkpoint_id, clock.now())


@post("/evidence/{evidence_id:uuid}/reverify", status_code=200,
      summary="复算 Run a stored evaluation again: the same answer from what was stored?",
      responses=problems({404: "evidence_not_found"}))
async def reverify(session: NamedDependency[AsyncSession],
                   evidence_id: EvidenceId) -> ReverifyRead:
    return ReverifyRead(**await service.reverify(session, evidence_id))


@get("/checkpoints", summary="核验节点 My checkpoints")
async def partner_list(session: NamedDependency[AsyncSession],
                       clock: NamedDependency[Clock]) -> list[CheckpointRead]:
    return [_brief(d) for d in await _reads(session, await service.listed(session), clock.now(),
                                            PARTNER_BASE)]


@get("/checkpoints/{checkpoint_id:uuid}", summary="核验节点 One of my checkpoints",
     responses=problems({404: CP_404}))
async def partner_checkpoint(session: NamedDependency[AsyncSession],
                             clock: NamedDependency[Clock],
                             checkpoint_id: CheckpointId) -> CheckpointDetail:
    return await _one(session, checkpoint_id, clock.now(), PARTNER_BASE)


@post("/checkpoints/{checkpoint_id:uuid}/evidence", status_code=201, opt=IDEMPOTENT,
      request_max_body_size=256 * 1024,
      summary="提交核验材料 Submit evidence for my checkpoint; evaluated at once "
              "(Idempotency-Key)",
      responses=problems({404: CP_404 + ", clause_not_found",
                          409: "checkpoint_busy, checkpoint_evidence_signed: once signed, "
                               "the evidence is final; checkpoint_superseded: its clause was "
                               "superseded by a renewal before it fell due",
                          422: "evidence_invalid: with `path`"}))
async def submit(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                 clock: NamedDependency[Clock], checkpoint_id: CheckpointId,
                 idempotency_key: IdempotencyKey,
                 data: JSONBody[EvidenceSubmit]) -> EvaluationRead:
    return _evaluation(await service.submit(session, caller, checkpoint_id, data.evidence,
                                            now=clock.now()))


@dataclass
class FileForm:
    """multipart/form-data with one part `file`."""

    file: UploadFile


@post("/checkpoints/{checkpoint_id:uuid}/files", status_code=201, opt=IDEMPOTENT,
      request_max_body_size=BODY_CEILING,
      summary="核验材料附件 Attach a file to my checkpoint's evidence (multipart field `file`, "
              "Idempotency-Key); its sha256 goes into the next evaluation",
      responses=problems({404: CP_404,
                          409: "checkpoint_evidence_signed, checkpoint_superseded",
                          413: "attachment_too_large", 415: "attachment_type_not_allowed",
                          422: "attachment_empty"}))
async def partner_attach(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                         settings: NamedDependency[Settings],
                         attachments: NamedDependency[EvidenceStore],
                         checkpoint_id: CheckpointId, idempotency_key: IdempotencyKey,
                         data: MultipartBody[FileForm]) -> EvidenceFileRead:
    upload = Upload(data=await data.file.read(), filename=data.file.filename,
                    declared_type=data.file.content_type)
    row = await service.attach_file(session, attachments, checkpoint_id, upload,
                                    max_bytes=settings.bargaining.attachment_max_bytes,
                                    now=clock.now())
    return _file(row, PARTNER_BASE)


async def _files(session: AsyncSession, checkpoint_id: uuid.UUID,
                 base: str) -> list[EvidenceFileRead]:
    cp = await service.checkpoint(session, checkpoint_id)
    return [_file(f, base) for f in (await evidence_files.listed(session, [cp.id]))[cp.id]]


async def _fetch(session: AsyncSession, store: EvidenceStore, checkpoint_id: uuid.UUID,
                 file_id: uuid.UUID) -> Stream:
    cp = await service.checkpoint(session, checkpoint_id)
    return await download(store, await evidence_files.one(session, cp, file_id))


@get("/checkpoints/{checkpoint_id:uuid}/files", summary="核验材料附件 My checkpoint's files",
     responses=problems({404: CP_404}))
async def partner_files(session: NamedDependency[AsyncSession],
                        checkpoint_id: CheckpointId) -> list[EvidenceFileRead]:
    return await _files(session, checkpoint_id, PARTNER_BASE)


@get("/checkpoints/{checkpoint_id:uuid}/files/{file_id:uuid}",
     summary="下载核验材料附件 Download a file of my checkpoint (the type it was stored as)",
     responses=DOWNLOAD | problems({404: FILE_404}))
async def partner_download(session: NamedDependency[AsyncSession],
                           attachments: NamedDependency[EvidenceStore],
                           checkpoint_id: CheckpointId, file_id: FileId) -> Stream:
    return await _fetch(session, attachments, checkpoint_id, file_id)


@get("/checkpoints/{checkpoint_id:uuid}/files", summary="核验材料附件 A checkpoint's files",
     responses=problems({404: CP_404}))
async def staff_files(session: NamedDependency[AsyncSession],
                      checkpoint_id: CheckpointId) -> list[EvidenceFileRead]:
    return await _files(session, checkpoint_id, ADMIN_BASE)


@get("/checkpoints/{checkpoint_id:uuid}/files/{file_id:uuid}",
     summary="下载核验材料附件 Download a checkpoint's file (the type it was stored as)",
     responses=DOWNLOAD | problems({404: FILE_404}))
async def staff_download(session: NamedDependency[AsyncSession],
                         attachments: NamedDependency[EvidenceStore],
                         checkpoint_id: CheckpointId, file_id: FileId) -> Stream:
    return await _fetch(session, attachments, checkpoint_id, file_id)


@post("/checkpoints/{checkpoint_id:uuid}/signatures", status_code=201, opt=IDEMPOTENT,
      summary="平台核验签署 Sign my checkpoint as the platform's business unit or HR line "
              "(the client's designated role; Idempotency-Key)",
      responses=problems({403: "signer_without_role", 404: CP_404,
                          409: "checkpoint_no_evidence, checkpoint_already_signed, "
                               "checkpoint_role_signed"}))
async def partner_sign(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                       clock: NamedDependency[Clock], checkpoint_id: CheckpointId,
                       idempotency_key: IdempotencyKey) -> CheckpointDetail:
    await service.sign(session, caller, checkpoint_id, now=clock.now())
    return await _one(session, checkpoint_id, clock.now())


@post("/checkpoints/{checkpoint_id:uuid}/objections", status_code=201, opt=IDEMPOTENT,
      summary="异常复议 Object to my checkpoint's breach, with reasons, within the window "
              "(working days; Idempotency-Key)",
      responses=problems({404: CP_404,
                          409: "checkpoint_not_breached, objection_window_closed, "
                               "objection_exists"}))
async def lodge(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                clock: NamedDependency[Clock], settings: NamedDependency[Settings],
                checkpoint_id: CheckpointId, idempotency_key: IdempotencyKey,
                data: JSONBody[ObjectionCreate]) -> CheckpointDetail:
    await service.lodge(session, caller, checkpoint_id, data.reasons, now=clock.now(),
                        window_days=settings.contracts.objection_days)
    return await _one(session, checkpoint_id, clock.now())


@post("/objections/{objection_id:uuid}/decision", status_code=200,
      summary="复议决定 Decide a partner's objection: upheld (breach set aside) or rejected",
      responses=problems({404: "objection_not_found", 409: "objection_decided"}))
async def decide(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                 settings: NamedDependency[Settings],
                 objection_id: Annotated[uuid.UUID, PathParameter()],
                 data: JSONBody[ObjectionDecide]) -> CheckpointDetail:
    row = await service.decide(session, objection_id, data.outcome, data.note,
                               reopen_days=settings.cases.reopen_days, now=clock.now())
    return await _one(session, row.checkpoint_id, clock.now())


@get("/compliance", summary="季度合规核查 A quarter's checkpoints per partner: met, breached, "
                             "evidence missing, under objection")
async def compliance_run(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                         clock: NamedDependency[Clock],
                         quarter: QuarterQ) -> list[compliance.PartnerCompliance]:
    return await service.compliance(session, caller, quarter, now=clock.now())


@get("/compliance/reverify",
     summary="季度合规复算 A quarter's stored evaluations run again from what was stored "
             "(condition, parameters, evidence): the evidence whose answer differs")
async def compliance_reverify(session: NamedDependency[AsyncSession],
                              caller: NamedDependency[Caller],
                              quarter: QuarterQ) -> compliance.ComplianceReverify:
    run = await evaluation.rerun(session, caller, quarter)
    return compliance.ComplianceReverify(quarter=quarter, evaluated=run.evaluated,
                                         differing=[str(i) for i in run.differing],
                                         partners=run.rows)


@get("/compliance/export",
     summary="季度合规核查 The same as CSV (UTF-8 with BOM, Chinese headers)",
     responses=downloads("text/csv", description="季度合规核查 CSV"))
async def compliance_csv(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                         clock: NamedDependency[Clock], quarter: QuarterQ) -> Response[bytes]:
    rows = await service.compliance(session, caller, quarter, now=clock.now())
    return Response(compliance.csv_bytes(rows), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="compliance-{quarter}.csv"'})


router = Router("/", tags=["contracts 协议条款"], security=BEARER, route_handlers=[
    Router("/v1/admin/contracts", opt=UNION_ADMINS, route_handlers=[plan, decide]),
    Router("/v1/admin/contracts", opt=STAFF,
           route_handlers=[staff_list, staff_checkpoint, staff_sign, reverify, compliance_run,
                           compliance_reverify, compliance_csv, staff_files, staff_download]),
    Router("/v1/partner/contracts", opt=PARTNER, tags=["partner 平台方"],
           route_handlers=[partner_list, partner_checkpoint, submit, partner_sign, lodge,
                           partner_attach, partner_files, partner_download]),
])
