"""Queries for ratings."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.followup.models import CaseRating
from flexunion.db.rows import add as add
from flexunion.db.rows import flush as flush


async def rating(session: AsyncSession, case_id: uuid.UUID, closing: int) -> CaseRating | None:
    return await session.scalar(select(CaseRating).where(CaseRating.case_id == case_id,
                                                         CaseRating.closing == closing))
