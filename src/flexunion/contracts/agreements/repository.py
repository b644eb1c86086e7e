"""协议 SQL: agreements, versions, clauses (row-level security decides whose)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.contracts.agreements.models import Agreement, AgreementClause, AgreementVersion
from flexunion.db.rows import add, flush

__all__ = ["add", "agreement", "by_code", "clause", "clauses", "clauses_by_id",
           "clauses_of_items", "collective_of", "flush", "in_force_clauses", "listed", "remove",
           "version", "versions"]


async def agreement(session: AsyncSession, agreement_id: uuid.UUID, *,
                    lock: bool = False) -> Agreement | None:
    q = select(Agreement).where(Agreement.id == agreement_id)
    return (await session.scalars(q.with_for_update() if lock else q)).one_or_none()


async def by_code(session: AsyncSession, federation_id: uuid.UUID,
                  code: str) -> Agreement | None:
    return (await session.scalars(select(Agreement).where(
        Agreement.federation_id == federation_id, Agreement.code == code))).one_or_none()


async def collective_of(session: AsyncSession, tenant_id: uuid.UUID, partner_id: uuid.UUID,
                        ) -> Agreement | None:
    """The newest collective agreement of a scope with a partner, draft or in force."""
    return (await session.scalars(
        select(Agreement).where(Agreement.tenant_id == tenant_id,
                                Agreement.partner_id == partner_id,
                                Agreement.kind == "collective",
                                Agreement.status != "ended")
        .order_by(Agreement.created_at.desc(), Agreement.id).limit(1)
        .with_for_update())).one_or_none()


async def listed(session: AsyncSession, *, partner_id: uuid.UUID | None, kind: str | None,
                 status: str | None, limit: int = 500) -> Sequence[Agreement]:
    q = select(Agreement)
    if partner_id:
        q = q.where(Agreement.partner_id == partner_id)
    if kind:
        q = q.where(Agreement.kind == kind)
    if status:
        q = q.where(Agreement.status == status)
    return (await session.scalars(q.order_by(Agreement.updated_at.desc(), Agreement.id)
                                  .limit(limit))).all()


async def versions(session: AsyncSession, agreement_id: uuid.UUID) -> Sequence[AgreementVersion]:
    return (await session.scalars(select(AgreementVersion).where(
        AgreementVersion.agreement_id == agreement_id).order_by(AgreementVersion.number))).all()


async def version(session: AsyncSession, agreement_id: uuid.UUID, number: int, *,
                  lock: bool = False) -> AgreementVersion | None:
    q = select(AgreementVersion).where(AgreementVersion.agreement_id == agreement_id,
                                       AgreementVersion.number == number)
    return (await session.scalars(q.with_for_update() if lock else q)).one_or_none()


async def clauses(session: AsyncSession, version_id: uuid.UUID, *,
                  lock: bool = False) -> Sequence[AgreementClause]:
    q = (select(AgreementClause).where(AgreementClause.version_id == version_id)
         .order_by(AgreementClause.position, AgreementClause.clause_key))
    return (await session.scalars(q.with_for_update() if lock else q)).all()


async def clause(session: AsyncSession, clause_id: uuid.UUID, *,
                 lock: bool = False) -> AgreementClause | None:
    q = select(AgreementClause).where(AgreementClause.id == clause_id)
    return (await session.scalars(q.with_for_update() if lock else q)).one_or_none()


async def clauses_by_id(session: AsyncSession,
                        ids: Iterable[uuid.UUID]) -> Sequence[AgreementClause]:
    wanted = list(ids)
    if not wanted:
        return []
    return (await session.scalars(select(AgreementClause).where(
        AgreementClause.id.in_(wanted)))).all()


async def in_force_clauses(session: AsyncSession, *, limit: int = 500,
                           ) -> Sequence[AgreementClause]:
    return (await session.scalars(
        select(AgreementClause).where(AgreementClause.status == "in_force")
        .order_by(AgreementClause.signed_at.desc(), AgreementClause.id).limit(limit))).all()


async def clauses_of_items(session: AsyncSession, item_ids: Iterable[uuid.UUID],
                           ) -> Sequence[AgreementClause]:
    ids = list(item_ids)
    if not ids:
        return []
    return (await session.scalars(
        select(AgreementClause).where(AgreementClause.agenda_item_id.in_(ids))
        .order_by(AgreementClause.version_number, AgreementClause.created_at))).all()


async def remove(session: AsyncSession, clause_id: uuid.UUID) -> int:
    """Delete a draft clause (RLS: an admin of its scope, the clause still a draft)."""
    done = await session.execute(delete(AgreementClause).where(AgreementClause.id == clause_id))
    return int(getattr(done, "rowcount", 0) or 0)
