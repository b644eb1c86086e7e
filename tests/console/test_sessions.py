"""Console sessions over real HTTP: sign-in (and its lockout), the cookie's flags, idle and
absolute expiry, logout that ends the session everywhere, and CSRF on every unsafe page."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from flexunion.auth.models import AdminAccount, ConsoleSession
from tests.support.console import csrf_of, sign_in, signed_in, staff_account
from tests.support.factories import Federation


async def _session_rows(owner, username: str) -> list[ConsoleSession]:
    async with owner() as s:
        account = await s.scalar(select(AdminAccount).where(AdminAccount.username == username))
        return list((await s.scalars(select(ConsoleSession).where(
            ConsoleSession.account_id == account.id))).all())


async def test_sign_in_sets_a_strict_cookie_and_opens_the_dashboard(
        live, owner, federation: Federation) -> None:
    username, password = await staff_account(owner, federation.regions[0], "regional_admin",
                                             name="李干事")
    async with httpx.AsyncClient(base_url=live.url) as client:
        answer = await sign_in(client, username, password, next_="/console/members")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/members"
        cookie = next(v for k, v in answer.headers.multi_items()
                      if k == "set-cookie" and v.startswith("flexunion_console="))
        flags = {p.strip().lower() for p in cookie.split(";")[1:]}
        assert {"httponly", "samesite=lax", "path=/console"} <= flags
        assert "secure" not in flags  # plain HTTP on loopback; Secure over TLS
        page = await client.get("/console/")
        assert page.status_code == 200
        assert "李干事" in page.text and 'data-menu="transfers"' in page.text
        assert page.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    rows = await _session_rows(owner, username)
    assert len(rows) == 1 and rows[0].ended_at is None and len(rows[0].token_hash) == 32


async def test_wrong_password_is_said_next_to_the_field_and_counts_towards_lockout(
        live, owner, federation: Federation) -> None:
    username, password = await staff_account(owner, federation.regions[0], "regional_admin")
    async with httpx.AsyncClient(base_url=live.url) as client:
        for _ in range(5):
            answer = await sign_in(client, username, "wrong-password")
            assert answer.status_code == 401
            assert 'id="password-error"' in answer.text and "用户名或密码错误" in answer.text
        locked = await sign_in(client, username, password)
        assert locked.status_code == 429 and "登录失败次数过多" in locked.text
        client.cookies.set("flexunion_lang", "en", path="/console")
        english = await sign_in(client, username, password)
        assert "Too many failed logins" in english.text
    assert await _session_rows(owner, username) == []


async def test_sign_in_form_without_its_csrf_token_is_refused(live, owner,
                                                               federation: Federation) -> None:
    username, password = await staff_account(owner, federation.regions[0], "regional_admin")
    async with httpx.AsyncClient(base_url=live.url) as client:
        await client.get("/console/login")
        answer = await client.post("/console/login", data={"username": username,
                                                           "password": password})
        assert answer.status_code == 403 and "csrf_invalid" in answer.text
    assert await _session_rows(owner, username) == []


@pytest.mark.parametrize(("shift", "reason"), [(timedelta(minutes=31), "idle"),
                                               (timedelta(hours=12, seconds=1), "expired")])
async def test_an_expired_session_returns_to_sign_in(live, owner, clock, federation: Federation,
                                                     shift, reason) -> None:
    username, password = await staff_account(owner, federation.regions[0], "regional_admin")
    async with httpx.AsyncClient(base_url=live.url) as client:
        assert (await sign_in(client, username, password)).status_code == 303
        if reason == "expired":  # active all along: only the absolute limit ends it
            for _ in range(24):  # 11 h 36 min of use, never 30 min idle
                clock.offset += timedelta(minutes=29)
                assert (await client.get("/console/")).status_code == 200
            clock.offset = shift
        else:
            clock.offset += shift
        answer = await client.get("/console/members?status=active")
        assert answer.status_code == 303
        assert answer.headers["location"] == (
            "/console/login?next=%2Fconsole%2Fmembers%3Fstatus%3Dactive")
        hx = await client.get("/console/", headers={"HX-Request": "true"})
        assert hx.headers["hx-redirect"].startswith("/console/login")
    rows = await _session_rows(owner, username)
    assert [r.ended_reason for r in rows] == [reason]


async def test_logout_ends_the_session_for_every_copy_of_the_cookie(
        live, owner, federation: Federation) -> None:
    async with signed_in(live.url, owner, federation.regions[0], "regional_admin") as client:
        page = await client.get("/console/")
        stolen = client.cookies.get("flexunion_console")
        answer = await client.post("/console/logout", data={"_csrf": csrf_of(page.text)})
        assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
        async with httpx.AsyncClient(base_url=live.url) as other:
            other.cookies.set("flexunion_console", stolen, path="/console")
            assert (await other.get("/console/")).status_code == 303


async def test_every_unsafe_console_page_refuses_a_request_without_its_csrf_token(
        live, owner, federation: Federation) -> None:
    """Every POST/PUT/PATCH/DELETE route under /console (but the sign-in form, checked
    above), with a live session: no token, a wrong token → 403, and nothing ran."""
    from litestar.routes import HTTPRoute

    app = live.server.config.app
    unsafe = sorted({(route.path_format, method) for route in app.routes
                     if isinstance(route, HTTPRoute) and route.path.startswith("/console")
                     for method in route.methods - {"GET", "HEAD", "OPTIONS"}
                     if route.path != "/console/login"})
    assert ("/console/logout", "POST") in unsafe and len(unsafe) >= 2
    # An HQ admin reaches every page (a role a page is not for gets its 404 before CSRF).
    async with signed_in(live.url, owner, federation.hq, "hq_admin") as client:
        for template, method in unsafe:
            path = template
            for name in ("member_id", "transfer_id", "item_id", "ballot_id", "client_id",
                         "run_id", "case_id", "referral_id", "signal_id", "grant_id",
                         "agreement_id", "clause_id", "checkpoint_id", "application_id"):
                path = path.replace("{" + name + "}", str(uuid.uuid4()))
            path = path.replace("{code}", "x-none").replace("{number}", "1")
            for headers in ({}, {"X-CSRF-Token": "wrong"}):
                answer = await client.request(method, path, headers=headers, data={"a": "1"})
                assert answer.status_code == 403, (method, path, answer.status_code)
                assert "csrf_invalid" in answer.text
        assert (await client.get("/console/")).status_code == 200  # not signed out by it


async def test_the_cookie_is_secure_when_the_public_url_is_https(
        settings, sms, clock, owner, federation: Federation) -> None:
    """TLS ending at a proxy: the request is plain HTTP, the public URL (FLEXUNION_ISSUER)
    is https, so the browser must send the cookie over TLS only."""
    import dataclasses

    from flexunion.app import create_app
    from tests.support.server import LiveServer

    server = LiveServer(create_app(dataclasses.replace(settings, issuer="https://union.example"),
                                   sms=sms, clock=clock)).start()
    try:
        username, password = await staff_account(owner, federation.regions[0], "regional_admin")
        async with httpx.AsyncClient(base_url=server.url) as client:
            page = await client.get("/console/login")
            # httpx, like a browser, keeps a Secure cookie off plain HTTP: send it by hand.
            csrf = next(v for k, v in page.headers.multi_items() if k == "set-cookie")
            assert csrf.startswith("flexunion_login_csrf=") and "secure" in csrf.lower()
            answer = await client.post(
                "/console/login", headers={"Cookie": csrf.split(";")[0]},
                data={"_csrf": csrf_of(page.text), "username": username, "password": password})
        assert answer.status_code == 303, answer.text
        cookies = [v.lower() for k, v in answer.headers.multi_items() if k == "set-cookie"]
        session = next(c for c in cookies if c.startswith("flexunion_console="))
        assert "secure" in {p.strip() for p in session.split(";")}
    finally:
        server.stop()
