"""Staff of either side: the incoming and outgoing queues, release, reject, accept."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import AUDIENCE_ADMIN, Settings
from flexunion.core.clock import Clock
from flexunion.core.context import ADMIN_ROLES
from flexunion.core.pagination import Page, clamp, decode_time_cursor, encode_cursor
from flexunion.transfers import service
from flexunion.transfers.models import Transfer
from flexunion.transfers.schemas import TransferAdminRead, TransferRejection, TransferStatus
from flexunion.transfers.views import admin_read

STAFF = {"audiences": (AUDIENCE_ADMIN,), "roles": ADMIN_ROLES}
TAGS = ["transfers 接转"]
SECURITY = [{"bearer": []}]
TransferId = Annotated[uuid.UUID, PathParameter()]


async def _read(session: AsyncSession, transfer: Transfer) -> TransferAdminRead:
    return admin_read(transfer, await service.tenants_by_id(session, transfer.federation_id))


@get("/v1/admin/transfers", opt=STAFF, tags=TAGS, security=SECURITY,
     summary="接转队列 Incoming and outgoing transfers of my subtree (oldest first)")
async def list_transfers(
    session: NamedDependency[AsyncSession], settings: NamedDependency[Settings],
    direction: Annotated[Literal["incoming", "outgoing"] | None, QueryParameter(
        description="incoming 转入 (destination in my subtree), outgoing 转出 (origin in my "
                    "subtree); both when omitted")] = None,
    status: Annotated[TransferStatus | None, QueryParameter()] = None,
    cursor: Annotated[str | None, QueryParameter(max_length=512)] = None,
    limit: Annotated[int | None, QueryParameter()] = None,
) -> Page[TransferAdminRead]:
    size = clamp(limit, settings.api.page_size_default, settings.api.page_size_max)
    rows = await service.queue(session, direction=direction, status=status,
                               after=decode_time_cursor(cursor), limit=size + 1)
    if not rows:
        return Page(items=[])
    by_id = await service.tenants_by_id(session, rows[0].federation_id)
    items = [admin_read(t, by_id) for t in rows[:size]]
    last = rows[size - 1] if len(rows) > size else None
    return Page(items=items, next_cursor=encode_cursor(last.requested_at.isoformat(), last.id)
                if last else None)


@get("/v1/admin/transfers/{transfer_id:uuid}", opt=STAFF, tags=TAGS, security=SECURITY,
     summary="接转详情 One transfer (404 unless my subtree is its origin or destination)")
async def get_transfer(session: NamedDependency[AsyncSession],
                       transfer_id: TransferId) -> TransferAdminRead:
    return await _read(session, await service.access_transfer(session, transfer_id))


@post("/v1/admin/transfers/{transfer_id:uuid}/release", opt=STAFF, tags=TAGS, security=SECURITY,
      status_code=200, summary="转出方同意 Release the member (origin side)")
async def release(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                  transfer_id: TransferId) -> TransferAdminRead:
    return await _read(session, await service.release(session, transfer_id, now=clock.now()))


@post("/v1/admin/transfers/{transfer_id:uuid}/reject", opt=STAFF, tags=TAGS, security=SECURITY,
      status_code=200, summary="驳回接转 Reject a transfer, with a reason (either side)")
async def reject(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                 transfer_id: TransferId, data: JSONBody[TransferRejection]) -> TransferAdminRead:
    return await _read(session, await service.reject(session, transfer_id, reason=data.reason,
                                                     now=clock.now()))


@post("/v1/admin/transfers/{transfer_id:uuid}/accept", opt=STAFF, tags=TAGS, security=SECURITY,
      status_code=200,
      summary="转入方接收 Accept a released transfer: the home moves now (destination side)")
async def accept(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                 transfer_id: TransferId) -> TransferAdminRead:
    return await _read(session, await service.accept(session, transfer_id, now=clock.now()))


ROUTES = [list_transfers, get_transfer, release, reject, accept]
