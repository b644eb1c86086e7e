"""Forged and misused tokens are all 401 problem+json, each with its own code."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from flexunion.auth.keys import create_key
from flexunion.auth.tokens import TokenService
from flexunion.config import AUDIENCE_ADMIN, AUDIENCE_MOBILE, AUDIENCE_PARTNER, AUDIENCE_PROVIDER
from flexunion.core.context import Role
from flexunion.core.secrets import Keyring
from tests.conftest import TEST_ISSUER, TEST_SECRET
from tests.support.factories import Federation, bearer

PATH = "/v1/admin/tenants"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict, claims: dict, signature: bytes = b"") -> str:
    return ".".join([b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()),
                     b64(signature)])


def claims_for(fed: Federation, **over: object) -> dict:
    now = int(time.time())
    base = {"iss": TEST_ISSUER, "aud": AUDIENCE_ADMIN, "sub": "attacker", "iat": now, "nbf": now,
            "exp": now + 600, "jti": "j1", "role": "hq_admin", "tid": str(fed.ids[fed.hq]),
            "tenant": fed.hq}
    return base | over


async def active_kid(client: httpx.AsyncClient) -> tuple[str, bytes]:
    jwks = (await client.get("/.well-known/jwks.json")).json()
    key = jwks["keys"][-1]
    return key["kid"], base64.urlsafe_b64decode(key["x"] + "==")


async def expect_401(client: httpx.AsyncClient, token: str, code: str, path: str = PATH) -> None:
    r = await client.get(path, headers=bearer(token))
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["code"] == code, r.json()


async def test_a_genuine_token_works(client, federation: Federation, staff_token) -> None:
    token = await staff_token(federation, "hq_admin", federation.hq)
    r = await client.get(PATH, headers=bearer(token))
    assert r.status_code == 200


async def test_missing_and_malformed(client) -> None:
    r = await client.get(PATH)
    assert r.status_code == 401 and r.json()["code"] == "token_missing"
    r = await client.get(PATH, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert r.status_code == 401 and r.json()["code"] == "token_malformed"
    await expect_401(client, "not-a-jwt", "token_malformed")
    await expect_401(client, "a" * 9000, "token_malformed")


async def test_alg_none(client, federation: Federation) -> None:
    kid, _ = await active_kid(client)
    token = unsigned({"alg": "none", "typ": "at+jwt", "kid": kid}, claims_for(federation))
    await expect_401(client, token, "token_alg_rejected")


async def test_hs256_signed_with_the_public_key(client, federation: Federation) -> None:
    """The classic key-confusion attack: HMAC keyed with the published public key."""
    kid, raw = await active_kid(client)
    claims = claims_for(federation)
    for secret in (raw, b64(raw).encode()):
        header = {"alg": "HS256", "typ": "at+jwt", "kid": kid}
        signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
        import hashlib
        import hmac

        sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        await expect_401(client, f"{signing_input}.{b64(sig)}", "token_alg_rejected")


async def test_signed_by_another_key_under_a_real_kid(client, federation: Federation) -> None:
    kid, _ = await active_kid(client)
    rogue = Ed25519PrivateKey.generate()
    token = jwt.encode(claims_for(federation), rogue, algorithm="EdDSA",
                       headers={"kid": kid, "typ": "at+jwt"})
    await expect_401(client, token, "token_bad_signature")


async def test_tampered_payload(client, federation: Federation, staff_token) -> None:
    station = federation.stations[federation.regions[0]][0]
    token = await staff_token(federation, "station_officer", station)
    header, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "hq_admin"
    claims["tid"] = str(federation.ids[federation.hq])
    await expect_401(client, f"{header}.{b64(json.dumps(claims).encode())}.{sig}",
                     "token_bad_signature")


@pytest.mark.parametrize(("kid", "code"), [
    ("nope", "token_unknown_key"), ("../../../../dev/null", "token_unknown_key"),
    ("' OR '1'='1", "token_unknown_key"), ("x" * 65, "token_unknown_key"),
    (None, "token_unknown_key"), (42, "token_malformed"),
])
async def test_unknown_or_injected_kid(
    client, federation: Federation, kid: object, code: str
) -> None:
    header = {"alg": "EdDSA", "typ": "at+jwt"} | ({"kid": kid} if kid is not None else {})
    token = unsigned(header, claims_for(federation), b"\x00" * 64)
    await expect_401(client, token, code)


async def test_embedded_key_headers_refused(client, federation: Federation) -> None:
    kid, _ = await active_kid(client)
    rogue = Ed25519PrivateKey.generate()
    raw = rogue.public_key().public_bytes(serialization.Encoding.Raw,
                                          serialization.PublicFormat.Raw)
    token = jwt.encode(claims_for(federation), rogue, algorithm="EdDSA", headers={
        "kid": kid, "typ": "at+jwt", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64(raw)}})
    await expect_401(client, token, "token_alg_rejected")


async def test_wrong_issuer_audience_type(
    client, federation: Federation, tokens: TokenService
) -> None:
    genuine, _ = await tokens.issue(role=Role.HQ_ADMIN, subject="s",
                                    tenant_id=federation.ids[federation.hq],
                                    tenant_code=federation.hq)
    key = await tokens.keys.signing_key()
    sign = lambda claims, typ="at+jwt": jwt.encode(  # noqa: E731
        claims, key.private, algorithm="EdDSA", headers={"kid": key.kid, "typ": typ})
    await expect_401(client, sign(claims_for(federation, iss="https://evil.example")),
                     "token_wrong_issuer")
    await expect_401(client, sign(claims_for(federation, aud="someone-else")),
                     "token_wrong_audience")
    await expect_401(client, sign(claims_for(federation), typ="JWT"), "token_wrong_type")
    # An admin token on the mobile API, and a worker-role token minted for the admin audience.
    await expect_401(client, genuine, "token_wrong_audience", path="/v1/me")
    await expect_401(client, sign(claims_for(federation, role="worker", aud=AUDIENCE_ADMIN)),
                     "token_wrong_audience")
    no_exp = {k: v for k, v in claims_for(federation).items() if k != "exp"}
    await expect_401(client, sign(no_exp), "token_invalid")
    await expect_401(client, sign(claims_for(federation, role="superuser")), "token_invalid")
    await expect_401(client, sign(claims_for(federation, tid="not-a-uuid")), "token_invalid")
    mobile = sign(claims_for(federation, aud=AUDIENCE_MOBILE, role="worker", sub=str(uuid.uuid4())))
    await expect_401(client, mobile, "token_wrong_audience")


async def test_expired_and_not_yet_valid(
    client, federation: Federation, tokens: TokenService, clock
) -> None:
    tid, code = federation.ids[federation.hq], federation.hq
    clock.advance(hours=-2)
    expired, _ = await tokens.issue(role=Role.HQ_ADMIN, subject="s", tenant_id=tid,
                                    tenant_code=code, ttl_seconds=3600)
    clock.advance(hours=2, seconds=-90)  # expired 90 s ago: beyond the ≤ 60 s leeway
    late, _ = await tokens.issue(role=Role.HQ_ADMIN, subject="s", tenant_id=tid, tenant_code=code,
                                 ttl_seconds=0)
    clock.advance(seconds=90 + 600)  # issued 10 minutes in the future
    future, _ = await tokens.issue(role=Role.HQ_ADMIN, subject="s", tenant_id=tid, tenant_code=code)
    clock.offset = type(clock.offset)()
    await expect_401(client, expired, "token_expired")
    await expect_401(client, late, "token_expired")
    await expect_401(client, future, "token_not_yet_valid")


async def test_rotation_keeps_old_tokens_valid_and_publishes_both(
    client, federation: Federation, staff_token, owner, tokens: TokenService
) -> None:
    old = await staff_token(federation, "hq_admin", federation.hq)
    old_kid = jwt.get_unverified_header(old)["kid"]
    async with owner() as s, s.begin():
        new_kid = await create_key(s, Keyring(TEST_SECRET.encode()), activate=True)
    await tokens.keys.reload()  # the issuing side's cache
    # the app instance learns the new kid on first sight (unknown kid → reload)
    new = await staff_token(federation, "hq_admin", federation.hq)
    assert jwt.get_unverified_header(new)["kid"] == new_kid
    for _ in range(30):  # forced reloads on an unknown kid are limited to one a second
        if (await client.get(PATH, headers=bearer(new))).status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert (await client.get(PATH, headers=bearer(new))).status_code == 200
    assert (await client.get(PATH, headers=bearer(old))).status_code == 200
    kids = {k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]}
    assert {old_kid, new_kid} <= kids
    assert all(k["kty"] == "OKP" and "d" not in k for k in
               (await client.get("/.well-known/jwks.json")).json()["keys"])


async def test_a_revoked_key_stops_cached_tokens_at_the_next_key_reload(
    client, federation: Federation, tokens: TokenService, owner, live
) -> None:
    """Verified tokens are remembered, but only until the keys reload."""
    from sqlalchemy import update

    from flexunion.auth.models import SigningKey

    async with owner() as s, s.begin():
        await create_key(s, Keyring(TEST_SECRET.encode()), activate=True)
    await tokens.keys.reload()
    token, _ = await tokens.issue(role=Role.HQ_ADMIN, subject="s",
                                  tenant_id=federation.ids[federation.hq],
                                  tenant_code=federation.hq)
    kid = jwt.get_unverified_header(token)["kid"]
    for _ in range(30):
        if (await client.get(PATH, headers=bearer(token))).status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert (await client.get(PATH, headers=bearer(token))).status_code == 200  # now cached
    async with owner() as s, s.begin():
        await s.execute(update(SigningKey).where(SigningKey.kid == kid).values(status="revoked"))
        await create_key(s, Keyring(TEST_SECRET.encode()), activate=True)
    live.server.config.app.state.key_store._loaded_at = float("-inf")  # the 60 s reload, now
    await expect_401(client, token, "token_unknown_key")


async def test_provider_tokens_meet_the_same_checks_and_only_their_own_api(
    client, federation: Federation, tokens: TokenService, clock
) -> None:
    """A referral provider's token (migration 0041) is verified like a partner's: its own
    audience, role and audience agreeing, a subject, signature, algorithm and lifetime."""
    provider_api, partner_api = "/v1/provider/me", "/v1/partner/me"
    tid, code = federation.ids[federation.regions[0]], federation.regions[0]
    genuine, _ = await tokens.issue(role=Role.PROVIDER, subject="rp-nobody-000000000000",
                                    tenant_id=tid, tenant_code=code)
    assert jwt.get_unverified_header(genuine)["typ"] == "at+jwt"
    assert jwt.decode(genuine, options={"verify_signature": False})["aud"] == AUDIENCE_PROVIDER
    # verified, then the API looks the client up: none by that id
    r = await client.get(provider_api, headers=bearer(genuine))
    assert (r.status_code, r.json()["code"]) == (404, "provider_client_not_found"), r.text
    partner, _ = await tokens.issue(role=Role.PARTNER, subject="c", tenant_id=tid,
                                    tenant_code=code)
    await expect_401(client, partner, "token_wrong_audience", path=provider_api)
    for path in (partner_api, PATH, "/v1/me", "/v1/cases"):
        await expect_401(client, genuine, "token_wrong_audience", path=path)
    key = await tokens.keys.signing_key()
    sign = lambda claims: jwt.encode(  # noqa: E731
        claims, key.private, algorithm="EdDSA", headers={"kid": key.kid, "typ": "at+jwt"})
    as_provider = claims_for(federation, aud=AUDIENCE_PROVIDER, role="provider",
                             sub="rp-nobody-000000000000", tid=str(tid), tenant=code)
    # the role and the audience must agree, both ways
    await expect_401(client, sign(as_provider | {"aud": AUDIENCE_PARTNER}),
                     "token_wrong_audience", path=partner_api)
    await expect_401(client, sign(as_provider | {"role": "partner"}), "token_wrong_audience",
                     path=provider_api)
    await expect_401(client, sign(as_provider | {"role": "hq_admin"}), "token_wrong_audience",
                     path=provider_api)
    await expect_401(client, sign(as_provider | {"sub": ""}), "token_invalid", path=provider_api)
    await expect_401(client, sign({k: v for k, v in as_provider.items() if k != "jti"}),
                     "token_invalid", path=provider_api)
    kid, _ = await active_kid(client)
    await expect_401(client, unsigned({"alg": "none", "typ": "at+jwt", "kid": kid}, as_provider),
                     "token_alg_rejected", path=provider_api)
    header, payload, sig = genuine.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "rp-someone-else-000000"
    await expect_401(client, f"{header}.{b64(json.dumps(claims).encode())}.{sig}",
                     "token_bad_signature", path=provider_api)
    clock.advance(hours=-3)
    expired, _ = await tokens.issue(role=Role.PROVIDER, subject="rp-nobody-000000000000",
                                    tenant_id=tid, tenant_code=code, ttl_seconds=3600)
    clock.offset = type(clock.offset)()
    await expect_401(client, expired, "token_expired", path=provider_api)
