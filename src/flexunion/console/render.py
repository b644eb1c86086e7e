"""Pages are Jinja2 templates (templates/, autoescaped) rendered with what every page needs:
the language, the signed-in officer, the menus of their role, the session's CSRF token.

Every answer is `no-store` with a strict Content-Security-Policy: scripts and styles only
from the package (static/), no inline script, images only from here (and the configured
map tiles), no framing."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from litestar import Request, Response

from flexunion.console.i18n import Speaker, beijing, lang_of
from flexunion.console.menus import menus_for

STATIC = "/console/static"
ENV = Environment(loader=PackageLoader("flexunion.console", "templates"),
                  autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                  trim_blocks=True, lstrip_blocks=True)
ENV.filters["bj"] = beijing
ENV.filters["bjdate"] = lambda v: beijing(v, "%Y-%m-%d")
ENV.globals["STATIC"] = STATIC
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), geolocation=(), microphone=()",
}


def _csp(tiles: str | None) -> str:
    img = "'self' data: blob:"
    host = urlsplit(tiles).netloc if tiles else ""
    if tiles and host:  # a tile server elsewhere: {s}.tiles.example → *.tiles.example
        img += f" {urlsplit(tiles).scheme}://{re.sub(r'^{[a-z]}', '*', host)}"
    return ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"img-src {img}; connect-src 'self'; font-src 'self'; media-src 'self' blob:; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def _here(request: Request[Any, Any, Any]) -> str:
    """The page to come back to (after switching language, say): this one for a GET; for
    a page a form's POST answered (its errors), the page the form was on."""
    if request.method == "GET":
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and referer.path.startswith("/console"):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return "/console/"


def speaker(request: Request[Any, Any, Any]) -> Speaker:
    return Speaker(lang_of(request.cookies))


def html(request: Request[Any, Any, Any], template: str, *, status: int = 200,
         headers: dict[str, str] | None = None, cookies: list[Any] | None = None,
         **context: Any) -> Response[str]:
    """A page (or an HTMX fragment: a template whose name starts with `_`)."""
    state = request.scope["state"]
    caller = state.get("caller")
    open_session = state.get("console_session")
    settings = request.app.state.settings
    t = speaker(request)
    base = {
        "t": t, "lang": t.lang, "caller": caller, "session": open_session,
        "menus": menus_for(caller.role) if caller else [],
        "csrf": open_session.csrf_token if open_session else state.get("login_csrf", ""),
        "path": request.url.path, "here": _here(request),
        "tiles": settings.console.tiles, "tiles_crs": settings.console.tiles_crs,
        "menu": None,
    }
    body = ENV.get_template(template).render({**base, **context})
    return Response(body, status_code=status, media_type="text/html; charset=utf-8",
                    headers={**_HEADERS, "Content-Security-Policy": _csp(settings.console.tiles),
                             **(headers or {})},
                    cookies=cookies)


def see_other(location: str, *, cookies: list[Any] | None = None,
              htmx: bool = False) -> Response[str]:
    """After a form: 303 to the page that shows the result (HX-Redirect for HTMX)."""
    if htmx:
        return Response("", status_code=200, headers={**_HEADERS, "HX-Redirect": location},
                        cookies=cookies)
    return Response("", status_code=303, headers={**_HEADERS, "Location": location},
                    cookies=cookies)
