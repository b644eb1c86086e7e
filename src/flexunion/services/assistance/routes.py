"""帮扶台账 over HTTP: a worker applies and follows its cases (/v1/me/assistance, the write
with an Idempotency-Key); union staff run the ledger (/v1/admin/assistance: the list with
urgent and overdue first, a case with each step, grants, budget lines, the federation's
policy). Codes: docs/services.md, docs/api.md."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, Router, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import (
    BEARER,
    IDEMPOTENT,
    STAFF,
    UNION_ADMINS,
    WORKER,
    IdempotencyKey,
    problems,
)
from flexunion.core.secrets import Keyring
from flexunion.services.assistance import budget, service
from flexunion.services.assistance.schemas import (
    Apply,
    Ask,
    BudgetLineCreate,
    BudgetLineRead,
    CaseRead,
    CaseRow,
    Decide,
    FollowUp,
    GrantCreate,
    MyCaseRead,
    PolicyRead,
    PolicySet,
    Verify,
    WalkIn,
)

CaseId = Annotated[uuid.UUID, PathParameter()]
YearFilter = Annotated[int | None, QueryParameter(ge=2000, le=2100)]
CASE_404 = "assistance_case_not_found (also a case outside your subtree)"
STEP_409 = "assistance_step_not_allowed: the case is not at the step this one follows"
ROLE_403 = "assistance_role_not_allowed: your role does not take this step"
MEMBER_403 = "membership_required, member_not_active"


def _keyring(request: Request[Any, Any, Any]) -> Keyring:
    keyring: Keyring = request.app.state.keyring
    return keyring


@get("/", summary="我的帮扶 My assistance cases: the step and what is asked of me")
async def my_cases(session: NamedDependency[AsyncSession],
                   caller: NamedDependency[Caller]) -> list[MyCaseRead]:
    return await service.my_cases(session, caller)


@post("/", opt=IDEMPOTENT,
      summary="帮扶申报 Apply for assistance (kind, summary, urgent, the health or family "
              "details kept sealed); Idempotency-Key",
      responses=problems({403: MEMBER_403}))
async def apply(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                settings: NamedDependency[Settings], idempotency_key: IdempotencyKey,
                data: JSONBody[Apply]) -> MyCaseRead:
    return await service.apply(session, _keyring(request), caller, data,
                               defaults=settings.assistance, now=clock.now())


@get("/cases", summary="帮扶台账 The ledger: overdue first, then urgent (急难事项), then by due "
                       "time; health and family details masked")
async def list_cases(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                     include_closed: Annotated[bool, QueryParameter()] = False
                     ) -> list[CaseRow]:
    return await service.cases(session, now=clock.now(), include_closed=include_closed)


@post("/cases", summary="现场受理 Open and accept a member's case at a walk-in",
      responses=problems({403: ROLE_403, 404: "member_not_found"}))
async def walk_in(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                  caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                  settings: NamedDependency[Settings], data: JSONBody[WalkIn]) -> CaseRead:
    return await service.walk_in(session, _keyring(request), caller, data,
                                 defaults=settings.assistance, now=clock.now())


@get("/cases/{case_id:uuid}", summary="一个帮扶件 A case with every step, its grants and — "
                                      "for its handlers only — the details",
     responses=problems({404: CASE_404}))
async def read_case(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                    caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                    case_id: CaseId) -> CaseRead:
    return await service.read(session, _keyring(request), caller, case_id, now=clock.now())


@post("/cases/{case_id:uuid}/accept", summary="受理 Accept (station or regional staff)",
      status_code=200, responses=problems({403: ROLE_403, 404: CASE_404, 409: STEP_409}))
async def accept(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                 caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                 settings: NamedDependency[Settings], case_id: CaseId) -> CaseRead:
    return await service.accept(session, _keyring(request), caller, case_id,
                                defaults=settings.assistance, now=clock.now())


@post("/cases/{case_id:uuid}/verify", summary="核实 Verify (a second person)",
      status_code=200, responses=problems({
          403: ROLE_403, 404: CASE_404,
          409: STEP_409 + "; assistance_same_person: you accepted this case"}))
async def verify(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                 caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                 settings: NamedDependency[Settings], case_id: CaseId,
                 data: JSONBody[Verify]) -> CaseRead:
    return await service.verify(session, _keyring(request), caller, case_id, data,
                                defaults=settings.assistance, now=clock.now())


@post("/cases/{case_id:uuid}/decide",
      summary="会商 The committee's decision: who sat, approve with an amount or refuse with a "
              "reason", status_code=200, responses=problems({
          403: ROLE_403, 404: CASE_404, 409: STEP_409,
          422: "assistance_decision_incomplete: an approval without amount_fen, a refusal "
               "without reason"}))
async def decide(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                 caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                 settings: NamedDependency[Settings], case_id: CaseId,
                 data: JSONBody[Decide]) -> CaseRead:
    return await service.decide(session, _keyring(request), caller, case_id, data,
                                defaults=settings.assistance, now=clock.now())


@post("/cases/{case_id:uuid}/grants",
      summary="发放 A grant of an approved case from its region's budget line (audited)",
      status_code=200, responses=problems({
          403: ROLE_403, 404: CASE_404,
          409: STEP_409 + "; assistance_yearly_cap: the member's yearly total would pass the "
               "cap; assistance_budget_exceeded: the budget line has too little left; "
               "assistance_over_approved: above the committee's amount",
          422: "assistance_budget_line_unknown"}))
async def grant(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                settings: NamedDependency[Settings], case_id: CaseId,
                data: JSONBody[GrantCreate]) -> CaseRead:
    return await service.grant(session, _keyring(request), caller, case_id, data,
                               defaults=settings.assistance, now=clock.now())


@post("/cases/{case_id:uuid}/ask",
      summary="告知会员 What the worker is asked to do or bring now (shown in the app)",
      status_code=200, responses=problems({403: ROLE_403, 404: CASE_404,
                                           409: STEP_409 + " (a closed case)"}))
async def ask(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
              caller: NamedDependency[Caller], clock: NamedDependency[Clock], case_id: CaseId,
              data: JSONBody[Ask]) -> CaseRead:
    return await service.ask_worker(session, _keyring(request), caller, case_id, data,
                                    now=clock.now())


@post("/cases/{case_id:uuid}/follow-up", summary="回访 The follow-up visit; closes the case",
      status_code=200, responses=problems({403: ROLE_403, 404: CASE_404, 409: STEP_409}))
async def follow_up(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                    caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                    settings: NamedDependency[Settings], case_id: CaseId,
                    data: JSONBody[FollowUp]) -> CaseRead:
    return await service.follow_up(session, _keyring(request), caller, case_id, data,
                                   defaults=settings.assistance, now=clock.now())


@get("/budget-lines", summary="经费科目 Budget lines in my subtree: allocated, used, remaining")
async def list_budget_lines(session: NamedDependency[AsyncSession],
                            year: YearFilter = None) -> list[BudgetLineRead]:
    return await budget.budget_lines(session, year)


@post("/budget-lines", opt=UNION_ADMINS,
      summary="新增经费科目 A budget line for a region and year (HQ names the region)",
      responses=problems({409: "assistance_budget_line_exists",
                          422: "assistance_region_required"}))
async def add_budget_line(session: NamedDependency[AsyncSession],
                          caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                          data: JSONBody[BudgetLineCreate]) -> BudgetLineRead:
    return await budget.add_budget_line(session, caller, data, now=clock.now())


@get("/policy", summary="帮扶政策 The federation's yearly cap, clocks and retention")
async def read_policy(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                      settings: NamedDependency[Settings]) -> PolicyRead:
    return await service.read_policy(session, caller, settings.assistance)


@put("/policy", opt=UNION_ADMINS, summary="设置帮扶政策 Set the federation's policy (HQ)",
     responses=problems({403: "assistance_role_not_allowed: HQ only"}))
async def set_policy(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                     clock: NamedDependency[Clock], data: JSONBody[PolicySet]) -> PolicyRead:
    return await service.set_policy(session, caller, data, now=clock.now())


router = Router("/", tags=["assistance 帮扶台账"], route_handlers=[
    Router("/v1/me/assistance", opt=WORKER, security=BEARER, route_handlers=[my_cases, apply]),
    Router("/v1/admin/assistance", opt=STAFF, security=BEARER, route_handlers=[
        list_cases, walk_in, read_case, accept, verify, decide, grant, ask, follow_up,
        list_budget_lines, add_budget_line, read_policy, set_policy]),
])
