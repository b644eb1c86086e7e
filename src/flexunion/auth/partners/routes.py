"""Partner API clients: the OAuth2 token endpoint (anonymous: the client authenticates in
the request itself) and the calling client's profile (a partner token).

`POST /oauth/token` answers in RFC 6749 form (`{"error": ...}`), not problem+json:
OAuth client libraries read exactly that shape. Its JSON also carries `code`,
equal to `error`, like every other flexunion error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.auth.partners import oauth, service
from flexunion.auth.partners.schemas import OAuthErrorResponse, PartnerProfile, PartnerTokenResponse
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import BEARER, PARTNER, problems
from flexunion.core.uow import UnitOfWork

TAGS = ["auth 认证"]


def _text(description: str, max_length: int) -> Schema:
    return Schema(type=OpenAPIType.STRING, description=description, max_length=max_length)


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
                    "client_id": _text("client_secret_post only (else HTTP Basic)", 128),
                    "client_secret": _text("client_secret_post only (else HTTP Basic)", 256),
                },
            ))},
        )


# The handler answers Authlib's JSON as it is; these say what that JSON is.
_TOKEN_ANSWERS = {
    # No generated examples: they are random, and the document must not differ between builds.
    200: ResponseSpec(PartnerTokenResponse, description="Request fulfilled, document follows",
                      generate_examples=False),
    400: ResponseSpec(OAuthErrorResponse, generate_examples=False,
                      description="RFC 6749 error: invalid_request, unsupported_grant_type, "
                                  "invalid_scope"),
    401: ResponseSpec(OAuthErrorResponse, generate_examples=False,
                      description="RFC 6749 error invalid_client (unknown or disabled client, "
                                  "wrong secret); WWW-Authenticate: Basic"),
}


@post("/token", status_code=200, operation_class=TokenRequestOperation,
      responses=_TOKEN_ANSWERS,
      summary="平台企业与转介机构获取访问令牌 Partner or provider access token (OAuth2 client "
              "credentials)",
      description="RFC 6749 §4.4. Client authentication client_secret_basic or "
                  "client_secret_post. The token is a JWT for audience flexunion-partner "
                  "(a referral provider's client: flexunion-provider).")
async def partner_token(
    request: Request[Any, Any, Any], uow: NamedDependency[UnitOfWork],
    clock: NamedDependency[Clock],
) -> Response[dict[str, Any]]:
    status, body, headers = await service.token_endpoint(
        uow, request.app.state.tokens, clock,
        uri=str(request.url), headers=request.headers,
        content_type=request.headers.get("content-type", ""), body=await request.body(),
    )
    return Response(
        body, status_code=status, media_type="application/json",
        headers={k: v for k, v in headers if k.lower() != "content-type"},
    )


@get("/me", summary="当前平台客户端 The calling partner client, its partner and tenant",
     responses=problems({401: "client_disabled: the client was disabled after its token "
                              "was issued",
                         404: "partner_client_not_found"}))
async def partner_me(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller]
) -> PartnerProfile:
    return await service.partner_profile(session, caller)


router = Router("/", tags=TAGS, route_handlers=[
    Router("/oauth", route_handlers=[partner_token]),
    Router("/v1/partner", opt=PARTNER, security=BEARER, route_handlers=[partner_me]),
])
