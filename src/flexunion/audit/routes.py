"""The audit trail of the caller's subtree, for union admins."""

from __future__ import annotations

from litestar import Router, get
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service
from flexunion.audit.schemas import AuditEventRead, event_read
from flexunion.core.errors import InvalidInput
from flexunion.core.http import BEARER, PAGING, UNION_ADMINS, Paging, problems
from flexunion.core.pagination import Page, decode_cursor, page_of


@get("/", dependencies=PAGING, summary="审计日志 Audit trail of my subtree, newest first",
     responses=problems({422: "cursor_invalid"}))
async def list_audit(
    session: NamedDependency[AsyncSession], paging: NamedDependency[Paging],
) -> Page[AuditEventRead]:
    after = decode_cursor(paging.cursor, 1)
    try:
        before = int(after[0]) if after else None
    except ValueError as exc:
        raise InvalidInput("翻页游标无效，请从第一页重新开始。",
                           "The cursor is not one this API issued.", code="cursor_invalid") from exc
    rows = await service.page(session, before_seq=before, limit=paging.size + 1)
    return page_of(rows, paging.size, event_read, lambda r: (r.seq,))


router = Router("/v1/admin/audit", opt=UNION_ADMINS, tags=["audit 审计"], security=BEARER,
                route_handlers=[list_audit])
