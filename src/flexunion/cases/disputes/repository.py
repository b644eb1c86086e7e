"""Queries for disputes (every read under the caller's row-level security)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select, text
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
