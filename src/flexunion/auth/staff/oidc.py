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
the nonce we sent. The verified identity (issuer, subject) is what this module
answers; `service.oidc_login` finds the staff account linked to it.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import re
import time
from dataclasses import dataclass
from typing import Any, cast

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
from joserfc.jwk import KeySet, KeySetSerialization
from joserfc.jws import JWSRegistry

from flexunion.config import OidcSettings, Settings
from flexunion.core.clock import Clock
from flexunion.core.errors import DomainError, MalformedRequest, NotFound, Unauthenticated
from flexunion.core.secrets import Keyring

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
            raise OidcProviderError("无法连接身份提供方。",
                                    "The identity provider cannot be reached.") from exc
        if response.status_code != 200:
            raise OidcProviderError(f"身份提供方返回 {response.status_code}。",
                                    f"The identity provider answered {response.status_code}.")
        try:
            body = response.json()
        except ValueError as exc:
            raise OidcProviderError("身份提供方的回答不是 JSON。",
                                    "The identity provider answered no JSON.") from exc
        if not isinstance(body, dict):
            raise OidcProviderError("身份提供方的回答不是 JSON 对象。",
                                    "The identity provider answered no JSON object.")
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
                raise OidcProviderError("身份提供方的发现文档不完整。",
                                        "The provider's discovery document is incomplete.")
            if doc["issuer"] != self.issuer:  # OpenID Connect Discovery §4.3
                raise OidcProviderError("身份提供方的发现文档写的是另一个签发方。",
                                        "The provider's discovery document names another "
                                        "issuer.")
            self._metadata = ProviderMetadata(*(doc[f] for f in fields))
            self._metadata_at = time.monotonic()
            return self._metadata

    async def keys(self) -> KeySet:
        """The provider's JWKS, cached for DISCOVERY_TTL_SECONDS."""
        jwks_uri = (await self.metadata()).jwks_uri
        async with self._lock:
            if self._keys is not None and \
                    time.monotonic() - self._keys_at < DISCOVERY_TTL_SECONDS:
                return self._keys
            return await self._fetch_keys(jwks_uri)

    async def fresh_keys(self) -> KeySet | None:
        """The JWKS fetched again (a token named an unknown key), at most once a minute;
        None when nothing newer could be had."""
        jwks_uri = (await self.metadata()).jwks_uri
        async with self._lock:
            if self._keys is not None and \
                    time.monotonic() - self._keys_at < JWKS_MIN_REFRESH_SECONDS:
                return None
            return await self._fetch_keys(jwks_uri)

    async def _fetch_keys(self, jwks_uri: str) -> KeySet:
        doc = await self._get_json(jwks_uri)
        try:  # an unchecked document: import_key_set refuses what is not a key set
            self._keys = KeySet.import_key_set(cast(KeySetSerialization, doc))
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise OidcProviderError("无法读取身份提供方的密钥集。",
                                    "The provider's key set cannot be read.") from exc
        self._keys_at = time.monotonic()
        return self._keys


def provider_for(app_state: Any, settings: Settings) -> OidcProvider:
    """The app's provider (one per app, so discovery is cached), or 404 when not configured."""
    if not settings.auth.oidc.enabled:
        raise OidcNotConfigured("未配置通过身份提供方的管理员登录。",
                                "Admin login through an identity provider is not set up.")
    provider: OidcProvider | None = app_state.get("oidc_provider")
    if provider is None:
        provider = app_state["oidc_provider"] = OidcProvider(settings.auth.oidc,
                                                             app_state.oidc_http)
    return provider


# ---- first leg: off to the provider ---------------------------------------------------


def _seal(keyring: Keyring, pending: _PendingLogin) -> str:
    sealed = keyring.seal(STATE_SEAL, msgspec.json.encode(pending))
    return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()


def _unseal(keyring: Keyring, clock: Clock, cookie: str | None) -> _PendingLogin:
    if not cookie:
        raise OidcStateInvalid("此浏览器中没有进行中的登录，请重新开始。",
                               "No login is in progress in this browser; start again.")
    try:
        sealed = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
        pending = msgspec.json.decode(keyring.open(STATE_SEAL, sealed), type=_PendingLogin)
    except (ValueError, InvalidTag, msgspec.DecodeError) as exc:
        raise OidcStateInvalid("无法读取登录状态，请重新开始。",
                               "The login state cannot be read; start again.") from exc
    if pending.expires < clock.now().timestamp():
        raise OidcStateInvalid("登录用时过长，请重新开始。",
                               "The login took too long; start again.")
    return pending


async def begin_login(
    provider: OidcProvider, settings: Settings, keyring: Keyring, clock: Clock,
    *, callback: str | None = None,
) -> tuple[str, str]:
    """The provider's authorization URL, and the sealed state for the cookie. `callback`:
    where the provider sends the browser back (the console's own callback; the API's by
    default); the provider must list it among the client's redirect URIs."""
    metadata = await provider.metadata()
    pending = _PendingLogin(
        state=generate_token(32), nonce=generate_token(32), verifier=generate_token(64),
        redirect_uri=callback or redirect_uri(settings),
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
        raise OidcProviderError("无法连接身份提供方。",
                                "The identity provider cannot be reached.") from exc
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code != 200 or not isinstance(answer, dict):
        error = answer.get("error") if isinstance(answer, dict) else None
        said = f" ({error})" if isinstance(error, str) and _ERROR_CODE.match(error) else ""
        raise OidcProviderError(
            f"身份提供方拒绝了授权码：{response.status_code}{said}。",
            f"The identity provider refused the code: {response.status_code}{said}.",
        )
    if not isinstance(answer.get("id_token"), str):
        raise OidcProviderError("身份提供方的回答中没有 ID 令牌。",
                                "The identity provider answered without an ID token.")
    return answer


async def _verify_id_token(
    provider: OidcProvider, settings: Settings, clock: Clock, answer: dict[str, Any],
    nonce: str,
) -> str:
    """The subject of a valid ID token for this login."""
    registry = JWSRegistry(algorithms=list(ID_TOKEN_ALGORITHMS), strict_check_header=False)
    keys = await provider.keys()
    try:
        try:
            token = jwt.decode(answer["id_token"], keys, registry=registry)
        except InvalidKeyIdError:  # the provider may have rotated its keys
            fresh = await provider.fresh_keys()
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
        raise Unauthenticated("身份提供方的 ID 令牌对本次登录无效。",
                              "The identity provider's ID token is not valid for this login.",
                              code="oidc_token_invalid") from exc
    subject = claims["sub"]
    if not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT:
        raise Unauthenticated("ID 令牌没有可用的主体。", "The ID token names no usable subject.",
                              code="oidc_token_invalid")
    return subject


async def complete_login(
    provider: OidcProvider, settings: Settings, keyring: Keyring, clock: Clock,
    *, cookie: str | None, state: str | None, code: str | None, error: str | None,
) -> tuple[str, str]:
    """The identity the provider vouched for: (issuer, subject)."""
    pending = _unseal(keyring, clock, cookie)
    if not state or not hmac.compare_digest(state.encode(), pending.state.encode()):
        raise OidcStateInvalid("登录状态与此浏览器的不符，请重新开始。",
                               "The login state does not match this browser's; start again.")
    if error:
        said = f" ({error})" if _ERROR_CODE.match(error) else ""
        raise Unauthenticated(f"身份提供方未让你登录{said}。",
                              f"The identity provider did not log you in{said}.",
                              code="oidc_denied")
    if not code:
        raise MalformedRequest("回调中没有授权码。", "The callback carries no authorization code.",
                               code="oidc_code_missing")
    answer = await _exchange_code(provider, pending, code)
    subject = await _verify_id_token(provider, settings, clock, answer, pending.nonce)
    return provider.issuer, subject
