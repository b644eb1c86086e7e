"""异地关系接转 over HTTP: the worker asks, follows and withdraws; staff of either side see
their incoming and outgoing queues and release, reject or accept."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import Router, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import (
    BEARER,
    IDEMPOTENT,
    PAGING,
    STAFF,
    WORKER,
    IdempotencyKey,
    Paging,
    problems,
)
from flexunion.core.pagination import Page, decode_time_cursor, page_of, time_key
from flexunion.transfers import service
from flexunion.transfers.models import Transfer
from flexunion.transfers.schemas import (
    TransferAdminRead,
    TransferCancel,
    TransferCreate,
    TransferRead,
    TransferRejection,
    TransferStatus,
    admin_read,
    transfer_read,
)

TransferId = Annotated[uuid.UUID, PathParameter()]


# ---- the worker ------------------------------------------------------------------------------


async def _mine(session: AsyncSession, caller: Caller, transfer: Transfer) -> TransferRead:
    return transfer_read(transfer, await service.tenants_by_id(session, caller.tenant_id))


@post("/", opt=IDEMPOTENT,
      summary="申请异地关系接转 Ask to move my membership to a union or station in another "
              "region (needs Idempotency-Key)",
      responses=problems({
          404: "not_a_member",
          409: "member_not_transferable, transfer_already_open",
          422: "transfer_target_invalid, transfer_same_region"}))
async def request_transfer(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], settings: NamedDependency[Settings],
    data: JSONBody[TransferCreate], idempotency_key: IdempotencyKey,
) -> TransferRead:
    transfer = await service.request(session, caller, to=data.to, reason=data.reason,
                                     now=clock.now(),
                                     release_days=settings.transfers.release_working_days)
    return await _mine(session, caller, transfer)


@get("/", summary="我的接转记录 My transfers, newest first")
async def my_transfers(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller]
) -> list[TransferRead]:
    rows = await service.mine(session, caller)
    if not rows:
        return []
    by_id = await service.tenants_by_id(session, caller.tenant_id)
    return [transfer_read(t, by_id) for t in rows]


@get("/{transfer_id:uuid}", summary="接转详情 One of my transfers",
     responses=problems({404: "transfer_not_found"}))
async def my_transfer(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    transfer_id: TransferId,
) -> TransferRead:
    return await _mine(session, caller, await service.own_transfer(session, caller, transfer_id))


@post("/{transfer_id:uuid}/cancel", opt=IDEMPOTENT, status_code=200,
      summary="撤回接转申请 Withdraw my transfer before it completes (needs Idempotency-Key)",
      responses=problems({404: "transfer_not_found", 409: "invalid_transfer_state"}))
async def cancel_transfer(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], transfer_id: TransferId, idempotency_key: IdempotencyKey,
    data: JSONBody[TransferCancel | None] = None,
) -> TransferRead:
    transfer = await service.cancel(session, caller, transfer_id,
                                    reason=data.reason if data else None, now=clock.now())
    return await _mine(session, caller, transfer)


# ---- staff of either side --------------------------------------------------------------------


async def _staff(session: AsyncSession, transfer: Transfer) -> TransferAdminRead:
    return admin_read(transfer, await service.tenants_by_id(session, transfer.federation_id))


@get("/", dependencies=PAGING,
     summary="接转队列 Incoming and outgoing transfers of my subtree (oldest first)",
     responses=problems({422: "cursor_invalid"}))
async def list_transfers(
    session: NamedDependency[AsyncSession], paging: NamedDependency[Paging],
    direction: Annotated[Literal["incoming", "outgoing"] | None, QueryParameter(
        description="incoming 转入 (destination in my subtree), outgoing 转出 (origin in my "
                    "subtree); both when omitted")] = None,
    status: Annotated[TransferStatus | None, QueryParameter()] = None,
) -> Page[TransferAdminRead]:
    rows = await service.queue(session, direction=direction, status=status,
                               after=decode_time_cursor(paging.cursor), limit=paging.size + 1)
    if not rows:
        return Page(items=[])
    by_id = await service.tenants_by_id(session, rows[0].federation_id)
    return page_of(rows, paging.size, lambda t: admin_read(t, by_id),
                   lambda t: time_key(t.requested_at, t.id))


@get("/{transfer_id:uuid}",
     summary="接转详情 One transfer (404 unless my subtree is its origin or destination)",
     responses=problems({
         404: "transfer_not_found (also a transfer neither side of which is mine)"}))
async def get_transfer(session: NamedDependency[AsyncSession],
                       transfer_id: TransferId) -> TransferAdminRead:
    return await _staff(session, await service.access_transfer(session, transfer_id))


@post("/{transfer_id:uuid}/release", status_code=200,
      summary="转出方同意 Release the member (origin side)",
      responses=problems({
          403: "transfer_wrong_side: only the origin releases",
          404: "transfer_not_found",
          409: "invalid_transfer_state"}))
async def release(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                  transfer_id: TransferId) -> TransferAdminRead:
    return await _staff(session, await service.release(session, transfer_id, now=clock.now()))


@post("/{transfer_id:uuid}/reject", status_code=200,
      summary="驳回接转 Reject a transfer, with a reason (either side)",
      responses=problems({404: "transfer_not_found", 409: "invalid_transfer_state"}))
async def reject(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                 transfer_id: TransferId, data: JSONBody[TransferRejection]) -> TransferAdminRead:
    return await _staff(session, await service.reject(session, transfer_id, reason=data.reason,
                                                      now=clock.now()))


@post("/{transfer_id:uuid}/accept", status_code=200,
      summary="转入方接收 Accept a released transfer: the home moves now (destination side)",
      responses=problems({
          403: "transfer_wrong_side: only the destination accepts",
          404: "transfer_not_found",
          409: "invalid_transfer_state, member_not_transferable"}))
async def accept(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                 transfer_id: TransferId) -> TransferAdminRead:
    return await _staff(session, await service.accept(session, transfer_id, now=clock.now()))


router = Router("/", tags=["transfers 接转"], security=BEARER, route_handlers=[
    Router("/v1/me/transfers", opt=WORKER, tags=["me 我的"],
           route_handlers=[request_transfer, my_transfers, my_transfer, cancel_transfer]),
    Router("/v1/admin/transfers", opt=STAFF,
           route_handlers=[list_transfers, get_transfer, release, reject, accept]),
])
