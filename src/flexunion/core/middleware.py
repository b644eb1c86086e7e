"""Request pipeline: request id + access log → authentication → unit of work.

Route handlers declare, in `opt`, which token audiences they accept
(`audiences`), which roles (`roles`) and whether they are mobile writes that
take an Idempotency-Key (`idempotent`). Nothing else decides who is calling.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from litestar.types import ASGIApp, Receive, Scope, Send

from flexunion.core.context import Caller
from flexunion.core.errors import Forbidden, Unauthenticated
from flexunion.core.idempotency import run_idempotent
from flexunion.core.uow import UnitOfWork, finish, run_buffered
from flexunion.db.scope import DbScope

access_log = logging.getLogger("flexunion.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value
    return None


class RequestContextMiddleware:
    """Gives every request an id (echoed as X-Request-ID) and one JSON access line.

    The access line carries method, route path, status and duration: no query
    string (it can hold a location) and no body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = (_header(scope, b"x-request-id") or b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )


def _bearer(scope: Scope) -> str | None:
    raw = _header(scope, b"authorization")
    if raw is None:
        return None
    scheme, _, token = raw.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Use 'Authorization: Bearer <token>'.", code="token_malformed")
    return token.strip()


class AuthMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            opt = scope["route_handler"].opt
            audiences: tuple[str, ...] = tuple(opt.get("audiences") or ())
            if audiences:
                token = _bearer(scope)
                if token is None:
                    raise Unauthenticated("This endpoint needs a bearer token.", code="token_missing")
                caller: Caller = await scope["app"].state.tokens.verify(token, audiences)
                roles = opt.get("roles")
                if roles and caller.role not in roles:
                    raise Forbidden(f"Role '{caller.role}' may not use this endpoint.")
                scope["state"]["caller"] = caller
        await self.app(scope, receive, send)


class UnitOfWorkMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope["state"]
        app_state = scope["app"].state
        caller: Caller | None = state.get("caller")
        request_id = state.get("request_id", "")
        db_scope = (
            caller.db_scope(request_id) if caller else DbScope(None, "anonymous", request_id)
        )
        uow = UnitOfWork(app_state.sessionmaker, db_scope)
        state["uow"] = uow
        try:
            if scope["route_handler"].opt.get("idempotent"):
                settings = app_state.settings
                await run_idempotent(
                    self.app, scope, receive, send, uow,
                    max_body=settings.request_max_body_bytes,
                    ttl_hours=settings.idempotency_ttl_hours,
                )
            else:
                status, messages = await run_buffered(self.app, scope, receive, uow)
                await finish(uow, status, messages, send, scope)
        except BaseException:
            await uow.rollback()
            raise
        finally:
            await uow.close()
