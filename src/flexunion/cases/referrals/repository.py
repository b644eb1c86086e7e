"""Queries for referral providers and case referrals."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.referrals.models import CaseReferral, ReferralProvider, ReferralReceipt
from flexunion.db.rows import add as add
from flexunion.db.rows import flush as flush


async def provider(session: AsyncSession, federation_id: uuid.UUID, code: str, *,
                   lock: bool = False) -> ReferralProvider | None:
    stmt = select(ReferralProvider).where(ReferralProvider.federation_id == federation_id,
                                          ReferralProvider.code == code)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def providers(session: AsyncSession, federation_id: uuid.UUID, *,
                    tenant_id: uuid.UUID | None = None, kind: str | None = None,
                    active_only: bool = False) -> Sequence[ReferralProvider]:
    stmt = select(ReferralProvider).where(ReferralProvider.federation_id == federation_id)
    if tenant_id is not None:
        stmt = stmt.where(ReferralProvider.tenant_id == tenant_id)
    if kind is not None:
        stmt = stmt.where(ReferralProvider.kind == kind)
    if active_only:
        stmt = stmt.where(ReferralProvider.active.is_(True))
    return (await session.scalars(stmt.order_by(ReferralProvider.code))).all()


async def providers_by_id(session: AsyncSession,
                          ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, ReferralProvider]:
    rows = await session.scalars(select(ReferralProvider).where(ReferralProvider.id.in_(ids)))
    return {r.id: r for r in rows}


async def referral(session: AsyncSession, case_id: uuid.UUID, referral_id: uuid.UUID, *,
                   lock: bool = False) -> CaseReferral | None:
    stmt = select(CaseReferral).where(CaseReferral.id == referral_id,
                                      CaseReferral.case_id == case_id)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def referrals(session: AsyncSession, case_id: uuid.UUID) -> Sequence[CaseReferral]:
    return (await session.scalars(select(CaseReferral).where(CaseReferral.case_id == case_id)
                                  .order_by(CaseReferral.created_at,
                                            CaseReferral.id))).all()


async def receipts_of(session: AsyncSession, referral_ids: Sequence[uuid.UUID],
                      ) -> dict[uuid.UUID, list[ReferralReceipt]]:
    """The providers' receipts of these referrals, oldest first (row-level security: the
    referral's readers)."""
    found: dict[uuid.UUID, list[ReferralReceipt]] = {r: [] for r in referral_ids}
    if referral_ids:
        rows = await session.scalars(select(ReferralReceipt)
                                     .where(ReferralReceipt.referral_id.in_(referral_ids))
                                     .order_by(ReferralReceipt.referral_id, ReferralReceipt.seq))
        for row in rows:
            found[row.referral_id].append(row)
    return found
