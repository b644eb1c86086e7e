"""Domain errors and their one mapping to RFC 9457 problem+json.

Services raise `DomainError` subclasses; nothing below routes.py knows HTTP.
Every problem carries a stable machine-readable `code`, a Chinese `title` and
`detail` (the users' language first) with `title_en` and `detail_en` beside them:

    raise NotFound("没有这位会员。", "No such member.", code="member_not_found")
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status: int = 400
    code: str = "bad_request"
    title: str = "请求无效"
    title_en: str = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        detail_en: str | None = None,
        *,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        commit_writes: bool = False,
    ) -> None:
        """detail: what went wrong, in Chinese; detail_en: the same in English.
        commit_writes: the failure itself must be kept (a failed-attempt counter),
        so the request's transaction commits although the answer is an error."""
        super().__init__(detail_en or detail or self.title_en)
        self.commit_writes = commit_writes
        self.detail = detail
        self.detail_en = detail_en
        if code:
            self.code = code
        self.extra = extra or {}
        self.headers = headers or {}


class InvalidInput(DomainError):
    status, code, title, title_en = 422, "validation_failed", "参数校验未通过", "Validation failed"


class MalformedRequest(DomainError):
    status, code, title, title_en = 400, "malformed_request", "请求格式错误", "Malformed request"


class Unauthenticated(DomainError):
    status, code, title, title_en = 401, "unauthenticated", "未登录或凭证无效", "Not authenticated"

    def __init__(
        self, detail: str | None = None, detail_en: str | None = None, *,
        code: str | None = None, commit_writes: bool = False,
    ) -> None:
        super().__init__(
            detail,
            detail_en,
            code=code,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            commit_writes=commit_writes,
        )


class Forbidden(DomainError):
    status, code, title, title_en = 403, "forbidden", "无权执行此操作", "Forbidden"


class NotFound(DomainError):
    """Also the answer for 'exists but not yours': the two must look the same."""

    status, code, title, title_en = 404, "not_found", "未找到", "Not found"


class Conflict(DomainError):
    status, code, title, title_en = 409, "conflict", "状态冲突", "Conflict"


class TooManyRequests(DomainError):
    status, code, title, title_en = 429, "rate_limited", "请求过于频繁", "Too many requests"


class PayloadTooLarge(DomainError):
    status, code, title, title_en = 413, "payload_too_large", "请求体过大", "Payload too large"


class ServiceUnavailable(DomainError):
    status, code, title, title_en = 503, "unavailable", "服务暂不可用", "Service unavailable"


class OperatorError(Exception):
    """A refusal met by an operator command (a bad federation file, an account that cannot
    be made): the CLI prints the message and exits 1; it is never an HTTP answer."""
