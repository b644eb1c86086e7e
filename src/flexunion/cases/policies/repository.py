"""Queries for the policy library and the hotline platforms."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.policies.models import CaseIntakePartner, CasePolicy
from flexunion.db.rows import add as add
from flexunion.db.rows import flush as flush


async def policy(session: AsyncSession, federation_id: uuid.UUID, code: str, *,
                 lock: bool = False) -> CasePolicy | None:
    stmt = select(CasePolicy).where(CasePolicy.federation_id == federation_id,
                                    CasePolicy.code == code)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def policies(session: AsyncSession, federation_id: uuid.UUID) -> Sequence[CasePolicy]:
    return (await session.scalars(select(CasePolicy)
                                  .where(CasePolicy.federation_id == federation_id)
                                  .order_by(CasePolicy.code))).all()


async def intake_partner(session: AsyncSession, partner_id: uuid.UUID,
                         kind: str) -> CaseIntakePartner | None:
    return await session.scalar(select(CaseIntakePartner).where(
        CaseIntakePartner.partner_id == partner_id, CaseIntakePartner.kind == kind))
