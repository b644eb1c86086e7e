"""条款模板 SQL (row-level security decides whose)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.contracts.templates.models import ClauseTemplate
from flexunion.db.rows import add, flush

__all__ = ["add", "by_code", "by_topic", "flush", "get", "listed"]


async def by_code(session: AsyncSession, federation_id: uuid.UUID, code: str, *,
                  lock: bool = False) -> ClauseTemplate | None:
    q = select(ClauseTemplate).where(ClauseTemplate.federation_id == federation_id,
                                     ClauseTemplate.code == code)
    return (await session.scalars(q.with_for_update() if lock else q)).one_or_none()


async def by_topic(session: AsyncSession, federation_id: uuid.UUID,
                   topic: str) -> ClauseTemplate | None:
    return (await session.scalars(select(ClauseTemplate).where(
        ClauseTemplate.federation_id == federation_id,
        ClauseTemplate.topic == topic))).one_or_none()


async def get(session: AsyncSession, template_id: uuid.UUID) -> ClauseTemplate | None:
    return await session.get(ClauseTemplate, template_id)


async def listed(session: AsyncSession, federation_id: uuid.UUID,
                 kind: str | None) -> Sequence[ClauseTemplate]:
    q = select(ClauseTemplate).where(ClauseTemplate.federation_id == federation_id)
    if kind:
        q = q.where(ClauseTemplate.kind == kind)
    return (await session.scalars(q.order_by(ClauseTemplate.kind.desc(),
                                             ClauseTemplate.code))).all()
