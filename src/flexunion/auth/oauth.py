"""OAuth2 client credentials (RFC 6749 §4.4) for platform partners, on Authlib's server.

Authlib's `AuthorizationServer` is synchronous; our database and signing keys are
async. So the token endpoint works in four steps:

1. read the form and the Basic header, and name the one client the request claims;
2. narrow the unit of work to that client (`login:client:<client_id>`: row-level
   security then shows this one row and nothing else) and prefetch it;
3. run Authlib in a worker thread, where `query_client` returns the prefetched
   client and the argon2 check of the secret does not hold up the event loop;
4. once Authlib has authenticated the client, its token generator hops back onto
   the event loop to read the client's tenant and sign our JWT (`TokenService`).

An unknown client_id and a wrong secret give the same `invalid_client` answer
after the same work: an unknown id is checked against a dummy argon2 hash, and a
disabled client is refused only after its secret was checked, like a wrong one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import parse_qsl

import anyio.from_thread
import anyio.to_thread
import msgspec
from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, OAuth2Request
from authlib.oauth2.rfc6749.errors import InvalidRequestError, InvalidScopeError, OAuth2Error
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from sqlalchemy import select, update

from flexunion.audit import service as audit
from flexunion.auth.models import PartnerClient
from flexunion.auth.service import check_password
from flexunion.auth.tokens import TokenService
from flexunion.core.clock import Clock
from flexunion.core.context import Caller, Role
from flexunion.core.errors import NotFound, Unauthenticated
from flexunion.core.uow import UnitOfWork
from flexunion.db.scope import DbScope
from flexunion.federation.models import PlatformPartner, Tenant

GRANT_TYPE = "client_credentials"
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_FIELDS = 16
MAX_CLIENT_ID = 128

# Authlib refuses to build a request for a plain-http URI unless it is loopback. TLS ends
# at the ingress in front of this service (uvicorn runs with proxy_headers=False), so every
# request reaches the app as http and the check could only refuse all production traffic.
# The request is built for this loopback URI and then given its real one.
_TRANSPORT_CHECKED_AT_INGRESS = "http://127.0.0.1/oauth/token"

# (status, RFC 6749 JSON body, headers)
TokenAnswer = tuple[int, dict[str, Any], list[tuple[str, str]]]


class PartnerTokenResponse(msgspec.Struct):
    """RFC 6749 §5.1 access token response; the token is a flexunion-partner JWT."""

    access_token: str
    expires_in: int
    token_type: str = "Bearer"


class OAuthErrorResponse(msgspec.Struct):
    """RFC 6749 §5.2 error response; `code` repeats `error` like every flexunion error."""

    error: str
    code: str
    error_description: str | None = None


class PartnerProfile(msgspec.Struct):
    client_id: str
    client_name: str
    partner_code: str
    partner_name_zh: str
    partner_name_en: str
    tenant: str


@dataclass(frozen=True)
class PartnerOAuthClient(ClientMixin):
    """What Authlib needs of a partner client, copied off the ORM row so that the
    worker thread never touches the session. `secret_hash` None: no such client."""

    client_id: str
    id: uuid.UUID | None = None
    tenant_id: uuid.UUID | None = None
    secret_hash: str | None = None
    disabled: bool = True

    @classmethod
    def of(cls, row: PartnerClient) -> PartnerOAuthClient:
        return cls(client_id=row.client_id, id=row.id, tenant_id=row.tenant_id,
                   secret_hash=row.secret_hash, disabled=row.disabled)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        # Always one argon2 verification (a dummy hash for an unknown id), then refuse
        # unknown and disabled clients exactly like a wrong secret.
        matches = check_password(self.secret_hash, client_secret)
        return matches and self.secret_hash is not None and not self.disabled

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == GRANT_TYPE


class PartnerCredentialsGrant(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)


class TokenEndpointRequest(OAuth2Request):
    def __init__(self, uri: str, headers: Mapping[str, str], form: dict[str, str]) -> None:
        super().__init__("POST", _TRANSPORT_CHECKED_AT_INGRESS, headers=headers)
        self.uri = uri
        self._form = form
        self.payload = BasicOAuth2Payload(form)

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return {}


TokenGenerator = Callable[..., dict[str, Any]]


class PartnerTokenServer(AuthorizationServer):
    """One per request: it knows only the client the request named (or none)."""

    def __init__(self, client: PartnerOAuthClient | None, generate: TokenGenerator) -> None:
        super().__init__(scopes_supported=None)
        self._client = client
        self.register_grant(PartnerCredentialsGrant)
        self.register_token_generator(GRANT_TYPE, generate)

    def query_client(self, client_id: str) -> PartnerOAuthClient:
        if self._client is not None and client_id == self._client.client_id:
            return self._client
        return PartnerOAuthClient(client_id=client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Access tokens are signed JWTs verified by key: nothing to store."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signal subscribers."""

    def validate_requested_scope(self, scope: str | None) -> None:
        if scope:  # partner tokens carry no scopes; what a partner may do follows its role
            raise InvalidScopeError()

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request

    def handle_response(
        self, status: int, body: dict[str, Any], headers: list[tuple[str, str]]
    ) -> TokenAnswer:
        return status, body, headers


def parse_token_form(content_type: str, body: bytes) -> dict[str, str]:
    """The form of a token request: urlencoded, each parameter at most once (RFC 6749 §3.2)."""
    if content_type.partition(";")[0].strip().lower() != FORM_MEDIA_TYPE:
        raise InvalidRequestError(f"Send the token request as {FORM_MEDIA_TYPE}.")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                          max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequestError("The form cannot be read.") from exc
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:
            raise InvalidRequestError("A parameter is repeated.")
        form[key] = value
    if not form.get("grant_type"):
        raise InvalidRequestError("Missing 'grant_type' parameter.")
    return form


def requested_client_id(headers: Mapping[str, str], form: dict[str, str]) -> str | None:
    """The client the request names: from the Basic header, else from the form."""
    basic_id, _ = extract_basic_authorization(headers)
    if basic_id is not None:
        if "client_secret" in form:
            raise InvalidRequestError("Use one client authentication method, not two.")
        return basic_id
    return form.get("client_id") or None


async def _prefetch(uow: UnitOfWork, client_id: str) -> PartnerOAuthClient | None:
    await uow.rescope(DbScope(None, f"login:client:{client_id}", uow.scope.request_id))
    row = await uow.session.scalar(
        select(PartnerClient).where(PartnerClient.client_id == client_id)
    )
    return PartnerOAuthClient.of(row) if row is not None else None


async def _sign(
    uow: UnitOfWork, tokens: TokenService, client: PartnerOAuthClient
) -> dict[str, Any]:
    """After authentication: act as the partner, in its tenant, and sign its token."""
    assert client.tenant_id is not None
    await uow.rescope(DbScope(client.tenant_id, f"{Role.PARTNER.value}:{client.client_id}",
                              uow.scope.request_id))
    tenant = await uow.session.get(Tenant, client.tenant_id)
    assert tenant is not None  # the client's own tenant, visible in its scope
    token, ttl = await tokens.issue(role=Role.PARTNER, subject=client.client_id,
                                    tenant_id=tenant.id, tenant_code=tenant.code)
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl}


async def _record_use(
    uow: UnitOfWork, clock: Clock, client: PartnerOAuthClient, method: str
) -> None:
    session = uow.session
    await session.execute(
        update(PartnerClient).where(PartnerClient.id == client.id).values(last_used_at=clock.now())
    )
    await audit.record(session, "auth.partner_token", tenant_id=client.tenant_id,
                       object_type="partner_client", object_id=client.id,
                       payload={"client_id": client.client_id, "method": method})


async def token_endpoint(
    uow: UnitOfWork, tokens: TokenService, clock: Clock, *,
    uri: str, headers: Mapping[str, str], content_type: str, body: bytes,
) -> TokenAnswer:
    """Answer one token request: (status, RFC 6749 JSON body, headers)."""
    try:
        form = parse_token_form(content_type, body)
        client_id = requested_client_id(headers, form)
    except OAuth2Error as error:
        return error()
    prefetched = None
    if client_id and len(client_id) <= MAX_CLIENT_ID:
        prefetched = await _prefetch(uow, client_id)

    def generate(*, client: PartnerOAuthClient, **_: Any) -> dict[str, Any]:
        # Runs in Authlib's worker thread, after it authenticated the client.
        return anyio.from_thread.run(_sign, uow, tokens, client)

    server = PartnerTokenServer(prefetched, generate)
    request = TokenEndpointRequest(uri, headers, form)
    status, answer, answer_headers = await anyio.to_thread.run_sync(
        server.create_token_response, request
    )
    if status == 200:
        await _record_use(uow, clock, request.client, request.auth_method)
    return status, answer, answer_headers


async def partner_profile(uow: UnitOfWork, caller: Caller) -> PartnerProfile:
    row = (
        await uow.session.execute(
            select(PartnerClient, PlatformPartner)
            .join(PlatformPartner, PlatformPartner.id == PartnerClient.partner_id)
            .where(PartnerClient.client_id == caller.subject)
        )
    ).first()
    if row is None:
        raise NotFound("This partner client is not known.", code="partner_client_not_found")
    client, partner = row
    if client.disabled:
        raise Unauthenticated("This partner client is disabled.", code="client_disabled")
    return PartnerProfile(
        client_id=client.client_id, client_name=client.name, partner_code=partner.code,
        partner_name_zh=partner.name_zh, partner_name_en=partner.name_en,
        tenant=caller.tenant_code,
    )
