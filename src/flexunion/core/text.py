"""Text PostgreSQL can store: the rules, and where a request's text hides.

PostgreSQL's `text` takes any Unicode except U+0000 (NUL), and asyncpg cannot encode a lone
UTF-16 surrogate ("\\ud800" in JSON, or CESU-8 bytes) as UTF-8: either would reach the
database and fail there as a 500. `core/guard.py` refuses both, for every request, before
any handler or database work, naming the field (`errors: [{key, source, message}]`, 422
`validation_failed`, as every other field error). This module is the pure part: what is
unstorable, and how to find it in a JSON document, a form, a query string or a header.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import parse_qsl

import msgspec

_SURROGATE = re.compile("[\ud800-\udfff]")

# Why a piece of text cannot be stored, said as a field error's message (zh, then en).
NUL = ("含有 NUL 字符（U+0000），无法保存。"
       "Contains a NUL character (U+0000), which cannot be stored.")
SURROGATE = ("含有孤立的 UTF-16 代理字符，不是有效的 Unicode 文本。"
             "Contains a lone UTF-16 surrogate, which is not valid Unicode text.")
NOT_UTF8 = "不是有效的 UTF-8 文本。Is not valid UTF-8 text."
MAX_ERRORS = 50


def unstorable(text: str) -> str | None:
    """Why `text` cannot be stored (a field error message), or None when it can."""
    if "\x00" in text:
        return NUL
    if not text.isascii() and _SURROGATE.search(text):
        return SURROGATE
    return None


def shown(name: str) -> str:
    """A field name as a problem can carry it: NUL and surrogates escaped (the answer is
    JSON, and a lone surrogate cannot even be encoded)."""
    if unstorable(name) is None:
        return name
    return name.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode("utf-8")


def in_document(document: Any) -> Iterator[tuple[str, str]]:
    """(field, message) for each unstorable string of a decoded JSON document, keys
    included; fields named as Litestar names them (`platforms[0].partner`). Iterative: a
    deeply nested document cannot exhaust the stack."""
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if (why := unstorable(value)) is not None:
                yield (path or "body"), why
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                where = f"{path}.{shown(key)}" if path else shown(key)
                stack.append((where, item))
                if (why := unstorable(key)) is not None:
                    stack.append((where, _Refused(why)))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in reversed(list(enumerate(value))))
        elif isinstance(value, _Refused):
            yield path, value.why


class _Refused:
    """A key found unstorable, yielded in document order."""

    __slots__ = ("why",)

    def __init__(self, why: str) -> None:
        self.why = why


def raw_body(body: bytes) -> list[tuple[str, str]]:
    """The unstorable strings of a JSON body (or of a UTF-8 text body, such as CSV: key
    `body`).

    In JSON, NUL and surrogates can only be written as `\\u` escapes (raw control bytes are
    not JSON), so a body with neither an escape nor a NUL byte is not even decoded. msgspec
    refuses lone surrogates outright; the standard library reads them, so that the field can
    be named."""
    if b"\\u" not in body and b"\x00" not in body:
        return []
    try:
        document = msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError):  # too deep: the decoder answers 400
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return [("body", NUL)] if b"\x00" in body and _utf8(body) else []
    return list(_first(in_document(document)))


def _utf8(body: bytes) -> bool:
    """Whether a text body is UTF-8 (NUL bytes in UTF-16 are the handler's to refuse, as an
    encoding it does not read)."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def in_pairs(pairs: Iterable[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    """(name, message) for each unstorable name or value of decoded name/value pairs."""
    for name, value in pairs:
        if (why := unstorable(name) or unstorable(value)) is not None:
            yield shown(name), why


def form(encoded: bytes) -> list[tuple[str, str]]:
    """The unstorable fields of a query string or an x-www-form-urlencoded body, decoded as
    Litestar decodes them (latin-1, then UTF-8 percent escapes with replacement: only NUL
    can come through)."""
    if b"%00" not in encoded and b"\x00" not in encoded:
        return []
    pairs = parse_qsl(encoded.decode("latin-1"), keep_blank_values=True)
    return list(_first(in_pairs(pairs)))


def _first(found: Iterator[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    for n, item in enumerate(found):
        if n >= MAX_ERRORS:
            return
        yield item
