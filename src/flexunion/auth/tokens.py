"""Access tokens (RFC 9068 JWT profile) issued and verified strictly with PyJWT.

Verification: algorithm allowlist (EdDSA only; `none` and HMAC never), a
known `kid`, `typ` = at+jwt, signature, `iss`, `aud` (mobile, admin and
partner and provider APIs each have their own), `exp`, `nbf`, `iat` required, leeway at
most 60 s. Each failure has its own stable problem code."""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections import OrderedDict
from datetime import timedelta

import jwt

from flexunion.auth.keys import ALG, KeyStore
from flexunion.auth.schemas import AccessToken
from flexunion.config import (
    AUDIENCE_ADMIN,
    AUDIENCE_MOBILE,
    AUDIENCE_PARTNER,
    AUDIENCE_PROVIDER,
    Settings,
)
from flexunion.core.clock import Clock
from flexunion.core.context import ADMIN_ROLES, Caller, Role
from flexunion.core.errors import Unauthenticated

ALLOWED_ALGORITHMS = [ALG]
TOKEN_TYPE = "at+jwt"
MAX_TOKEN_BYTES = 8192
MAX_LEEWAY = 60
_KID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CACHE_ENTRIES = 4096
CACHE_SECONDS = 60.0
_OTHER_API = "该令牌属于另一个接口。"
MACHINE_ROLES = frozenset({Role.PARTNER, Role.PROVIDER})
REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "nbf", "iat", "jti", "role", "tid", "tenant"]


def audience_for(role: Role) -> str:
    if role is Role.WORKER:
        return AUDIENCE_MOBILE
    if role is Role.PARTNER:
        return AUDIENCE_PARTNER
    if role is Role.PROVIDER:
        return AUDIENCE_PROVIDER
    return AUDIENCE_ADMIN


def ttl_for(settings: Settings, role: Role) -> int:
    if role is Role.WORKER:
        return settings.auth.access_ttl_worker
    if role in (Role.PARTNER, Role.PROVIDER):  # machine clients
        return settings.auth.access_ttl_partner
    return settings.auth.access_ttl_admin


class TokenService:
    def __init__(self, settings: Settings, keys: KeyStore, clock: Clock) -> None:
        self.settings = settings
        self.keys = keys
        self.clock = clock
        self.leeway = min(settings.auth.leeway_seconds, MAX_LEEWAY)
        self._verified: OrderedDict[str, tuple[Caller, float, int]] = OrderedDict()

    async def issue(
        self, *, role: Role, subject: str, tenant_id: uuid.UUID, tenant_code: str,
        ttl_seconds: int | None = None, extra: dict[str, object] | None = None,
    ) -> tuple[str, int]:
        key = await self.keys.signing_key()
        if key.private is None:  # signing_key() answers only a key it could unseal
            raise RuntimeError(f"signing key {key.kid} has no private part")
        now = self.clock.now()
        ttl = ttl_seconds if ttl_seconds is not None else ttl_for(self.settings, role)
        claims: dict[str, object] = {
            "iss": self.settings.issuer,
            "aud": audience_for(role),
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + timedelta(seconds=ttl),
            "jti": secrets.token_urlsafe(12),
            "role": role.value,
            "tid": str(tenant_id),
            "tenant": tenant_code,
            **(extra or {}),
        }
        token = jwt.encode(
            claims, key.private, algorithm=ALG, headers={"kid": key.kid, "typ": TOKEN_TYPE}
        )
        return token, ttl

    async def answer_login(
        self, *, role: Role, subject: str, tenant_id: uuid.UUID, tenant_code: str
    ) -> AccessToken:
        """What a successful login answers: a token for the role's API."""
        token, ttl = await self.issue(role=role, subject=subject, tenant_id=tenant_id,
                                      tenant_code=tenant_code)
        return AccessToken(access_token=token, expires_in=ttl, subject=subject,
                           tenant=tenant_code, role=role.value)

    async def verify(self, token: str, audiences: tuple[str, ...]) -> Caller:
        await self.keys.refresh()
        cached = self._verified.get(token)
        if cached is not None and cached[2] == self.keys.generation and time.time() < cached[1]:
            if cached[0].audience not in audiences:
                raise Unauthenticated(_OTHER_API, "The token is for another API.",
                                      code="token_wrong_audience")
            return cached[0]
        caller, expires = await self._verify(token, audiences)
        # A token that verified is trusted again, without a signature check, until it
        # expires, the keys reload (a revoked key leaves every instance within 60 s), or
        # CACHE_SECONDS pass.
        if len(self._verified) >= CACHE_ENTRIES:
            self._verified.popitem(last=False)
        self._verified[token] = (caller, min(expires, time.time() + CACHE_SECONDS),
                                 self.keys.generation)
        return caller

    async def _verify(self, token: str, audiences: tuple[str, ...]) -> tuple[Caller, float]:
        if len(token) > MAX_TOKEN_BYTES:
            raise Unauthenticated("令牌过大。", "The token is too large.", code="token_malformed")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated("无法解析令牌。", "The token cannot be parsed.",
                                  code="token_malformed") from exc
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise Unauthenticated("不接受该令牌的签名算法。",
                                  "The token's algorithm is not accepted.",
                                  code="token_alg_rejected")
        if header.get("typ") != TOKEN_TYPE:
            raise Unauthenticated("这不是访问令牌。", "The token is not an access token.",
                                  code="token_wrong_type")
        for forbidden in ("jku", "x5u", "jwk", "x5c"):
            if forbidden in header:
                raise Unauthenticated("拒绝令牌内嵌的密钥引用。",
                                      "Embedded key references are refused.",
                                      code="token_alg_rejected")
        kid = header.get("kid")
        if not isinstance(kid, str) or not _KID.match(kid):
            raise Unauthenticated("令牌未指明有效的密钥。", "The token names no valid key.",
                                  code="token_unknown_key")
        public = await self.keys.verification_key(kid)
        if public is None:
            raise Unauthenticated("令牌的签名密钥未知。", "The token's key is unknown.",
                                  code="token_unknown_key")
        try:
            claims = jwt.decode(
                token,
                public,
                algorithms=ALLOWED_ALGORITHMS,
                audience=list(audiences),
                issuer=self.settings.issuer,
                leeway=self.leeway,
                options={"require": REQUIRED_CLAIMS, "strict_aud": False},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("令牌已过期。", "The token has expired.",
                                  code="token_expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise Unauthenticated("令牌尚未生效。", "The token is not valid yet.",
                                  code="token_not_yet_valid") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthenticated(_OTHER_API, "The token is for another API.",
                                  code="token_wrong_audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthenticated("令牌的签发方不符。", "The token has another issuer.",
                                  code="token_wrong_issuer") from exc
        except jwt.InvalidSignatureError as exc:
            raise Unauthenticated("令牌签名无效。", "The token's signature is invalid.",
                                  code="token_bad_signature") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("令牌无效。", "The token is invalid.",
                                  code="token_invalid") from exc
        return self._caller(claims), float(claims["exp"])

    def _caller(self, claims: dict[str, object]) -> Caller:
        try:
            role = Role(str(claims["role"]))
            tenant_id = uuid.UUID(str(claims["tid"]))
        except (ValueError, KeyError) as exc:
            raise Unauthenticated("令牌的声明无效。", "The token's claims are invalid.",
                                  code="token_invalid") from exc
        if claims["aud"] != audience_for(role) and not (
            isinstance(claims["aud"], list) and audience_for(role) in claims["aud"]
        ):
            raise Unauthenticated("令牌的角色与受众不符。", "Role and audience do not match.",
                                  code="token_wrong_audience")
        if role in ADMIN_ROLES | MACHINE_ROLES | {Role.WORKER} and not str(claims["sub"]):
            raise Unauthenticated("令牌没有主体。", "The token has no subject.",
                                  code="token_invalid")
        return Caller(
            role=role,
            subject=str(claims["sub"]),
            tenant_id=tenant_id,
            tenant_code=str(claims["tenant"]),
            audience=audience_for(role),
            token_id=str(claims["jti"]),
        )
