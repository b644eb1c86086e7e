"""Idempotency-Key for mobile writes (draft-ietf-httpapi-idempotency-key-header).

Same key + same body → the first response is replayed. Same key + another
body → 422. Same key while the first is still running → 409. Keys belong to
the caller (principal): one worker's key never collides with another's, and
row-level security on `idempotency_keys` enforces that in PostgreSQL.

The first request takes a transaction-scoped advisory lock on (principal,
key) and stores its response in the same transaction as its write, so the
record and the stored answer land together or not at all. Only successful
answers are stored; a failed request leaves the key free for a retry.

"Same body" is read loosely where a client cannot help it: a JSON body by its parsed
value (whitespace, key order), a multipart/form-data body by its parts (each part's
header lines as sent and the SHA-256 of its bytes) — a client retrying an upload encodes
the form again under a new random boundary. Anything else, and any form whose split is
not plain (no CRLF before a delimiter, the boundary inside a part, two boundaries),
by its exact bytes.
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


def fingerprint(method: str, path: str, query: bytes, body: bytes,
                content_type: bytes = b"") -> str:
    """Whitespace and key order do not make a JSON body 'different', nor a new boundary a
    multipart/form-data one."""
    parts = [method.encode(), path.encode(), query]
    boundary = _boundary(content_type)
    form = _form_parts(body, boundary) if boundary is not None else None
    if form is not None:
        parts += [_MULTIPART.encode(), b"".join(_framed(p) for p in form)]
    else:
        try:
            canonical = json.dumps(
                json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode()
        except (ValueError, RecursionError):  # not JSON, or too deep to read: the bytes
            canonical = body
        parts.append(canonical)
    digest = hashlib.sha256()
    for part in parts:
        digest.update(_framed(part))
    return digest.hexdigest()


_MULTIPART = "multipart/form-data"


def _framed(part: bytes) -> bytes:
    return len(part).to_bytes(8, "big") + part


def _boundary(content_type: bytes) -> bytes | None:
    """The one boundary of a multipart/form-data Content-Type (RFC 2046: 1–70 characters);
    None for another type, no boundary or more than one."""
    media, _, params = content_type.decode("latin-1").partition(";")
    if media.strip().lower() != _MULTIPART:
        return None
    found = []
    for param in params.split(";"):
        name, eq, value = param.strip().partition("=")
        if eq and name.strip().lower() == "boundary":
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            found.append(value)
    if len(found) != 1 or not 1 <= len(found[0]) <= 70:
        return None
    return found[0].encode("latin-1")


def _form_parts(body: bytes, boundary: bytes) -> list[bytes] | None:
    """[preamble, epilogue, then each part's header block and the SHA-256 of its bytes], or
    None when the body does not split plainly on `CRLF--boundary` into header block CRLF
    CRLF bytes, closed by `--boundary--` — then the raw bytes decide."""
    dash = b"--" + boundary
    pieces = (b"\r\n" + body).split(b"\r\n" + dash)
    if len(pieces) < 2 or not pieces[-1].startswith(b"--"):
        return None
    preamble, *parts, close = pieces
    out = [preamble, close[2:]]
    for piece in parts:
        if not piece.startswith(b"\r\n"):  # transport padding, or `--` before the end
            return None
        head, sep, data = piece[2:].partition(b"\r\n\r\n")
        if piece[2:].startswith(b"\r\n"):  # a part with no header lines
            head, sep, data = b"", b"\r\n", piece[4:]
        if not sep or dash in head or dash in data:
            return None
        out += [head, hashlib.sha256(data).digest()]
    if dash in out[0] or dash in out[1]:
        return None
    return out


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
    fp = fingerprint(scope["method"], path, scope.get("query_string", b""), body,
                     dict(scope.get("headers", [])).get(b"content-type", b""))
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
