"""Cursor pagination: opaque cursors, page size clamped to [1, max].

A repository fetches `size + 1` rows past the cursor; `page_of` turns them into the page and,
when the extra row came back, the cursor after the page's last row."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import msgspec

from flexunion.core.errors import InvalidInput

T = TypeVar("T")
R = TypeVar("R")


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def clamp(limit: int | None, default: int, maximum: int) -> int:
    if limit is None:
        return default
    return max(1, min(limit, maximum))


def encode_cursor(*values: Any) -> str:
    raw = json.dumps([str(v) if not isinstance(v, int | str) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def page_of(rows: Sequence[R], size: int, read: Callable[[R], T],
            key: Callable[[R], Sequence[Any]]) -> Page[T]:
    """`rows` as fetched with `size + 1`: the first `size` read for the caller, and a cursor
    built from `key(last row)` when there is more."""
    items = [read(row) for row in rows[:size]]
    more = len(rows) > size
    return Page(items=items, next_cursor=encode_cursor(*key(rows[size - 1])) if more else None)


def time_key(at: datetime, row_id: uuid.UUID) -> tuple[str, uuid.UUID]:
    """The key of a (timestamp, id) keyset cursor, read back by `decode_time_cursor`."""
    return at.isoformat(), row_id


def _not_ours() -> InvalidInput:
    return InvalidInput("翻页游标无效，请从第一页重新开始。",
                        "The cursor is not one this API issued.", code="cursor_invalid")


def decode_time_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """A (timestamp, id) keyset cursor, as `encode_cursor(ts.isoformat(), id)` made it."""
    values = decode_cursor(cursor, 2)
    if values is None:
        return None
    try:
        return datetime.fromisoformat(values[0]), uuid.UUID(values[1])
    except (TypeError, ValueError) as exc:
        raise _not_ours() from exc


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    if not cursor:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise _not_ours() from exc
    if not isinstance(values, list) or len(values) != arity:
        raise _not_ours()
    return values
