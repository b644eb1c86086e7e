"""Platform partners get tokens by OAuth2 client credentials (RFC 6749 §4.4) and use them."""

from __future__ import annotations

import base64

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.audit.models import AuditEvent
from flexunion.auth.models import PartnerClient
from flexunion.auth.partners.service import create_partner_client
from tests.support.factories import Federation, bearer

Owner = async_sessionmaker[AsyncSession]


async def new_client(owner: Owner, tenant_code: str, partner: str = "alpha") -> tuple[str, str]:
    async with owner() as s, s.begin():
        return await create_partner_client(s, tenant_code=tenant_code, partner_code=partner,
                                           name="调度系统 dispatch")


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


async def token_basic(client: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    return await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                             headers=basic(client_id, secret))


def assert_oauth_error(r: httpx.Response, status: int, error: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["error"] == error, body
    assert body["code"] == error
    assert r.headers["cache-control"] == "no-store"
    return body


async def test_basic_auth_token_reads_profile_and_own_tenant(
    client: httpx.AsyncClient, owner: Owner, federation: Federation
) -> None:
    client_id, secret = await new_client(owner, federation.hq)
    r = await token_basic(client, client_id, secret)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert set(body) == {"access_token", "token_type", "expires_in"}
    token = body["access_token"]

    me = await client.get("/v1/partner/me", headers=bearer(token))
    assert me.status_code == 200, me.text
    assert me.json() == {
        "client_id": client_id, "client_name": "调度系统 dispatch", "partner_code": "alpha",
        "partner_name_zh": "阿尔法平台", "partner_name_en": "Alpha Platform",
        "tenant": federation.hq,
    }
    region = federation.regions[0]
    tenant = await client.get(f"/v1/partner/tenants/{region}", headers=bearer(token))
    assert tenant.status_code == 200, tenant.text
    assert tenant.json()["code"] == region

    async with owner() as s:
        row = await s.scalar(select(PartnerClient).where(PartnerClient.client_id == client_id))
        assert row is not None and row.last_used_at is not None
        events = (await s.scalars(select(AuditEvent).where(
            AuditEvent.action == "auth.partner_token", AuditEvent.object_id == str(row.id)
        ))).all()
    assert len(events) == 1
    assert events[0].actor == f"partner:{client_id}"
    assert events[0].tenant_id == federation.ids[federation.hq]
    assert events[0].payload == {"client_id": client_id, "method": "client_secret_basic"}


async def test_post_auth_token_for_a_regional_client(
    client: httpx.AsyncClient, owner: Owner, federation: Federation
) -> None:
    region, other_region = federation.regions
    client_id, secret = await new_client(owner, region, partner="beta")
    r = await client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
    })
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    me = (await client.get("/v1/partner/me", headers=bearer(token))).json()
    assert (me["tenant"], me["partner_code"]) == (region, "beta")
    # A regional client sees its own subtree, not the sibling region nor HQ.
    assert (await client.get(f"/v1/partner/tenants/{federation.stations[region][0]}",
                             headers=bearer(token))).status_code == 200
    for code in (other_region, federation.hq):
        hidden = await client.get(f"/v1/partner/tenants/{code}", headers=bearer(token))
        assert hidden.status_code == 404, hidden.text


async def test_wrong_secret_and_unknown_client_look_the_same(
    client: httpx.AsyncClient, owner: Owner, federation: Federation
) -> None:
    client_id, secret = await new_client(owner, federation.hq)
    wrong = assert_oauth_error(await token_basic(client, client_id, secret + "x"), 401,
                               "invalid_client")
    unknown = assert_oauth_error(await token_basic(client, "alpha-000000000000", secret), 401,
                                 "invalid_client")
    assert wrong == unknown
    posted_wrong = await client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": "nope",
    })
    posted_unknown = await client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": "nobody", "client_secret": "nope",
    })
    assert assert_oauth_error(posted_wrong, 401, "invalid_client") == \
        assert_oauth_error(posted_unknown, 401, "invalid_client")
    for r in (await token_basic(client, client_id, "bad"), posted_wrong):
        assert r.headers["www-authenticate"].startswith("Basic ")
    async with owner() as s:
        row = await s.scalar(select(PartnerClient).where(PartnerClient.client_id == client_id))
        assert row is not None and row.last_used_at is None


async def test_no_client_authentication(client: httpx.AsyncClient) -> None:
    r = await client.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert_oauth_error(r, 401, "invalid_client")


async def test_disabled_client_is_refused(
    client: httpx.AsyncClient, owner: Owner, federation: Federation
) -> None:
    client_id, secret = await new_client(owner, federation.hq)
    good = await token_basic(client, client_id, secret)
    assert good.status_code == 200
    async with owner() as s, s.begin():
        await s.execute(update(PartnerClient).where(PartnerClient.client_id == client_id)
                        .values(disabled=True))
    assert_oauth_error(await token_basic(client, client_id, secret), 401, "invalid_client")
    # A token issued before the client was disabled no longer reads the profile.
    me = await client.get("/v1/partner/me", headers=bearer(good.json()["access_token"]))
    assert me.status_code == 401 and me.json()["code"] == "client_disabled"


@pytest.mark.parametrize(("data", "status", "error"), [
    ({"grant_type": "password", "username": "u", "password": "p"}, 400, "unsupported_grant_type"),
    ({"grant_type": "authorization_code", "code": "x"}, 400, "unsupported_grant_type"),
    ({}, 400, "invalid_request"),
    ({"grant_type": ""}, 400, "invalid_request"),
    ({"grant_type": "client_credentials", "scope": "admin"}, 400, "invalid_scope"),
])
async def test_bad_grant_requests(
    client: httpx.AsyncClient, owner: Owner, federation: Federation,
    data: dict[str, str], status: int, error: str,
) -> None:
    client_id, secret = await new_client(owner, federation.hq)
    r = await client.post("/oauth/token", data=data, headers=basic(client_id, secret))
    assert_oauth_error(r, status, error)


@pytest.mark.parametrize(("content", "headers"), [
    (b'{"grant_type": "client_credentials"}', {"Content-Type": "application/json"}),
    (b"grant_type=client_credentials&grant_type=client_credentials",
     {"Content-Type": "application/x-www-form-urlencoded"}),
    (b"grant_type=\xff", {"Content-Type": "application/x-www-form-urlencoded"}),
])
async def test_malformed_token_requests(
    client: httpx.AsyncClient, owner: Owner, federation: Federation,
    content: bytes, headers: dict[str, str],
) -> None:
    client_id, secret = await new_client(owner, federation.hq)
    r = await client.post("/oauth/token", content=content,
                          headers={**headers, **basic(client_id, secret)})
    assert_oauth_error(r, 400, "invalid_request")


async def test_two_authentication_methods_are_refused(
    client: httpx.AsyncClient, owner: Owner, federation: Federation
) -> None:
    client_id, secret = await new_client(owner, federation.hq)
    r = await client.post("/oauth/token", headers=basic(client_id, secret), data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
    })
    assert_oauth_error(r, 400, "invalid_request")


async def test_partner_token_is_not_an_admin_token(
    client: httpx.AsyncClient, owner: Owner, federation: Federation
) -> None:
    client_id, secret = await new_client(owner, federation.hq)
    token = (await token_basic(client, client_id, secret)).json()["access_token"]
    r = await client.get("/v1/admin/tenants", headers=bearer(token))
    assert r.status_code == 401, r.text
    assert r.json()["code"] == "token_wrong_audience"


async def test_other_federations_client_cannot_read_this_federation(
    client: httpx.AsyncClient, owner: Owner, federation: Federation,
    other_federation: Federation,
) -> None:
    client_id, secret = await new_client(owner, other_federation.hq)
    token = (await token_basic(client, client_id, secret)).json()["access_token"]
    for code in (federation.hq, federation.regions[0]):
        r = await client.get(f"/v1/partner/tenants/{code}", headers=bearer(token))
        assert r.status_code == 404, r.text
    assert (await client.get(f"/v1/partner/tenants/{other_federation.hq}",
                             headers=bearer(token))).status_code == 200


async def test_partner_me_needs_a_partner_token(
    client: httpx.AsyncClient, federation: Federation, staff_token
) -> None:
    assert (await client.get("/v1/partner/me")).json()["code"] == "token_missing"
    admin = await staff_token(federation, "hq_admin", federation.hq)
    r = await client.get("/v1/partner/me", headers=bearer(admin))
    assert r.status_code == 401 and r.json()["code"] == "token_wrong_audience"
