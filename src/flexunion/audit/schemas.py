from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec


class AuditEventRead(msgspec.Struct):
    seq: int
    occurred_at: datetime
    tenant_id: uuid.UUID | None
    actor: str
    action: str
    object_type: str | None
    object_id: str | None
    payload: dict[str, Any]
    hash: str
