"""Console sign-in through the identity provider (the fake of tests/auth/test_admin_oidc.py):
the console's own callback, a session like a password sign-in's, the account's scope."""

from __future__ import annotations

import uuid

import httpx

from flexunion.config import Settings
from tests.auth.test_admin_oidc import FakeIdp, linked_admin
from tests.support.factories import Federation


async def test_a_linked_officer_signs_in_to_the_console_through_the_provider(
        oidc_live, idp: FakeIdp, owner, federation: Federation, settings: Settings) -> None:
    subject = f"console-{uuid.uuid4()}"
    await linked_admin(owner, federation, subject, role="regional_admin",
                       tenant=federation.regions[0])
    async with httpx.AsyncClient(base_url=oidc_live.url, timeout=30) as browser:
        page = await browser.get("/console/login")
        assert 'href="/console/oidc/login"' in page.text
        begun = await browser.get("/console/oidc/login")
        assert begun.status_code == 302
        assert "path=/console/oidc" in begun.headers["set-cookie"].lower()
        code, state = idp.authorize(begun.headers["location"], subject,
                                    redirect_uri=f"{settings.issuer}/console/oidc/callback")
        back = await browser.get("/console/oidc/callback", params={"code": code, "state": state})
        assert back.status_code == 303 and back.headers["location"] == "/console/"
        dashboard = await browser.get("/console/")
        assert dashboard.status_code == 200 and "统一认证管理员" in dashboard.text
        assert federation.regions[0] in dashboard.text


async def test_an_unknown_identity_gets_the_sign_in_page_with_the_reason(
        oidc_live, idp: FakeIdp, settings: Settings) -> None:
    async with httpx.AsyncClient(base_url=oidc_live.url, timeout=30) as browser:
        begun = await browser.get("/console/oidc/login")
        code, state = idp.authorize(begun.headers["location"], f"nobody-{uuid.uuid4()}",
                                    redirect_uri=f"{settings.issuer}/console/oidc/callback")
        back = await browser.get("/console/oidc/callback", params={"code": code, "state": state})
        assert back.status_code == 401
        assert "没有与该身份关联的管理员账号" in back.text
        assert "flexunion_console=" not in back.headers.get("set-cookie", "")
