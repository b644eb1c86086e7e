"""Platform partners' API clients: the OAuth2 token endpoint (which also serves referral
providers' clients, auth/providers), the client's profile, which
partner a client acts for, creating a client (the operator, as the owner; HQ staff in the
console, as the app role), and disabling a client or rotating its secret (HQ staff).

Authlib's `AuthorizationServer` is synchronous; our database and signing keys are async.
So the token endpoint works in four steps:

1. read the form and the Basic header, and name the one client the request claims;
2. narrow the unit of work to that client (`login:client:<client_id>`: row-level
   security then shows this one row and nothing else) and prefetch it;
3. run Authlib in a worker thread, where `query_client` returns the prefetched
   client and the argon2 check of the secret does not hold up the event loop;
4. once Authlib has authenticated the client, its token generator hops back onto
   the event loop to read the client's tenant and sign our JWT (`TokenService`).

An unknown client_id and a wrong secret give the same `invalid_client` answer
after the same work: an unknown id is checked against a dummy argon2 hash, and a
disabled client is refused only after its secret was checked, like a wrong one."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import anyio.from_thread
import anyio.to_thread
from authlib.oauth2.rfc6749.errors import OAuth2Error
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.auth.models import PartnerClient
from flexunion.auth.operators import AccountError, anchor_for
from flexunion.auth.partners import oauth, repository
from flexunion.auth.partners.oauth import PartnerOAuthClient, TokenAnswer
from flexunion.auth.partners.schemas import PartnerProfile
from flexunion.auth.passwords import hash_password, hash_password_off_loop
from flexunion.auth.providers import service as providers
from flexunion.auth.tokens import TokenService
from flexunion.core.clock import Clock
from flexunion.core.context import Caller, Role
from flexunion.core.errors import Conflict, NotFound, Unauthenticated
from flexunion.core.uow import UnitOfWork
from flexunion.db.scope import DbScope
from flexunion.federation import directory


async def _prefetch(uow: UnitOfWork, client_id: str) -> PartnerOAuthClient | None:
    """The client the request names: a partner's, else a referral provider's (0041)."""
    await uow.rescope(DbScope(None, f"login:client:{client_id}", uow.scope.request_id))
    row = await repository.client_by_client_id(uow.session, client_id)
    if row is not None:
        return PartnerOAuthClient.of(row)
    provider = await providers.prefetch(uow.session, client_id)
    return PartnerOAuthClient.of_provider(provider) if provider is not None else None


def _provider(client: PartnerOAuthClient) -> providers.Authenticated:
    assert client.id is not None and client.tenant_id is not None  # a prefetched client
    return providers.Authenticated(id=client.id, client_id=client.client_id,
                                   tenant_id=client.tenant_id)


async def _sign(
    uow: UnitOfWork, tokens: TokenService, clock: Clock, client: PartnerOAuthClient
) -> dict[str, Any]:
    """After authentication: act as the partner, in its tenant, and sign its token (a
    provider's client: as the provider, auth/providers)."""
    if client.kind == "provider":
        return await providers.sign(uow, tokens, clock, _provider(client))
    assert client.tenant_id is not None  # a prefetched client (only those authenticate)
    await uow.rescope(DbScope(client.tenant_id, f"{Role.PARTNER.value}:{client.client_id}",
                              uow.scope.request_id))
    tenant = await directory.tenant_by_id(uow.session, client.tenant_id)
    token, ttl = await tokens.issue(role=Role.PARTNER, subject=client.client_id,
                                    tenant_id=tenant.id, tenant_code=tenant.code)
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl}


async def _record_use(
    uow: UnitOfWork, clock: Clock, client: PartnerOAuthClient, method: str
) -> None:
    if client.kind == "provider":  # its use was stamped before it was signed
        await providers.record_token(uow, _provider(client), method)
        return
    assert client.id is not None  # the client Authlib authenticated: a prefetched one
    await repository.record_use(uow.session, client.id, clock.now())
    await audit.record(uow.session, "auth.partner_token", tenant_id=client.tenant_id,
                       object_type="partner_client", object_id=client.id,
                       payload={"client_id": client.client_id, "method": method})


async def token_endpoint(
    uow: UnitOfWork, tokens: TokenService, clock: Clock, *,
    uri: str, headers: Mapping[str, str], content_type: str, body: bytes,
) -> TokenAnswer:
    """Answer one token request: (status, RFC 6749 JSON body, headers). An error body
    carries `code`, equal to `error`, like every flexunion error."""
    try:
        form = oauth.parse_token_form(content_type, body)
        client_id = oauth.requested_client_id(headers, form)
    except OAuth2Error as error:
        status, answer, answer_headers = error()
    else:
        status, answer, answer_headers = await _run_server(uow, tokens, clock, uri=uri,
                                                           headers=headers, form=form,
                                                           client_id=client_id)
    if "error" in answer:
        answer["code"] = answer["error"]
    return status, answer, answer_headers


async def _run_server(
    uow: UnitOfWork, tokens: TokenService, clock: Clock, *,
    uri: str, headers: Mapping[str, str], form: dict[str, str], client_id: str | None,
) -> TokenAnswer:
    prefetched = None
    if client_id and len(client_id) <= oauth.MAX_CLIENT_ID:
        prefetched = await _prefetch(uow, client_id)

    def generate(*, client: PartnerOAuthClient, **_: Any) -> dict[str, Any]:
        # Runs in Authlib's worker thread, after it authenticated the client.
        return anyio.from_thread.run(_sign, uow, tokens, clock, client)

    server = oauth.PartnerTokenServer(prefetched, generate)
    request = oauth.TokenEndpointRequest(uri, headers, form)
    answer: TokenAnswer = await anyio.to_thread.run_sync(server.create_token_response, request)
    if answer[0] == 200:
        await _record_use(uow, clock, request.client, request.auth_method)
    return answer


async def _client_and_partner(
    session: AsyncSession, client_id: str
) -> tuple[PartnerClient, directory.Partner]:
    """A partner client and the platform partner it acts for: 404 `partner_client_not_found`,
    or 401 `client_disabled`."""
    client = await repository.client_by_client_id(session, client_id)
    if client is None:
        raise _client_not_found()
    if client.disabled:
        raise Unauthenticated("该平台客户端已停用。", "This partner client is disabled.",
                              code="client_disabled")
    tenant = await directory.tenant_by_id(session, client.tenant_id)
    partners = await directory.partners(session, tenant.federation_id)
    partner = next((p for p in partners.values() if p.id == client.partner_id), None)
    if partner is None:  # the partner left the federation's files
        raise _client_not_found()
    return client, partner


def _client_not_found() -> NotFound:
    return NotFound("没有这个平台客户端。", "This partner client is not known.",
                    code="partner_client_not_found")


async def client_partner(session: AsyncSession, client_id: str) -> tuple[uuid.UUID, str]:
    """(partner id, partner code) of a partner client: 404 `partner_client_not_found`, or
    401 `client_disabled` for a disabled client."""
    _, partner = await _client_and_partner(session, client_id)
    return partner.id, partner.code


async def partner_profile(session: AsyncSession, caller: Caller) -> PartnerProfile:
    """The calling client, the partner it acts for and its tenant."""
    client, partner = await _client_and_partner(session, caller.subject)
    return PartnerProfile(
        client_id=client.client_id, client_name=client.name, partner_code=partner.code,
        partner_name_zh=partner.name_zh, partner_name_en=partner.name_en,
        tenant=caller.tenant_code,
    )


async def create_partner_client(
    session: AsyncSession, *, tenant_code: str, partner_code: str, name: str,
    contracts_role: str | None = None,
) -> tuple[str, str]:
    """The operator's action (as the owner): a new client; (client_id, secret), the secret
    shown this once and stored only hashed. `contracts_role` (platform_business 业务 /
    platform_hr 人力) is the role in which it signs clause checkpoints (migration 0049)."""
    tenant = await anchor_for(session, tenant_code, Role.PARTNER)
    partner = (await directory.partners_as_seen(session, tenant.federation_id)).get(partner_code)
    if partner is None:
        raise AccountError(f"no platform partner '{partner_code}' in this federation")
    client_id = f"{partner_code}-{secrets.token_hex(6)}"
    secret = secrets.token_urlsafe(32)
    client = PartnerClient(
        id=uuid.uuid4(), tenant_id=tenant.id, partner_id=partner.id, client_id=client_id,
        secret_hash=hash_password(secret), name=name, contracts_role=contracts_role,
    )
    await repository.add(session, client)
    await audit.record(session, "partner_client.created", tenant_id=tenant.id,
                       object_type="partner_client", object_id=client.id,
                       payload={"client_id": client_id, "partner": partner_code,
                                "contracts_role": contracts_role})
    return client_id, secret


# ---- HQ staff (the console), as the app role under row-level security ------------------


async def clients(session: AsyncSession) -> Sequence[PartnerClient]:
    """The partner clients anchored in the caller's subtree, newest first."""
    return await repository.visible_clients(session)


async def access_client(session: AsyncSession, client_uuid: uuid.UUID, *,
                        lock: bool = False) -> PartnerClient:
    """A client of the caller's subtree by its row id; not there and not ours: the same 404."""
    client = await repository.client_by_id(session, client_uuid, lock=lock)
    if client is None:
        raise _client_not_found()
    return client


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


async def create_client(session: AsyncSession, caller: Caller, *, partner_code: str,
                        name: str) -> tuple[PartnerClient, str]:
    """平台接入客户端: a new client for a platform partner of the caller's federation,
    anchored in the caller's own tenant; (client, secret) — the secret shown this once and
    stored only hashed. 422 `unknown_partner` for a partner the federation does not have."""
    federation_id = await directory.federation_of(session, caller)
    partner = await directory.partner_by_code(session, federation_id, partner_code)
    secret = _new_secret()
    client = PartnerClient(
        id=uuid.uuid4(), tenant_id=caller.tenant_id, partner_id=partner.id,
        client_id=f"{partner.code}-{secrets.token_hex(6)}",
        secret_hash=await hash_password_off_loop(secret),
        name=name, disabled=False,
    )
    await repository.add(session, client)
    await audit.record(session, "partner_client.created", tenant_id=client.tenant_id,
                       object_type="partner_client", object_id=client.id,
                       payload={"client_id": client.client_id, "partner": partner.code})
    return client, secret


def _disabled(client: PartnerClient) -> Conflict:
    return Conflict("该平台客户端已停用。", "This partner client is disabled.",
                    code="client_disabled", extra={"client_id": client.client_id})


async def disable_client(session: AsyncSession, client_uuid: uuid.UUID) -> PartnerClient:
    """停用: the client gets no new token (tokens already issued are refused at /me and
    wherever the client's partner is read). 409 `client_disabled` if it already is."""
    client = await access_client(session, client_uuid, lock=True)
    if client.disabled:
        raise _disabled(client)
    client.disabled = True
    await repository.flush(session)
    await audit.record(session, "partner_client.disabled", tenant_id=client.tenant_id,
                       object_type="partner_client", object_id=client.id,
                       payload={"client_id": client.client_id})
    return client


async def rotate_secret(session: AsyncSession,
                        client_uuid: uuid.UUID) -> tuple[PartnerClient, str]:
    """更换密钥: a new secret (shown this once), the old one stops working at once.
    409 `client_disabled` for a disabled client."""
    client = await access_client(session, client_uuid, lock=True)
    if client.disabled:
        raise _disabled(client)
    secret = _new_secret()
    client.secret_hash = await hash_password_off_loop(secret)
    await repository.flush(session)
    await audit.record(session, "partner_client.secret_rotated", tenant_id=client.tenant_id,
                       object_type="partner_client", object_id=client.id,
                       payload={"client_id": client.client_id})
    return client, secret
