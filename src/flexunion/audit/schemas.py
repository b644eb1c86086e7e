from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from flexunion.audit.models import AuditEvent


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


def event_read(r: AuditEvent) -> AuditEventRead:
    return AuditEventRead(seq=r.seq, occurred_at=r.occurred_at, tenant_id=r.tenant_id,
                          actor=r.actor, action=r.action, object_type=r.object_type,
                          object_id=r.object_id, payload=r.payload, hash=r.hash)
