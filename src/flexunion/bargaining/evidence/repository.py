"""Queries for evidence attachments. Row-level security decides who reads a row: staff
their subtree's items' evidence, a partner what is shared with it or its own, a worker the
evidence on its own reports."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.evidence.models import AgendaAttachment

# Re-exported for the service: the session calls every repository shares.
from flexunion.db.rows import add as add
from flexunion.db.rows import flush as flush


async def get(session: AsyncSession, attachment_id: uuid.UUID) -> AgendaAttachment | None:
    return await session.scalar(select(AgendaAttachment).where(
        AgendaAttachment.id == attachment_id))


async def of_item(session: AsyncSession, item_id: uuid.UUID) -> Sequence[AgendaAttachment]:
    return (await session.scalars(
        select(AgendaAttachment).where(AgendaAttachment.item_id == item_id)
        .order_by(AgendaAttachment.created_at, AgendaAttachment.id))).all()


async def of_report(session: AsyncSession, report_id: uuid.UUID) -> Sequence[AgendaAttachment]:
    return (await session.scalars(
        select(AgendaAttachment).where(AgendaAttachment.report_id == report_id)
        .order_by(AgendaAttachment.created_at, AgendaAttachment.id))).all()
