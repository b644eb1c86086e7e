"""Admin login through an external OpenID Connect provider (authorization code + PKCE).

The provider is a fake played by an httpx.MockTransport — the edge of the world —
injected into a second app; everything on our side is the real app and database."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.app import create_app
from flexunion.audit.models import AuditEvent
from flexunion.auth.models import AdminAccount
from flexunion.auth.staff.service import create_admin
from flexunion.config import OidcSettings, Settings
from tests.support.factories import Federation, bearer
from tests.support.server import LiveServer

# One worker runs the module (pytest-xdist, --dist loadgroup): its app is built once.
pytestmark = pytest.mark.xdist_group("admin-oidc")

ISSUER = "https://idp.test"
CLIENT_ID = "flexunion"
CLIENT_SECRET = "s"
REDIRECT_URI = "http://testserver/v1/admin/oidc/callback"
Owner = async_sessionmaker[AsyncSession]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeIdp:
    """Discovery, JWKS, and a token endpoint that checks the code, the PKCE verifier,
    the redirect URI and the client's credentials before it signs an ID token."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "idp-rsa-1"
        self.ec_key = ec.generate_private_key(ec.SECP256R1())
        self.ec_kid = "idp-ec-1"
        self.codes: dict[str, dict[str, Any]] = {}
        self.discovery_fetches = 0
        self.reset()

    def reset(self) -> None:
        self.claim_overrides: dict[str, Any] = {}
        self.sign_with: tuple[Any, str, str] | None = None  # (key, alg, kid)

    def jwks(self) -> dict[str, Any]:
        rsa_jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        ec_jwk = ECAlgorithm.to_jwk(self.ec_key.public_key(), as_dict=True)
        return {"keys": [{**rsa_jwk, "kid": self.kid, "alg": "RS256", "use": "sig"},
                         {**ec_jwk, "kid": self.ec_kid, "alg": "ES256", "use": "sig"}]}

    def authorize(self, location: str, subject: str,
                  redirect_uri: str = REDIRECT_URI) -> tuple[str, str]:
        """The browser at the provider: the user logs in as `subject`. Returns (code, state)."""
        url = urlsplit(location)
        assert f"{url.scheme}://{url.netloc}{url.path}" == f"{ISSUER}/authorize"
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        assert params["response_type"] == "code"
        assert params["client_id"] == CLIENT_ID
        assert params["redirect_uri"] == redirect_uri
        assert params["code_challenge_method"] == "S256"
        assert set(params["scope"].split()) >= {"openid"}
        assert params["state"] and params["nonce"]
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"subject": subject, "nonce": params["nonce"],
                            "challenge": params["code_challenge"],
                            "redirect_uri": params["redirect_uri"]}
        return code, params["state"]

    def id_token(self, grant: dict[str, Any]) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": grant["subject"], "aud": CLIENT_ID, "iat": now,
                  "exp": now + 300, "nonce": grant["nonce"], "name": "测试管理员"}
        claims.update(self.claim_overrides)
        key, alg, kid = self.sign_with or (self.key, "RS256", self.kid)
        return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})

    def token(self, request: httpx.Request) -> httpx.Response:
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return httpx.Response(401, json={"error": "invalid_client"})
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        grant = self.codes.pop(form.get("code", ""), None)
        if form.get("grant_type") != "authorization_code" or grant is None:
            return httpx.Response(400, json={"error": "invalid_grant"})
        verifier = form.get("code_verifier", "")
        if b64url(hashlib.sha256(verifier.encode()).digest()) != grant["challenge"]:
            return httpx.Response(400, json={"error": "invalid_grant"})
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return httpx.Response(400, json={"error": "invalid_grant"})
        return httpx.Response(200, json={"access_token": secrets.token_urlsafe(24),
                                         "token_type": "Bearer", "expires_in": 300,
                                         "id_token": self.id_token(grant)})

    def handle(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if url == f"{ISSUER}/.well-known/openid-configuration" and request.method == "GET":
            self.discovery_fetches += 1
            return httpx.Response(200, json={
                "issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/authorize",
                "token_endpoint": f"{ISSUER}/token", "jwks_uri": f"{ISSUER}/jwks",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            })
        if url == f"{ISSUER}/jwks" and request.method == "GET":
            return httpx.Response(200, json=self.jwks())
        if url == f"{ISSUER}/token" and request.method == "POST":
            return self.token(request)
        return httpx.Response(404)


@pytest.fixture(scope="module")
def idp() -> FakeIdp:
    return FakeIdp()


@pytest.fixture(autouse=True)
def _reset_idp(idp: FakeIdp) -> Iterator[None]:
    yield
    idp.reset()


@pytest.fixture(scope="module")
def oidc_live(settings: Settings, sms, clock, idp: FakeIdp) -> Iterator[LiveServer]:
    oidc = OidcSettings(issuer=ISSUER, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                        redirect_uri=REDIRECT_URI)
    oidc_settings = dataclasses.replace(settings,
                                        auth=dataclasses.replace(settings.auth, oidc=oidc))
    http = httpx.AsyncClient(transport=httpx.MockTransport(idp.handle))
    server = LiveServer(create_app(oidc_settings, sms=sms, clock=clock, oidc_http=http)).start()
    yield server
    server.stop()


@pytest.fixture
async def browser(oidc_live: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """A browser: keeps cookies, does not follow the redirect to the (fake) provider."""
    async with httpx.AsyncClient(base_url=oidc_live.url, timeout=30) as c:
        yield c


async def linked_admin(owner: Owner, federation: Federation, subject: str,
                       role: str = "hq_admin", tenant: str | None = None) -> uuid.UUID:
    async with owner() as s, s.begin():
        return await create_admin(
            s, tenant_code=tenant or federation.hq, username=f"oidc-{secrets.token_hex(4)}",
            role=role, display_name="统一认证管理员", password=None,
            oidc_issuer=ISSUER, oidc_subject=subject,
        )


async def start_login(browser: httpx.AsyncClient) -> str:
    r = await browser.get("/v1/admin/oidc/login")
    assert r.status_code == 302, r.text
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/v1/admin/oidc" in cookie
    return r.headers["location"]


async def log_in(browser: httpx.AsyncClient, idp: FakeIdp, subject: str) -> httpx.Response:
    code, state = idp.authorize(await start_login(browser), subject)
    return await browser.get("/v1/admin/oidc/callback", params={"code": code, "state": state})


def assert_problem(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code, r.json()


async def test_linked_admin_logs_in_and_uses_the_token(
    browser: httpx.AsyncClient, idp: FakeIdp, owner: Owner, federation: Federation
) -> None:
    subject = f"alice-{uuid.uuid4()}"
    account_id = await linked_admin(owner, federation, subject)
    r = await log_in(browser, idp, subject)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["subject"], body["tenant"], body["role"]) == (str(account_id), federation.hq,
                                                              "hq_admin")
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert r.headers["cache-control"] == "no-store"

    tenants = await browser.get("/v1/admin/tenants", headers=bearer(body["access_token"]),
                                params={"limit": 100})
    assert tenants.status_code == 200, tenants.text
    assert {t["code"] for t in tenants.json()["items"]} == set(federation.all_codes())

    async with owner() as s:
        account = await s.get(AdminAccount, account_id)
        assert account is not None and account.last_login_at is not None
        events = (await s.scalars(select(AuditEvent).where(
            AuditEvent.action == "auth.admin_login", AuditEvent.object_id == str(account_id)
        ))).all()
    assert [(e.payload, e.actor) for e in events] == [({"method": "oidc", "via": "api"},
                                                       f"hq_admin:{account_id}")]


async def test_es256_id_token(
    browser: httpx.AsyncClient, idp: FakeIdp, owner: Owner, federation: Federation
) -> None:
    subject = f"ec-{uuid.uuid4()}"
    account_id = await linked_admin(owner, federation, subject)
    idp.sign_with = (idp.ec_key, "ES256", idp.ec_kid)
    r = await log_in(browser, idp, subject)
    assert r.status_code == 200, r.text
    assert r.json()["subject"] == str(account_id)


async def test_state_cookie_is_single_use(
    browser: httpx.AsyncClient, idp: FakeIdp, owner: Owner, federation: Federation
) -> None:
    subject = f"bob-{uuid.uuid4()}"
    await linked_admin(owner, federation, subject)
    code, state = idp.authorize(await start_login(browser), subject)
    first = await browser.get("/v1/admin/oidc/callback", params={"code": code, "state": state})
    assert first.status_code == 200, first.text
    again = await browser.get("/v1/admin/oidc/callback", params={"code": code, "state": state})
    assert_problem(again, 400, "oidc_state_invalid")


async def test_login_state_expires(
    browser: httpx.AsyncClient, idp: FakeIdp, owner: Owner, federation: Federation, clock
) -> None:
    subject = f"slow-{uuid.uuid4()}"
    await linked_admin(owner, federation, subject)
    code, state = idp.authorize(await start_login(browser), subject)
    clock.advance(minutes=11)
    r = await browser.get("/v1/admin/oidc/callback", params={"code": code, "state": state})
    assert_problem(r, 400, "oidc_state_invalid")


async def test_unknown_identity(browser: httpx.AsyncClient, idp: FakeIdp) -> None:
    r = await log_in(browser, idp, f"stranger-{uuid.uuid4()}")
    assert_problem(r, 401, "oidc_account_unknown")


async def test_disabled_account(
    browser: httpx.AsyncClient, idp: FakeIdp, owner: Owner, federation: Federation
) -> None:
    subject = f"carol-{uuid.uuid4()}"
    account_id = await linked_admin(owner, federation, subject, role="regional_admin",
                                    tenant=federation.regions[0])
    async with owner() as s, s.begin():
        await s.execute(update(AdminAccount).where(AdminAccount.id == account_id)
                        .values(disabled=True))
    assert_problem(await log_in(browser, idp, subject), 401, "login_failed")


async def test_state_mismatch_and_missing_cookie(
    browser: httpx.AsyncClient, oidc_live: LiveServer, idp: FakeIdp, owner: Owner,
    federation: Federation,
) -> None:
    subject = f"dave-{uuid.uuid4()}"
    await linked_admin(owner, federation, subject)
    code, _ = idp.authorize(await start_login(browser), subject)
    r = await browser.get("/v1/admin/oidc/callback", params={"code": code, "state": "forged"})
    assert_problem(r, 400, "oidc_state_invalid")
    r = await browser.get("/v1/admin/oidc/callback", params={"code": code})
    assert_problem(r, 400, "oidc_state_invalid")
    # Another browser (no cookie), or a cookie it made up, cannot finish this login.
    code, state = idp.authorize(await start_login(browser), subject)
    async with httpx.AsyncClient(base_url=oidc_live.url) as other:
        r = await other.get("/v1/admin/oidc/callback", params={"code": code, "state": state})
        assert_problem(r, 400, "oidc_state_invalid")
        r = await other.get("/v1/admin/oidc/callback", params={"code": code, "state": state},
                            headers={"Cookie": "flexunion_oidc=" + b64url(b"x" * 80)})
        assert_problem(r, 400, "oidc_state_invalid")


@pytest.mark.parametrize("override", [
    {"nonce": "replayed-nonce"},
    {"aud": "someone-else"},
    {"aud": ["someone-else", CLIENT_ID]},  # several audiences and no azp
    {"iss": "https://evil.test"},
    {"exp": int(time.time()) - 3600},
])
async def test_id_token_claims_are_checked(
    browser: httpx.AsyncClient, idp: FakeIdp, owner: Owner, federation: Federation,
    override: dict[str, Any],
) -> None:
    subject = f"erin-{uuid.uuid4()}"
    await linked_admin(owner, federation, subject)
    idp.claim_overrides = override
    assert_problem(await log_in(browser, idp, subject), 401, "oidc_token_invalid")


def _other_rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize("signer", [
    lambda idp: (_other_rsa(), "RS256", idp.kid),          # same kid, another key
    lambda idp: (_other_rsa(), "RS256", "unknown-kid"),    # a key the provider never published
    lambda idp: (idp.ec_key, "ES256", idp.kid),           # a published key, under a wrong kid
    lambda idp: (CLIENT_SECRET.encode() * 32, "HS256", idp.kid),  # symmetric: never accepted
])
async def test_id_token_signature_is_checked(
    browser: httpx.AsyncClient, idp: FakeIdp, owner: Owner, federation: Federation, signer,
) -> None:
    subject = f"frank-{uuid.uuid4()}"
    await linked_admin(owner, federation, subject)
    idp.sign_with = signer(idp)
    assert_problem(await log_in(browser, idp, subject), 401, "oidc_token_invalid")


async def test_provider_refusing_the_code(
    browser: httpx.AsyncClient, idp: FakeIdp, owner: Owner, federation: Federation
) -> None:
    subject = f"grace-{uuid.uuid4()}"
    await linked_admin(owner, federation, subject)
    _, state = idp.authorize(await start_login(browser), subject)
    r = await browser.get("/v1/admin/oidc/callback", params={"code": "not-issued", "state": state})
    assert_problem(r, 502, "oidc_provider_error")


async def test_provider_reports_an_error(browser: httpx.AsyncClient, idp: FakeIdp) -> None:
    _, state = idp.authorize(await start_login(browser), "anyone")
    r = await browser.get("/v1/admin/oidc/callback",
                          params={"error": "access_denied", "state": state})
    assert_problem(r, 401, "oidc_denied")


async def test_discovery_is_cached(browser: httpx.AsyncClient, idp: FakeIdp) -> None:
    await start_login(browser)
    fetches = idp.discovery_fetches
    await start_login(browser)
    await start_login(browser)
    assert idp.discovery_fetches == fetches == 1


async def test_not_configured(client: httpx.AsyncClient) -> None:
    for path in ("/v1/admin/oidc/login", "/v1/admin/oidc/callback?code=x&state=y"):
        assert_problem(await client.get(path), 404, "oidc_not_configured")

