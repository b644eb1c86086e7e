"""POST /v1/cards/verify: every tenant of the federation can check a card, and every
forged, expired, re-signed, tampered or revoked card is refused with its own reason."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from flexunion.auth.partners.service import create_partner_client
from flexunion.config import AUDIENCE_ADMIN
from tests.cards.conftest import (
    VERIFY,
    b64,
    card,
    member,
    officer_check,
    parts,
    private_key,
    set_status,
    unb64,
    verify,
)
from tests.conftest import TEST_ISSUER
from tests.support.factories import Federation, bearer

CARD_TYP = "vnd.flexunion.member-card+jwt"


async def officer(staff_token, fed: Federation, region: int = 1) -> str:
    """A station officer of the *second* region: members in these tests live in the first."""
    return await staff_token(fed, "station_officer", fed.stations[fed.regions[region]][0])


def reassemble(header: dict[str, Any], claims: dict[str, Any], signature: bytes) -> str:
    return ".".join([b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()),
                     b64(signature)])


def sign(header: dict[str, Any], claims: dict[str, Any], key: Ed25519PrivateKey) -> str:
    return jwt.encode(claims, key, algorithm="EdDSA", headers=header)


def expect(result: dict[str, Any], reason: str, status: str | None = None) -> None:
    assert result["reason"] == reason, result
    assert result["valid"] is (reason == "ok")
    assert result["reason_zh"]
    assert result["status"] == status, result


async def test_a_station_officer_of_another_region_verifies_a_valid_card(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token,
) -> None:
    joined = await member(client, sms, federation, staff_token)  # homed at r1-s1
    token = (await card(client, joined))["token"]
    result = await verify(client, await officer(staff_token, federation), token)
    expect(result, "ok", "active")
    assert result["reason_zh"] and result["status_zh"] == "正常"
    home = federation.stations[federation.regions[0]][0]
    assert result["holder"] == {
        "name_masked": "张**", "member_no": joined.body["member_no"], "home_code": home,
        "home_name_zh": "站点1-1", "member_since": joined.body["member_since"],
    }
    assert result["checked_at"]
    # The same officer cannot see that member through the admin API: verification opens
    # only the masked card data, not the member record.
    r = await client.get(f"/v1/admin/members/{joined.member_id}",
                         headers=bearer(await officer(staff_token, federation)))
    assert r.status_code == 404
    # Every staff role of the federation may verify.
    for role, code in (("regional_admin", federation.regions[1]), ("hq_admin", federation.hq)):
        expect(await verify(client, await staff_token(federation, role, code), token),
               "ok", "active")


async def test_a_partner_client_verifies(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token, owner,
) -> None:
    joined = await member(client, sms, federation, staff_token)
    token = (await card(client, joined))["token"]
    for tenant in (federation.hq, federation.regions[1]):  # HQ-wide and another region's client
        async with owner() as s, s.begin():
            client_id, secret = await create_partner_client(
                s, tenant_code=tenant, partner_code="alpha", name="派单系统 dispatch")
        r = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                              auth=(client_id, secret))
        assert r.status_code == 200, r.text
        expect(await verify(client, r.json()["access_token"], token), "ok", "active")


async def test_who_may_not_verify(client: httpx.AsyncClient, sms, federation: Federation,
                                  staff_token) -> None:
    joined = await member(client, sms, federation, staff_token)
    token = (await card(client, joined))["token"]
    r = await client.post(VERIFY, json={"card": token}, headers=bearer(joined.token))  # a worker
    assert r.status_code == 401 and r.json()["code"] == "token_wrong_audience"
    r = await client.post(VERIFY, json={"card": token})
    assert r.status_code == 401 and r.json()["code"] == "token_missing"


async def test_forged_with_an_unknown_key(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token,
) -> None:
    joined = await member(client, sms, federation, staff_token)
    header, claims = parts((await card(client, joined))["token"])
    rogue = Ed25519PrivateKey.generate()
    forged = sign({"kid": "card-20260101-deadbeef", "typ": CARD_TYP}, claims, rogue)
    expect(await verify(client, await officer(staff_token, federation), forged), "unknown_key")
    # Embedded keys and remote key sets are never followed.
    raw = rogue.public_key().public_bytes(serialization.Encoding.Raw,
                                          serialization.PublicFormat.Raw)
    for extra in ({"jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64(raw)}},
                  {"jku": "https://attacker.example/jwks.json"}, {"x5u": "https://a.example/c"}):
        forged = sign({"kid": header["kid"], "typ": CARD_TYP, **extra}, claims, rogue)
        expect(await verify(client, await officer(staff_token, federation), forged), "unknown_key")
    for kid in (None, "", "../../etc/passwd", "x" * 65, 42):
        h = {"alg": "EdDSA", "typ": CARD_TYP} | ({"kid": kid} if kid is not None else {})
        expect(await verify(client, await officer(staff_token, federation),
                            reassemble(h, claims, b"\x00" * 64)), "unknown_key")


async def test_re_signed_under_the_real_kid_and_tampered_claims(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token,
) -> None:
    joined = await member(client, sms, federation, staff_token)
    token = (await card(client, joined))["token"]
    header, claims = parts(token)
    verifier = await officer(staff_token, federation)
    resigned = sign({"kid": header["kid"], "typ": CARD_TYP}, claims, Ed25519PrivateKey.generate())
    expect(await verify(client, verifier, resigned), "bad_signature")
    h, _, sig = token.split(".")
    for change in ({"exp": claims["exp"] + 86400 * 365}, {"name": "李**"},
                   {"sub": str(uuid.uuid4())}, {"status": {"status_list": {"idx": 0, "uri": "x"}}}):
        tampered = f"{h}.{b64(json.dumps(claims | change).encode())}.{sig}"
        expect(await verify(client, verifier, tampered), "bad_signature")
    # A flipped signature byte, and the header swapped for another (typ kept).
    raw_sig = bytearray(unb64(sig))
    raw_sig[10] ^= 0x01
    expect(await verify(client, verifier, f"{h}.{token.split('.')[1]}.{b64(bytes(raw_sig))}"),
           "bad_signature")


async def test_alg_none_and_hs256_with_the_public_key(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token,
) -> None:
    joined = await member(client, sms, federation, staff_token)
    header, claims = parts((await card(client, joined))["token"])
    verifier = await officer(staff_token, federation)
    for alg in ("none", "None", "NONE"):
        unsigned = reassemble({"alg": alg, "typ": CARD_TYP, "kid": header["kid"]}, claims, b"")
        expect(await verify(client, verifier, unsigned), "bad_signature")
    jwks = (await client.get(f"/v1/federations/{federation.hq}/jwks.json")).json()["keys"]
    x = jwks[0]["x"]
    for secret in (unb64(x), x.encode(), json.dumps(jwks[0]).encode()):
        for alg, digest in (("HS256", hashlib.sha256), ("HS512", hashlib.sha512)):
            h = b64(json.dumps({"alg": alg, "typ": CARD_TYP, "kid": header["kid"]}).encode())
            signing_input = f"{h}.{b64(json.dumps(claims).encode())}"
            mac = hmac.new(secret, signing_input.encode(), digest).digest()
            expect(await verify(client, verifier, f"{signing_input}.{b64(mac)}"), "bad_signature")


async def test_expired_and_not_yet_valid(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token, clock,
) -> None:
    joined = await member(client, sms, federation, staff_token)
    clock.advance(days=-31)
    old = (await card(client, joined))["token"]
    clock.advance(days=32)
    future = (await card(client, joined))["token"]
    clock.offset = type(clock.offset)()
    verifier = await officer(staff_token, federation)
    expect(await verify(client, verifier, old), "expired")
    expect(await verify(client, verifier, future), "not_yet_valid")
    # Moving the verifier's clock instead: the fresh card expires after 30 days.
    fresh = (await card(client, joined))["token"]
    expect(await verify(client, verifier, fresh), "ok", "active")
    clock.advance(days=30, seconds=61)  # (the access token is checked against real time)
    expect(await verify(client, verifier, fresh), "expired")


@pytest.mark.parametrize(("to", "reason"), [("suspended", "suspended"), ("parked", "parked"),
                                            ("left", "revoked")])
async def test_status_changes_answer_each_with_its_own_reason(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token, to: str, reason: str,
) -> None:
    joined = await member(client, sms, federation, staff_token)
    token = (await card(client, joined))["token"]
    verifier = await officer(staff_token, federation)
    expect(await verify(client, verifier, token), "ok", "active")
    await set_status(client, federation, staff_token, joined, to)
    result = await verify(client, verifier, token)  # online: at once, no cache by default
    expect(result, reason, to)
    assert result["holder"]["member_no"] == joined.body["member_no"]
    if to != "left":
        await set_status(client, federation, staff_token, joined, "active")
        expect(await verify(client, verifier, token), "ok", "active")


async def test_a_card_of_another_federation(
    client: httpx.AsyncClient, sms, federation: Federation, other_federation: Federation,
    staff_token,
) -> None:
    theirs = await member(client, sms, other_federation, staff_token)
    token = (await card(client, theirs))["token"]
    result = await verify(client, await officer(staff_token, federation), token)
    expect(result, "other_federation")
    assert result["holder"] is None  # nothing about another federation's member
    expect(await verify(client, await officer(staff_token, other_federation), token),
           "ok", "active")


async def test_a_genuinely_signed_card_for_nobody(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token, owner,
) -> None:
    """Signed with the federation's own key (an insider, or a deleted member): unknown_member."""
    joined = await member(client, sms, federation, staff_token)
    _, claims = parts((await card(client, joined))["token"])
    kid, key = await private_key(owner, purpose="card", federation_id=federation.ids[federation.hq])
    nobody = sign({"kid": kid, "typ": CARD_TYP}, claims | {"sub": str(uuid.uuid4())}, key)
    expect(await verify(client, await officer(staff_token, federation), nobody), "unknown_member")
    not_a_uuid = sign({"kid": kid, "typ": CARD_TYP}, claims | {"sub": "3101041990"}, key)
    expect(await verify(client, await officer(staff_token, federation), not_a_uuid), "malformed")
    wrong_iss = sign({"kid": kid, "typ": CARD_TYP}, claims | {"iss": "https://elsewhere"}, key)
    expect(await verify(client, await officer(staff_token, federation), wrong_iss), "malformed")


async def test_card_keys_and_access_keys_never_cross(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token, owner,
) -> None:
    fed_id = federation.ids[federation.hq]
    card_kid, card_key = await private_key(owner, purpose="card", federation_id=fed_id)
    access_kid, access_key = await private_key(owner, purpose="access")
    # A card key signing a perfect access token: unknown to the access-token check.
    now = int(time.time())
    access_claims = {"iss": TEST_ISSUER, "aud": AUDIENCE_ADMIN, "sub": "x", "iat": now, "nbf": now,
                     "exp": now + 600, "jti": "j", "role": "hq_admin", "tid": str(fed_id),
                     "tenant": federation.hq}
    forged_access = sign({"kid": card_kid, "typ": "at+jwt"}, access_claims, card_key)
    r = await client.get("/v1/admin/tenants", headers=bearer(forged_access))
    assert r.status_code == 401 and r.json()["code"] == "token_unknown_key", r.text
    # The access key signing a perfect card: unknown to the card check.
    joined = await member(client, sms, federation, staff_token)
    _, claims = parts((await card(client, joined))["token"])
    forged_card = sign({"kid": access_kid, "typ": CARD_TYP}, claims, access_key)
    verifier = await officer(staff_token, federation)
    expect(await verify(client, verifier, forged_card), "unknown_key")
    # An access token is not a card, and a card is not an access token.
    expect(await verify(client, verifier, verifier), "wrong_type")
    card_token = (await card(client, joined))["token"]
    r = await client.get("/v1/admin/tenants", headers=bearer(card_token))
    assert r.status_code == 401 and r.json()["code"] == "token_wrong_type"


async def test_bad_bodies(client: httpx.AsyncClient, federation: Federation, staff_token) -> None:
    verifier = bearer(await officer(staff_token, federation))
    # Syntactically not a card: 200 with reason malformed (a scanner read garbage).
    for garbage in ("not-a-jwt", "a.b.c", "a.b", "....", "eyJ9.eyJ9.eyJ9", "中文.会员.卡",
                    b64(b"[1]") + "." + b64(b"{}") + "." + "A" * 86):
        r = await client.post(VERIFY, json={"card": garbage}, headers=verifier)
        assert r.status_code == 200, r.text
        expect(r.json(), "malformed")
        assert r.json()["holder"] is None
    # A request that is wrong: problem+json.
    cases = [
        ({}, 422, "validation_failed"),
        ({"card": ""}, 422, "validation_failed"),
        ({"card": 42}, 422, "validation_failed"),
        ({"card": "x" * 5 * 1024}, 422, "validation_failed"),
        ({"card": "a.b.c", "tenant": "x"}, 422, "validation_failed"),
    ]
    for body, status, code in cases:
        r = await client.post(VERIFY, json=body, headers=verifier)
        assert r.status_code == status and r.json()["code"] == code, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.post(VERIFY, content=b"{not json",
                          headers=verifier | {"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "malformed_request", r.text
    r = await client.post(VERIFY, json={"card": "x" * 9000}, headers=verifier)
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large", r.text


async def test_many_verifications_write_no_audit_rows(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token, owner,
) -> None:
    from sqlalchemy import func, select

    from flexunion.audit.models import AuditEvent

    joined = await member(client, sms, federation, staff_token)
    token = (await card(client, joined))["token"]
    verifier = await officer(staff_token, federation)
    async with owner() as s:
        before = await s.scalar(select(func.max(AuditEvent.seq)))
    for _ in range(5):
        expect(await verify(client, verifier, token), "ok", "active")
    async with owner() as s:
        assert await s.scalar(select(func.max(AuditEvent.seq))) == before



async def test_the_optional_holder_cache_follows_the_service_clock(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token, settings,
) -> None:
    """FLEXUNION_CARD_VERIFY_CACHE_SECONDS > 0 trades freshness for load: a status change
    shows once the window has passed (by the service clock), never later."""
    from datetime import UTC, datetime

    from flexunion.auth.keys import KeyStore
    from flexunion.core.clock import FixedClock
    from flexunion.core.secrets import Keyring
    from flexunion.core.uow import UnitOfWork
    from flexunion.db.engine import make_engine, make_sessionmaker
    from flexunion.db.scope import DbScope
    from flexunion.membership.cards.service import CardVerifier
    from tests.conftest import TEST_SECRET

    joined = await member(client, sms, federation, staff_token)
    token = (await card(client, joined))["token"]
    station = federation.ids[federation.stations[federation.regions[1]][0]]
    engine = make_engine(settings.app_database_url, pool_size=1, max_overflow=0)
    sessions = make_sessionmaker(engine)
    clock = FixedClock(datetime.now(UTC))
    verifier = CardVerifier(settings, KeyStore(sessions, Keyring(TEST_SECRET.encode())), clock,
                            holder_cache_seconds=5)

    async def check() -> str:
        return await officer_check(verifier, sessions, station, token)

    try:
        assert await check() == "ok"
        await set_status(client, federation, staff_token, joined, "suspended")
        clock.advance(seconds=4)
        assert await check() == "ok"  # within the window
        clock.advance(seconds=1)
        assert await check() == "suspended"
        # A card refused on its face never opens a session.
        uow = UnitOfWork(sessions, DbScope(station, "station_officer:test"))
        assert (await verifier.verify(uow, station, "not-a-card")).reason == "malformed"
        assert not uow.started and uow._session is None
    finally:
        await engine.dispose()
