"""机构端 over HTTP: HQ and regional admins manage a provider's machine clients
(/v1/cases/referral-providers/{code}/clients); the provider, with its own token, reads the
referrals made to it and records its receipts (/v1/provider). Codes: docs/referrals.md."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Router, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.ledger.http import CASE_STAFF
from flexunion.cases.provider_desk import service
from flexunion.cases.provider_desk.schemas import (
    ProviderClientCreate,
    ProviderClientRead,
    ProviderClientSecret,
    ProviderProfile,
    ProviderReferralRead,
    ReceiptCreate,
    client_read,
)
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import (
    BEARER,
    IDEMPOTENT,
    PAGING,
    PROVIDER,
    IdempotencyKey,
    Paging,
    problems,
)
from flexunion.core.pagination import Page, decode_time_cursor, encode_cursor

ProviderCode = Annotated[str, PathParameter(max_length=64,
                                            pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
ClientUuid = Annotated[uuid.UUID, PathParameter()]
ReferralId = Annotated[uuid.UUID, PathParameter()]
ADMIN_403 = "providers_admin_only, provider_outside_subtree"
CLIENT_401 = "client_disabled: the client was disabled after its token was issued"
REFERRAL_404 = "referral_not_found (also a referral made to another provider)"


# ---- HQ and regional admins ----------------------------------------------------------------


@get("/{code:str}/clients", summary="机构客户端 A provider's machine clients",
     responses=problems({403: ADMIN_403, 404: "provider_not_found"}))
async def list_clients(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                       code: ProviderCode) -> list[ProviderClientRead]:
    rows = await service.list_clients(session, caller, code)
    return [client_read(r, code) for r in rows]


@post("/{code:str}/clients",
      summary="新建机构客户端 A machine client for a provider of my subtree (the secret is "
              "shown this once)",
      responses=problems({403: ADMIN_403, 404: "provider_not_found"}))
async def create_client(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                        code: ProviderCode,
                        data: JSONBody[ProviderClientCreate]) -> ProviderClientSecret:
    row, secret = await service.create_client(session, caller, code, data.name)
    return ProviderClientSecret(client=client_read(row, code), client_secret=secret)


@post("/{code:str}/clients/{client_uuid:uuid}/rotate", status_code=200,
      summary="更换密钥 A new secret for the client (shown this once; the old one stops "
              "working at once)",
      responses=problems({403: ADMIN_403,
                          404: "provider_not_found, provider_client_not_found",
                          409: "client_disabled"}))
async def rotate_client(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                        code: ProviderCode, client_uuid: ClientUuid) -> ProviderClientSecret:
    row, secret = await service.rotate_secret(session, caller, code, client_uuid)
    return ProviderClientSecret(client=client_read(row, code), client_secret=secret)


@post("/{code:str}/clients/{client_uuid:uuid}/disable", status_code=200,
      summary="停用机构客户端 Disable the client: no new token, issued ones refused",
      responses=problems({403: ADMIN_403,
                          404: "provider_not_found, provider_client_not_found",
                          409: "client_disabled"}))
async def disable_client(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                         code: ProviderCode, client_uuid: ClientUuid) -> ProviderClientRead:
    row = await service.disable_client(session, caller, code, client_uuid)
    return client_read(row, code)


# ---- the provider --------------------------------------------------------------------------


@get("/me", summary="当前机构客户端 The calling provider client and its provider",
     responses=problems({401: CLIENT_401, 404: "provider_client_not_found"}))
async def provider_me(session: NamedDependency[AsyncSession],
                      caller: NamedDependency[Caller]) -> ProviderProfile:
    return await service.profile(session, caller)


@get("/referrals", dependencies=PAGING,
     summary="转介给本机构的记录 The referrals made to my provider, newest first",
     responses=problems({401: CLIENT_401, 404: "provider_client_not_found",
                         422: "cursor_invalid"}))
async def my_referrals(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                       paging: NamedDependency[Paging]) -> Page[ProviderReferralRead]:
    rows, reads = await service.referral_page(
        session, caller, after=decode_time_cursor(paging.cursor), limit=paging.size + 1)
    more = len(rows) > paging.size
    last = rows[paging.size - 1] if more else None
    return Page(items=reads, next_cursor=encode_cursor(last.created_at.isoformat(), last.id)
                if last is not None else None)


@get("/referrals/{referral_id:uuid}",
     summary="转介详情 One referral made to my provider: the slot or hand-over, the case "
             "number and kind, my receipts",
     responses=problems({401: CLIENT_401, 404: REFERRAL_404 + ", provider_client_not_found"}))
async def my_referral(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                      referral_id: ReferralId) -> ProviderReferralRead:
    return await service.referral(session, caller, referral_id)


@post("/referrals/{referral_id:uuid}/receipt", opt=IDEMPOTENT,
      summary="记录回执 Record my receipt: received / accepted / declined (reason) / closed "
              "(outcome); Idempotency-Key",
      responses=problems({401: CLIENT_401, 404: REFERRAL_404 + ", provider_client_not_found",
                          409: "referral_cancelled, receipt_step_not_allowed, receipt_conflict",
                          422: "receipt_reason_required, receipt_outcome_required, "
                               "receipt_field_not_allowed"}))
async def record_receipt(session: NamedDependency[AsyncSession],
                         caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                         referral_id: ReferralId, idempotency_key: IdempotencyKey,
                         data: JSONBody[ReceiptCreate]) -> ProviderReferralRead:
    return await service.record_receipt(session, caller, referral_id, data, now=clock.now())


router = Router("/", tags=["referrals 调解与法律援助"], security=BEARER, route_handlers=[
    Router("/v1/cases/referral-providers", opt=CASE_STAFF,
           route_handlers=[list_clients, create_client, rotate_client, disable_client]),
    Router("/v1/provider", opt=PROVIDER,
           route_handlers=[provider_me, my_referrals, my_referral, record_receipt]),
])
