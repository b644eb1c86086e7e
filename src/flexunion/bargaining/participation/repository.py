"""参与授权 SQL: the grant rows (RLS decides whose) and the migration's functions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.participation.models import ParticipationGrant


@dataclass(frozen=True, slots=True)
class Candidate:
    member_id: uuid.UUID
    worker_id: uuid.UUID
    home_region: uuid.UUID
    region: uuid.UUID
    reason: str
    checkins: int | None
    case_id: uuid.UUID | None


_CANDIDATES = text("SELECT * FROM flexunion_participation_candidates(:since, :min)")
_MEMBER = text("SELECT worker_id, home_region FROM flexunion_participation_member(:m)")


async def candidates(session: AsyncSession, *, since: datetime,
                     min_checkins: int) -> list[Candidate]:
    rows = await session.execute(_CANDIDATES, {"since": since, "min": min_checkins})
    return [Candidate(r.member_id, r.worker_id, r.home_region, r.region, r.reason,
                      None if r.checkins is None else int(r.checkins), r.case_id)
            for r in rows]


async def member_home(session: AsyncSession,
                      member_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID | None] | None:
    row = (await session.execute(_MEMBER, {"m": member_id})).one_or_none()
    return None if row is None else (row.worker_id, row.home_region)


async def open_grant(session: AsyncSession, member_id: uuid.UUID, region: uuid.UUID,
                     ) -> ParticipationGrant | None:
    """The unrevoked grant of the member for the region, locked."""
    return await session.scalar(select(ParticipationGrant).where(
        ParticipationGrant.member_id == member_id, ParticipationGrant.tenant_id == region,
        ParticipationGrant.revoked_at.is_(None)).with_for_update())


async def revoked_since(session: AsyncSession, member_id: uuid.UUID, region: uuid.UUID,
                        since: datetime) -> bool:
    found = await session.scalar(select(ParticipationGrant.id).where(
        ParticipationGrant.member_id == member_id, ParticipationGrant.tenant_id == region,
        ParticipationGrant.revoked_at >= since).limit(1))
    return found is not None


async def get(session: AsyncSession, grant_id: uuid.UUID, *,
              lock: bool = False) -> ParticipationGrant | None:
    query = select(ParticipationGrant).where(ParticipationGrant.id == grant_id)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def of_worker(session: AsyncSession, worker_id: uuid.UUID) -> Sequence[ParticipationGrant]:
    return (await session.scalars(select(ParticipationGrant).where(
        ParticipationGrant.worker_id == worker_id).order_by(
        ParticipationGrant.granted_at.desc(), ParticipationGrant.id))).all()


async def listed(session: AsyncSession, *, region: uuid.UUID | None, active_at: datetime | None,
                 limit: int) -> Sequence[ParticipationGrant]:
    query = select(ParticipationGrant)
    if region is not None:
        query = query.where(ParticipationGrant.tenant_id == region)
    if active_at is not None:
        query = query.where(ParticipationGrant.revoked_at.is_(None),
                            ParticipationGrant.expires_at > active_at)
    return (await session.scalars(query.order_by(
        ParticipationGrant.granted_at.desc(), ParticipationGrant.id).limit(limit))).all()


def add(session: AsyncSession, grant: ParticipationGrant) -> None:
    session.add(grant)


async def flush(session: AsyncSession) -> None:
    await session.flush()
