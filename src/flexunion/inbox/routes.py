"""收件箱 over HTTP: /v1/me/notifications (the worker's own; codes in docs/cases.md)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Router, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import BEARER, IDEMPOTENT, PAGING, WORKER, IdempotencyKey, Paging, problems
from flexunion.core.pagination import Page, decode_time_cursor, page_of, time_key
from flexunion.inbox import service
from flexunion.inbox.schemas import MarkedRead, NotificationRead

NotificationId = Annotated[uuid.UUID, PathParameter()]


@get("/", dependencies=PAGING,
     summary="我的通知 My inbox: status changes of my cases, newest first",
     responses=problems({422: "cursor_invalid"}))
async def my_notifications(session: NamedDependency[AsyncSession],
                           caller: NamedDependency[Caller], paging: NamedDependency[Paging],
                           unread: Annotated[bool, QueryParameter()] = False,
                           ) -> Page[NotificationRead]:
    rows = await service.mine(session, caller, unread=unread,
                              after=decode_time_cursor(paging.cursor), limit=paging.size + 1)
    return page_of(rows, paging.size, service.notification_read,
                   lambda n: time_key(n.created_at, n.id))


@post("/{notification_id:uuid}/read", status_code=200, opt=IDEMPOTENT,
      summary="标为已读 Mark one notification read (Idempotency-Key)",
      responses=problems({404: "notification_not_found"}))
async def mark_read(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                    clock: NamedDependency[Clock], notification_id: NotificationId,
                    idempotency_key: IdempotencyKey) -> NotificationRead:
    note = await service.mark_read(session, caller, notification_id, now=clock.now())
    return service.notification_read(note)


@post("/read-all", status_code=200, opt=IDEMPOTENT,
      summary="全部已读 Mark all my notifications read (Idempotency-Key)")
async def mark_all_read(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                        clock: NamedDependency[Clock],
                        idempotency_key: IdempotencyKey) -> MarkedRead:
    return MarkedRead(marked=await service.mark_all_read(session, caller, now=clock.now()))


router = Router("/v1/me/notifications", opt=WORKER, tags=["me 我的"], security=BEARER,
                route_handlers=[my_notifications, mark_read, mark_all_read])
