"""核验节点, the partner's evidence with its evaluation, and the three-party signatures
(migration 0049 has the policies and the constraints that keep signers distinct)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk, uuid_ref


def _of_checkpoint(table: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["checkpoint_id", "partner_id", "tenant_id"],
        ["clause_checkpoints.id", "clause_checkpoints.partner_id", "clause_checkpoints.tenant_id"],
        name=f"fk_{table}_checkpoint")


class ClauseCheckpoint(TenantScoped, Base):
    """One execution node of a clause in force: its due date and when the evidence is due."""

    __tablename__ = "clause_checkpoints"
    __table_args__ = (
        in_federation("clause_checkpoints"),
        UniqueConstraint("clause_id", "due_on", name="uq_clause_checkpoints_due"),
        UniqueConstraint("id", "partner_id", "tenant_id", name="uq_clause_checkpoints_owner"),
        UniqueConstraint("case_id", name="uq_clause_checkpoints_case"),
        Index("ix_clause_checkpoints_partner", "partner_id", "due_on"),
        Index("ix_clause_checkpoints_evidence_due", "evidence_due_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_id: Mapped[uuid.UUID] = uuid_ref("platform_partners")
    agreement_id: Mapped[uuid.UUID] = uuid_ref("agreements")
    clause_id: Mapped[uuid.UUID] = uuid_ref("agreement_clauses")
    version_number: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(Text)  # 2027Q1 … or once
    due_on: Mapped[date] = mapped_column(Date)
    evidence_due_at: Mapped[datetime] = timestamp()
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()
    # 违约立案 (0050): the one case a breach or missing evidence opened, set once by the job.
    case_id: Mapped[uuid.UUID | None] = uuid_ref("cases", nullable=True)
    case_reason: Mapped[str | None] = mapped_column(Text)  # breach / evidence_missing
    case_opened_at: Mapped[datetime | None] = timestamp(nullable=True)


class CheckpointEvidence(TenantScoped, Base):
    """One submission of evidence and its evaluation, kept as evaluated (append-only)."""

    __tablename__ = "checkpoint_evidence"
    __table_args__ = (
        in_federation("checkpoint_evidence"),
        _of_checkpoint("checkpoint_evidence"),
        Index("ix_checkpoint_evidence_checkpoint", "checkpoint_id", "evaluated_at"),
        Index("uq_checkpoint_evidence_breach", "checkpoint_id", unique=True,
              postgresql_where=text("breach")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_id: Mapped[uuid.UUID] = uuid_ref("platform_partners")
    checkpoint_id: Mapped[uuid.UUID] = uuid_ref()
    clause_id: Mapped[uuid.UUID] = uuid_ref("agreement_clauses")
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONB)
    evidence_sha256: Mapped[str] = mapped_column(Text)
    condition: Mapped[str] = mapped_column(Text)
    condition_version: Mapped[str] = mapped_column(Text)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB)
    read: Mapped[dict[str, Any]] = mapped_column(JSONB)
    result: Mapped[bool | None] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    breach: Mapped[bool] = mapped_column(Boolean)
    evaluated_at: Mapped[datetime] = timestamp()
    submitted_by: Mapped[str] = mapped_column(Text)
    # the files attached when it was submitted (0051): [{id, filename, content_type,
    # size_bytes, sha256}]
    files: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb"))


class CheckpointEvidenceFile(TenantScoped, Base):
    """A file the partner attached to a checkpoint's evidence (0051); bytes in the evidence
    store (bargaining/evidence/store.py)."""

    __tablename__ = "checkpoint_evidence_files"
    __table_args__ = (
        in_federation("checkpoint_evidence_files"),
        _of_checkpoint("checkpoint_evidence_files"),
        Index("ix_checkpoint_evidence_files_checkpoint", "checkpoint_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_id: Mapped[uuid.UUID] = uuid_ref("platform_partners")
    checkpoint_id: Mapped[uuid.UUID] = uuid_ref()
    storage_key: Mapped[str] = mapped_column(Text, unique=True)
    filename: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(Text)
    uploaded_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()


class CheckpointSignature(TenantScoped, Base):
    """One of the three signatures (业务 / 人力 / 工会) over a checkpoint's evidence."""

    __tablename__ = "checkpoint_signatures"
    __table_args__ = (
        in_federation("checkpoint_signatures"),
        _of_checkpoint("checkpoint_signatures"),
        UniqueConstraint("checkpoint_id", "role", name="uq_checkpoint_signatures_role"),
        UniqueConstraint("checkpoint_id", "signer", name="uq_checkpoint_signatures_signer"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_id: Mapped[uuid.UUID] = uuid_ref("platform_partners")
    checkpoint_id: Mapped[uuid.UUID] = uuid_ref()
    role: Mapped[str] = mapped_column(Text)
    signer: Mapped[str] = mapped_column(Text)
    evidence_id: Mapped[uuid.UUID] = uuid_ref("checkpoint_evidence")
    signed_at: Mapped[datetime] = timestamp()


class CheckpointObjection(TenantScoped, Base):
    """异常复议: the partner's objection to a breach, and the union's decision on it."""

    __tablename__ = "checkpoint_objections"
    __table_args__ = (
        in_federation("checkpoint_objections"),
        _of_checkpoint("checkpoint_objections"),
        UniqueConstraint("evidence_id", name="uq_checkpoint_objections_breach"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_id: Mapped[uuid.UUID] = uuid_ref("platform_partners")
    checkpoint_id: Mapped[uuid.UUID] = uuid_ref()
    evidence_id: Mapped[uuid.UUID] = uuid_ref("checkpoint_evidence")
    reasons: Mapped[str] = mapped_column(Text)
    lodged_by: Mapped[str] = mapped_column(Text)
    lodged_at: Mapped[datetime] = timestamp()
    due_at: Mapped[datetime] = timestamp()
    status: Mapped[str] = mapped_column(Text)
    decision_note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = timestamp(nullable=True)
