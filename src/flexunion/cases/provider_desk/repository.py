"""Queries of the provider's desk. Row-level security (migration 0041) already narrows a
provider to the referrals made to it; every query names the provider as well."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, select, text, tuple_
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.provider_desk.schemas import CaseFacts
from flexunion.cases.referrals.models import CaseReferral, ReferralReceipt
from flexunion.db.rows import add as add
from flexunion.db.rows import flush as flush

_CASE_FACTS = text(
    "SELECT referral_id, case_no, category, dispute_kind FROM flexunion_provider_cases(:ids)"
).bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))


async def referrals_to(session: AsyncSession, provider_id: uuid.UUID, *,
                       after: tuple[datetime, uuid.UUID] | None,
                       limit: int) -> Sequence[CaseReferral]:
    """The referrals made to the provider, newest first, after the keyset cursor."""
    stmt = (select(CaseReferral).where(CaseReferral.provider_id == provider_id)
            .order_by(CaseReferral.created_at.desc(), CaseReferral.id.desc()).limit(limit))
    if after is not None:
        stmt = stmt.where(tuple_(CaseReferral.created_at, CaseReferral.id) < after)
    return (await session.scalars(stmt)).all()


async def referral_to(session: AsyncSession, provider_id: uuid.UUID,
                      referral_id: uuid.UUID) -> CaseReferral | None:
    return await session.scalar(select(CaseReferral).where(
        CaseReferral.id == referral_id, CaseReferral.provider_id == provider_id))


async def case_facts(session: AsyncSession,
                     referral_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, CaseFacts]:
    """The case number, category and dispute kind behind the calling provider's own
    referrals (a SECURITY DEFINER function that answers for those only)."""
    if not referral_ids:
        return {}
    rows = await session.execute(_CASE_FACTS, {"ids": list(referral_ids)})
    return {r.referral_id: CaseFacts(case_no=r.case_no, category=r.category,
                                     dispute_kind=r.dispute_kind) for r in rows}


async def receipts(session: AsyncSession, referral_id: uuid.UUID) -> Sequence[ReferralReceipt]:
    return (await session.scalars(select(ReferralReceipt)
                                  .where(ReferralReceipt.referral_id == referral_id)
                                  .order_by(ReferralReceipt.seq))).all()
