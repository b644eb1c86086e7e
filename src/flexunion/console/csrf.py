"""CSRF: every unsafe console request carries its session's token — HTMX in the
`X-CSRF-Token` header (static/console.js adds it), a plain form in its `_csrf` field — or
is refused with 403 before its handler runs. The sign-in form, before any session exists,
uses a double-submit cookie instead (`flexunion_login_csrf`, compared with the form's)."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request

from flexunion.console.errors import CsrfRefused

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
HEADER = "x-csrf-token"
FIELD = "_csrf"
LOGIN_COOKIE = "flexunion_login_csrf"


def _refused() -> CsrfRefused:
    return CsrfRefused("表单已失效（缺少或不符的 CSRF 令牌），请刷新页面后重试。",
                       "The form has expired (missing or wrong CSRF token); reload the page "
                       "and try again.")


async def _sent(request: Request[Any, Any, Any]) -> str:
    sent = request.headers.get(HEADER)
    if sent:
        return sent
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(FIELD)
        return value if isinstance(value, str) else ""
    return ""


def same(sent: str, expected: str) -> bool:
    return bool(sent and expected) and hmac.compare_digest(sent.encode(), expected.encode())


async def check(request: Request[Any, Any, Any]) -> None:
    """before_request of every signed-in console route."""
    if request.method in SAFE:
        return
    open_session = request.scope["state"].get("console_session")
    if open_session is None or not same(await _sent(request), open_session.csrf_token):
        raise _refused()


async def check_login(request: Request[Any, Any, Any]) -> None:
    """before_request of the sign-in form's POST."""
    if request.method in SAFE:
        return
    if not same(await _sent(request), request.cookies.get(LOGIN_COOKIE, "")):
        raise _refused()
