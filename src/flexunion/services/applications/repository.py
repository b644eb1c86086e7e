"""Service applications SQL (row-level security decides whose)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.db.rows import add, flush
from flexunion.services.applications.models import ServiceApplication, ServiceMaterial

__all__ = ["add", "application", "flush", "materials", "mine", "signed_up", "window"]

A = ServiceApplication


async def application(session: AsyncSession, application_id: uuid.UUID, *,
                      lock: bool = False) -> ServiceApplication | None:
    q = select(A).where(A.id == application_id).execution_options(populate_existing=True)
    return (await session.scalars(q.with_for_update() if lock else q)).one_or_none()


async def mine(session: AsyncSession, worker_id: uuid.UUID) -> Sequence[ServiceApplication]:
    return (await session.scalars(select(A).where(A.worker_id == worker_id)
                                  .order_by(A.created_at.desc(), A.id))).all()


async def window(session: AsyncSession, tab: str, now: datetime,
                 limit: int) -> Sequence[ServiceApplication]:
    """The window's tab: 待审 (submitted, soonest deadline first), 超期件 (submitted past the
    deadline), 退回件 (returned, awaiting 补件), 已办 (decided, latest first)."""
    q = select(A)
    if tab == "pending":
        q = q.where(A.status == "submitted").order_by(A.deadline_at, A.id)
    elif tab == "overdue":
        q = q.where(A.status == "submitted", A.deadline_at < now).order_by(A.deadline_at, A.id)
    elif tab == "returned":
        q = q.where(A.status == "returned").order_by(A.requested_at, A.id)
    else:
        q = q.where(A.status.in_(("approved", "refused"))).order_by(A.decided_at.desc(), A.id)
    return (await session.scalars(q.limit(limit))).all()


async def materials(session: AsyncSession,
                    application_id: uuid.UUID) -> Sequence[ServiceMaterial]:
    return (await session.scalars(select(ServiceMaterial).where(
        ServiceMaterial.application_id == application_id).order_by(
        ServiceMaterial.created_at, ServiceMaterial.id))).all()


async def signed_up(session: AsyncSession, event_id: uuid.UUID, worker_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(A.id).where(
        A.event_id == event_id, A.worker_id == worker_id, A.status != "refused").limit(1)))
