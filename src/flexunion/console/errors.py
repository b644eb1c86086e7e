"""How the console answers what went wrong: as a page in the user's language, never as
problem+json. No session → back to sign-in (the page asked for comes back after it); a
missing id, a foreign id and a page the role has no menu for are the same 404 page."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from sqlalchemy.exc import DBAPIError

from flexunion.console.render import html, see_other
from flexunion.core.errors import DomainError, Forbidden, NotFound, Unauthenticated
from flexunion.core.problems import database_problem
from flexunion.db.engine import DatabaseUnavailable

log = logging.getLogger("flexunion.console")


class CsrfRefused(Forbidden):
    code = "csrf_invalid"


class PageFailed(DomainError):
    """What went wrong below the page (the database out of reach, a bug), shown as a page."""

    def __init__(self, status: int, code: str, title: str, title_en: str,
                 detail: str | None = None, detail_en: str | None = None) -> None:
        super().__init__(detail or title, detail_en or title_en, code=code)
        self.status, self.title, self.title_en = status, title, title_en


def _htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def to_sign_in(request: Request[Any, Any, Any], exc: Unauthenticated) -> Response[Any]:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    back = here if request.method == "GET" else request.headers.get("hx-current-url", "")
    target = "/console/login"
    if back.startswith("/console") and not back.startswith("/console/login"):
        target += "?next=" + quote(back, safe="")
    return see_other(target, htmx=_htmx(request))


def not_found(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return html(request, "errors/404.html", status=404)


def domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    if isinstance(exc, Unauthenticated):
        return to_sign_in(request, exc)
    if isinstance(exc, NotFound) or (isinstance(exc, Forbidden)
                                     and not isinstance(exc, CsrfRefused)):
        return not_found(request, exc)
    if exc.commit_writes:
        uow = request.scope["state"].get("uow")
        if uow is not None:
            uow.keep_on_error = True
    return html(request, "errors/error.html", status=exc.status, error=exc,
                headers=exc.headers)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Also for paths under /console no route matches (404) or not by that method (405):
    app.py sends those here, as no console router saw them."""
    if exc.status_code in (404, 405):
        return not_found(request, exc)
    if exc.status_code >= 500:
        return internal_error(request, exc)
    if isinstance(exc, ValidationException):
        return html(request, "errors/error.html", status=422,
                    error=DomainError("提交的内容不完整或格式不对。",
                                      "Something sent is missing or malformed."))
    return html(request, "errors/error.html", status=exc.status_code,
                error=DomainError(str(exc.detail), str(exc.detail)))


def database_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    problem = database_problem(exc)
    if problem is None:
        return internal_error(request, exc)
    if problem["status"] == 404:
        return not_found(request, exc)
    error = PageFailed(problem["status"], problem["code"], problem["title"],
                       problem["title_en"], problem.get("detail"), problem.get("detail_en"))
    return html(request, "errors/error.html", status=problem["status"], error=error,
                headers=problem.get("headers"))


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error("console error", exc_info=exc, extra={"path": request.url.path})
    return html(request, "errors/error.html", status=500,
                error=PageFailed(500, "internal_error", "服务内部错误", "Internal server error",
                                 "服务内部错误，请稍后再试。", "Internal error; try again later."))


def invalid_input(request: Request[Any, Any, Any], exc: msgspec.ValidationError) -> Response[Any]:
    """A page's input its own checks let through but a domain schema refused: 422, with
    what msgspec said (the field's path), never a 500."""
    return html(request, "errors/error.html", status=422,
                error=PageFailed(422, "validation_failed", "参数校验未通过", "Validation failed",
                                 f"提交的内容有误：{exc}", f"Something sent is not valid: {exc}"))


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error,
    msgspec.ValidationError: invalid_input,
    HTTPException: http_error,
    DBAPIError: database_error,
    DatabaseUnavailable: database_error,
    Exception: internal_error,
}
