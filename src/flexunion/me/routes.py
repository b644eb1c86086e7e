"""我的: the worker's account, joining (线上入会) and the membership it leads to."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.auth.workers import service as auth
from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import BEARER, IDEMPOTENT, WORKER, IdempotencyKey, problems
from flexunion.core.uow import UnitOfWork
from flexunion.me.schemas import MembershipRead, MeRead
from flexunion.me.service import membership_read
from flexunion.membership import service as membership
from flexunion.membership.schemas import JoinApplication


@get("/", summary="我的账号 My account",
     responses=problems({404: "worker_not_found"}))
async def get_me(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller]) -> MeRead:
    worker = await auth.worker_account(session, caller)
    return MeRead(worker_id=worker.id, phone_masked=worker.phone_masked,
                  federation=caller.tenant_code, registered_at=worker.created_at)


@post("/membership/application", opt=IDEMPOTENT,
      summary="线上入会申请 Apply to join (needs the join consents and an Idempotency-Key)",
      description="Needs the current `privacy_policy` and `id_number` consents "
                  "(GET /v1/consents/required; else 403 `consent_required`).",
      responses=problems({
          403: "consent_required: a join consent is missing or outdated (`required` lists them)",
          409: "already_applied, application_not_possible",
          422: "id_number_invalid, join_target_invalid, unknown_partner"}))
async def apply_to_join(
    request: Request[Any, Any, Any], uow: NamedDependency[UnitOfWork],
    caller: NamedDependency[Caller], clock: NamedDependency[Clock],
    settings: NamedDependency[Settings], data: JSONBody[JoinApplication],
    idempotency_key: IdempotencyKey,
) -> MembershipRead:
    member = await membership.apply(uow, request.app.state.keyring, clock, settings, caller, data)
    return await membership_read(uow.session, member, clock.now().date())


@get("/membership", summary="我的会籍 My membership: status, home, seniority, history",
     responses=problems({404: "not_a_member"}))
async def my_membership(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock],
) -> MembershipRead:
    member = await membership.own_member(session, caller)
    if member is None:
        raise membership.not_a_member()
    return await membership_read(session, member, clock.now().date())


router = Router("/v1/me", opt=WORKER, tags=["me 我的"], security=BEARER,
                route_handlers=[get_me, apply_to_join, my_membership])
