"""The worker's side of 异地关系接转: ask, follow, withdraw."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, JSONBody, PathParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import AUDIENCE_MOBILE, Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller, Role
from flexunion.transfers import service
from flexunion.transfers.models import Transfer
from flexunion.transfers.schemas import TransferCancel, TransferCreate, TransferRead
from flexunion.transfers.views import transfer_read

WORKER = {"audiences": (AUDIENCE_MOBILE,), "roles": {Role.WORKER}}
WRITE = {**WORKER, "idempotent": True}
TAGS = ["me 我的", "transfers 接转"]
SECURITY = [{"bearer": []}]
IdempotencyKey = Annotated[str, HeaderParameter(name="Idempotency-Key", min_length=1,
                                                max_length=255)]
TransferId = Annotated[uuid.UUID, PathParameter()]


async def _read(session: AsyncSession, caller: Caller, transfer: Transfer) -> TransferRead:
    return transfer_read(transfer, await service.tenants_by_id(session, caller.tenant_id))


@post("/v1/me/transfers", opt=WRITE, tags=TAGS, security=SECURITY,
      summary="申请异地关系接转 Ask to move my membership to a union or station in another "
              "region (needs Idempotency-Key)")
async def request_transfer(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], settings: NamedDependency[Settings],
    data: JSONBody[TransferCreate], idempotency_key: IdempotencyKey,
) -> TransferRead:
    transfer = await service.request(session, caller, to=data.to, reason=data.reason,
                                     now=clock.now(),
                                     release_days=settings.transfers.release_working_days)
    return await _read(session, caller, transfer)


@get("/v1/me/transfers", opt=WORKER, tags=TAGS, security=SECURITY,
     summary="我的接转记录 My transfers, newest first")
async def my_transfers(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller]
) -> list[TransferRead]:
    rows = await service.mine(session, caller)
    if not rows:
        return []
    by_id = await service.tenants_by_id(session, caller.tenant_id)
    return [transfer_read(t, by_id) for t in rows]


@get("/v1/me/transfers/{transfer_id:uuid}", opt=WORKER, tags=TAGS, security=SECURITY,
     summary="接转详情 One of my transfers")
async def my_transfer(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    transfer_id: TransferId,
) -> TransferRead:
    return await _read(session, caller, await service.own_transfer(session, caller, transfer_id))


@post("/v1/me/transfers/{transfer_id:uuid}/cancel", opt=WRITE, tags=TAGS, security=SECURITY,
      status_code=200,
      summary="撤回接转申请 Withdraw my transfer before it completes (needs Idempotency-Key)")
async def cancel_transfer(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], transfer_id: TransferId, idempotency_key: IdempotencyKey,
    data: JSONBody[TransferCancel | None] = None,
) -> TransferRead:
    transfer = await service.cancel(session, caller, transfer_id,
                                    reason=data.reason if data else None, now=clock.now())
    return await _read(session, caller, transfer)


ROUTES = [request_transfer, my_transfers, my_transfer, cancel_transfer]
