"""登录 / 退出: the sign-in page (password with lockout, or the identity provider), logout,
and the language switch. Sign-in is a form with a double-submit CSRF cookie; a session is a
row in PostgreSQL behind an HttpOnly, SameSite=Lax cookie (auth/sessions)."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter

from flexunion.auth.sessions import service as sessions
from flexunion.auth.staff import oidc
from flexunion.auth.staff import service as staff
from flexunion.config import Settings
from flexunion.console import csrf
from flexunion.console.errors import EXCEPTION_HANDLERS
from flexunion.console.forms import Form, read_form
from flexunion.console.i18n import LANG_COOKIE
from flexunion.console.render import html, see_other, speaker
from flexunion.core.clock import Clock
from flexunion.core.errors import DomainError
from flexunion.core.uow import UnitOfWork

NextParam = Annotated[str | None, QueryParameter(name="next", max_length=2048)]
OIDC_COOKIE_PATH = "/console/oidc"
CALLBACK = "/console/oidc/callback"


def safe_next(value: str | None) -> str:
    """Only a console path of this site (no //host, no scheme): never an open redirect."""
    if value and value.startswith("/console") and not value.startswith("//") \
            and "\\" not in value and not value.startswith("/console/login"):
        return value
    return "/console/"


def _secure(request: Request[Any, Any, Any]) -> bool:
    """Secure cookies over TLS: this request's, or the public URL's (FLEXUNION_ISSUER) when
    TLS ends at a proxy in front of the app."""
    return (request.url.scheme == "https"
            or request.app.state.settings.issuer.startswith("https://"))


def session_cookie(request: Request[Any, Any, Any], token: str, max_age: int) -> Cookie:
    return Cookie(key=sessions.COOKIE, value=token, path=sessions.COOKIE_PATH, httponly=True,
                  samesite="lax", secure=_secure(request), max_age=max_age)


def _login_page(request: Request[Any, Any, Any], form: Form | None, next_: str,
                status: int = 200) -> Response[str]:
    token = request.cookies.get(csrf.LOGIN_COOKIE) or secrets.token_urlsafe(32)
    request.scope["state"]["login_csrf"] = token
    cookie = Cookie(key=csrf.LOGIN_COOKIE, value=token, path="/console/login", httponly=True,
                    samesite="strict", secure=_secure(request), max_age=3600)
    oidc_on = request.app.state.settings.auth.oidc.enabled
    return html(request, "signin.html", status=status, form=form, next=next_, oidc=oidc_on,
                cookies=[cookie])


@get("/login", include_in_schema=False)
async def sign_in_page(request: Request[Any, Any, Any], next: NextParam = None) -> Response[str]:
    return _login_page(request, None, safe_next(next))


@post("/login", include_in_schema=False, before_request=csrf.check_login)
async def sign_in(request: Request[Any, Any, Any], uow: NamedDependency[UnitOfWork],
                  clock: NamedDependency[Clock],
                  settings: NamedDependency[Settings]) -> Response[str]:
    t = speaker(request)
    form = await read_form(request, t)
    next_ = safe_next(form.values.get("next"))
    username = form.text("username", min_length=3, max_length=64)
    password = form.values.get("password", "")
    if not password:
        form.errors["password"] = t("此项必填。", "This field is required.")
    elif len(password) > 256:
        form.errors["password"] = t("最多 256 个字符。", "At most 256 characters.")
    if not form.ok or username is None:
        return _login_page(request, form, next_, status=422)
    try:
        who = await staff.password_sign_in(uow, clock, username=username, password=password,
                                           via="console")
    except DomainError as exc:
        form.refused(exc, {"login_failed": "password"})
        uow.keep_on_error = form.keep
        return _login_page(request, form, next_, status=exc.status)
    started = await sessions.start(uow, clock, settings, who)
    max_age = settings.console.absolute_hours * 3600
    spent = Cookie(key=csrf.LOGIN_COOKIE, value="", path="/console/login", max_age=0)
    return see_other(next_, cookies=[session_cookie(request, started.token, max_age), spent])


@get("/oidc/login", include_in_schema=False)
async def oidc_begin(request: Request[Any, Any, Any], settings: NamedDependency[Settings],
                     clock: NamedDependency[Clock]) -> Response[str]:
    provider = oidc.provider_for(request.app.state, settings)
    url, sealed = await oidc.begin_login(provider, settings, request.app.state.keyring, clock,
                                         callback=f"{settings.issuer}{CALLBACK}")
    cookie = Cookie(key=oidc.STATE_COOKIE, value=sealed, max_age=oidc.STATE_TTL_SECONDS,
                    path=OIDC_COOKIE_PATH, httponly=True, samesite="lax",
                    secure=settings.issuer.startswith("https://"))
    return Response("", status_code=302, headers={"Location": url, "Cache-Control": "no-store"},
                    cookies=[cookie])


@get("/oidc/callback", include_in_schema=False)
async def oidc_back(
    request: Request[Any, Any, Any], uow: NamedDependency[UnitOfWork],
    settings: NamedDependency[Settings], clock: NamedDependency[Clock],
    code: Annotated[str | None, QueryParameter(max_length=2048)] = None,
    oauth_state: Annotated[str | None, QueryParameter(name="state", max_length=2048)] = None,
    error: Annotated[str | None, QueryParameter(max_length=2048)] = None,
) -> Response[str]:
    provider = oidc.provider_for(request.app.state, settings)
    t = speaker(request)
    spent = Cookie(key=oidc.STATE_COOKIE, value="", max_age=0, path=OIDC_COOKIE_PATH,
                   httponly=True, samesite="lax")
    try:
        issuer, subject = await oidc.complete_login(
            provider, settings, request.app.state.keyring, clock,
            cookie=request.cookies.get(oidc.STATE_COOKIE), state=oauth_state, code=code,
            error=error)
        who = await staff.oidc_sign_in(uow, clock, issuer=issuer, subject=subject,
                                       via="console")
    except DomainError as exc:
        form = Form(t)
        form.refused(exc)
        return _login_page(request, form, "/console/", status=exc.status)
    started = await sessions.start(uow, clock, settings, who)
    max_age = settings.console.absolute_hours * 3600
    return see_other("/console/", cookies=[session_cookie(request, started.token, max_age),
                                           spent])


@get("/lang/{lang:str}", include_in_schema=False)
async def switch_language(
    lang: Annotated[str, PathParameter(pattern=r"^(zh|en)$")], next: NextParam = None,
) -> Response[str]:
    """中文 / English: remembered for a year in a cookie (no account setting needed)."""
    cookie = Cookie(key=LANG_COOKIE, value=lang, path="/console", max_age=365 * 86400,
                    samesite="lax", httponly=True)
    return see_other(safe_next(next), cookies=[cookie])


router = Router("/console", route_handlers=[sign_in_page, sign_in, oidc_begin, oidc_back,
                                            switch_language],
                exception_handlers=EXCEPTION_HANDLERS, include_in_schema=False)
