"""GET /v1/me/card: who gets a card, what it says, and that another JOSE library
(joserfc; the service signs with PyJWT) verifies it against the published JWKS."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
from joserfc import jwt as jose_jwt

from flexunion.config import MembershipSettings, Settings
from flexunion.membership.cards import status_list
from flexunion.membership.cards.service import REUSE_SECONDS, card_ttl
from tests.cards.conftest import (
    JOSERFC_EDDSA,
    card,
    joserfc_decode,
    member,
    parts,
    read_qr,
    status_idx,
    svg_modules,
)
from tests.conftest import TEST_ISSUER
from tests.support.factories import Federation, bearer, join, worker_login

pytestmark = JOSERFC_EDDSA


async def test_an_active_member_gets_a_signed_card(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token, owner, clock,
) -> None:
    home = federation.stations[federation.regions[0]][1]
    joined = await member(client, sms, federation, staff_token, home=home)
    r = await client.get("/v1/me/card", headers=bearer(joined.token))
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert set(body) == {"token", "qr_svg", "expires_at", "status_list_uri"}
    uri = f"{TEST_ISSUER}/v1/federations/{federation.hq}/status-list"
    assert body["status_list_uri"] == uri

    token = await joserfc_decode(client, federation, body["token"])
    assert token.header["typ"] == "vnd.flexunion.member-card+jwt"
    assert token.header["alg"] == "EdDSA" and token.header["kid"].startswith("card-")
    assert set(token.header) == {"alg", "typ", "kid"}
    jose_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": f"{TEST_ISSUER}/federations/{federation.hq}"},
        sub={"essential": True, "value": joined.member_id},
        exp={"essential": True}, nbf={"essential": True}, iat={"essential": True},
        jti={"essential": True},
    ).validate(token.claims)
    claims = token.claims
    assert claims["name"] == "张**" and claims["home"] == home
    assert claims["member_no"] == joined.body["member_no"]
    assert (date.fromisoformat(claims["member_since"])
            == date.fromisoformat(joined.body["member_since"]))
    assert 0 < claims["exp"] - claims["iat"] <= 30 * 86400
    assert claims["nbf"] == claims["iat"]
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert expires == datetime.fromtimestamp(claims["exp"], UTC)
    assert claims["status"] == {"status_list": {"idx": await status_idx(owner, joined.member_id),
                                                "uri": uri}}
    # Nothing personal beyond the masked name: not the ID number, not the real name.
    assert "id_masked" not in claims and "3101" not in body["token"]
    assert "张三丰" not in str(claims)
    assert body["qr_svg"].startswith("<svg") and body["qr_svg"].rstrip().endswith("</svg>")
    scanned = read_qr(svg_modules(body["qr_svg"]))  # the QR code holds exactly the card
    assert scanned.text == body["token"] and scanned.ec_level == "M"

    # Asking again for the unchanged card within REUSE_SECONDS gets the same card and
    # QR code (nothing redrawn); after it, a new credential (new jti), same member and slot.
    assert await card(client, joined) == body
    clock.advance(seconds=REUSE_SECONDS)
    again = parts((await card(client, joined))["token"])[1]
    assert again["jti"] != claims["jti"] and again["status"] == claims["status"]
    assert again["iat"] >= claims["iat"] + REUSE_SECONDS


async def test_the_status_list_at_the_cards_uri_verifies_and_reads_valid(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token, owner,
) -> None:
    joined = await member(client, sms, federation, staff_token)
    claims = parts((await card(client, joined))["token"])[1]
    uri = claims["status"]["status_list"]["uri"]
    r = await client.get(uri.removeprefix(TEST_ISSUER))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/statuslist+jwt"
    listed = await joserfc_decode(client, federation, r.content)
    assert listed.header["typ"] == "statuslist+jwt"
    assert listed.claims["sub"] == uri and listed.claims["ttl"] == 30
    assert listed.claims["iat"] < listed.claims["exp"]
    assert listed.claims["status_list"]["bits"] == 2
    raw = status_list.decode(listed.claims["status_list"]["lst"])
    assert status_list.status_at(raw, claims["status"]["status_list"]["idx"]) == 0x00


async def test_who_has_no_card(client: httpx.AsyncClient, sms, federation: Federation,
                               staff_token) -> None:
    region = federation.regions[0]
    # An applicant (not yet approved): 409, whatever the transfers or other work does.
    applicant = await join(client, sms, federation, region)
    assert applicant.body["status"] == "applicant"
    r = await client.get("/v1/me/card", headers=bearer(applicant.token))
    assert r.status_code == 409 and r.json()["code"] == "card_unavailable", r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    # A worker who never applied: 404.
    token, _ = await worker_login(client, sms, federation.hq)
    r = await client.get("/v1/me/card", headers=bearer(token))
    assert r.status_code == 404 and r.json()["code"] == "not_a_member"
    # Suspended and parked members still get a card (the status list says why it is not
    # valid); one who left gets none.
    for status, code in (("suspended", 200), ("parked", 200), ("left", 409)):
        joined = await member(client, sms, federation, staff_token, home=region, status=status)
        r = await client.get("/v1/me/card", headers=bearer(joined.token))
        assert r.status_code == code, (status, r.text)
    # Staff and partners have no card of their own.
    officer = await staff_token(federation, "hq_admin", federation.hq)
    r = await client.get("/v1/me/card", headers=bearer(officer))
    assert r.status_code == 401 and r.json()["code"] == "token_wrong_audience"


async def test_card_lifetime_is_at_most_thirty_days(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token,
) -> None:
    joined = await member(client, sms, federation, staff_token)
    before = datetime.now(UTC).replace(microsecond=0)
    body = await card(client, joined)
    after = datetime.now(UTC)
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert before <= expires - timedelta(days=30) <= after  # issued in between, whole seconds
    # The setting is capped: a longer configured lifetime still gives 30 days.
    assert (card_ttl(Settings(membership=MembershipSettings(card_ttl_seconds=90 * 86400)))
            == timedelta(days=30))
    assert (card_ttl(Settings(membership=MembershipSettings(card_ttl_seconds=7 * 86400)))
            == timedelta(days=7))


async def test_card_jwks_is_per_federation_and_apart_from_access_keys(
    client: httpx.AsyncClient, federation: Federation, other_federation: Federation,
) -> None:
    ours = (await client.get(f"/v1/federations/{federation.hq}/jwks.json")).json()["keys"]
    theirs = (await client.get(f"/v1/federations/{other_federation.hq}/jwks.json")).json()["keys"]
    access = (await client.get("/.well-known/jwks.json")).json()["keys"]
    assert len(ours) == 1 and len(theirs) == 1
    assert {k["kid"] for k in ours}.isdisjoint(k["kid"] for k in theirs)
    assert {k["kid"] for k in ours + theirs}.isdisjoint(k["kid"] for k in access)
    assert all(k["kty"] == "OKP" and k["crv"] == "Ed25519" and "d" not in k for k in ours)
    for path in ("jwks.json", "status-list"):
        for code in ("no-such-federation", federation.regions[0]):  # a region is no federation
            r = await client.get(f"/v1/federations/{code}/{path}")
            assert r.status_code == 404 and r.json()["code"] == "federation_not_found", r.text
        r = await client.get(f"/v1/federations/Bad_Code/{path}")
        assert r.status_code in (400, 404, 422)
