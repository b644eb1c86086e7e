from __future__ import annotations

from typing import Annotated

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import AUDIENCE_MOBILE
from flexunion.core.context import Caller, Role
from flexunion.membership import service
from flexunion.membership.models import WorkerConsent
from flexunion.membership.schemas import ConsentCreate, ConsentRead, MeRead

WORKER = {"audiences": (AUDIENCE_MOBILE,), "roles": {Role.WORKER}}
WRITE = {**WORKER, "idempotent": True}
TAGS = ["me 我的"]
SECURITY = [{"bearer": []}]


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
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller], data: JSONBody[ConsentCreate],
    idempotency_key: Annotated[str, HeaderParameter(name="Idempotency-Key", min_length=1,
                                              max_length=255)],
) -> ConsentRead:
    return _read(await service.record_consent(session, caller, data))


@get("/v1/me/consents", opt=WORKER, tags=TAGS, security=SECURITY,
     summary="我的授权记录 My consents, newest first")
async def list_consents(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller]) -> list[ConsentRead]:
    return [_read(c) for c in await service.consents(session, caller)]


ROUTES = [get_me, post_consent, list_consents]
