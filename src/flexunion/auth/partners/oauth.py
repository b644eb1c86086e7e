"""Authlib's OAuth2 authorization server (RFC 6749 §4.4, client credentials), fitted to
one request at a time: it knows only the one client the request named, prefetched by
`service.token_endpoint`, and its answers come back as (status, RFC 6749 body, headers).

Authlib ships no type information, so mypy sees its classes as `Any`: subclassing them is
allowed here explicitly (each `type: ignore[misc]` below says so)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, OAuth2Request
from authlib.oauth2.rfc6749.errors import InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6749.util import extract_basic_authorization

from flexunion.auth.models import PartnerClient, ProviderClient
from flexunion.auth.passwords import check_password

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


@dataclass(frozen=True)
class PartnerOAuthClient(ClientMixin):  # type: ignore[misc]  # authlib is untyped
    """What Authlib needs of a machine client — a platform partner's (`kind` partner) or a
    referral provider's (`kind` provider, migration 0041) — copied off the ORM row so that
    the worker thread never touches the session. `secret_hash` None: no such client."""

    client_id: str
    id: uuid.UUID | None = None
    tenant_id: uuid.UUID | None = None
    secret_hash: str | None = None
    disabled: bool = True
    kind: str = "partner"

    @classmethod
    def of(cls, row: PartnerClient) -> PartnerOAuthClient:
        return cls(client_id=row.client_id, id=row.id, tenant_id=row.tenant_id,
                   secret_hash=row.secret_hash, disabled=row.disabled)

    @classmethod
    def of_provider(cls, row: ProviderClient) -> PartnerOAuthClient:
        return cls(client_id=row.client_id, id=row.id, tenant_id=row.tenant_id,
                   secret_hash=row.secret_hash, disabled=row.disabled, kind="provider")

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


class PartnerCredentialsGrant(ClientCredentialsGrant):  # type: ignore[misc]  # untyped
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)


class TokenEndpointRequest(OAuth2Request):  # type: ignore[misc]  # authlib is untyped
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


class PartnerTokenServer(AuthorizationServer):  # type: ignore[misc]  # authlib is untyped
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
        if scope:  # machine tokens carry no scopes; what a client may do follows its role
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
    basic_id: str | None
    basic_id, _ = extract_basic_authorization(headers)
    if basic_id is not None:
        if "client_secret" in form:
            raise InvalidRequestError("Use one client authentication method, not two.")
        return basic_id
    return form.get("client_id") or None
