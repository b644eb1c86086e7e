"""Queries for disputes (every read under the caller's row-level security)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import and_, exists, or_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.disputes.models import (
    CaseDispute,
    DisputeDecision,
    DisputeEvidence,
    DisputeReferral,
    DisputeReply,
    DisputeRequest,
    DisputeResolution,
    DisputeStep,
)
from flexunion.db.rows import add as add
from flexunion.db.rows import flush as flush


async def by_case(session: AsyncSession, case_id: uuid.UUID, *,
                  lock: bool = False) -> CaseDispute | None:
    stmt = select(CaseDispute).where(CaseDispute.case_id == case_id)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def evidence(session: AsyncSession, dispute_id: uuid.UUID) -> Sequence[DisputeEvidence]:
    return (await session.scalars(
        select(DisputeEvidence).where(DisputeEvidence.dispute_id == dispute_id)
        .order_by(DisputeEvidence.linked_at, DisputeEvidence.id))).all()


async def requests(session: AsyncSession, dispute_id: uuid.UUID) -> Sequence[DisputeRequest]:
    return (await session.scalars(
        select(DisputeRequest).where(DisputeRequest.dispute_id == dispute_id)
        .order_by(DisputeRequest.requested_at, DisputeRequest.id))).all()


async def request(session: AsyncSession, request_id: uuid.UUID, *,
                  lock: bool = False) -> DisputeRequest | None:
    stmt = select(DisputeRequest).where(DisputeRequest.id == request_id)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def steps(session: AsyncSession, dispute_id: uuid.UUID) -> Sequence[DisputeStep]:
    return (await session.scalars(
        select(DisputeStep).where(DisputeStep.dispute_id == dispute_id)
        .order_by(DisputeStep.at, DisputeStep.id))).all()


async def replies(session: AsyncSession, dispute_id: uuid.UUID) -> Sequence[DisputeReply]:
    return (await session.scalars(
        select(DisputeReply).where(DisputeReply.dispute_id == dispute_id))).all()


async def referral(session: AsyncSession, dispute_id: uuid.UUID) -> DisputeReferral | None:
    return await session.scalar(
        select(DisputeReferral).where(DisputeReferral.dispute_id == dispute_id))


async def decision(session: AsyncSession, dispute_id: uuid.UUID, *,
                   lock: bool = False) -> DisputeDecision | None:
    stmt = select(DisputeDecision).where(DisputeDecision.dispute_id == dispute_id)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def resolution(session: AsyncSession, dispute_id: uuid.UUID) -> DisputeResolution | None:
    return await session.scalar(
        select(DisputeResolution).where(DisputeResolution.dispute_id == dispute_id))


async def named_worker(session: AsyncSession,
                       dispute_id: uuid.UUID) -> tuple[bytes, str | None] | None:
    """The worker's sealed name and the platform's rider id, through the owner's function that
    answers only the platform the dispute is addressed to, while the worker consents."""
    row = (await session.execute(
        text("SELECT name_cipher, platform_worker_id FROM flexunion_dispute_named(:d)"),
        {"d": dispute_id})).first()
    return None if row is None else (bytes(row[0]), row[1])


class OverdueAnswer(NamedTuple):
    """A platform's answer past its deadline and not escalated yet (migration 0038)."""

    kind: str  # platform_reply | evidence_request
    deadline_id: uuid.UUID  # the decision or the request
    dispute_id: uuid.UUID
    case_id: uuid.UUID
    due_at: datetime
    slot: str | None


async def overdue_answers(session: AsyncSession, now: datetime, *,
                          deadline_id: uuid.UUID | None = None) -> list[OverdueAnswer]:
    """For the SLA sweep only (the owner's function answers no other principal): the
    platform's overdue reasons and evidence of the federation, not yet marked, oldest first;
    `deadline_id` re-checks one (after its case is locked)."""
    sql = ("SELECT kind, deadline_id, dispute_id, case_id, due_at, slot"
           " FROM flexunion_dispute_overdue(:now)")
    params: dict[str, object] = {"now": now}
    if deadline_id is not None:
        sql += " WHERE deadline_id = :id"
        params["id"] = deadline_id
    return [OverdueAnswer(*row) for row in (await session.execute(text(sql), params)).all()]


async def named_for_staff(session: AsyncSession,
                          dispute_id: uuid.UUID) -> tuple[bool, datetime | None] | None:
    """Whether the worker agreed to be named (and when that was last recorded), through the
    owner's function that answers only staff who see the dispute; None for anyone else."""
    row = (await session.execute(
        text("SELECT named, at FROM flexunion_dispute_named_staff(:d)"),
        {"d": dispute_id})).first()
    return None if row is None else (bool(row[0]), row[1])


async def listed(session: AsyncSession, *, kind: str | None, step: str | None,
                 overdue_at: datetime | None, after: tuple[datetime, uuid.UUID] | None,
                 limit: int) -> Sequence[CaseDispute]:
    """The disputes the caller sees, newest opened first, keyset-paged on (opened_at, id).
    `step` "none" is a dispute no rung was taken on yet; `overdue_at` keeps those with the
    platform's written reasons or an evidence request still owed past its deadline then."""
    stmt = select(CaseDispute)
    if kind is not None:
        stmt = stmt.where(CaseDispute.kind == kind)
    if step == "none":
        stmt = stmt.where(CaseDispute.step.is_(None))
    elif step is not None:
        stmt = stmt.where(CaseDispute.step == step)
    if overdue_at is not None:
        stmt = stmt.where(or_(
            exists().where(and_(DisputeDecision.dispute_id == CaseDispute.id,
                                DisputeDecision.reasons_at.is_(None),
                                DisputeDecision.reply_due_at < overdue_at)),
            exists().where(and_(DisputeRequest.dispute_id == CaseDispute.id,
                                DisputeRequest.fulfilled_at.is_(None),
                                DisputeRequest.due_at < overdue_at))))
    if after is not None:
        stmt = stmt.where(tuple_(CaseDispute.opened_at, CaseDispute.id) < tuple_(*after))
    stmt = stmt.order_by(CaseDispute.opened_at.desc(), CaseDispute.id.desc()).limit(limit)
    return (await session.scalars(stmt)).all()


async def decisions_of(session: AsyncSession,
                       ids: Sequence[uuid.UUID]) -> Sequence[DisputeDecision]:
    return (await session.scalars(
        select(DisputeDecision).where(DisputeDecision.dispute_id.in_(ids)))).all()


async def open_requests_of(session: AsyncSession,
                           ids: Sequence[uuid.UUID]) -> Sequence[DisputeRequest]:
    return (await session.scalars(
        select(DisputeRequest).where(DisputeRequest.dispute_id.in_(ids),
                                     DisputeRequest.fulfilled_at.is_(None)))).all()
