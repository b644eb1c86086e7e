"""The request pipeline, one ASGI layer per route handler: OPTIONS → authentication → input
guard (core/guard.py) → unit of work (core/uow.py); request ids and the access line are the
app's before_send hook (core/request_id.py).

Route handlers declare, in `opt`, which token audiences they accept (`audiences`), which
roles (`roles`) and whether they are mobile writes that take an Idempotency-Key
(`idempotent`). Nothing else decides who is calling. What a handler declares is read once,
when its first request arrives; a request then pays only for what its handler needs (no
token check without audiences, no body read without a body, no buffered answer without a
session).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from litestar.enums import ScopeType
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Receive, Scope, Send

from flexunion.core.context import Caller
from flexunion.core.deps import DEPENDENCIES, current_scope
from flexunion.core.errors import Forbidden, Unauthenticated
from flexunion.core.guard import Expects, expects, guarded
from flexunion.core.idempotency import run_idempotent
from flexunion.core.request_id import ensure_request_id
from flexunion.core.uow import Receive as UowReceive
from flexunion.core.uow import Send as UowSend
from flexunion.core.uow import UnitOfWork, run_unit
from flexunion.db.scope import DbScope


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name or key.lower() == name:
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


@dataclass(frozen=True, slots=True)
class Plan:
    """What one route handler needs from the pipeline, read once from its `opt`."""

    options: bool  # Litestar's own OPTIONS handler: answered here with every method
    audiences: tuple[str, ...]
    console: bool  # a console page: the caller comes from its session cookie, not a token
    roles: frozenset[Any] | None
    idempotent: bool
    expects: Expects
    unit: bool  # the handler can reach the unit of work (else none is made for it)


# Parameters through which a handler (or a dependency) reaches the unit of work: the
# dependencies themselves, and the raw request or scope (whose state holds it).
_REACHES_UNIT = frozenset({"uow", "session", "request", "scope"})
# core/deps.py's providers that take the request only to read app-wide state or the caller.
_UNIT_FREE = frozenset({"caller", "settings", "clock", "geo", "attachments"})


def reaches_unit(handler: Any) -> bool:
    """Whether the handler, or any dependency it asks for (transitively), can reach the
    unit of work. Unknown providers count as reaching it."""
    provided = handler.resolve_dependencies()
    todo = list(handler.parsed_fn_signature.parameters)
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in _REACHES_UNIT:
            return True
        provide = provided.get(name)
        if provide is None:
            continue  # a path, query or header parameter, the body, the app state
        if name in _UNIT_FREE and provide is DEPENDENCIES.get(name):
            continue
        signature = getattr(provide, "parsed_fn_signature", None)
        if signature is None:
            return True
        todo += signature.parameters
    return False


def plan_for(scope: Scope) -> Plan:
    handler = scope["route_handler"]
    opt = handler.opt
    roles = opt.get("roles")
    idempotent = bool(opt.get("idempotent"))
    return Plan(
        options=_litestars_options_handler(handler),
        audiences=tuple(opt.get("audiences") or ()),
        console=bool(opt.get("console")),
        roles=frozenset(roles) if roles else None,
        idempotent=idempotent,
        expects=expects(scope["app"], handler),
        unit=idempotent or reaches_unit(handler),
    )


async def authenticate(scope: Scope, plan: Plan) -> Caller:
    token = _bearer(scope)
    if token is None:
        raise Unauthenticated("此接口需要登录凭证（Bearer 令牌）。",
                              "This endpoint needs a bearer token.", code="token_missing")
    caller: Caller = await scope["app"].state.tokens.verify(token, plan.audiences)
    if plan.roles is not None and caller.role not in plan.roles:
        raise Forbidden(f"角色 {caller.role.value} 无权使用此接口。",
                        f"Role '{caller.role}' may not use this endpoint.")
    return caller


CONSOLE_COOKIE = b"flexunion_console"


def _cookie(scope: Scope, name: bytes) -> str | None:
    raw = _header(scope, b"cookie")
    if raw is None:
        return None
    for part in raw.split(b";"):
        key, _, value = part.strip().partition(b"=")
        if key == name:
            return value.decode("latin-1")
    return None


async def console_caller(scope: Scope, plan: Plan) -> Caller:
    """The officer whose console session the cookie opens (auth/sessions); no live session
    is 401 `session_required`, which the console answers with its sign-in page."""
    found: tuple[Caller, Any] | None = await scope["app"].state.console_sessions.open(
        _cookie(scope, CONSOLE_COOKIE))
    if found is None:
        raise Unauthenticated("请先登录工作台。", "Sign in to the console first.",
                              code="session_required")
    caller, open_session = found
    scope["state"]["console_session"] = open_session
    if plan.roles is not None and caller.role not in plan.roles:
        raise Forbidden(f"角色 {caller.role.value} 无权使用此页面。",
                        f"Role '{caller.role}' may not use this page.")
    return caller


class PipelineMiddleware:
    """The whole pipeline in one layer (each pure-ASGI layer would cost a call, a closure
    and a scope lookup per request):

    1. OPTIONS answers 204 with `Allow` listing every method of the path, without a token (it
       says what the OpenAPI document says). Litestar's own answer lists the methods of the
       route its OPTIONS handler was made for, which is not always all of the path's.
    2. Authentication: a bearer token for a handler with audiences → `Caller` in the scope's
       state (401/403 otherwise); for a console page (`opt["console"]`) the session its
       cookie opens gives the same `Caller` an admin token of the account would; nothing
       at all for a public handler.
    3. The input guard (core/guard.py): 422 before any database work.
    4. The unit of work (core/uow.py): one lazily opened session, one transaction, committed
       before the answer is sent; Idempotency-Key handling for mobile writes
       (core/idempotency.py). A handler that cannot reach it (no `uow`, `session`,
       `request` or `scope` among its parameters or its dependencies', e.g. /healthz) gets
       none: its answer goes straight out.

    Litestar builds one middleware stack per route handler, so one instance serves one
    handler and reads its plan once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._plan: Plan | None = None
        self._allow: bytes | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        current_scope.set(scope)  # what the named dependencies read (core/deps.py)
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        plan = self._plan
        if plan is None:
            plan = self._plan = plan_for(scope)
        request_id = ensure_request_id(scope)
        if plan.options:
            await self._options(scope, send)
            return
        state = scope["state"]
        caller: Caller | None = None
        if plan.console:
            caller = await console_caller(scope, plan)
            state["caller"] = caller
        elif plan.audiences:
            caller = await authenticate(scope, plan)
            state["caller"] = caller
        receive = await guarded(scope, receive, plan.expects)
        if not plan.unit:  # nothing to commit, nothing to hold back
            await self.app(scope, receive, send)
            return
        app_state = scope["app"].state
        db_scope = (
            caller.db_scope(request_id) if caller else DbScope(None, "anonymous", request_id)
        )
        uow = UnitOfWork(app_state.sessionmaker, db_scope)
        state["uow"] = uow
        # The unit of work speaks plain ASGI dicts and callables.
        raw_scope = cast("dict[str, Any]", scope)
        raw_send = cast("UowSend", send)
        try:
            if plan.idempotent:
                settings = app_state.settings
                await run_idempotent(
                    self.app, raw_scope, receive, raw_send, uow,
                    # the route's own limit (an upload's 64 MiB ceiling), else the app's
                    max_body=plan.expects.max_body or settings.api.request_max_body_bytes,
                    ttl_hours=settings.api.idempotency_ttl_hours,
                )
            else:
                await run_unit(self.app, raw_scope, cast("UowReceive", receive), raw_send, uow)
        except BaseException:
            await uow.rollback()
            raise
        finally:
            await uow.close()

    async def _options(self, scope: Scope, send: Send) -> None:
        if self._allow is None:
            template: str = scope.get("path_template", scope["path"])
            self._allow = ", ".join(allowed_methods(scope["app"], template)).encode()
        await send({"type": "http.response.start", "status": 204,
                    "headers": [(b"allow", self._allow)]})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
