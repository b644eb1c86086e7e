"""争议处置 over HTTP: staff open a dispute on a case, file and request its evidence and climb
the ladder (/v1/cases/{id}/dispute); the worker reads their own (/v1/me/cases/{id}/dispute);
the platform it is addressed to reads it, fulfils its evidence requests and answers each step
through its machine API (/v1/partner/cases/{id}/dispute), every write with an
Idempotency-Key. Codes: docs/disputes.md."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from litestar import Request, Router, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import JSONBody, MultipartBody, PathParameter, QueryParameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.evidence.schemas import Upload
from flexunion.bargaining.evidence.store import EvidenceStore
from flexunion.cases.disputes import decisions, evidence, listing, resolutions, service
from flexunion.cases.disputes.http import letter_download
from flexunion.cases.disputes.schemas import (
    DecisionCreate,
    DisputeConsent,
    DisputeListRead,
    DisputeOpen,
    DisputeRead,
    EvidenceLink,
    Kind,
    ReasonsCreate,
    ReplyCreate,
    RequestCreate,
    ResolutionCreate,
    SettlementCheck,
    StepCreate,
)
from flexunion.cases.ledger.http import CaseId
from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import (
    BEARER,
    IDEMPOTENT,
    PAGING,
    PARTNER,
    STAFF,
    WORKER,
    IdempotencyKey,
    Paging,
    downloads,
    problems,
)
from flexunion.core.pagination import Page, decode_time_cursor, page_of

SubId = Annotated[uuid.UUID, PathParameter()]
AppRequest = Request[Any, Any, Any]
BODY_CEILING = 64 * 1_048_576
CASE_404 = "case_not_found (also a case outside my scope)"
DISPUTE_404 = "case_not_found, dispute_not_found (also outside my scope)"
NOT_YOURS = "dispute_not_yours: an assisting unit, not the case's union or one above it"
PARTNER_404 = "dispute_not_found (also a dispute not addressed to my platform)"
StepFilter = Literal["none", "reminder", "consultation", "letter", "review", "handover"]
LETTER = downloads("application/pdf", description="The letter PDF, as stored when sent")


@dataclass
class EvidenceForm:
    """multipart/form-data with one part `file`."""

    file: UploadFile


@get("/", opt=STAFF, dependencies=PAGING,
     summary="争议 The disputes in my sight, newest opened first: by kind, by rung (`step`; "
             "`none`: no rung taken yet) and `overdue` (the platform's written reasons or "
             "requested evidence still owed past the deadline)",
     responses=problems({422: "cursor_invalid"}))
async def dispute_list(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                       paging: NamedDependency[Paging],
                       kind: Annotated[Kind | None, QueryParameter()] = None,
                       step: Annotated[StepFilter | None, QueryParameter()] = None,
                       overdue: Annotated[bool, QueryParameter()] = False,
                       ) -> Page[DisputeListRead]:
    now = clock.now()
    rows = await listing.listed(session, kind=kind, step=step, overdue=overdue,
                                after=decode_time_cursor(paging.cursor),
                                limit=paging.size + 1, now=now)
    shown = {r.id: r for r in await listing.reads(session, rows[:paging.size], now=now)}
    return page_of(rows, paging.size, lambda r: shown[r.id], listing.list_key)


@post("/{case_id:uuid}/dispute", opt=STAFF,
      summary="立为争议 Open a dispute on a case: its kind (欠薪, 欠保, 超时, 职业防护, 罚款/扣分, "
              "封号/限单, 工伤), the statement to the platform, the platform",
      responses=problems({403: NOT_YOURS, 404: CASE_404,
                          409: "dispute_exists, dispute_case_merged",
                          422: "dispute_kind_mismatch, dispute_anonymous, partner_required, "
                               "unknown_partner"}))
async def open_dispute(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                       settings: NamedDependency[Settings], case_id: CaseId,
                       data: JSONBody[DisputeOpen]) -> DisputeRead:
    row = await service.open_dispute(session, case_id, data, now=clock.now(),
                                     reply_days=settings.cases.platform_reply_days)
    return await service.read(session, row, audience="staff", now=clock.now())


@get("/{case_id:uuid}/dispute", opt=STAFF,
     summary="争议 The dispute: its checklist (filled, missing), requests, ladder, referral",
     responses=problems({404: DISPUTE_404}))
async def get_dispute(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                      case_id: CaseId) -> DisputeRead:
    row = await service.staff_dispute(session, case_id)
    return await service.read(session, row, audience="staff", now=clock.now())


@post("/{case_id:uuid}/dispute/evidence", status_code=200, opt=STAFF,
      summary="固定证据 File one of the case's attachments (the worker's or a cadre's) under a "
              "slot of the kind's checklist (its sha256, supplier and time kept)",
      responses=problems({403: NOT_YOURS, 404: DISPUTE_404, 409: "evidence_already_linked",
                          422: "slot_not_in_checklist, unknown_attachment"}))
async def link_evidence(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                        case_id: CaseId, data: JSONBody[EvidenceLink]) -> DisputeRead:
    row = await evidence.link_evidence(session, case_id, data, now=clock.now())
    return await service.read(session, row, audience="staff", now=clock.now())


@post("/{case_id:uuid}/dispute/requests", status_code=200, opt=STAFF,
      summary="调取证据 Ask the platform for a slot's evidence within N working days (the "
              "case's calendar)",
      responses=problems({403: NOT_YOURS, 404: DISPUTE_404, 409: "dispute_ladder_ended",
                          422: "slot_not_in_checklist"}))
async def request_evidence(session: NamedDependency[AsyncSession],
                           clock: NamedDependency[Clock], case_id: CaseId,
                           data: JSONBody[RequestCreate]) -> DisputeRead:
    row = await evidence.request_evidence(session, case_id, data, now=clock.now())
    return await service.read(session, row, audience="staff", now=clock.now())


@post("/{case_id:uuid}/dispute/steps", status_code=200, opt=STAFF,
      summary="处置阶梯 The next step: 提示 → 会商 (minutes) → 发函 (letter) → 整改复核 "
              "(corrected?) → 衔接 (referral); none skipped, none past 提示 without the "
              "required evidence or a recorded reason",
      responses=problems({403: NOT_YOURS, 404: DISPUTE_404,
                          409: "dispute_step_skipped, dispute_evidence_missing, "
                               "dispute_ladder_ended, dispute_corrected",
                          422: "minutes_required, letter_required, review_outcome_required, "
                               "referral_required"}))
async def take_step(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                    attachments: NamedDependency[EvidenceStore], case_id: CaseId,
                    data: JSONBody[StepCreate]) -> DisputeRead:
    row = await service.take_step(session, attachments, case_id, data, now=clock.now())
    return await service.read(session, row, audience="staff", now=clock.now())


@post("/{case_id:uuid}/dispute/decision", status_code=200, opt=STAFF,
      summary="人工复核 The union's review of the platform's decision (封号/限单, 罚款/扣分): "
              "upheld, reversed or compensated, with text; after the platform's written "
              "reasons, by someone other than the dispute's opener, once",
      responses=problems({403: NOT_YOURS, 404: DISPUTE_404,
                          409: "dispute_not_algorithmic, dispute_reasons_missing, "
                               "dispute_reviewer_is_opener, dispute_decided"}))
async def review_decision(session: NamedDependency[AsyncSession],
                          clock: NamedDependency[Clock], case_id: CaseId,
                          data: JSONBody[DecisionCreate]) -> DisputeRead:
    row = await decisions.review(session, case_id, data, now=clock.now())
    return await service.read(session, row, audience="staff", now=clock.now())


@post("/{case_id:uuid}/dispute/resolution", status_code=200, opt=STAFF,
      summary="分类处置 The cause (制度瑕疵, 执行偏差, 个案争议) and the path (释法答疑, 内部调解, "
              "和解协议 with terms, 分流转办 with the addressee), with the 回访 it schedules "
              "(next node, due date, responsible unit); once",
      responses=problems({403: NOT_YOURS, 404: DISPUTE_404,
                          409: "dispute_resolved, dispute_ladder_ended",
                          422: "settlement_terms_required, transfer_target_required, "
                               "next_due_invalid, unknown_unit"}))
async def resolve(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                  case_id: CaseId, data: JSONBody[ResolutionCreate]) -> DisputeRead:
    row = await resolutions.resolve(session, case_id, data, now=clock.now())
    return await service.read(session, row, audience="staff", now=clock.now())


@post("/{case_id:uuid}/dispute/resolution/check", status_code=200, opt=STAFF,
      summary="履约核查 Whether the settlement's terms were kept (kept / broken), once",
      responses=problems({403: NOT_YOURS, 404: DISPUTE_404,
                          409: "not_a_settlement, settlement_checked"}))
async def check_settlement(session: NamedDependency[AsyncSession],
                           clock: NamedDependency[Clock], case_id: CaseId,
                           data: JSONBody[SettlementCheck]) -> DisputeRead:
    row = await resolutions.check_settlement(session, case_id, data, now=clock.now())
    return await service.read(session, row, audience="staff", now=clock.now())


@get("/{case_id:uuid}/dispute/letter", opt=STAFF,
     summary="发函 The 发函 step's letter as the PDF that was sent (its sha256 is on the step "
             "and in the Digest header)",
     responses=LETTER | problems({404: DISPUTE_404 + ", dispute_letter_not_found"}))
async def get_letter(session: NamedDependency[AsyncSession],
                     attachments: NamedDependency[EvidenceStore], case_id: CaseId) -> Stream:
    row = await service.staff_dispute(session, case_id)
    return await letter_download(attachments, await service.letter_pdf(session, row))


@get("/{case_id:uuid}/dispute", summary="我的争议 The dispute on my case",
     responses=problems({404: DISPUTE_404}))
async def my_dispute(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                     clock: NamedDependency[Clock], case_id: CaseId) -> DisputeRead:
    row = await service.worker_dispute(session, caller, case_id)
    return await service.worker_read(session, caller, row, now=clock.now())


@post("/{case_id:uuid}/dispute/consent", status_code=200, opt=IDEMPOTENT,
      summary="具名同意 Agree to be named to the platform in the dispute on my case "
              "({named: true}) or withdraw ({named: false}); recorded, Idempotency-Key",
      responses=problems({404: DISPUTE_404}))
async def name_me(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                  clock: NamedDependency[Clock], case_id: CaseId,
                  idempotency_key: IdempotencyKey,
                  data: JSONBody[DisputeConsent]) -> DisputeRead:
    row = await service.record_named(session, caller, case_id, data.named)
    return await service.worker_read(session, caller, row, now=clock.now())


@get("/{case_id:uuid}/dispute",
     summary="争议 A dispute addressed to my platform (the worker is named only with the "
             "worker's recorded consent)",
     responses=problems({404: PARTNER_404}))
async def partner_dispute(request: AppRequest, session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
                          case_id: CaseId) -> DisputeRead:
    row = await service.partner_dispute(session, case_id)
    return await service.partner_read(session, request.app.state.keyring, row, now=clock.now())


@get("/{case_id:uuid}/dispute/letter",
     summary="来函 The union's letter to my platform, as the PDF that was sent",
     responses=LETTER | problems({404: PARTNER_404 + ", dispute_letter_not_found"}))
async def partner_letter(session: NamedDependency[AsyncSession],
                         attachments: NamedDependency[EvidenceStore], case_id: CaseId) -> Stream:
    row = await service.partner_dispute(session, case_id)
    return await letter_download(attachments, await service.letter_pdf(session, row))


@post("/{case_id:uuid}/dispute/requests/{request_id:uuid}/evidence", status_code=200,
      opt=IDEMPOTENT, request_max_body_size=BODY_CEILING,
      summary="提供证据 Send the file a request asks for (multipart field `file`, "
              "Idempotency-Key); its sha256 is kept",
      responses=problems({404: PARTNER_404 + ", dispute_request_not_found",
                          409: "dispute_request_fulfilled", 413: "attachment_too_large",
                          415: "attachment_type_not_allowed", 422: "attachment_empty"}))
async def fulfil_request(request: AppRequest, session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
                         settings: NamedDependency[Settings],
                         attachments: NamedDependency[EvidenceStore], case_id: CaseId,
                         request_id: SubId, data: MultipartBody[EvidenceForm],
                         idempotency_key: IdempotencyKey) -> DisputeRead:
    upload = Upload(data=await data.file.read(), filename=data.file.filename,
                    declared_type=data.file.content_type)
    row = await evidence.fulfil_request(session, attachments, case_id, request_id, upload,
                                       max_bytes=settings.bargaining.attachment_max_bytes,
                                       now=clock.now())
    return await service.partner_read(session, request.app.state.keyring, row, now=clock.now())


@post("/{case_id:uuid}/dispute/reasons", status_code=200, opt=IDEMPOTENT,
      summary="书面理由 My platform's written reasons for the decision under appeal "
              "(封号/限单, 罚款/扣分), due by `decision.reply_due_at`; once, Idempotency-Key",
      responses=problems({404: PARTNER_404,
                          409: "dispute_not_algorithmic, dispute_reasons_given"}))
async def give_reasons(request: AppRequest, session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
                       case_id: CaseId, idempotency_key: IdempotencyKey,
                       data: JSONBody[ReasonsCreate]) -> DisputeRead:
    row = await decisions.give_reasons(session, case_id, data.text, now=clock.now())
    return await service.partner_read(session, request.app.state.keyring, row, now=clock.now())


@post("/{case_id:uuid}/dispute/steps/{step_id:uuid}/reply", status_code=200, opt=IDEMPOTENT,
      summary="答复 My platform's answer to a step (once per step, Idempotency-Key)",
      responses=problems({404: PARTNER_404 + ", dispute_step_not_found",
                          409: "dispute_step_answered"}))
async def reply(request: AppRequest, session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
                case_id: CaseId, step_id: SubId, idempotency_key: IdempotencyKey,
                data: JSONBody[ReplyCreate]) -> DisputeRead:
    row = await service.reply(session, case_id, step_id, data.text, now=clock.now())
    return await service.partner_read(session, request.app.state.keyring, row, now=clock.now())


router = Router("/", tags=["disputes 争议处置"], route_handlers=[
    Router("/v1/disputes", security=BEARER, route_handlers=[dispute_list]),
    Router("/v1/cases", security=BEARER, route_handlers=[
        open_dispute, get_dispute, link_evidence, request_evidence, take_step, get_letter,
        review_decision, resolve, check_settlement]),
    Router("/v1/me/cases", opt=WORKER, security=BEARER, route_handlers=[my_dispute, name_me]),
    Router("/v1/partner/cases", opt=PARTNER, security=BEARER,
           route_handlers=[partner_dispute, partner_letter, give_reasons, fulfil_request,
                           reply]),
])
