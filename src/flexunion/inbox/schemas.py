"""What the worker sees of their inbox."""

from __future__ import annotations

import uuid

import msgspec


class NotificationRead(msgspec.Struct):
    id: uuid.UUID
    kind: str
    case_id: uuid.UUID | None  # None for a service application's notice
    case_no: str
    status: str
    title_zh: str
    title_en: str
    created_at: str
    read_at: str | None
    application_id: uuid.UUID | None = None
    trigger_action_id: uuid.UUID | None = None


class MarkedRead(msgspec.Struct):
    marked: int
