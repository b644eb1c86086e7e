"""Partner OAuth2 token endpoint and partner profile; admin login through OIDC.

`POST /oauth/token` answers in RFC 6749 form (`{"error": ...}`), not problem+json:
OAuth client libraries read exactly that shape. Its JSON also carries `code`,
equal to `error`, like every other flexunion error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import QueryParameter
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.auth import oauth, oidc
from flexunion.auth.schemas import AccessToken
from flexunion.config import AUDIENCE_PARTNER, Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller, Role
from flexunion.core.problems import PROBLEM_JSON
from flexunion.core.uow import UnitOfWork
from flexunion.federation.models import Tenant

TAGS = ["auth 认证"]
PARTNER = {"audiences": (AUDIENCE_PARTNER,), "roles": {Role.PARTNER}}
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
CallbackParam = Annotated[str | None, QueryParameter(max_length=2048)]
# `state` is a name Litestar reserves for the app state; the query parameter is read by alias.
StateParam = Annotated[str | None, QueryParameter(name="state", max_length=2048)]


def _text(description: str) -> Schema:
    return Schema(type=OpenAPIType.STRING, description=description)


@dataclass
class TokenRequestOperation(Operation):
    """The token request is a form read by Authlib, not a body Litestar decodes."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            content={oauth.FORM_MEDIA_TYPE: OpenAPIMediaType(schema=Schema(
                type=OpenAPIType.OBJECT,
                required=["grant_type"],
                properties={
                    "grant_type": Schema(type=OpenAPIType.STRING, enum=[oauth.GRANT_TYPE]),
                    "client_id": _text("client_secret_post only (else HTTP Basic)"),
                    "client_secret": _text("client_secret_post only (else HTTP Basic)"),
                },
            ))},
        )


_OAUTH_ERROR = {
    400: ResponseSpec(oauth.OAuthErrorResponse,
                      description="RFC 6749 error: invalid_request, unsupported_grant_type, "
                                  "invalid_scope"),
    401: ResponseSpec(oauth.OAuthErrorResponse,
                      description="RFC 6749 error invalid_client (unknown or disabled client, "
                                  "wrong secret); WWW-Authenticate: Basic"),
}


@post("/oauth/token", status_code=200, tags=TAGS, operation_class=TokenRequestOperation,
      responses=_OAUTH_ERROR,
      summary="平台企业获取访问令牌 Partner access token (OAuth2 client credentials)",
      description="RFC 6749 §4.4. Client authentication client_secret_basic or "
                  "client_secret_post. The token is a JWT for audience flexunion-partner.")
async def partner_token(
    request: Request[Any, Any, Any], uow: NamedDependency[UnitOfWork],
    clock: NamedDependency[Clock],
) -> Response[oauth.PartnerTokenResponse]:
    status, body, headers = await oauth.token_endpoint(
        uow, request.app.state.tokens, clock,
        uri=str(request.url), headers=request.headers,
        content_type=request.headers.get("content-type", ""), body=await request.body(),
    )
    if "error" in body:
        body["code"] = body["error"]
    return Response(
        body, status_code=status, media_type="application/json",
        headers={k: v for k, v in headers if k.lower() != "content-type"},
    )


@get("/v1/partner/me", opt=PARTNER, tags=TAGS, security=[{"bearer": []}],
     summary="当前平台客户端 The calling partner client, its partner and tenant")
async def partner_me(
    uow: NamedDependency[UnitOfWork], caller: NamedDependency[Caller]
) -> oauth.PartnerProfile:
    return await oauth.partner_profile(uow, caller)


_OIDC_ERRORS = {
    404: ResponseSpec(None, media_type=PROBLEM_JSON, description="oidc_not_configured"),
    502: ResponseSpec(None, media_type=PROBLEM_JSON, description="oidc_provider_error"),
}


@get("/v1/admin/oidc/login", status_code=302, tags=TAGS, responses=_OIDC_ERRORS,
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


@get("/v1/admin/oidc/callback", status_code=200, tags=TAGS,
     responses={**_OIDC_ERRORS,
                400: ResponseSpec(None, media_type=PROBLEM_JSON,
                                  description="oidc_state_invalid, oidc_code_missing"),
                401: ResponseSpec(None, media_type=PROBLEM_JSON,
                                  description="oidc_account_unknown, login_failed, "
                                              "oidc_token_invalid, oidc_denied")},
     summary="统一身份认证回调 Identity provider callback: admin token",
     description="Same answer as /v1/admin/login.")
async def oidc_callback(
    request: Request[Any, Any, Any], uow: NamedDependency[UnitOfWork],
    session: NamedDependency[AsyncSession], settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
    code: CallbackParam = None, oauth_state: StateParam = None, error: CallbackParam = None,
) -> Response[AccessToken]:
    provider = oidc.provider_for(request.app.state, settings)
    account = await oidc.complete_login(
        uow, provider, settings, request.app.state.keyring, clock,
        cookie=request.cookies.get(oidc.STATE_COOKIE), state=oauth_state, code=code,
        error=error,
    )
    tenant = await session.get(Tenant, account.tenant_id)
    assert tenant is not None  # rescoped to the account's own tenant by complete_login
    token, ttl = await request.app.state.tokens.issue(
        role=Role(account.role), subject=str(account.id), tenant_id=tenant.id,
        tenant_code=tenant.code,
    )
    spent = Cookie(key=oidc.STATE_COOKIE, value="", max_age=0, path=oidc.COOKIE_PATH,
                   httponly=True, samesite="lax")
    return Response(
        AccessToken(access_token=token, expires_in=ttl, subject=str(account.id), tenant=tenant.code,
                    role=account.role),
        cookies=[spent], headers=NO_STORE,
    )


ROUTES = [partner_token, partner_me, oidc_login, oidc_callback]
