"""需求清单 over HTTP: the worker's own cases (/v1/me/cases), the staff ledger and its steps
(/v1/cases), the platforms' view and the 12351 work orders (/v1/partner/cases), and the
anonymous suggestion link (/v1/suggestions). Codes: docs/cases.md."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from litestar import Response, Router, get, patch, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import JSONBody, MultipartBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.evidence.schemas import Upload
from flexunion.bargaining.evidence.store import EvidenceStore
from flexunion.cases import followup, library, service, steps, suggestions
from flexunion.cases.codes import STATUSES
from flexunion.cases.schemas import (
    AnswerCreate,
    AssignCreate,
    AttachmentRead,
    CaseRead,
    Category,
    Channel,
    FeedbackCreate,
    FollowupCreate,
    HotlineOrder,
    IntakePartnerCreate,
    MergeCreate,
    PickupCode,
    PolicyCreate,
    PolicyRead,
    PolicyUpdate,
    QueueRow,
    RatingCreate,
    RatingRead,
    ReopenCreate,
    Route,
    RouteCreate,
    StaffCaseCreate,
    Status,
    StepReason,
    SuggestionCreate,
    SuggestionReceipt,
    SuggestionStatus,
    Tier,
    WorkerCaseCreate,
    attachment_read,
    label,
    policy_read,
    rating_read,
    suggestion_status,
)
from flexunion.config import AUDIENCE_ADMIN, Settings
from flexunion.core.clock import Clock
from flexunion.core.context import ADMIN_ROLES, Caller, Role
from flexunion.core.http import (
    BEARER,
    IDEMPOTENT,
    PAGING,
    PARTNER,
    WORKER,
    IdempotencyKey,
    Paging,
    access,
    downloads,
    problems,
)
from flexunion.core.pagination import Page, decode_time_cursor, page_of, time_key
from flexunion.core.uow import UnitOfWork
from flexunion.geo.registry import GeoRegistry
from flexunion.membership.cards.qr import qr_svg

CASE_STAFF = access(AUDIENCE_ADMIN, roles={*ADMIN_ROLES, Role.HOTLINE_OPERATOR})
CaseId = Annotated[uuid.UUID, PathParameter()]
PolicyCode = Annotated[str, PathParameter(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
StationCode = Annotated[str, PathParameter(max_length=64,
                                           pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
BODY_CEILING = 64 * 1_048_576
INTAKE_422 = ("work_place_required, work_place_ambiguous, unknown_station, unknown_zone, "
              "point_outside_jurisdictions, coordinate_out_of_range, unknown_partner")
STEP_404 = "case_not_found (also a case outside my scope)"
STEP_403 = "case_step_not_yours: another unit's step"
ATTACH = {413: "attachment_too_large", 415: "attachment_type_not_allowed",
          422: "attachment_empty"}


@dataclass
class AttachmentForm:
    """multipart/form-data with one part `file`."""

    file: UploadFile


async def _upload(form: AttachmentForm) -> Upload:
    return Upload(data=await form.file.read(), filename=form.file.filename,
                  declared_type=form.file.content_type)


def _page(rows, size: int, reads) -> Page[CaseRead]:  # type: ignore[no-untyped-def]
    by_id = {r.id: r for r in reads}
    return page_of(rows, size, lambda c: by_id[c.id], lambda c: time_key(c.created_at, c.id))


# ---- the worker --------------------------------------------------------------------------


@post("/", opt=IDEMPOTENT,
      summary="提交诉求 File a demand from the app (needs Idempotency-Key); `duplicate_of` "
              "lists my open cases of the same category (并单 is offered, never forced)",
      responses=problems({422: INTAKE_422}))
async def file_case(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                    clock: NamedDependency[Clock], geo: NamedDependency[GeoRegistry],
                    data: JSONBody[WorkerCaseCreate],
                    idempotency_key: IdempotencyKey) -> CaseRead:
    case = await service.intake_by_worker(session, geo, caller, data,
                                          now=clock.now())
    return await service.read(session, case, audience="worker",
                              duplicate_of=await service.duplicates(session, case))


@get("/", dependencies=PAGING, summary="我的诉求 My cases, newest first",
     responses=problems({422: "cursor_invalid"}))
async def my_cases(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                   paging: NamedDependency[Paging],
                   status: Annotated[Status | None, QueryParameter()] = None) -> Page[CaseRead]:
    rows = await service.mine(session, caller, status=status,
                              after=decode_time_cursor(paging.cursor), limit=paging.size + 1)
    reads = await service.reads(session, rows[:paging.size], audience="worker")
    return _page(rows, paging.size, reads)


@get("/{case_id:uuid}", summary="诉求详情 One of my cases, with its steps",
     responses=problems({404: "case_not_found"}))
async def my_case(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                  clock: NamedDependency[Clock], case_id: CaseId) -> CaseRead:
    case = await service.own_case(session, caller, case_id)
    return await service.read(session, case, audience="worker", now=clock.now())


@post("/{case_id:uuid}/attachments", opt=IDEMPOTENT, request_max_body_size=BODY_CEILING,
      summary="上传证据 Add evidence to my case (multipart field `file`, Idempotency-Key)",
      responses=problems({404: "case_not_found", **ATTACH}))
async def my_attachment(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                        clock: NamedDependency[Clock], settings: NamedDependency[Settings],
                        attachments: NamedDependency[EvidenceStore], case_id: CaseId,
                        data: MultipartBody[AttachmentForm],
                        idempotency_key: IdempotencyKey) -> AttachmentRead:
    case = await service.own_case(session, caller, case_id)
    row = await library.attach(session, attachments, case, await _upload(data),
                               max_bytes=settings.bargaining.attachment_max_bytes,
                               now=clock.now())
    return attachment_read(row)


@post("/{case_id:uuid}/rating", opt=IDEMPOTENT,
      summary="评价 Rate the closing of my case: 满意 / 基本满意 / 不满意 (once per closing; "
              "Idempotency-Key)",
      responses=problems({404: "case_not_found",
                          409: "case_not_closed, already_rated: this closing is rated"}))
async def rate_case(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                    clock: NamedDependency[Clock], case_id: CaseId,
                    data: JSONBody[RatingCreate], idempotency_key: IdempotencyKey) -> RatingRead:
    return rating_read(await followup.rate(session, caller, case_id, data, now=clock.now()))


@post("/{case_id:uuid}/reopen", status_code=200, opt=IDEMPOTENT,
      summary="重启 Reopen my closed case within the window, with a reason (Idempotency-Key)",
      responses=problems({404: "case_not_found",
                          409: "invalid_case_step: not closed; reopen_window_passed"}))
async def reopen_case(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                      clock: NamedDependency[Clock], case_id: CaseId,
                      data: JSONBody[ReopenCreate], idempotency_key: IdempotencyKey) -> CaseRead:
    case = await followup.reopen(session, caller, case_id, data.reason, now=clock.now())
    return await service.read(session, case, audience="worker")


# ---- staff: intake, the ledger, the steps ---------------------------------------------------


@post("/", summary="受理诉求 Enter a demand: station walk-in (现场受理), visit (走访) or "
                   "12351 call; `duplicate_of` lists the worker's open cases of the category",
      responses=problems({422: INTAKE_422 + ", work_place_outside_subtree, unknown_member"}))
async def enter_case(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                     clock: NamedDependency[Clock], geo: NamedDependency[GeoRegistry],
                     data: JSONBody[StaffCaseCreate]) -> CaseRead:
    case = await service.intake_by_staff(session, geo, caller, data,
                                         now=clock.now())
    return await service.read(session, case, audience="staff",
                              duplicate_of=await service.duplicates(session, case))


@get("/", dependencies=PAGING,
     summary="需求台账 The ledger: my subtree's cases and those my units are assigned",
     responses=problems({422: "cursor_invalid"}))
async def ledger(session: NamedDependency[AsyncSession], paging: NamedDependency[Paging],
                 status: Annotated[Status | None, QueryParameter()] = None,
                 route: Annotated[Route | None, QueryParameter()] = None,
                 category: Annotated[Category | None, QueryParameter()] = None,
                 channel: Annotated[Channel | None, QueryParameter()] = None) -> Page[CaseRead]:
    rows = await service.ledger(session, status=status, route=route, category=category,
                                channel=channel, after=decode_time_cursor(paging.cursor),
                                limit=paging.size + 1)
    reads = await service.reads(session, rows[:paging.size], audience="staff")
    return _page(rows, paging.size, reads)


def _queue(rows: list[QueueRow], size: int, key: str) -> Page[QueueRow]:
    return page_of(rows, size, lambda r: r, lambda r: (getattr(r, key), r.id))


@get("/returned", dependencies=PAGING,
     summary="退回件 Returned cases in my scope, the latest return first, with its reason",
     responses=problems({422: "cursor_invalid"}))
async def returned_cases(session: NamedDependency[AsyncSession], paging: NamedDependency[Paging],
                         category: Annotated[Category | None, QueryParameter()] = None,
                         route: Annotated[Route | None, QueryParameter()] = None,
                         tier: Annotated[Tier | None, QueryParameter()] = None,
                         ) -> Page[QueueRow]:
    rows = await service.returned_list(session, category=category, route=route, tier=tier,
                                       after=decode_time_cursor(paging.cursor),
                                       limit=paging.size + 1)
    return _queue(rows, paging.size, "updated_at")


@get("/open", dependencies=PAGING,
     summary="在办件 Open cases in my scope with their status and handling unit, newest first",
     responses=problems({422: "cursor_invalid, unknown_unit"}))
async def open_cases(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                     paging: NamedDependency[Paging],
                     status: Annotated[Status | None, QueryParameter()] = None,
                     category: Annotated[Category | None, QueryParameter()] = None,
                     route: Annotated[Route | None, QueryParameter()] = None,
                     tier: Annotated[Tier | None, QueryParameter()] = None,
                     unit: Annotated[str | None, QueryParameter(
                         max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")] = None,
                     ) -> Page[QueueRow]:
    fed = await service.federation_of(session, caller)
    rows = await service.open_list(session, status=status, category=category, route=route,
                                   tier=tier, unit=unit, after=decode_time_cursor(paging.cursor),
                                   limit=paging.size + 1, federation_id=fed)
    return _queue(rows, paging.size, "created_at")


@get("/{case_id:uuid}", summary="诉求详情 One case with its assignments and steps",
     responses=problems({404: STEP_404}))
async def get_case(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                   case_id: CaseId) -> CaseRead:
    return await service.read(session, await service.access_case(session, case_id),
                              audience="staff", now=clock.now())


async def _staff(session: AsyncSession, case) -> CaseRead:  # type: ignore[no-untyped-def]
    return await service.read(session, case, audience="staff")


@post("/{case_id:uuid}/route", status_code=200,
      summary="分流 Choose one of the four routes, with the reason",
      responses=problems({403: STEP_403, 404: STEP_404 + "; agenda_item_not_found",
                          409: "invalid_case_step",
                          422: "agenda_item_required, policy_required, unknown_policy"}))
async def route_case(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                     case_id: CaseId, data: JSONBody[RouteCreate]) -> CaseRead:
    return await _staff(session, await steps.route(session, case_id, data, now=clock.now()))


@post("/{case_id:uuid}/assign", status_code=200,
      summary="派单 Assign the lead unit and assisting units (会办单)",
      responses=problems({403: STEP_403, 404: STEP_404, 409: "invalid_case_step",
                          422: "unknown_unit, unit_ambiguous, unknown_partner"}))
async def assign_case(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                      case_id: CaseId, data: JSONBody[AssignCreate]) -> CaseRead:
    return await _staff(session, await steps.assign(session, case_id, data, now=clock.now()))


@post("/{case_id:uuid}/reassign", status_code=200,
      summary="改派 Reassign (reason required): elapsed time is kept",
      responses=problems({403: STEP_403, 404: STEP_404, 409: "invalid_case_step",
                          422: "reason_required, unknown_unit, unit_ambiguous, "
                               "unknown_partner"}))
async def reassign_case(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                        case_id: CaseId, data: JSONBody[AssignCreate]) -> CaseRead:
    return await _staff(session, await steps.assign(session, case_id, data, now=clock.now(),
                                                    reassign=True))


@post("/{case_id:uuid}/accept", status_code=200, summary="接单 The lead unit accepts",
      responses=problems({403: STEP_403, 404: STEP_404, 409: "invalid_case_step"}))
async def accept_case(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                      case_id: CaseId) -> CaseRead:
    return await _staff(session, await steps.accept(session, case_id, now=clock.now()))


@post("/{case_id:uuid}/return", status_code=200,
      summary="退单 The lead unit returns the case, with a reason",
      responses=problems({403: STEP_403, 404: STEP_404, 409: "invalid_case_step"}))
async def return_case(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                      case_id: CaseId, data: JSONBody[StepReason]) -> CaseRead:
    return await _staff(session, await steps.return_case(session, case_id, data.reason,
                                                         now=clock.now()))


@post("/{case_id:uuid}/answer", status_code=200, summary="答复 Answer the worker",
      responses=problems({403: STEP_403, 404: STEP_404,
                          409: "invalid_case_step, route_required"}))
async def answer_case(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                      case_id: CaseId, data: JSONBody[AnswerCreate]) -> CaseRead:
    return await _staff(session, await steps.answer(session, case_id, data.text,
                                                    now=clock.now()))


@post("/{case_id:uuid}/merge", status_code=200,
      summary="并单 Merge this case into another open case of the same worker",
      responses=problems({403: STEP_403, 404: STEP_404,
                          409: "invalid_case_step, merge_target_invalid"}))
async def merge_case(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                     case_id: CaseId, data: JSONBody[MergeCreate]) -> CaseRead:
    return await _staff(session, await steps.merge(session, case_id, data.into, data.reason,
                                                   now=clock.now()))


@post("/{case_id:uuid}/follow-up", status_code=200,
      summary="回访复核 Follow up: 已解决 closes the case; 阶段推进 / 暂难解决 keep a next node "
              "and a responsible unit; a new problem may open a linked case",
      responses=problems({403: STEP_403, 404: STEP_404, 409: "invalid_case_step",
                          422: "next_node_required, next_due_invalid, unknown_unit"}))
async def follow_up_case(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                         settings: NamedDependency[Settings], case_id: CaseId,
                         data: JSONBody[FollowupCreate]) -> CaseRead:
    return await _staff(session, await followup.follow_up(
        session, case_id, data, reopen_days=settings.cases.reopen_days, now=clock.now()))


@post("/{case_id:uuid}/feedback", status_code=200,
      summary="协办反馈 An assisting unit's feedback on its assignment",
      responses=problems({404: STEP_404 + "; or no open assignment of mine"}))
async def unit_feedback(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                        case_id: CaseId, data: JSONBody[FeedbackCreate]) -> CaseRead:
    await steps.feedback(session, case_id, data.text, now=clock.now(), partner=False)
    return await _staff(session, await service.access_case(session, case_id))


@post("/{case_id:uuid}/attachments", request_max_body_size=BODY_CEILING,
      summary="上传证据 Add evidence to a case (multipart field `file`)",
      responses=problems({404: STEP_404, **ATTACH}))
async def staff_attachment(session: NamedDependency[AsyncSession],
                           clock: NamedDependency[Clock], settings: NamedDependency[Settings],
                           attachments: NamedDependency[EvidenceStore], case_id: CaseId,
                           data: MultipartBody[AttachmentForm]) -> AttachmentRead:
    case = await service.access_case(session, case_id)
    row = await library.attach(session, attachments, case, await _upload(data),
                               max_bytes=settings.bargaining.attachment_max_bytes,
                               now=clock.now())
    return attachment_read(row)


@get("/{case_id:uuid}/attachments", summary="诉求证据 Evidence on a case",
     responses=problems({404: STEP_404}))
async def staff_attachments(session: NamedDependency[AsyncSession],
                            case_id: CaseId) -> list[AttachmentRead]:
    case = await service.access_case(session, case_id)
    return [attachment_read(r) for r in await library.attachments(session, case)]


# ---- staff: the policy library, hotline platforms, suggestion links ---------------------


@get("/policies", summary="政策库 The HQ's policy library")
async def list_policies(session: NamedDependency[AsyncSession],
                        caller: NamedDependency[Caller]) -> list[PolicyRead]:
    return [policy_read(p) for p in await library.policies(session, caller)]


@post("/policies", summary="新增政策 Add a policy (HQ)",
      responses=problems({403: "hq_only", 409: "policy_code_taken"}))
async def create_policy(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                        clock: NamedDependency[Clock],
                        data: JSONBody[PolicyCreate]) -> PolicyRead:
    return policy_read(await library.create_policy(session, caller, data, now=clock.now()))


@patch("/policies/{code:str}", summary="修改政策 Change or retire a policy (HQ)",
       responses=problems({403: "hq_only", 404: "policy_not_found"}))
async def update_policy(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                        clock: NamedDependency[Clock], code: PolicyCode,
                        data: JSONBody[PolicyUpdate]) -> PolicyRead:
    return policy_read(await library.update_policy(session, caller, code, data, now=clock.now()))


@post("/hotline-platforms", status_code=204,
      summary="登记 12351 工单平台 Let a platform partner's clients push work orders (HQ)",
      responses=problems({403: "hq_only", 422: "unknown_partner"}))
async def add_hotline_platform(session: NamedDependency[AsyncSession],
                               caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                               data: JSONBody[IntakePartnerCreate]) -> None:
    await library.add_intake_partner(session, caller, data.partner, now=clock.now())


@get("/suggestion-links/{station:str}",
     responses=downloads("image/svg+xml", description="The QR code (SVG)")
     | problems({404: "station_not_found"}),
     summary="意见收集二维码 The station's anonymous suggestion link as a QR code (SVG)")
async def suggestion_qr(uow: NamedDependency[UnitOfWork], settings: NamedDependency[Settings],
                        station: StationCode) -> Response[bytes]:
    await suggestions.station_in_scope(uow, station)
    link = f"{(settings.issuer or '').rstrip('/')}/v1/suggestions/{station}"
    return Response(qr_svg(link).encode(), media_type="image/svg+xml",
                    headers={"X-Suggestion-Link": link})


# ---- partners: cases addressed to them, 12351 work orders --------------------------------


@post("/hotline-orders",
      summary="推送 12351 工单 Push a hotline work order; the same order number and body "
              "return the same case, another body under that number is 409",
      responses=problems({404: "hotline_platform_unknown", 409: "hotline_order_conflict",
                          422: INTAKE_422 + ", unknown_member"}))
async def hotline_order(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                        clock: NamedDependency[Clock], geo: NamedDependency[GeoRegistry],
                        data: JSONBody[HotlineOrder]) -> CaseRead:
    case = await service.intake_by_hotline(session, geo, caller, data,
                                           now=clock.now())
    return await service.read(session, case, audience="partner", detail=False)


@get("/", dependencies=PAGING, summary="平台待办 Cases addressed to my platform",
     responses=problems({422: "cursor_invalid"}))
async def partner_cases(session: NamedDependency[AsyncSession], paging: NamedDependency[Paging],
                        status: Annotated[Status | None, QueryParameter()] = None,
                        ) -> Page[CaseRead]:
    rows = await service.addressed(session, status=status,
                                   after=decode_time_cursor(paging.cursor),
                                   limit=paging.size + 1)
    reads = await service.reads(session, rows[:paging.size], audience="partner")
    return _page(rows, paging.size, reads)


@get("/{case_id:uuid}", summary="平台诉求详情 A case addressed to my platform (worker masked)",
     responses=problems({404: "case_not_found"}))
async def partner_case(session: NamedDependency[AsyncSession], case_id: CaseId) -> CaseRead:
    case = await service.partner_case(session, case_id)
    return await service.read(session, case, audience="partner")


@post("/{case_id:uuid}/feedback", status_code=200,
      summary="平台反馈 My platform's feedback on its assignment",
      responses=problems({404: "case_not_found (or no open assignment of my platform)"}))
async def partner_feedback(session: NamedDependency[AsyncSession],
                           clock: NamedDependency[Clock], case_id: CaseId,
                           data: JSONBody[FeedbackCreate]) -> CaseRead:
    await steps.feedback(session, case_id, data.text, now=clock.now(), partner=True)
    return await service.read(session, await service.partner_case(session, case_id),
                              audience="partner")


# ---- anonymous suggestions -------------------------------------------------------------


@post("/{station:str}",
      summary="匿名意见 Leave an anonymous suggestion at a station: no identity is stored; "
              "keep the pick-up code (取件码) to follow it",
      responses=problems({404: "station_not_found", 429: "suggestions_rate_limited"}))
async def suggest(uow: NamedDependency[UnitOfWork], clock: NamedDependency[Clock],
                  station: StationCode, data: JSONBody[SuggestionCreate]) -> SuggestionReceipt:
    case, code = await suggestions.submit(uow, station, data, now=clock.now())
    return SuggestionReceipt(pickup_code=code, case_no=case.case_no,
                             status=label(STATUSES, case.status))


@post("/follow", status_code=200, summary="凭取件码查询 Follow a suggestion by its pick-up code",
      responses=problems({404: "pickup_code_unknown"}))
async def follow(uow: NamedDependency[UnitOfWork],
                 data: JSONBody[PickupCode]) -> SuggestionStatus:
    case = await suggestions.follow(uow, data.pickup_code)
    return suggestion_status(case, case.place.get("station", ""))


router = Router("/", tags=["cases 需求清单"], route_handlers=[
    Router("/v1/me/cases", opt=WORKER, tags=["me 我的"], security=BEARER,
           route_handlers=[file_case, my_cases, my_case, my_attachment, rate_case,
                           reopen_case]),
    Router("/v1/cases", opt=CASE_STAFF, security=BEARER, route_handlers=[
        enter_case, ledger, returned_cases, open_cases, get_case, follow_up_case, route_case,
        assign_case, reassign_case, accept_case,
        return_case, answer_case, merge_case, unit_feedback, staff_attachment,
        staff_attachments, list_policies, create_policy, update_policy, add_hotline_platform,
        suggestion_qr]),
    Router("/v1/partner/cases", opt=PARTNER, security=BEARER,
           route_handlers=[hotline_order, partner_cases, partner_case, partner_feedback]),
    Router("/v1/suggestions", route_handlers=[follow, suggest]),
])
