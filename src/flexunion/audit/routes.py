from __future__ import annotations

from typing import Annotated

from litestar import Router, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import repository
from flexunion.audit.schemas import AuditEventRead
from flexunion.config import AUDIENCE_ADMIN, Settings
from flexunion.core.context import Role
from flexunion.core.errors import InvalidInput
from flexunion.core.pagination import Page, clamp, decode_cursor, encode_cursor


@get("/v1/admin/audit", opt={"audiences": (AUDIENCE_ADMIN,),
                             "roles": {Role.HQ_ADMIN, Role.REGIONAL_ADMIN}},
     tags=["audit 审计"], security=[{"bearer": []}],
     summary="审计日志 Audit trail of my subtree, newest first")
async def list_audit(
    session: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
    cursor: Annotated[str | None, QueryParameter(max_length=512)] = None,
    limit: Annotated[int | None, QueryParameter()] = None,
) -> Page[AuditEventRead]:
    size = clamp(limit, settings.api.page_size_default, settings.api.page_size_max)
    after = decode_cursor(cursor, 1)
    try:
        before = int(after[0]) if after else None
    except ValueError as exc:
        raise InvalidInput("The cursor is not one this API issued.", code="cursor_invalid") from exc
    rows = await repository.page(session, before_seq=before, limit=size + 1)
    items = [
        AuditEventRead(
            seq=r.seq, occurred_at=r.occurred_at, tenant_id=r.tenant_id, actor=r.actor,
            action=r.action, object_type=r.object_type, object_id=r.object_id,
            payload=r.payload, hash=r.hash,
        )
        for r in rows[:size]
    ]
    return Page(items=items, next_cursor=encode_cursor(items[-1].seq) if len(rows) > size else None)


router = Router("/", route_handlers=[list_audit])
