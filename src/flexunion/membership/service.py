from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.auth.models import WorkerAccount
from flexunion.core.context import Caller
from flexunion.core.errors import NotFound
from flexunion.membership.models import WorkerConsent
from flexunion.membership.schemas import ConsentCreate


async def me(session: AsyncSession, caller: Caller) -> WorkerAccount:
    worker = await session.get(WorkerAccount, uuid.UUID(caller.subject))
    if worker is None:
        raise NotFound("No such worker account.", code="worker_not_found")
    return worker


async def record_consent(session: AsyncSession, caller: Caller, data: ConsentCreate) -> WorkerConsent:
    worker = await me(session, caller)
    consent = WorkerConsent(
        id=uuid.uuid4(), tenant_id=worker.tenant_id, worker_id=worker.id,
        purpose=data.purpose, version=data.version, granted=data.granted,
    )
    session.add(consent)
    await session.flush()
    await audit.record(
        session, "worker.consent_recorded", tenant_id=worker.tenant_id,
        object_type="worker_consent", object_id=consent.id,
        payload={"purpose": data.purpose, "version": data.version, "granted": data.granted},
    )
    await session.refresh(consent)
    return consent


async def consents(session: AsyncSession, caller: Caller) -> Sequence[WorkerConsent]:
    stmt = (
        select(WorkerConsent)
        .where(WorkerConsent.worker_id == uuid.UUID(caller.subject))
        .order_by(WorkerConsent.created_at.desc(), WorkerConsent.id)
    )
    return (await session.scalars(stmt)).all()
