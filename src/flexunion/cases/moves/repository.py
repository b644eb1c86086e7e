"""Queries of the case-follow-transfer job: the outbox's pending `member.transferred` rows
(claimed with FOR UPDATE SKIP LOCKED), the member's open cases, a move already done, and the
move itself (`flexunion_case_move()`, migration 0029: the only way a case's tenant changes), and
the new home's sight of the cases that stay (`flexunion_case_home_sight()`, 0045)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.ledger.codes import ENDED
from flexunion.cases.ledger.models import Case, CaseEvent
from flexunion.core.events import DomainEvent

_MOVE = text("SELECT flexunion_case_move(:case_id, :to, :transfer)")
_HOME_SIGHT = text("SELECT flexunion_case_home_sight(:case_id)")


async def claim_pending(session: AsyncSession, kind: str, *, limit: int) -> Sequence[DomainEvent]:
    """The oldest pending events of `kind`, locked; rows another run holds are skipped."""
    return (await session.scalars(
        select(DomainEvent)
        .where(DomainEvent.kind == kind, DomainEvent.processed_at.is_(None))
        .order_by(DomainEvent.created_at, DomainEvent.id)
        .limit(limit).with_for_update(skip_locked=True))).all()


async def mark_processed(session: AsyncSession, event_id: uuid.UUID, now: datetime) -> None:
    await session.execute(update(DomainEvent).where(DomainEvent.id == event_id)
                          .values(processed_at=now))


async def open_cases(session: AsyncSession, *, worker_id: uuid.UUID | None,
                     member_id: uuid.UUID, tenants: Sequence[uuid.UUID]) -> Sequence[Case]:
    """The person's open cases handled by one of `tenants`, oldest first, locked."""
    who = Case.worker_id == worker_id if worker_id is not None else Case.member_id == member_id
    return (await session.scalars(
        select(Case).where(who, Case.status.not_in(tuple(ENDED)), Case.tenant_id.in_(tenants))
        .order_by(Case.created_at, Case.id).with_for_update())).all()


async def already_moved(session: AsyncSession, case_id: uuid.UUID, transfer_id: str) -> bool:
    """Has this transfer moved this case already (its `moved` event)?"""
    return await session.scalar(
        select(CaseEvent.id).where(CaseEvent.case_id == case_id, CaseEvent.kind == "moved",
                                   CaseEvent.details["transfer_id"].astext == transfer_id)
        .limit(1)) is not None


async def move(session: AsyncSession, case: Case, to: uuid.UUID,
               transfer_id: uuid.UUID | None) -> uuid.UUID:
    """Move the case (and its clock rows) to `to`, keep the origin's sight; the origin."""
    origin = (await session.execute(_MOVE, {"case_id": case.id, "to": to,
                                            "transfer": transfer_id})).scalar_one()
    await session.refresh(case)
    return uuid.UUID(str(origin))


async def home_sight(session: AsyncSession, case_id: uuid.UUID) -> uuid.UUID | None:
    """The member's (new) home gets read sight of the case unless it handles it or is above
    the tenant that does (`flexunion_case_home_sight()`, migration 0045); the tenant that got
    a new sight row, or None."""
    home = (await session.execute(_HOME_SIGHT, {"case_id": case_id})).scalar_one()
    return uuid.UUID(str(home)) if home is not None else None
