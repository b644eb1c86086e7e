"""Queries for the inbox. Row-level security shows a worker only their own notifications;
whoever writes one (the case's status changer) cannot read it back."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.db.rows import add as add
from flexunion.db.rows import flush as flush
from flexunion.inbox.models import WorkerNotification

_CLAIM_SMS = text("SELECT flexunion_notice_sms(:id)")
_RECEIPT_NOTICE = text("SELECT flexunion_receipt_notice(:receipt, :zh, :en)")


async def receipt_notice(session: AsyncSession, receipt_id: uuid.UUID, title_zh: str,
                         title_en: str) -> uuid.UUID | None:
    """The worker's row for a provider's receipt (migration 0044), written by the database
    for the receipt's own provider: its id, or None when nothing was written."""
    found = (await session.execute(_RECEIPT_NOTICE, {"receipt": receipt_id, "zh": title_zh,
                                                     "en": title_en})).scalar_one_or_none()
    return found if found is None or isinstance(found, uuid.UUID) else uuid.UUID(str(found))


async def claim_sms(session: AsyncSession, notification_id: uuid.UUID) -> bytes | None:
    """The worker's sealed phone, once, if they opted into SMS notices (else None)."""
    return (await session.execute(_CLAIM_SMS, {"id": notification_id})).scalar_one_or_none()


async def page(session: AsyncSession, worker_id: uuid.UUID, *, unread: bool,
               after: tuple[datetime, uuid.UUID] | None, limit: int
               ) -> Sequence[WorkerNotification]:
    """Newest first, along (worker_id, created_at, id)."""
    stmt = (select(WorkerNotification).where(WorkerNotification.worker_id == worker_id)
            .order_by(WorkerNotification.created_at.desc(), WorkerNotification.id.desc())
            .limit(limit))
    if unread:
        stmt = stmt.where(WorkerNotification.read_at.is_(None))
    if after:
        stmt = stmt.where(tuple_(WorkerNotification.created_at, WorkerNotification.id)
                          < tuple_(*after))
    return (await session.scalars(stmt)).all()


async def get(session: AsyncSession, notification_id: uuid.UUID) -> WorkerNotification | None:
    return await session.scalar(select(WorkerNotification)
                                .where(WorkerNotification.id == notification_id))


async def mark_all_read(session: AsyncSession, worker_id: uuid.UUID, at: datetime) -> int:
    result = await session.execute(
        update(WorkerNotification)
        .where(WorkerNotification.worker_id == worker_id, WorkerNotification.read_at.is_(None))
        .values(read_at=at).execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]
