"""Referral providers' API clients (调解组织 / 法律援助站, migration 0041): what the token
endpoint needs of one (prefetched under `login:client:<client_id>`, then signed as
`provider:<client_id>`), the calling client, and creating, disabling and rotating a client
for a provider the caller (cases/provider_desk, or the operator) has already checked.

A provider's token is for its own audience (`flexunion-provider`) and its database scope
holds no tenant (core/context.py): it reads only what `flexunion_provider()` reaches — the
referrals made to its provider — never a tenant's rows."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.auth.models import ProviderClient
from flexunion.auth.passwords import hash_password_off_loop
from flexunion.auth.providers import repository
from flexunion.auth.tokens import TokenService
from flexunion.core.clock import Clock
from flexunion.core.context import Caller, Role
from flexunion.core.errors import Conflict, NotFound, Unauthenticated
from flexunion.core.uow import UnitOfWork
from flexunion.db.scope import DbScope
from flexunion.federation import directory

CLIENT_PREFIX = "rp"  # client ids read rp-<provider code>-<12 hex>


@dataclass(frozen=True, slots=True)
class Authenticated:
    """The provider client Authlib authenticated, copied off its row."""

    id: uuid.UUID
    client_id: str
    tenant_id: uuid.UUID


async def prefetch(session: AsyncSession, client_id: str) -> ProviderClient | None:
    """The client a token request names, read in the `login:client:<client_id>` scope."""
    return await repository.client_by_client_id(session, client_id)


async def sign(uow: UnitOfWork, tokens: TokenService, clock: Clock,
               client: Authenticated) -> dict[str, Any]:
    """After authentication: stamp the client's use and read its tenant (the provider's
    region, named in the token) still in the login scope — given that tenant for this one
    read, as a partner's sign-in reads its own — then act as the provider, whose database
    scope holds no tenant (core/context.py), and sign its token."""
    await repository.record_use(uow.session, client.id, clock.now())
    await uow.rescope(DbScope(client.tenant_id, f"login:client:{client.client_id}",
                              uow.scope.request_id))
    tenant = await directory.tenant_by_id(uow.session, client.tenant_id)
    await uow.rescope(DbScope(None, f"{Role.PROVIDER.value}:{client.client_id}",
                              uow.scope.request_id))
    token, ttl = await tokens.issue(role=Role.PROVIDER, subject=client.client_id,
                                    tenant_id=tenant.id, tenant_code=tenant.code)
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl}


async def record_token(uow: UnitOfWork, client: Authenticated, method: str) -> None:
    await audit.record(uow.session, "auth.provider_token", tenant_id=client.tenant_id,
                       object_type="referral_provider_client", object_id=client.id,
                       payload={"client_id": client.client_id, "method": method})


def client_not_found() -> NotFound:
    return NotFound("没有这个机构客户端。", "This provider client is not known.",
                    code="provider_client_not_found")


def _disabled(client: ProviderClient) -> Conflict:
    return Conflict("该机构客户端已停用。", "This provider client is disabled.",
                    code="client_disabled", extra={"client_id": client.client_id})


async def calling_client(session: AsyncSession, caller: Caller) -> ProviderClient:
    """The calling provider's client: 401 `client_disabled` once it is disabled (a token
    issued before stays refused), 404 `provider_client_not_found` if it is gone."""
    client = await repository.client_by_client_id(session, caller.subject)
    if client is None:
        raise client_not_found()
    if client.disabled:
        raise Unauthenticated("该机构客户端已停用。", "This provider client is disabled.",
                              code="client_disabled")
    return client


# ---- HQ and regional admins (cases/provider_desk checks the provider), or the operator --


async def create_client(session: AsyncSession, *, federation_id: uuid.UUID,
                        tenant_id: uuid.UUID, provider_id: uuid.UUID, provider_code: str,
                        name: str, created_by: str) -> tuple[ProviderClient, str]:
    """A new client of the provider, anchored in the provider's region (`tenant_id`);
    (client, secret) — the secret shown this once and stored only hashed."""
    secret = secrets.token_urlsafe(32)
    client = ProviderClient(
        id=uuid.uuid4(), federation_id=federation_id, tenant_id=tenant_id,
        provider_id=provider_id,
        client_id=f"{CLIENT_PREFIX}-{provider_code}-{secrets.token_hex(6)}",
        secret_hash=await hash_password_off_loop(secret), name=name.strip(), disabled=False,
        created_by=created_by)
    repository.add(session, client)
    await repository.flush(session)
    await audit.record(session, "provider_client.created", tenant_id=tenant_id,
                       object_type="referral_provider_client", object_id=client.id,
                       payload={"client_id": client.client_id, "provider": provider_code})
    return client, secret


async def by_client_id(session: AsyncSession, client_id: str) -> ProviderClient | None:
    return await repository.client_by_client_id(session, client_id)


async def clients(session: AsyncSession, provider_id: uuid.UUID) -> list[ProviderClient]:
    return list(await repository.clients_of(session, provider_id))


async def access_client(session: AsyncSession, provider_id: uuid.UUID, row_id: uuid.UUID, *,
                        lock: bool = False) -> ProviderClient:
    """A client of this provider that the caller sees; not there and not ours: one 404."""
    client = await repository.client_of(session, provider_id, row_id, lock=lock)
    if client is None:
        raise client_not_found()
    return client


async def disable_client(session: AsyncSession, provider_id: uuid.UUID,
                         row_id: uuid.UUID) -> ProviderClient:
    """停用: no new token; a token issued before is refused (401 `client_disabled`) and
    reaches no row (`flexunion_provider()` skips a disabled client). 409 `client_disabled`
    the second time."""
    client = await access_client(session, provider_id, row_id, lock=True)
    if client.disabled:
        raise _disabled(client)
    client.disabled = True
    await repository.flush(session)
    await audit.record(session, "provider_client.disabled", tenant_id=client.tenant_id,
                       object_type="referral_provider_client", object_id=client.id,
                       payload={"client_id": client.client_id})
    return client


async def rotate_secret(session: AsyncSession, provider_id: uuid.UUID,
                        row_id: uuid.UUID) -> tuple[ProviderClient, str]:
    """更换密钥: a new secret, shown this once; the old one stops working at once.
    409 `client_disabled` for a disabled client."""
    client = await access_client(session, provider_id, row_id, lock=True)
    if client.disabled:
        raise _disabled(client)
    secret = secrets.token_urlsafe(32)
    client.secret_hash = await hash_password_off_loop(secret)
    await repository.flush(session)
    await audit.record(session, "provider_client.secret_rotated", tenant_id=client.tenant_id,
                       object_type="referral_provider_client", object_id=client.id,
                       payload={"client_id": client.client_id})
    return client, secret
