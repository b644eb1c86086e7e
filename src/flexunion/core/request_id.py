"""Every request gets one id, whichever part of the stack first needs it.

The id is the client's X-Request-ID when that looks sane, a fresh one otherwise;
it is echoed on every response (errors from the router included), written into
problem bodies, access logs and the audit trail."""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from typing import Any

from litestar.enums import ScopeType
from litestar.types import Message, Scope

access_log = logging.getLogger("flexunion.access")
_SANE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "flexunion_request_id", default=None
)


def ensure_request_id(scope: Scope | dict[str, Any]) -> str:
    state = scope.setdefault("state", {})
    request_id = state.get("request_id")
    if request_id is None:
        incoming = ""
        for key, value in scope.get("headers", []):
            if key.lower() == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if _SANE.match(incoming) else uuid.uuid4().hex
        state["request_id"] = request_id
        state.setdefault("started", time.perf_counter())
    current_request_id.set(request_id)
    return request_id


async def stamp_response(message: Message, scope: Scope) -> None:
    """App-wide before_send hook: X-Request-ID on every response, and the access line
    (method, route path, status, duration — no query string, no body)."""
    if scope["type"] != ScopeType.HTTP or message["type"] != "http.response.start":
        return
    request_id = ensure_request_id(scope)
    headers = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
    headers.append((b"x-request-id", request_id.encode()))
    message["headers"] = headers
    started = scope["state"].get("started", time.perf_counter())
    access_log.info("request", extra={
        "request_id": request_id, "method": scope.get("method"), "path": scope.get("path"),
        "status": message["status"],
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
    })
