"""回访复核, 满意度 and 重启 over HTTP."""

from __future__ import annotations

from litestar import Router, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.followup import service as followup
from flexunion.cases.followup.schemas import (
    FollowupCreate,
    RatingCreate,
    RatingRead,
    ReopenCreate,
    rating_read,
)
from flexunion.cases.ledger import service
from flexunion.cases.ledger.http import CASE_STAFF, STEP_403, STEP_404, STEP_409, CaseId
from flexunion.cases.ledger.schemas import CaseRead
from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import BEARER, IDEMPOTENT, WORKER, IdempotencyKey, problems


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
                          409: "invalid_case_step: not closed; reopen_window_passed, "
                               "clock_step_refused"}))
async def reopen_case(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                      clock: NamedDependency[Clock], case_id: CaseId,
                      data: JSONBody[ReopenCreate], idempotency_key: IdempotencyKey) -> CaseRead:
    case = await followup.reopen(session, caller, case_id, data.reason, now=clock.now())
    return await service.read(session, case, audience="worker")


async def _staff(session: AsyncSession, case) -> CaseRead:  # type: ignore[no-untyped-def]
    return await service.read(session, case, audience="staff")


@post("/{case_id:uuid}/follow-up", status_code=200,
      summary="回访复核 Follow up: 已解决 closes the case; 阶段推进 / 暂难解决 keep a next node "
              "and a responsible unit; a new problem may open a linked case",
      responses=problems({403: STEP_403, 404: STEP_404, 409: STEP_409,
                          422: "next_node_required, next_due_invalid, unknown_unit"}))
async def follow_up_case(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                         settings: NamedDependency[Settings], case_id: CaseId,
                         data: JSONBody[FollowupCreate]) -> CaseRead:
    return await _staff(session, await followup.follow_up(
        session, case_id, data, reopen_days=settings.cases.reopen_days, now=clock.now()))


router = Router("/", route_handlers=[
    Router("/v1/me/cases", opt=WORKER, tags=["me 我的"], security=BEARER,
           route_handlers=[rate_case, reopen_case]),
    Router("/v1/cases", opt=CASE_STAFF, security=BEARER, route_handlers=[follow_up_case]),
])
