"""办理环节 over HTTP: route, assign, reassign, accept, return, answer, merge, feedback."""

from __future__ import annotations

from litestar import Router, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.handling import service as steps
from flexunion.cases.handling.schemas import (
    AnswerCreate,
    AssignCreate,
    FeedbackCreate,
    MergeCreate,
    RouteCreate,
    StepReason,
)
from flexunion.cases.ledger import service
from flexunion.cases.ledger.http import CASE_STAFF, STEP_403, STEP_404, STEP_409, CaseId
from flexunion.cases.ledger.schemas import CaseRead
from flexunion.core.clock import Clock
from flexunion.core.http import BEARER, IDEMPOTENT, PARTNER, IdempotencyKey, problems


async def _staff(session: AsyncSession, case) -> CaseRead:  # type: ignore[no-untyped-def]
    return await service.read(session, case, audience="staff")


@post("/{case_id:uuid}/route", status_code=200,
      summary="分流 Choose one of the four routes, with the reason",
      responses=problems({403: STEP_403, 404: STEP_404 + "; agenda_item_not_found",
                          409: STEP_409 + "; case_worker_not_member, case_already_reported",
                          422: "agenda_item_required, bargaining_target_ambiguous, "
                               "case_partner_required, invalid_details, policy_required, "
                               "unknown_policy"}))
async def route_case(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                     case_id: CaseId, data: JSONBody[RouteCreate]) -> CaseRead:
    return await _staff(session, await steps.route(session, case_id, data, now=clock.now()))


@post("/{case_id:uuid}/assign", status_code=200,
      summary="派单 Assign the lead unit and assisting units (会办单)",
      responses=problems({403: STEP_403, 404: STEP_404, 409: STEP_409,
                          422: "unknown_unit, unit_ambiguous, unknown_partner"}))
async def assign_case(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                      case_id: CaseId, data: JSONBody[AssignCreate]) -> CaseRead:
    return await _staff(session, await steps.assign(session, case_id, data, now=clock.now()))


@post("/{case_id:uuid}/reassign", status_code=200,
      summary="改派 Reassign (reason required): elapsed time is kept",
      responses=problems({403: STEP_403, 404: STEP_404, 409: STEP_409,
                          422: "reason_required, unknown_unit, unit_ambiguous, "
                               "unknown_partner"}))
async def reassign_case(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                        case_id: CaseId, data: JSONBody[AssignCreate]) -> CaseRead:
    return await _staff(session, await steps.assign(session, case_id, data, now=clock.now(),
                                                    reassign=True))


@post("/{case_id:uuid}/accept", status_code=200, summary="接单 The lead unit accepts",
      responses=problems({403: STEP_403, 404: STEP_404, 409: STEP_409}))
async def accept_case(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                      case_id: CaseId) -> CaseRead:
    return await _staff(session, await steps.accept(session, case_id, now=clock.now()))


@post("/{case_id:uuid}/return", status_code=200,
      summary="退单 The lead unit returns the case, with a reason",
      responses=problems({403: STEP_403, 404: STEP_404, 409: STEP_409}))
async def return_case(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                      case_id: CaseId, data: JSONBody[StepReason]) -> CaseRead:
    return await _staff(session, await steps.return_case(session, case_id, data.reason,
                                                         now=clock.now()))


@post("/{case_id:uuid}/answer", status_code=200, summary="答复 Answer the worker",
      responses=problems({403: STEP_403, 404: STEP_404,
                          409: f"{STEP_409}, route_required"}))
async def answer_case(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                      case_id: CaseId, data: JSONBody[AnswerCreate]) -> CaseRead:
    return await _staff(session, await steps.answer(session, case_id, data.text,
                                                    now=clock.now()))


@post("/{case_id:uuid}/merge", status_code=200,
      summary="并单 Merge this case into another open case of the same worker",
      responses=problems({403: STEP_403, 404: STEP_404,
                          409: f"{STEP_409}, merge_target_invalid"}))
async def merge_case(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                     case_id: CaseId, data: JSONBody[MergeCreate]) -> CaseRead:
    return await _staff(session, await steps.merge(session, case_id, data.into, data.reason,
                                                   now=clock.now()))


@post("/{case_id:uuid}/feedback", status_code=200,
      summary="协办反馈 An assisting unit's feedback on its assignment",
      responses=problems({404: STEP_404 + "; or no open assignment of mine"}))
async def unit_feedback(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                        case_id: CaseId, data: JSONBody[FeedbackCreate]) -> CaseRead:
    await steps.feedback(session, case_id, data.text, now=clock.now(), partner=False)
    return await _staff(session, await service.access_case(session, case_id))


@post("/{case_id:uuid}/feedback", status_code=200, opt=IDEMPOTENT,
      summary="平台反馈 My platform's feedback on its assignment; Idempotency-Key",
      responses=problems({404: "case_not_found (or no open assignment of my platform)"}))
async def partner_feedback(session: NamedDependency[AsyncSession],
                           clock: NamedDependency[Clock], case_id: CaseId,
                           idempotency_key: IdempotencyKey,
                           data: JSONBody[FeedbackCreate]) -> CaseRead:
    await steps.feedback(session, case_id, data.text, now=clock.now(), partner=True)
    return await service.read(session, await service.partner_case(session, case_id),
                              audience="partner")


router = Router("/", route_handlers=[
    Router("/v1/cases", opt=CASE_STAFF, security=BEARER,
           route_handlers=[route_case, assign_case, reassign_case, accept_case, return_case,
                           answer_case, merge_case, unit_feedback]),
    Router("/v1/partner/cases", opt=PARTNER, security=BEARER, route_handlers=[partner_feedback]),
])
