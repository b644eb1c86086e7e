"""Queries for transfers. Row-level security decides which rows exist for the caller:
origin side, destination side, the worker who asked, or (jobs) the owner."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

# Re-exported for the service: the session calls every repository shares.
from flexunion.db.rows import add as add
from flexunion.db.rows import flush as flush
from flexunion.transfers.models import Transfer

_SIDES = text(
    "SELECT CAST(:origin AS uuid) = ANY (flexunion_tenant_scope()) AS origin,"
    " CAST(:dest AS uuid) = ANY (flexunion_tenant_scope()) AS destination"
)
_IN_SCOPE = {
    # The scope as one value per query (an InitPlan), not a call per row.
    "incoming": text("transfers.dest_tenant_id"
                     " = ANY (CAST((SELECT flexunion_tenant_scope()) AS uuid[]))"),
    "outgoing": text("transfers.origin_tenant_id"
                     " = ANY (CAST((SELECT flexunion_tenant_scope()) AS uuid[]))"),
}


async def get(
    session: AsyncSession, transfer_id: uuid.UUID, *, lock: bool = False
) -> Transfer | None:
    stmt = select(Transfer).where(Transfer.id == transfer_id)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def sides(session: AsyncSession, transfer: Transfer) -> tuple[bool, bool]:
    """(origin in the caller's subtree, destination in the caller's subtree)."""
    row = (await session.execute(_SIDES, {"origin": transfer.origin_tenant_id,
                                          "dest": transfer.dest_tenant_id})).one()
    return bool(row.origin), bool(row.destination)


async def for_worker(
    session: AsyncSession, worker_id: uuid.UUID, federation_id: uuid.UUID
) -> Sequence[Transfer]:
    return (await session.scalars(
        select(Transfer).where(Transfer.worker_id == worker_id,
                               Transfer.federation_id == federation_id)
        .order_by(Transfer.requested_at.desc(), Transfer.id.desc()))).all()


async def for_member(session: AsyncSession, member_id: uuid.UUID) -> Sequence[Transfer]:
    return (await session.scalars(
        select(Transfer).where(Transfer.member_id == member_id)
        .order_by(Transfer.requested_at.desc(), Transfer.id.desc()))).all()


async def completed_for(session: AsyncSession,
                        member_ids: Sequence[uuid.UUID]) -> Sequence[tuple[uuid.UUID, datetime]]:
    """(member, completed_at) of the completed transfers of these members, in one query."""
    if not member_ids:
        return []
    rows = await session.execute(select(Transfer.member_id, Transfer.completed_at).where(
        Transfer.member_id.in_(list(member_ids)), Transfer.status == "completed",
        Transfer.completed_at.is_not(None)))
    return [(r[0], r[1]) for r in rows if r[1] is not None]


async def page(
    session: AsyncSession, *, direction: str | None, status: str | None,
    after: tuple[datetime, uuid.UUID] | None, limit: int,
) -> Sequence[Transfer]:
    """The caller's queue, oldest first; RLS already limits it to both sides of the caller."""
    stmt = select(Transfer).order_by(Transfer.requested_at, Transfer.id).limit(limit)
    if direction:
        stmt = stmt.where(_IN_SCOPE[direction])
    if status:
        stmt = stmt.where(Transfer.status == status)
    if after:
        stmt = stmt.where(tuple_(Transfer.requested_at, Transfer.id) > tuple_(*after))
    return (await session.scalars(stmt)).all()


async def due_for_release(
    session: AsyncSession, now: datetime, federation_id: uuid.UUID | None = None
) -> Sequence[Transfer]:
    """Requested transfers past their release deadline, locked; rows another worker holds
    are skipped (it is handling them)."""
    stmt = (select(Transfer)
            .where(Transfer.status == "requested", Transfer.release_due_at <= now)
            .order_by(Transfer.release_due_at, Transfer.id)
            .with_for_update(skip_locked=True))
    if federation_id is not None:
        stmt = stmt.where(Transfer.federation_id == federation_id)
    return (await session.scalars(stmt)).all()


