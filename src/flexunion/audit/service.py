"""Recording audit events: in the caller's transaction, as the caller.

The actor is not a parameter: it is the transaction's principal, and the
`append_as_self` policy makes PostgreSQL refuse any other. The chain fields
(seq, prev_hash, hash) come from the database trigger."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import repository
from flexunion.audit.models import AuditEvent


async def record(
    session: AsyncSession,
    action: str,
    *,
    tenant_id: uuid.UUID | None,
    object_type: str | None = None,
    object_id: str | uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    await repository.append(session, tenant_id=tenant_id, action=action,
                            object_type=object_type,
                            object_id=str(object_id) if object_id is not None else None,
                            payload=payload or {})


async def page(session: AsyncSession, *, before_seq: int | None, limit: int,
               object_type: str | None = None, object_id: str | None = None,
               action_prefix: str | None = None) -> Sequence[AuditEvent]:
    """The caller's subtree's trail, newest first (row-level security decides the rows);
    optionally of one object, or of actions starting with `action_prefix`."""
    return await repository.page(session, before_seq=before_seq, limit=limit,
                                 object_type=object_type, object_id=object_id,
                                 action_prefix=action_prefix)
