"""Every request gets one id, whichever part of the stack first needs it.

The id is the client's X-Request-ID when that looks sane, a fresh one otherwise (32 hex
digits from the OS's random source); it is echoed on every response (errors from the router
included), written into problem bodies, access logs and the audit trail."""

from __future__ import annotations

import contextvars
import os
import re
import time
from typing import Any

from litestar.enums import ScopeType
from litestar.types import Message, Scope

from flexunion.core.logs import access_line

_SANE = re.compile(r"[A-Za-z0-9._-]{8,64}")
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "flexunion_request_id", default=None
)


def ensure_request_id(scope: Scope | dict[str, Any]) -> str:
    state = scope.setdefault("state", {})
    request_id: str | None = state.get("request_id")
    if request_id is None:
        request_id = ""
        for key, value in scope.get("headers", ()):
            if key == b"x-request-id" or key.lower() == b"x-request-id":
                request_id = value.decode("latin-1")
                break
        if not _SANE.fullmatch(request_id):
            request_id = os.urandom(16).hex()
        state["request_id"] = request_id
        state.setdefault("started", time.perf_counter())
    if current_request_id.get() != request_id:
        current_request_id.set(request_id)
    return request_id


async def stamp_response(message: Message, scope: Scope) -> None:
    """App-wide before_send hook: X-Request-ID on every response, and the access line
    (method, route path, status, duration — no query string, no body)."""
    if message["type"] != "http.response.start" or scope["type"] != ScopeType.HTTP:
        return
    request_id = scope["state"].get("request_id") or ensure_request_id(scope)
    headers = message.get("headers")
    if not isinstance(headers, list):  # ASGI allows any iterable; Litestar sends a new list
        headers = list(headers or ())
    for name, _ in headers:
        if name.lower() == b"x-request-id":  # the app's own id wins
            headers = [h for h in headers if h[0].lower() != b"x-request-id"]
            break
    headers.append((b"x-request-id", request_id.encode()))
    message["headers"] = headers
    started = scope["state"].get("started")
    duration = time.perf_counter() - started if started is not None else 0.0
    access_line(request_id, str(scope.get("method", "")), scope["path"], message["status"],
                duration)
