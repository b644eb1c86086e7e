"""核验节点 SQL: checkpoints, evidence, signatures (row-level security decides whose)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, exists, func, or_, select, text
from sqlalchemy.dialects.postgresql import JSONB, distinct_on
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.types import Date

from flexunion.contracts.agreements.models import AgreementClause
from flexunion.contracts.checkpoints.models import (
    CheckpointEvidence,
    CheckpointEvidenceFile,
    CheckpointObjection,
    CheckpointSignature,
    ClauseCheckpoint,
)
from flexunion.db.rows import add, flush

__all__ = [
    "add",
    "breach_of",
    "carried_due_dates",
    "case_due",
    "checkpoint",
    "due_between",
    "due_dates",
    "evaluations",
    "evidence",
    "file",
    "files",
    "flush",
    "latest_evidence",
    "listed",
    "objection",
    "objections",
    "partner_role",
    "signatures",
    "superseded",
]


def _superseded() -> ColumnElement[bool]:
    """A checkpoint no longer owed (docs/contracts.md, 续签后的核验节点): its clause was
    superseded by a renewal before the checkpoint fell due (due after the day, Beijing time,
    its clause was superseded: a superseded clause is never changed after, so its
    `updated_at` is that moment), and the clause was not carried unchanged — the same text,
    parameters, condition and evidence schema under the same key — into the version in
    force (a carried clause's checkpoints continue)."""
    old = aliased(AgreementClause)
    new = aliased(AgreementClause)
    carried = exists(select(new.id).where(
        new.agreement_id == old.agreement_id, new.clause_key == old.clause_key,
        new.status == "in_force", new.text == old.text,
        cast(new.parameters, JSONB) == cast(old.parameters, JSONB),
        new.condition.is_not_distinct_from(old.condition),
        cast(new.evidence_schema, JSONB).is_not_distinct_from(cast(old.evidence_schema, JSONB))))
    return exists(select(old.id).where(
        old.id == ClauseCheckpoint.clause_id, old.status == "superseded",
        ClauseCheckpoint.due_on > cast(func.timezone("Asia/Shanghai", old.updated_at), Date),
        ~carried))


async def carried_due_dates(session: AsyncSession, agreement_id: uuid.UUID, clause_key: str,
                            clause_id: uuid.UUID) -> set[object]:
    """The due dates of the same clause key's checkpoints under other versions that are still
    owed (not superseded)."""
    return set((await session.scalars(select(ClauseCheckpoint.due_on).join(
        AgreementClause, AgreementClause.id == ClauseCheckpoint.clause_id).where(
        ClauseCheckpoint.agreement_id == agreement_id, AgreementClause.clause_key == clause_key,
        ClauseCheckpoint.clause_id != clause_id, ~_superseded()))).all())


async def superseded(session: AsyncSession,
                     checkpoint_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    return set((await session.scalars(select(ClauseCheckpoint.id).where(
        ClauseCheckpoint.id.in_(checkpoint_ids), _superseded()))).all())


async def checkpoint(session: AsyncSession, checkpoint_id: uuid.UUID) -> ClauseCheckpoint | None:
    return (await session.scalars(select(ClauseCheckpoint).where(
        ClauseCheckpoint.id == checkpoint_id))).one_or_none()


async def listed(session: AsyncSession, *, clause_id: uuid.UUID | None = None,
                 limit: int = 500) -> Sequence[ClauseCheckpoint]:
    q = select(ClauseCheckpoint)
    if clause_id is not None:
        q = q.where(ClauseCheckpoint.clause_id == clause_id)
    return (await session.scalars(q.order_by(ClauseCheckpoint.due_on, ClauseCheckpoint.id)
                                  .limit(limit))).all()


async def due_between(session: AsyncSession, first: object,
                      last: object) -> Sequence[ClauseCheckpoint]:
    return (await session.scalars(select(ClauseCheckpoint).where(
        ClauseCheckpoint.due_on >= first, ClauseCheckpoint.due_on <= last)
        .order_by(ClauseCheckpoint.partner_id, ClauseCheckpoint.due_on,
                  ClauseCheckpoint.id))).all()


async def due_dates(session: AsyncSession, clause_id: uuid.UUID) -> set[object]:
    return set((await session.scalars(select(ClauseCheckpoint.due_on).where(
        ClauseCheckpoint.clause_id == clause_id))).all())


async def evaluations(session: AsyncSession,
                      checkpoint_ids: Sequence[uuid.UUID]) -> Sequence[CheckpointEvidence]:
    return (await session.scalars(select(CheckpointEvidence).where(
        CheckpointEvidence.checkpoint_id.in_(checkpoint_ids))
        .order_by(CheckpointEvidence.evaluated_at, CheckpointEvidence.id))).all()


async def latest_evidence(session: AsyncSession, first: object,
                          last: object) -> Sequence[Any]:
    """(checkpoint_id, partner_id, clause_id, evidence_id, evidence, condition, parameters
    as JSON text, read, result) of the latest evidence of each checkpoint due in [first,
    last]; columns, not entities (a compliance run reads many)."""
    return (await session.execute(
        select(CheckpointEvidence.checkpoint_id, CheckpointEvidence.partner_id,
               CheckpointEvidence.clause_id, CheckpointEvidence.id, CheckpointEvidence.evidence,
               CheckpointEvidence.condition, cast(CheckpointEvidence.parameters, Text),
               CheckpointEvidence.read, CheckpointEvidence.result)
        .join(ClauseCheckpoint, ClauseCheckpoint.id == CheckpointEvidence.checkpoint_id)
        .where(ClauseCheckpoint.due_on >= first, ClauseCheckpoint.due_on <= last)
        .ext(distinct_on(CheckpointEvidence.checkpoint_id))
        .order_by(CheckpointEvidence.checkpoint_id, CheckpointEvidence.evaluated_at.desc(),
                  CheckpointEvidence.id.desc()))).all()


async def evidence(session: AsyncSession, evidence_id: uuid.UUID) -> CheckpointEvidence | None:
    return (await session.scalars(select(CheckpointEvidence).where(
        CheckpointEvidence.id == evidence_id))).one_or_none()


async def breach_of(session: AsyncSession, checkpoint_id: uuid.UUID) -> int:
    return int(await session.scalar(select(func.count()).where(
        CheckpointEvidence.checkpoint_id == checkpoint_id, CheckpointEvidence.breach)) or 0)


async def signatures(session: AsyncSession,
                     checkpoint_ids: Sequence[uuid.UUID]) -> Sequence[CheckpointSignature]:
    return (await session.scalars(select(CheckpointSignature).where(
        CheckpointSignature.checkpoint_id.in_(checkpoint_ids))
        .order_by(CheckpointSignature.signed_at, CheckpointSignature.id))).all()


async def partner_role(session: AsyncSession) -> str | None:
    """The calling partner client's signing role (业务 / 人力), from its operator's setting."""
    value = await session.scalar(text("SELECT flexunion_partner_contracts_role()"))
    return str(value) if value is not None else None


async def objections(session: AsyncSession,
                     checkpoint_ids: Sequence[uuid.UUID]) -> Sequence[CheckpointObjection]:
    return (await session.scalars(select(CheckpointObjection).where(
        CheckpointObjection.checkpoint_id.in_(checkpoint_ids)))).all()


async def objection(session: AsyncSession, objection_id: uuid.UUID, *,
                    lock: bool = False) -> CheckpointObjection | None:
    q = select(CheckpointObjection).where(CheckpointObjection.id == objection_id)
    return (await session.scalars(q.with_for_update() if lock else q)).one_or_none()


async def case_due(session: AsyncSession, now: datetime, *,
                   limit: int = 200) -> Sequence[ClauseCheckpoint]:
    """The checkpoints owing a case: a breach, or no evidence past its date, and no case yet
    — locked, skipping those another run holds (the set-once `case_id` is the guard)."""
    evidence = select(CheckpointEvidence.id).where(
        CheckpointEvidence.checkpoint_id == ClauseCheckpoint.id)
    return (await session.scalars(select(ClauseCheckpoint).where(
        ClauseCheckpoint.case_id.is_(None), ~_superseded(),
        or_(exists(evidence.where(CheckpointEvidence.breach)),
            ~exists(evidence) & (ClauseCheckpoint.evidence_due_at < now)))
        .order_by(ClauseCheckpoint.evidence_due_at, ClauseCheckpoint.id).limit(limit)
        .with_for_update(of=ClauseCheckpoint, skip_locked=True))).all()


async def files(session: AsyncSession,
                checkpoint_ids: Sequence[uuid.UUID]) -> Sequence[CheckpointEvidenceFile]:
    return (await session.scalars(select(CheckpointEvidenceFile).where(
        CheckpointEvidenceFile.checkpoint_id.in_(checkpoint_ids))
        .order_by(CheckpointEvidenceFile.created_at, CheckpointEvidenceFile.id))).all()


async def file(session: AsyncSession, file_id: uuid.UUID) -> CheckpointEvidenceFile | None:
    return (await session.scalars(select(CheckpointEvidenceFile).where(
        CheckpointEvidenceFile.id == file_id))).one_or_none()
