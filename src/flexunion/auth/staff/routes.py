"""Staff login: anonymous endpoints (the answer is the account's token), by password or
through the configured OpenID Connect provider."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter
from litestar.response import Redirect

from flexunion.auth.schemas import AccessToken
from flexunion.auth.staff import oidc, service
from flexunion.auth.staff.schemas import AdminLogin
from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.http import problems
from flexunion.core.uow import UnitOfWork

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
CallbackParam = Annotated[str | None, QueryParameter(max_length=2048)]
# `state` is a name Litestar reserves for the app state; the query parameter is read by alias.
StateParam = Annotated[str | None, QueryParameter(name="state", max_length=2048)]
_OIDC_PROBLEMS = {404: "oidc_not_configured", 502: "oidc_provider_error"}


@post("/login", status_code=200, summary="管理员账号登录 Admin login with username and password",
      responses=problems({401: "login_failed", 429: "login_locked: too many failed logins"}))
async def admin_login(
    request: Request[Any, Any, Any], data: JSONBody[AdminLogin],
    uow: NamedDependency[UnitOfWork], clock: NamedDependency[Clock],
) -> AccessToken:
    return await service.password_login(uow, clock, request.app.state.tokens,
                                        username=data.username, password=data.password)


@get("/oidc/login", status_code=302, responses=problems(_OIDC_PROBLEMS),
     summary="统一身份认证登录 Admin login through the identity provider (redirect)",
     description="Redirects to the provider (authorization code + PKCE S256, state, nonce); "
                 "sets a short-lived sealed HttpOnly cookie for the callback.")
async def oidc_login(
    request: Request[Any, Any, Any], settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
) -> Redirect:
    provider = oidc.provider_for(request.app.state, settings)
    url, sealed = await oidc.begin_login(provider, settings, request.app.state.keyring, clock)
    cookie = Cookie(
        key=oidc.STATE_COOKIE, value=sealed, max_age=oidc.STATE_TTL_SECONDS,
        path=oidc.COOKIE_PATH, httponly=True, samesite="lax",
        secure=oidc.redirect_uri(settings).startswith("https://"),
    )
    return Redirect(url, status_code=302, cookies=[cookie], headers=NO_STORE)


@get("/oidc/callback", status_code=200,
     responses=problems({**_OIDC_PROBLEMS, 400: "oidc_state_invalid, oidc_code_missing",
                         401: "oidc_account_unknown, login_failed, oidc_token_invalid, "
                              "oidc_denied"}),
     summary="统一身份认证回调 Identity provider callback: admin token",
     description="Same answer as /v1/admin/login.")
async def oidc_callback(
    request: Request[Any, Any, Any], uow: NamedDependency[UnitOfWork],
    settings: NamedDependency[Settings], clock: NamedDependency[Clock],
    code: CallbackParam = None, oauth_state: StateParam = None, error: CallbackParam = None,
) -> Response[AccessToken]:
    state = request.app.state
    provider = oidc.provider_for(state, settings)
    issuer, subject = await oidc.complete_login(
        provider, settings, state.keyring, clock,
        cookie=request.cookies.get(oidc.STATE_COOKIE), state=oauth_state, code=code,
        error=error,
    )
    answer = await service.oidc_login(uow, clock, state.tokens, issuer=issuer, subject=subject)
    spent = Cookie(key=oidc.STATE_COOKIE, value="", max_age=0, path=oidc.COOKIE_PATH,
                   httponly=True, samesite="lax")
    return Response(answer, cookies=[spent], headers=NO_STORE)


router = Router("/v1/admin", tags=["auth 认证"],
                route_handlers=[admin_login, oidc_login, oidc_callback])
