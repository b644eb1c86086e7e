"""Recording audit events: in the caller's transaction, as the caller.

The actor is not a parameter: it is the transaction's principal, and the
`append_as_self` policy makes PostgreSQL refuse any other. The chain fields
(seq, prev_hash, hash) come from the database trigger."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_INSERT = text(
    "INSERT INTO audit_events (tenant_id, actor, action, object_type, object_id, payload)"
    " VALUES (:tenant_id, flexunion_principal(), :action, :object_type, :object_id,"
    " CAST(:payload AS jsonb))"
)


async def record(
    session: AsyncSession,
    action: str,
    *,
    tenant_id: uuid.UUID | None,
    object_type: str | None = None,
    object_id: str | uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    await session.execute(
        _INSERT,
        {
            "tenant_id": tenant_id,
            "action": action,
            "object_type": object_type,
            "object_id": str(object_id) if object_id is not None else None,
            "payload": msgspec.json.encode(payload or {}).decode(),
        },
    )
