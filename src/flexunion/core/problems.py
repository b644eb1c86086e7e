"""The one place that turns errors into RFC 9457 problem+json responses."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from sqlalchemy.exc import DBAPIError

from flexunion.core.errors import DomainError
from flexunion.core.request_id import ensure_request_id
from flexunion.db.engine import DatabaseUnavailable, unavailable

log = logging.getLogger("flexunion.errors")

PROBLEM_JSON = "application/problem+json"


class Problem(msgspec.Struct):
    """RFC 9457 problem details, as every flexunion error is answered: `status` is the HTTP
    status, `code` the stable machine-readable reason, `title` and `detail` in Chinese with
    their English beside them. Some problems carry more members (`errors`, `extra`)."""

    type: str
    title: str
    title_en: str
    status: int
    code: str
    detail: str | None = None
    detail_en: str | None = None
    instance: str | None = None
    request_id: str | None = None

# Litestar's own HTTP errors, by status, in the same vocabulary as DomainError: code, title
# (zh, en) and the Chinese detail (Litestar's English message becomes `detail_en`).
_HTTP_CODES: dict[int, tuple[str, str, str, str]] = {
    400: ("malformed_request", "请求格式错误", "Malformed request", "请求格式错误，无法解析。"),
    401: ("unauthenticated", "未登录或凭证无效", "Not authenticated", "需要有效的登录凭证。"),
    403: ("forbidden", "无权执行此操作", "Forbidden", "当前身份无权执行此操作。"),
    404: ("not_found", "未找到", "Not found", ""),
    405: ("method_not_allowed", "不支持该请求方法", "Method not allowed",
          "该地址不支持此请求方法。"),
    406: ("not_acceptable", "无法提供所需格式", "Not acceptable", "无法按所要求的格式答复。"),
    413: ("payload_too_large", "请求体过大", "Payload too large", "请求体超过允许的大小。"),
    415: ("unsupported_media_type", "不支持的内容类型", "Unsupported media type",
          "不支持该内容类型。"),
    429: ("rate_limited", "请求过于频繁", "Too many requests", "请求过于频繁，请稍后再试。"),
    503: ("unavailable", "服务暂不可用", "Service unavailable", "服务暂不可用，请稍后再试。"),
}


def problem_body(
    *,
    status: int,
    code: str,
    title: str,
    title_en: str,
    detail: str | None,
    instance: str | None,
    request_id: str | None,
    extra: dict[str, Any] | None = None,
    detail_en: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:flexunion:problem:{code}",
        "title": title,
        "title_en": title_en,
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    if detail_en:
        body["detail_en"] = detail_en
    if instance:
        body["instance"] = instance
    if request_id:
        body["request_id"] = request_id
    if extra:
        clash = set(extra) & set(body)
        if clash:  # `status` is the HTTP status, `title` the problem's: say member_status etc.
            raise ValueError(f"problem extra members clash with RFC 9457 members: {sorted(clash)}")
        body.update(extra)
    return body


def problem_response(
    request: Request[Any, Any, Any] | None,
    *,
    status: int,
    code: str,
    title: str,
    title_en: str,
    detail: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    detail_en: str | None = None,
) -> Response[Any]:
    request_id = ensure_request_id(request.scope) if request else None
    body = problem_body(
        status=status,
        code=code,
        title=title,
        title_en=title_en,
        detail=detail,
        detail_en=detail_en,
        instance=request.url.path if request else None,
        request_id=request_id,
        extra=extra,
    )
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers or {})


def domain_error_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    uow = request.scope.get("state", {}).get("uow")
    if exc.commit_writes and uow is not None:
        uow.keep_on_error = True
    return problem_response(
        request,
        status=exc.status,
        code=exc.code,
        title=exc.title,
        title_en=exc.title_en,
        detail=exc.detail,
        detail_en=exc.detail_en,
        extra=exc.extra,
        headers=exc.headers,
    )


def _validation_errors(exc: ValidationException) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for item in exc.extra or []:
        if isinstance(item, dict):
            errors.append({k: v for k, v in item.items() if k in ("key", "message", "source")})
    return errors


def validation_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    detail = str(exc.detail or "")
    if "JSON is malformed" in detail or "Invalid JSON" in detail or "malformed" in detail.lower():
        return problem_response(
            request,
            status=400,
            code="malformed_request",
            title="请求格式错误",
            title_en="Malformed request",
            detail="请求体不是有效的 JSON。",
            detail_en="The request body is not valid JSON.",
        )
    return problem_response(
        request,
        status=422,
        code="validation_failed",
        title="参数校验未通过",
        title_en="Validation failed",
        detail="请求中有参数不符合要求，见 errors。",
        detail_en=detail or None,
        extra={"errors": _validation_errors(exc)},
    )


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status >= 500:
        return internal_error_handler(request, exc)
    code, title, title_en, detail = _HTTP_CODES.get(
        status, ("http_error", "请求无法处理", "Request failed", "请求无法处理。"))
    return problem_response(
        request,
        status=status,
        code=code,
        title=title,
        title_en=title_en,
        detail=detail or None,
        detail_en=exc.detail if status != 404 else None,
        headers=dict(exc.headers or {}),
    )


def database_problem(exc: BaseException) -> dict[str, Any] | None:
    """What PostgreSQL refused, said as the API would (None: a bug, answer 500). A
    row-level security refusal means 'not yours', which the API answers as 'not found';
    a database out of reach is 503 with Retry-After (the request may be sent again).
    Used for errors inside a handler and for a failed commit alike."""
    if unavailable(exc):
        log.warning("database unavailable: %s", exc)
        return {"status": 503, "code": "database_unavailable", "title": "数据库暂不可用",
                "title_en": "Database unavailable", "detail": "暂时无法连接数据库，请稍后重试。",
                "detail_en": "The database cannot be reached right now; retry shortly.",
                "headers": {"Retry-After": "1"}}
    orig = getattr(exc, "orig", None)
    state = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None),
                                                       "sqlstate", None)
    if state == "42501":
        return {"status": 404, "code": "not_found", "title": "未找到", "title_en": "Not found"}
    if state in ("40001", "40P01"):
        return {"status": 409, "code": "retry_conflict", "title": "并发冲突，请重试",
                "title_en": "Concurrent update, retry", "headers": {"Retry-After": "1"}}
    if state and state.startswith("23"):
        return {"status": 409, "code": "conflict", "title": "状态冲突", "title_en": "Conflict"}
    return None


def database_error_handler(request: Request[Any, Any, Any],
                           exc: DBAPIError | DatabaseUnavailable) -> Response[Any]:
    problem = database_problem(exc)
    return problem_response(request, **problem) if problem else internal_error_handler(request, exc)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error("unhandled error", exc_info=exc, extra={"path": request.url.path})
    return problem_response(
        request,
        status=500,
        code="internal_error",
        title="服务内部错误",
        title_en="Internal server error",
    )


EXCEPTION_HANDLERS = {
    DomainError: domain_error_handler,
    ValidationException: validation_handler,
    HTTPException: http_exception_handler,
    DBAPIError: database_error_handler,
    DatabaseUnavailable: database_error_handler,
    Exception: internal_error_handler,
}

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "MediaType", "Problem", "problem_body",
           "problem_response"]
