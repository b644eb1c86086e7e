"""周研判 over HTTP: the week's review list, an on-demand run and the judgement of a signal
(/v1/cases/weekly-review). Rules and codes: docs/weekly-review.md."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Router, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.weekly import service
from flexunion.cases.weekly.rules import Week
from flexunion.cases.weekly.schemas import JudgementWrite, ReviewRead, RunRead, SignalRead
from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import BEARER, STAFF, problems

# No `pattern`: the service checks the week and answers 422 `week_invalid`.
WeekParam = Annotated[str | None, QueryParameter(
    max_length=16, description="ISO 周 an ISO week, Beijing time (2026-W49); the last week"
                               " when left out")]
SignalId = Annotated[uuid.UUID, PathParameter(description="The signal's id")]
INVALID = {422: "week_invalid: not an ISO week like 2026-W49"}


@get("/weekly-review", summary="周研判清单 The week's review signals: place, metric, value, "
                              "baseline and why (HQ and regions; a station its own station's)",
     responses=problems(INVALID))
async def weekly_review(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                        clock: NamedDependency[Clock], week: WeekParam = None) -> ReviewRead:
    code = week if week is not None else Week.of(clock.now()).previous().code
    return await service.review(session, caller, code)


@post("/weekly-review/run", status_code=200,
      summary="运行周研判 Compute the week's signals now for my regions (HQ and regional "
              "admins); a re-run replaces the unjudged signals and keeps the judgements",
      responses=problems({403: "weekly_review_admin_only", 409: "week_in_future"} | INVALID))
async def run_review(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                     clock: NamedDependency[Clock], settings: NamedDependency[Settings],
                     week: WeekParam = None) -> RunRead:
    now = clock.now()
    code = week if week is not None else Week.of(now).previous().code
    return await service.run(session, caller, code, settings.cases, now=now)


@post("/weekly-review/signals/{signal_id:uuid}/judgement", status_code=200,
      summary="研判 Record the judgement of a signal (制度瑕疵 / 执行偏差 / 个案争议), the "
              "action and the follow-up node with its due date",
      responses=problems({404: "signal_not_found"}))
async def judge_signal(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                       clock: NamedDependency[Clock], signal_id: SignalId,
                       data: JSONBody[JudgementWrite]) -> SignalRead:
    return await service.judge(session, caller, signal_id, data, now=clock.now())


router = Router("/v1/cases", tags=["weekly-review 周研判"], opt=STAFF, security=BEARER,
                route_handlers=[weekly_review, run_review, judge_signal])
