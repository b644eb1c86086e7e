"""政策库 and the hotline platforms over HTTP (HQ)."""

from __future__ import annotations

from typing import Annotated

from litestar import Router, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.ledger.http import CASE_STAFF
from flexunion.cases.policies import service as library
from flexunion.cases.policies.schemas import (
    IntakePartnerCreate,
    PolicyCreate,
    PolicyRead,
    PolicyUpdate,
    policy_read,
)
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import BEARER, problems

PolicyCode = Annotated[str, PathParameter(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


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


router = Router("/", route_handlers=[
    Router("/v1/cases", opt=CASE_STAFF, security=BEARER,
           route_handlers=[list_policies, create_policy, update_policy, add_hotline_platform]),
])
