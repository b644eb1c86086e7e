from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit.models import AuditEvent


async def page(session: AsyncSession, *, before_seq: int | None, limit: int) -> Sequence[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit)
    if before_seq is not None:
        stmt = stmt.where(AuditEvent.seq < before_seq)
    return (await session.scalars(stmt)).all()
