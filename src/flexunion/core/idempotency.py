"""Idempotency-Key for mobile writes (draft-ietf-httpapi-idempotency-key-header).

Same key + same body → the first response is replayed. Same key + another
body → 422. Same key while the first is still running → 409. Keys belong to
the caller (principal): one worker's key never collides with another's, and
row-level security on `idempotency_keys` enforces that in PostgreSQL.

The first request takes a transaction-scoped advisory lock on (principal,
key) and stores its response in the same transaction as its write, so the
record and the stored answer land together or not at all. Only successful
answers are stored; a failed request leaves the key free for a retry.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import msgspec
from sqlalchemy import text

from flexunion.core.uow import Send, UnitOfWork, finish, problem_messages, run_buffered

HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 255

_LOCK = text("SELECT pg_try_advisory_xact_lock(hashtextextended(:lock_key, 0))")
_FIND = text(
    "SELECT fingerprint, status_code, headers, body FROM idempotency_keys"
    " WHERE principal = :principal AND key = :key AND expires_at > now()"
)
_STORE = text(
    "INSERT INTO idempotency_keys"
    " (principal, key, fingerprint, status_code, headers, body, expires_at)"
    " VALUES (:principal, :key, :fingerprint, :status_code, CAST(:headers AS jsonb), :body,"
    "         now() + make_interval(hours => :ttl_hours))"
    " ON CONFLICT (principal, key) DO UPDATE SET"
    "   fingerprint = EXCLUDED.fingerprint, status_code = EXCLUDED.status_code,"
    "   headers = EXCLUDED.headers, body = EXCLUDED.body,"
    "   created_at = now(), expires_at = EXCLUDED.expires_at"
    " WHERE idempotency_keys.expires_at <= now()"
)
_KEPT_HEADERS = (b"content-type", b"location")


def _valid_key(raw: bytes) -> str | None:
    try:
        key = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(33 <= ord(c) < 127 for c in key):
        return None
    return key


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """Whitespace and key order do not make a JSON body 'different'."""
    try:
        canonical = json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    except (ValueError, RecursionError):  # not JSON, or too deep to read: the bytes
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


async def read_body(receive: Any, limit: int) -> bytes | None:
    """The whole request body, or None when it is larger than `limit`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replaying_receive(body: bytes) -> Any:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def run_idempotent(
    app: Any, scope: dict[str, Any], receive: Any, send: Send, uow: UnitOfWork, *,
    max_body: int, ttl_hours: int,
) -> None:
    path = scope.get("path", "")
    request_id = scope.get("state", {}).get("request_id", "")
    raw = dict(scope.get("headers", [])).get(HEADER)
    key = _valid_key(raw) if raw is not None else None

    async def fail(status: int, code: str, title: str, title_en: str, detail: str,
                   detail_en: str, headers: dict[str, str] | None = None) -> None:
        await uow.rollback()
        for message in problem_messages(status, code, title, title_en, detail=detail,
                                         detail_en=detail_en, path=path, request_id=request_id,
                                         headers=headers):
            await send(message)

    if raw is None:
        return await fail(400, "idempotency_key_required", "缺少幂等键", "Idempotency-Key required",
                          "移动端的每个写请求都需要 Idempotency-Key 请求头。",
                          "Every mobile write needs an Idempotency-Key header.")
    if key is None:
        return await fail(400, "idempotency_key_invalid", "幂等键格式无效",
                          "Invalid Idempotency-Key",
                          f"幂等键应为 1–{MAX_KEY_LENGTH} 个可打印的 ASCII 字符。",
                          f"Use 1–{MAX_KEY_LENGTH} printable ASCII characters.")
    body = await read_body(receive, max_body)
    if body is None:
        return await fail(413, "payload_too_large", "请求体过大", "Payload too large",
                          f"请求体超过 {max_body} 字节。", f"The body exceeds {max_body} bytes.")
    principal = uow.scope.principal
    fp = fingerprint(scope["method"], path, scope.get("query_string", b""), body)
    session = uow.session
    if not await session.scalar(_LOCK, {"lock_key": f"{principal}\x1f{key}"}):
        return await fail(409, "idempotency_in_flight", "相同请求正在处理", "Request in flight",
                          "使用同一幂等键的请求仍在处理中，请稍后重试。",
                          "A request with this Idempotency-Key is still being processed.",
                          {"Retry-After": "1"})
    stored = (await session.execute(_FIND, {"principal": principal, "key": key})).first()
    if stored is not None:
        if stored.fingerprint != fp:
            return await fail(422, "idempotency_key_reused", "幂等键已用于其他请求",
                              "Idempotency-Key reused", "该幂等键已用于另一个不同的请求。",
                              "This key was used for a different request.")
        await uow.rollback()
        headers = [(k.encode(), v.encode()) for k, v in (stored.headers or {}).items()]
        headers += [(b"idempotent-replayed", b"true"), (b"x-request-id", request_id.encode()),
                    (b"content-length", str(len(stored.body)).encode())]
        await send({"type": "http.response.start", "status": stored.status_code,
                    "headers": headers})
        await send({"type": "http.response.body", "body": bytes(stored.body), "more_body": False})
        return None

    status, messages = await run_buffered(app, scope, replaying_receive(body), uow)
    if status < 400:
        start = next(m for m in messages if m["type"] == "http.response.start")
        kept = {k.decode(): v.decode() for k, v in start.get("headers", [])
                if k.lower() in _KEPT_HEADERS}
        response_body = b"".join(m.get("body", b"") for m in messages
                                 if m["type"] == "http.response.body")
        await session.execute(_STORE, {
            "principal": principal, "key": key, "fingerprint": fp, "status_code": status,
            "headers": msgspec.json.encode(kept).decode(), "body": response_body,
            "ttl_hours": ttl_hours,
        })
    await finish(uow, status, messages, send, scope)
    return None
