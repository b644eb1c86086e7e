"""The input guard: every request's text and scalars checked before any handler runs.

One step of the request pipeline (core/middleware.py), after authentication and before the
unit of work, so nothing it refuses opens a database session. It answers 422
`validation_failed` with the fields named (`errors: [{key, source, message}]`, source `path`,
`query`, `header` or `body`) for

- text PostgreSQL cannot store (core/text.py): in path segments, the query parameters the
  operation takes (an undeclared one never reaches it), every header (the credentials of
  HTTP Basic decoded), JSON and text bodies, form fields, and the part headers and text
  fields of multipart bodies (streamed: files are not held in memory);
- query scalars written loosely: booleans are `true` or `false`, integers decimal digits
  (Litestar would take `1` or `True` for a boolean, `1.0` or `1e2` for an integer). Numbers
  are Litestar's (`nan` and `inf` included: the domains refuse them with their own codes,
  e.g. coordinate_out_of_range);
- a missing body where the operation requires one (`data: JSONBody[X]`); an operation whose
  body is optional (`JSONBody[X | None] = None`) still takes none.

A body is read here once, up to the operation's size limit (413 beyond it), and replayed to
the layers below; multipart bodies are checked as they stream through.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import types
from dataclasses import dataclass, field
from typing import Any, Union, get_args, get_origin
from urllib.parse import parse_qsl, unquote

from litestar.enums import RequestEncodingType
from litestar.params import BodyKwarg
from litestar.routes import HTTPRoute
from litestar.types import Receive, Scope
from multipart import (  # type: ignore[import-untyped]  # untyped
    MultipartSegment,
    ParserError,
    ParserLimitReached,
    PushMultipartParser,
)

from flexunion.core import text
from flexunion.core.errors import InvalidInput, PayloadTooLarge

Problem = tuple[str, str, str]  # key, source, message

BODY_REQUIRED = "需要请求体（JSON）。A request body (JSON) is required."
_SCALARS: dict[type, tuple[re.Pattern[str], str]] = {
    bool: (re.compile(r"true|false"), "应为 true 或 false。Must be true or false."),
    int: (re.compile(r"-?[0-9]+"), "应为整数（十进制数字）。Must be an integer in decimal digits."),
}
_BINARY = ("application/octet-stream", "image/", "audio/", "video/", "application/pdf",
           "application/zip")


@dataclass(frozen=True, slots=True)
class Expects:
    """What one operation declares about its input, read once from its handler."""

    query: frozenset[str] = frozenset()  # the query parameters it takes
    scalars: dict[str, type] = field(default_factory=dict)  # query name → bool or int
    body_required: bool = False
    max_body: int | None = None


def _scalar(annotation: Any) -> type | None:
    """bool or int for such an annotation (optional or not), else None."""
    if get_origin(annotation) in (Union, types.UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        if len(inner) != 1:
            return None
        annotation = inner[0]
    if annotation in _SCALARS:
        return annotation  # type: ignore[no-any-return]
    return None


def expects(app: Any, handler: Any) -> Expects:
    """What `handler` (an HTTP route handler of `app`) declares: its query parameters and
    which are booleans or integers (its own and its dependencies'), whether it needs a JSON
    body, its body size limit."""
    fields = dict(handler.parsed_fn_signature.parameters)
    for provide in handler.resolve_dependencies().values():
        signature = getattr(provide, "parsed_fn_signature", None)
        if signature is not None:
            for name, definition in signature.parameters.items():
                fields.setdefault(name, definition)
    query: set[str] = set()
    scalars: dict[str, type] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for candidate, kwargs_model in route.route_handler_map.values():
            if candidate is not handler:
                continue
            for param in kwargs_model.expected_query_params:
                query.add(param.field_alias)
                definition = fields.get(param.field_name)
                if definition is not None and (kind := _scalar(definition.annotation)):
                    scalars[param.field_alias] = kind
    data = handler.parsed_fn_signature.parameters.get("data")
    required = False
    if data is not None:
        kwarg = data.kwarg_definition
        media = kwarg.media_type if isinstance(kwarg, BodyKwarg) else RequestEncodingType.JSON
        required = (media == RequestEncodingType.JSON and not data.is_optional
                    and not data.has_default)
    return Expects(frozenset(query), scalars, required, handler.resolve_request_max_body_size())


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value)
    return None


def _basic(value: bytes) -> str | None:
    """Why HTTP Basic credentials cannot be stored once decoded (as RFC 6749 §2.3.1 decodes
    them: base64, UTF-8, then percent escapes), or None."""
    scheme, _, token = value.partition(b" ")
    if scheme.lower() != b"basic":
        return None
    try:
        decoded = base64.b64decode(token.strip()).decode("utf-8")
    except (binascii.Error, ValueError):
        return text.NOT_UTF8 if _decodes_base64(token) else None
    return text.unstorable(decoded) or text.unstorable(unquote(decoded))


def _decodes_base64(token: bytes) -> bool:
    try:
        base64.b64decode(token.strip())
    except (binascii.Error, ValueError):
        return False
    return True


def _nul_header(key: bytes) -> list[Problem]:
    name = bytes(key).decode("latin-1").lower()
    return [] if name == "idempotency-key" else [(text.shown(name), "header", text.NUL)]


def in_path(scope: Scope) -> list[Problem]:
    return [(text.shown(name), "path", why) for name, value in scope.get("path_params", {}).items()
            if isinstance(value, str) and (why := text.unstorable(value)) is not None]


def in_query(scope: Scope, want: Expects) -> list[Problem]:
    """The query parameters the operation takes (others never reach it): unstorable text,
    loose scalars."""
    raw: bytes = scope.get("query_string", b"")
    if not want.query or not raw:
        return []
    found: list[Problem] = [(key, "query", why) for key, why in text.form(raw)
                            if key in want.query]
    if want.scalars:
        named = {key for key, _, _ in found}
        for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
            kind = want.scalars.get(key)
            if kind is not None and key not in named:
                pattern, why = _SCALARS[kind]
                if not pattern.fullmatch(value):
                    found.append((key, "query", why))
                    named.add(key)
    return found


async def read_all(receive: Receive, limit: int | None) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            raise PayloadTooLarge(f"请求体超过 {limit} 字节。", f"The body exceeds {limit} bytes.")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """The body once, then whatever the client sends next (a disconnect)."""
    sent = False

    async def replay() -> Any:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class MultipartCheck:
    """Feeds a multipart body through a streaming parser as the layers below read it, and
    refuses it (from `receive`) at the first part whose headers or text cannot be stored.
    A body the parser cannot read is left to Litestar's own parser to refuse."""

    def __init__(self, receive: Receive, boundary: bytes) -> None:
        self._receive = receive
        self._parser: Any = PushMultipartParser(boundary)
        self._segment: Any = None
        self._decoder: codecs.IncrementalDecoder | None = None
        self._text: list[str] = []
        self.found: list[Problem] = []

    async def __call__(self) -> Any:
        message = await self._receive()
        if self._parser is not None and message["type"] == "http.request":
            try:
                self._feed(message.get("body", b""))
                if not message.get("more_body", False):
                    self._feed(b"")
            except (ParserError, ParserLimitReached):
                self._parser = None
            if self.found:
                raise _refusal(self.found)
        return message

    def _feed(self, chunk: bytes) -> None:
        for part in self._parser.parse(chunk):
            if isinstance(part, MultipartSegment):
                self._begin(part)
            elif part:
                self._data(bytes(part))
            else:
                self._end()

    def _begin(self, segment: Any) -> None:
        self._segment = segment
        name = segment.name or ""
        for header, value in segment.headerlist:
            if (why := text.unstorable(header) or text.unstorable(value)) is not None:
                self.found.append((text.shown(name) or "body", "body", why))
                break
        self._decoder = None
        self._text = []
        if not segment.filename:  # a text field: decoded as Litestar decodes it
            charset = segment.charset or "utf-8"
            try:
                self._decoder = codecs.getincrementaldecoder(charset)()
            except LookupError:
                self.found.append((text.shown(name), "body", text.NOT_UTF8))

    def _data(self, chunk: bytes) -> None:
        if self._decoder is None:
            return
        try:
            self._text.append(self._decoder.decode(chunk))
        except UnicodeDecodeError:
            self._fail(text.NOT_UTF8)

    def _end(self) -> None:
        if self._decoder is not None:
            try:
                value = "".join(self._text) + self._decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                self._fail(text.NOT_UTF8)
            else:
                if (why := text.unstorable(value)) is not None:
                    self._fail(why)
        self._segment, self._decoder, self._text = None, None, []

    def _fail(self, why: str) -> None:
        name = self._segment.name if self._segment is not None else ""
        self.found.append((text.shown(name or "body"), "body", why))
        self._decoder = None


def _media(scope: Scope) -> tuple[str, bytes]:
    raw = (_header(scope, b"content-type") or b"").decode("latin-1")
    media, _, params = raw.partition(";")
    boundary = b""
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip().strip('"').encode("latin-1")
    return media.strip().lower(), boundary


def _refusal(found: list[Problem]) -> InvalidInput:
    return InvalidInput(
        "请求中有参数不符合要求，见 errors。",
        "Some of the request's input is not acceptable; see errors.",
        extra={"errors": [{"key": key, "source": source, "message": message}
                          for key, source, message in found[:text.MAX_ERRORS]]})


async def guarded(scope: Scope, receive: Receive, want: Expects) -> Receive:
    """Check the request as the module docstring says; raise the 422 (or 413), or return
    the `receive` the layers below read the body from (the body replayed when it was read
    here). A request without path parameters, query string or body (a GET, say) costs one
    pass over its headers: no body is read or scanned."""
    found: list[Problem] = []
    has_body = False
    for key, value in scope.get("headers", ()):
        if b"\x00" in value:
            found += _nul_header(key)
        else:
            name = key.lower()
            if name == b"content-length":
                has_body = value.strip() not in (b"", b"0")
            elif name == b"transfer-encoding":
                has_body = True
            elif name == b"authorization" and value[:6].lower() == b"basic " and (
                    why := _basic(bytes(value))):
                found.append(("authorization", "header", why))
    if scope.get("path_params"):
        found += in_path(scope)
    if want.query and scope.get("query_string"):
        found += in_query(scope, want)
    if want.body_required or has_body:
        media, boundary = _media(scope)
        if media == "multipart/form-data" and boundary:
            receive = MultipartCheck(receive, boundary)
        else:
            body = await read_all(receive, want.max_body)
            found += _in_body(media, body)
            if want.body_required and not body.strip():
                found.append(("body", "body", BODY_REQUIRED))
            receive = replaying(body, receive)
    if found:
        raise _refusal(found)
    return receive


def _in_body(media: str, body: bytes) -> list[Problem]:
    if not body or media.startswith(_BINARY):
        return []
    if media == "application/x-www-form-urlencoded":
        return [(key, "body", why) for key, why in text.form(body)]
    return [(key, "body", why) for key, why in text.raw_body(body)]

