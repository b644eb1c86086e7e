"""The audit trail's queries: append as the transaction's principal, read newest first.
The chain fields (seq, prev_hash, hash) are the database trigger's; verification reads the
whole chain on an owner connection of its own."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit.models import AuditEvent

_INSERT = text(
    "INSERT INTO audit_events (tenant_id, actor, action, object_type, object_id, payload)"
    " VALUES (:tenant_id, flexunion_principal(), :action, :object_type, :object_id,"
    " CAST(:payload AS jsonb))"
)
_CHAIN = """
SELECT seq, prev_hash, hash,
       flexunion_audit_digest(prev_hash, seq, occurred_at, tenant_id, actor, action,
                              object_type, object_id, payload, request_id) AS recomputed
  FROM audit_events ORDER BY seq
"""
_HEAD = "SELECT seq, hash FROM audit_chain_head WHERE id = 1"


async def append(session: AsyncSession, *, tenant_id: uuid.UUID | None, action: str,
                 object_type: str | None, object_id: str | None,
                 payload: dict[str, Any]) -> None:
    await session.execute(_INSERT, {
        "tenant_id": tenant_id, "action": action, "object_type": object_type,
        "object_id": object_id, "payload": msgspec.json.encode(payload).decode()})


async def page(session: AsyncSession, *, before_seq: int | None, limit: int,
               object_type: str | None = None, object_id: str | None = None,
               action_prefix: str | None = None) -> Sequence[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit)
    if before_seq is not None:
        stmt = stmt.where(AuditEvent.seq < before_seq)
    if object_type is not None:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    if action_prefix:
        stmt = stmt.where(AuditEvent.action.startswith(action_prefix, autoescape=True))
    return (await session.scalars(stmt)).all()


async def chain_head(conn: asyncpg.Connection) -> asyncpg.Record | None:
    return await conn.fetchrow(_HEAD)


def chain(conn: asyncpg.Connection, prefetch: int = 2000) -> asyncpg.cursor.CursorFactory:
    """Every entry in seq order with its recomputed hash (a cursor: needs a transaction)."""
    return conn.cursor(_CHAIN, prefetch=prefetch)
