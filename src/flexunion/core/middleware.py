"""Request pipeline: OPTIONS → authentication → input guard (core/guard.py) → unit of work
(request ids: core/request_id.py).

Route handlers declare, in `opt`, which token audiences they accept
(`audiences`), which roles (`roles`) and whether they are mobile writes that
take an Idempotency-Key (`idempotent`). Nothing else decides who is calling.
"""

from __future__ import annotations

from typing import Any, cast

from litestar.enums import ScopeType
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Receive, Scope, Send

from flexunion.core.context import Caller
from flexunion.core.errors import Forbidden, Unauthenticated
from flexunion.core.idempotency import run_idempotent
from flexunion.core.request_id import ensure_request_id
from flexunion.core.uow import Receive as UowReceive
from flexunion.core.uow import Send as UowSend
from flexunion.core.uow import UnitOfWork, finish, run_buffered
from flexunion.db.scope import DbScope


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value
    return None


def _bearer(scope: Scope) -> str | None:
    raw = _header(scope, b"authorization")
    if raw is None:
        return None
    scheme, _, token = raw.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("请使用 Authorization: Bearer <令牌> 请求头。",
                              "Use 'Authorization: Bearer <token>'.", code="token_malformed")
    return token.strip()


def _litestars_options_handler(handler: Any) -> bool:
    """The OPTIONS handler Litestar adds to each route (not one an app declares)."""
    qualname = getattr(getattr(handler, "fn", None), "__qualname__", "")
    return isinstance(qualname, str) and qualname.startswith("HTTPRoute.create_options_handler")


def allowed_methods(app: Any, path_template: str) -> list[str]:
    """Every method the path has, over all the routes that serve it."""
    methods: set[str] = set()
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path_format == path_template:
            methods |= set(route.methods)
    return sorted(methods | {"OPTIONS"})


class OptionsMiddleware:
    """OPTIONS answers 204 with `Allow` listing every method of the path, without a token
    (it says what the OpenAPI document says). Litestar's own answer lists the methods of the
    route its OPTIONS handler was made for, which is not always all of the path's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._allow: bytes | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != ScopeType.HTTP or scope["method"] != "OPTIONS"
                or not _litestars_options_handler(scope["route_handler"])):
            await self.app(scope, receive, send)
            return
        if self._allow is None:
            template: str = scope.get("path_template", scope["path"])
            self._allow = ", ".join(allowed_methods(scope["app"], template)).encode()
        ensure_request_id(scope)
        await send({"type": "http.response.start", "status": 204,
                    "headers": [(b"allow", self._allow)]})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class AuthMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            ensure_request_id(scope)
            opt = scope["route_handler"].opt
            audiences: tuple[str, ...] = tuple(opt.get("audiences") or ())
            if audiences:
                token = _bearer(scope)
                if token is None:
                    raise Unauthenticated("此接口需要登录凭证（Bearer 令牌）。",
                                          "This endpoint needs a bearer token.",
                                          code="token_missing")
                caller: Caller = await scope["app"].state.tokens.verify(token, audiences)
                roles = opt.get("roles")
                if roles and caller.role not in roles:
                    raise Forbidden(f"角色 {caller.role.value} 无权使用此接口。",
                                    f"Role '{caller.role}' may not use this endpoint.")
                scope["state"]["caller"] = caller
        await self.app(scope, receive, send)


class UnitOfWorkMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        # The unit of work speaks plain ASGI dicts and callables.
        raw_scope = cast("dict[str, Any]", scope)
        raw_send = cast("UowSend", send)
        request_id = ensure_request_id(scope)
        state = scope["state"]
        app_state = scope["app"].state
        caller: Caller | None = state.get("caller")
        db_scope = (
            caller.db_scope(request_id) if caller else DbScope(None, "anonymous", request_id)
        )
        uow = UnitOfWork(app_state.sessionmaker, db_scope)
        state["uow"] = uow
        try:
            if scope["route_handler"].opt.get("idempotent"):
                settings = app_state.settings
                await run_idempotent(
                    self.app, raw_scope, receive, raw_send, uow,
                    max_body=settings.api.request_max_body_bytes,
                    ttl_hours=settings.api.idempotency_ttl_hours,
                )
            else:
                status, messages = await run_buffered(self.app, raw_scope,
                                                      cast("UowReceive", receive), uow)
                await finish(uow, status, messages, raw_send, raw_scope)
        except BaseException:
            await uow.rollback()
            raise
        finally:
            await uow.close()
