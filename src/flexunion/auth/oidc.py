"""Admin login through an external OpenID Connect provider: authorization code + PKCE.

The provider is found by discovery (`{issuer}/.well-known/openid-configuration`),
cached per app, and reached only through the app's `oidc_http` client. Nothing is
kept on the server between the two legs of the login: state, nonce and the PKCE
verifier travel in a short-lived cookie sealed with the service keyring
(AES-GCM, purpose `oidc-state`), so it can be neither read nor forged.

The ID token is verified as Authlib's own OpenID client does it (joserfc for the
signature, `authlib.oidc.core.CodeIDToken` for the claims): asymmetric
algorithms only, keys from the provider's `jwks_uri`, `iss` equal to the
configured issuer, `aud` (and `azp`) equal to our client_id, `exp`, `iat`, and
the nonce we sent. The identity (issuer, subject) is then looked up with the
database scope narrowed to `login:oidc:<issuer>|<subject>`, which lets
row-level security show that one linked account and nothing else.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import re
import time
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
from authlib.common.security import generate_token
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from cryptography.exceptions import InvalidTag
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from sqlalchemy import select

from flexunion.audit import service as audit
from flexunion.auth.models import AdminAccount
from flexunion.config import OidcSettings, Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Role
from flexunion.core.errors import DomainError, MalformedRequest, NotFound, Unauthenticated
from flexunion.core.secrets import Keyring
from flexunion.core.uow import UnitOfWork
from flexunion.db.scope import DbScope

STATE_COOKIE = "flexunion_oidc"
COOKIE_PATH = "/v1/admin/oidc"
CALLBACK_PATH = "/v1/admin/oidc/callback"
STATE_SEAL = "oidc-state"
STATE_TTL_SECONDS = 600
ID_TOKEN_ALGORITHMS = ("RS256", "ES256", "EdDSA")
DISCOVERY_TTL_SECONDS = 3600
JWKS_MIN_REFRESH_SECONDS = 60
MAX_SUBJECT = 255
_ERROR_CODE = re.compile(r"^[a-z_]{1,64}$")


class OidcNotConfigured(NotFound):
    code = "oidc_not_configured"
    title, title_en = "未配置统一身份认证登录", "OIDC login is not configured"


class OidcProviderError(DomainError):
    status, code = 502, "oidc_provider_error"
    title, title_en = "身份提供方出错", "Identity provider error"


class OidcStateInvalid(DomainError):
    status, code = 400, "oidc_state_invalid"
    title, title_en = "登录状态无效或已过期，请重新登录", "Login state invalid or expired"


class _PendingLogin(msgspec.Struct, forbid_unknown_fields=True):
    state: str
    nonce: str
    verifier: str
    redirect_uri: str
    expires: int


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


def redirect_uri(settings: Settings) -> str:
    return settings.auth.oidc.redirect_uri or f"{settings.issuer}{CALLBACK_PATH}"


class OidcProvider:
    """The configured identity provider: discovery and signing keys, cached."""

    def __init__(self, config: OidcSettings, http: httpx.AsyncClient) -> None:
        assert config.issuer and config.client_id
        self.issuer = config.issuer  # compared exactly with `iss` and stored on accounts
        self.client_id = config.client_id
        self.client_secret = config.client_secret
        self.scope = config.scope
        self.http = http
        self._lock = asyncio.Lock()
        self._metadata: ProviderMetadata | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._keys_at = 0.0

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self.http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise OidcProviderError("The identity provider cannot be reached.") from exc
        if response.status_code != 200:
            raise OidcProviderError(f"The identity provider answered {response.status_code}.")
        try:
            body = response.json()
        except ValueError as exc:
            raise OidcProviderError("The identity provider answered no JSON.") from exc
        if not isinstance(body, dict):
            raise OidcProviderError("The identity provider answered no JSON object.")
        return body

    async def metadata(self) -> ProviderMetadata:
        async with self._lock:
            if self._metadata and time.monotonic() - self._metadata_at < DISCOVERY_TTL_SECONDS:
                return self._metadata
            doc = await self._get_json(
                f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"  # Discovery §4
            )
            fields = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
            if not all(isinstance(doc.get(f), str) and doc[f] for f in fields):
                raise OidcProviderError("The provider's discovery document is incomplete.")
            if doc["issuer"] != self.issuer:  # OpenID Connect Discovery §4.3
                raise OidcProviderError("The provider's discovery document names another issuer.")
            self._metadata = ProviderMetadata(*(doc[f] for f in fields))
            self._metadata_at = time.monotonic()
            return self._metadata

    async def keys(self, *, refresh: bool = False) -> KeySet | None:
        """The provider's JWKS. `refresh` (a token named an unknown key) refetches it,
        at most once a minute; None when nothing newer could be had."""
        jwks_uri = (await self.metadata()).jwks_uri
        async with self._lock:
            age = time.monotonic() - self._keys_at
            if self._keys is not None and (not refresh and age < DISCOVERY_TTL_SECONDS):
                return self._keys
            if self._keys is not None and refresh and age < JWKS_MIN_REFRESH_SECONDS:
                return None
            doc = await self._get_json(jwks_uri)
            try:
                self._keys = KeySet.import_key_set(doc)  # type: ignore[arg-type]
            except (JoseError, ValueError, TypeError, KeyError) as exc:
                raise OidcProviderError("The provider's key set cannot be read.") from exc
            self._keys_at = time.monotonic()
            return self._keys


def provider_for(app_state: Any, settings: Settings) -> OidcProvider:
    """The app's provider (one per app, so discovery is cached), or 404 when not configured."""
    if not settings.auth.oidc.enabled:
        raise OidcNotConfigured("Admin login through an identity provider is not set up.")
    provider = app_state.get("oidc_provider")
    if provider is None:
        provider = app_state["oidc_provider"] = OidcProvider(settings.auth.oidc, app_state.oidc_http)
    return provider


# ---- first leg: off to the provider ---------------------------------------------------


def _seal(keyring: Keyring, pending: _PendingLogin) -> str:
    sealed = keyring.seal(STATE_SEAL, msgspec.json.encode(pending))
    return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()


def _unseal(keyring: Keyring, clock: Clock, cookie: str | None) -> _PendingLogin:
    if not cookie:
        raise OidcStateInvalid("No login is in progress in this browser; start again.")
    try:
        sealed = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
        pending = msgspec.json.decode(keyring.open(STATE_SEAL, sealed), type=_PendingLogin)
    except (ValueError, InvalidTag, msgspec.DecodeError) as exc:
        raise OidcStateInvalid("The login state cannot be read; start again.") from exc
    if pending.expires < clock.now().timestamp():
        raise OidcStateInvalid("The login took too long; start again.")
    return pending


async def begin_login(
    provider: OidcProvider, settings: Settings, keyring: Keyring, clock: Clock
) -> tuple[str, str]:
    """The provider's authorization URL, and the sealed state for the cookie."""
    metadata = await provider.metadata()
    pending = _PendingLogin(
        state=generate_token(32), nonce=generate_token(32), verifier=generate_token(64),
        redirect_uri=redirect_uri(settings),
        expires=int(clock.now().timestamp()) + STATE_TTL_SECONDS,
    )
    url = prepare_grant_uri(
        metadata.authorization_endpoint, provider.client_id, "code",
        redirect_uri=pending.redirect_uri, scope=provider.scope, state=pending.state,
        nonce=pending.nonce, code_challenge=create_s256_code_challenge(pending.verifier),
        code_challenge_method="S256",
    )
    return url, _seal(keyring, pending)


# ---- second leg: back from the provider -----------------------------------------------


async def _exchange_code(
    provider: OidcProvider, pending: _PendingLogin, code: str
) -> dict[str, Any]:
    metadata = await provider.metadata()
    body = prepare_token_request("authorization_code", code=code,
                                 redirect_uri=pending.redirect_uri, code_verifier=pending.verifier)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    method = "client_secret_basic" if provider.client_secret else "none"
    url, headers, body = ClientAuth(provider.client_id, provider.client_secret, method).prepare(
        "POST", metadata.token_endpoint, headers, body
    )
    try:
        response = await provider.http.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise OidcProviderError("The identity provider cannot be reached.") from exc
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code != 200 or not isinstance(answer, dict):
        error = answer.get("error") if isinstance(answer, dict) else None
        said = f" ({error})" if isinstance(error, str) and _ERROR_CODE.match(error) else ""
        raise OidcProviderError(
            f"The identity provider refused the code: {response.status_code}{said}."
        )
    if not isinstance(answer.get("id_token"), str):
        raise OidcProviderError("The identity provider answered without an ID token.")
    return answer


async def _verify_id_token(
    provider: OidcProvider, settings: Settings, clock: Clock, answer: dict[str, Any],
    nonce: str,
) -> CodeIDToken:
    registry = JWSRegistry(algorithms=list(ID_TOKEN_ALGORITHMS), strict_check_header=False)
    keys = await provider.keys()
    try:
        try:
            token = jwt.decode(answer["id_token"], keys, registry=registry)
        except InvalidKeyIdError:  # the provider may have rotated its keys
            fresh = await provider.keys(refresh=True)
            if fresh is None:
                raise
            token = jwt.decode(answer["id_token"], fresh, registry=registry)
        access_token = answer.get("access_token")
        claims = CodeIDToken(
            token.claims, token.header,
            {"iss": {"essential": True, "value": provider.issuer},
             "aud": {"essential": True, "value": provider.client_id},
             "sub": {"essential": True}},
            {"nonce": nonce, "client_id": provider.client_id,
             "access_token": access_token if isinstance(access_token, str) else None},
        )
        claims.validate(now=int(clock.now().timestamp()), leeway=settings.auth.leeway_seconds)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise Unauthenticated("The identity provider's ID token is not valid for this login.",
                              code="oidc_token_invalid") from exc
    subject = claims["sub"]
    if not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT:
        raise Unauthenticated("The ID token names no usable subject.", code="oidc_token_invalid")
    return claims


async def _linked_account(
    uow: UnitOfWork, clock: Clock, issuer: str, subject: str
) -> AdminAccount:
    session = uow.session
    await uow.rescope(DbScope(None, f"login:oidc:{issuer}|{subject}", uow.scope.request_id))
    account = await session.scalar(
        select(AdminAccount)
        .where(AdminAccount.oidc_issuer == issuer, AdminAccount.oidc_subject == subject)
        .with_for_update()
    )
    if account is None:
        raise Unauthenticated("No staff account is linked to this identity.",
                              code="oidc_account_unknown")
    if account.disabled:
        raise Unauthenticated("This account cannot log in.", code="login_failed")
    account.last_login_at = clock.now()
    await session.flush()
    role = Role(account.role)
    await uow.rescope(
        DbScope(account.tenant_id, f"{role.value}:{account.id}", uow.scope.request_id)
    )
    await audit.record(session, "auth.admin_login", tenant_id=account.tenant_id,
                       object_type="admin_account", object_id=account.id,
                       payload={"method": "oidc"})
    return account


async def complete_login(
    uow: UnitOfWork, provider: OidcProvider, settings: Settings, keyring: Keyring, clock: Clock,
    *, cookie: str | None, state: str | None, code: str | None, error: str | None,
) -> AdminAccount:
    pending = _unseal(keyring, clock, cookie)
    if not state or not hmac.compare_digest(state.encode(), pending.state.encode()):
        raise OidcStateInvalid("The login state does not match this browser's; start again.")
    if error:
        said = f" ({error})" if _ERROR_CODE.match(error) else ""
        raise Unauthenticated(f"The identity provider did not log you in{said}.",
                              code="oidc_denied")
    if not code:
        raise MalformedRequest("The callback carries no authorization code.",
                               code="oidc_code_missing")
    answer = await _exchange_code(provider, pending, code)
    claims = await _verify_id_token(provider, settings, clock, answer, pending.nonce)
    return await _linked_account(uow, clock, provider.issuer, claims["sub"])
