from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import AUDIENCE_MOBILE
from flexunion.core.clock import Clock
from flexunion.core.context import Caller, Role
from flexunion.core.errors import NotFound
from flexunion.core.uow import UnitOfWork
from flexunion.membership import service
from flexunion.membership.models import WorkerConsent
from flexunion.membership.schemas import (
    ConsentCreate,
    ConsentRead,
    JoinApplication,
    MembershipRead,
    MeRead,
)
from flexunion.membership.views import membership_read

WORKER = {"audiences": (AUDIENCE_MOBILE,), "roles": {Role.WORKER}}
WRITE = {**WORKER, "idempotent": True}
TAGS = ["me 我的"]
SECURITY = [{"bearer": []}]
IdempotencyKey = Annotated[str, HeaderParameter(name="Idempotency-Key", min_length=1, max_length=255)]


def _read(c: WorkerConsent) -> ConsentRead:
    return ConsentRead(id=c.id, purpose=c.purpose, version=c.version,  # type: ignore[arg-type]
                       granted=c.granted, created_at=c.created_at)


@get("/v1/me", opt=WORKER, tags=TAGS, security=SECURITY, summary="我的账号 My account")
async def get_me(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller]) -> MeRead:
    worker = await service.me(session, caller)
    return MeRead(worker_id=worker.id, phone_masked=worker.phone_masked,
                  federation=caller.tenant_code, registered_at=worker.created_at)


@post("/v1/me/consents", opt=WRITE, tags=TAGS, security=SECURITY,
      summary="记录授权同意 Record a consent (needs Idempotency-Key)")
async def post_consent(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    data: JSONBody[ConsentCreate], idempotency_key: IdempotencyKey,
) -> ConsentRead:
    return _read(await service.record_consent(session, caller, data))


@get("/v1/me/consents", opt=WORKER, tags=TAGS, security=SECURITY,
     summary="我的授权记录 My consents, newest first")
async def list_consents(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller]
) -> list[ConsentRead]:
    return [_read(c) for c in await service.consents(session, caller)]


@post("/v1/me/membership/application", opt=WRITE, tags=TAGS, security=SECURITY,
      summary="线上入会申请 Apply to join (needs Idempotency-Key)")
async def apply_to_join(
    request: Request[Any, Any, Any], uow: NamedDependency[UnitOfWork],
    caller: NamedDependency[Caller], clock: NamedDependency[Clock],
    data: JSONBody[JoinApplication], idempotency_key: IdempotencyKey,
) -> MembershipRead:
    member = await service.apply(uow, request.app.state.keyring, clock, caller, data)
    return await membership_read(uow.session, member, clock.now().date())


@get("/v1/me/membership", opt=WORKER, tags=TAGS, security=SECURITY,
     summary="我的会籍 My membership: status, home, seniority, history")
async def my_membership(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock],
) -> MembershipRead:
    member = await service.own_member(session, caller)
    if member is None:
        raise NotFound("You have no membership yet; apply first.", code="not_a_member")
    return await membership_read(session, member, clock.now().date())


class DirectoryItem(msgspec.Struct):
    code: str
    kind: str
    name_zh: str
    name_en: str
    city: str | None
    parent_code: str | None
    partner_code: str | None


@get("/v1/me/federation/tenants", opt=WORKER, tags=TAGS, security=SECURITY,
     summary="可加入的工会与站点 Regional unions and stations of my federation")
async def federation_directory(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    city: Annotated[str | None, QueryParameter(max_length=40)] = None,
) -> list[DirectoryItem]:
    entries = (await service.directory(session, caller.tenant_id)).values()
    return [
        DirectoryItem(code=e.code, kind=e.kind, name_zh=e.name_zh, name_en=e.name_en,
                      city=e.city, parent_code=e.parent_code, partner_code=e.partner_code)
        for e in sorted(entries, key=lambda e: (e.city or "", e.code))
        if e.kind != "hq" and (city is None or e.city == city)
    ]


ROUTES = [get_me, post_consent, list_consents, apply_to_join, my_membership, federation_directory]
