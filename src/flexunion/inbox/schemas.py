"""What the worker sees of their inbox."""

from __future__ import annotations

import uuid

import msgspec


class NotificationRead(msgspec.Struct):
    id: uuid.UUID
    kind: str
    case_id: uuid.UUID
    case_no: str
    status: str
    title_zh: str
    title_en: str
    created_at: str
    read_at: str | None


class MarkedRead(msgspec.Struct):
    marked: int
