from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.consent.models import DISPUTE_NAMED, WorkerConsent


async def add(session: AsyncSession, consent: WorkerConsent) -> WorkerConsent:
    session.add(consent)
    await session.flush()
    await session.refresh(consent)
    return consent


async def of_worker(session: AsyncSession, worker_id: uuid.UUID) -> Sequence[WorkerConsent]:
    """Newest first (the general purposes: a dispute's naming consent is read by dispute)."""
    stmt = (select(WorkerConsent).where(WorkerConsent.worker_id == worker_id,
                                        WorkerConsent.dispute_id.is_(None))
            .order_by(WorkerConsent.created_at.desc(), WorkerConsent.id))
    return (await session.scalars(stmt)).all()


async def latest_for_dispute(session: AsyncSession, worker_id: uuid.UUID,
                             dispute_id: uuid.UUID) -> WorkerConsent | None:
    stmt = (select(WorkerConsent)
            .where(WorkerConsent.worker_id == worker_id, WorkerConsent.dispute_id == dispute_id,
                   WorkerConsent.purpose == DISPUTE_NAMED)
            .order_by(WorkerConsent.created_at.desc(), WorkerConsent.id).limit(1))
    return await session.scalar(stmt)
