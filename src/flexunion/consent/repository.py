from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.consent.models import WorkerConsent


async def add(session: AsyncSession, consent: WorkerConsent) -> WorkerConsent:
    session.add(consent)
    await session.flush()
    await session.refresh(consent)
    return consent


async def of_worker(session: AsyncSession, worker_id: uuid.UUID) -> Sequence[WorkerConsent]:
    """Newest first."""
    stmt = (select(WorkerConsent).where(WorkerConsent.worker_id == worker_id)
            .order_by(WorkerConsent.created_at.desc(), WorkerConsent.id))
    return (await session.scalars(stmt)).all()
