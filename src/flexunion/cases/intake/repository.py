"""Queries for intake: a platform's work order by its number."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.ledger.models import Case
from flexunion.db.rows import add as add
from flexunion.db.rows import flush as flush


async def by_external_ref(session: AsyncSession, partner_id: uuid.UUID,
                          ref: str) -> Case | None:
    return await session.scalar(select(Case).where(Case.intake_partner_id == partner_id,
                                                   Case.external_ref == ref))
