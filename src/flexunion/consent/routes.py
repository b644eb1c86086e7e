"""The worker's consents, and what joining asks for (public: the app shows it before login)."""

from __future__ import annotations

from litestar import Router, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import Settings
from flexunion.consent import service
from flexunion.consent.models import WorkerConsent
from flexunion.consent.schemas import ConsentCreate, ConsentRead, ConsentsRequired
from flexunion.core.context import Caller
from flexunion.core.http import BEARER, IDEMPOTENT, WORKER, IdempotencyKey


def _read(c: WorkerConsent) -> ConsentRead:
    return ConsentRead(id=c.id, purpose=c.purpose, version=c.version,
                       granted=c.granted, created_at=c.created_at)


@post("/consents", opt=IDEMPOTENT,
      summary="记录授权同意 Record a consent (needs Idempotency-Key)")
async def post_consent(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    data: JSONBody[ConsentCreate], idempotency_key: IdempotencyKey,
) -> ConsentRead:
    return _read(await service.record(session, caller, data))


@get("/consents", summary="我的授权记录 My consents, newest first")
async def list_consents(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller]
) -> list[ConsentRead]:
    return [_read(c) for c in await service.of_caller(session, caller)]


@get("/v1/consents/required", tags=["me 我的"],
     summary="入会所需授权 The consents (and versions) joining needs")
async def required(settings: NamedDependency[Settings]) -> ConsentsRequired:
    return ConsentsRequired(join=service.required_for_join(settings))


router = Router("/", route_handlers=[
    Router("/v1/me", opt=WORKER, tags=["me 我的"], security=BEARER,
           route_handlers=[post_consent, list_consents]),
    required,
])
