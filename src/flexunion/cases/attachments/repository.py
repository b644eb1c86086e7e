"""Queries for a case's evidence."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.attachments.models import CaseAttachment
from flexunion.db.rows import add as add
from flexunion.db.rows import flush as flush


async def attachments(session: AsyncSession, case_id: uuid.UUID) -> Sequence[CaseAttachment]:
    return (await session.scalars(select(CaseAttachment).where(CaseAttachment.case_id == case_id)
                                  .order_by(CaseAttachment.created_at))).all()


async def attachment(session: AsyncSession, attachment_id: uuid.UUID) -> CaseAttachment | None:
    return await session.scalar(select(CaseAttachment).where(CaseAttachment.id == attachment_id))
