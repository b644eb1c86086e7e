"""Agreements, their versions and annex clauses (migration 0047 has the policies).

Relationships are not declared: every read is an explicit query in agreements/repository.py."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Index, Integer, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk, uuid_ref


class Agreement(TenantScoped, Base):
    """协议 between the federation (`tenant_id` the HQ) or a region and a platform partner."""

    __tablename__ = "agreements"
    __table_args__ = (
        in_federation("agreements"),
        UniqueConstraint("federation_id", "code", name="uq_agreements_code"),
        Index("ix_agreements_tenant", "tenant_id", "created_at"),
        Index("ix_agreements_partner", "partner_id", "status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_id: Mapped[uuid.UUID] = uuid_ref("platform_partners")
    code: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    latest_version: Mapped[int] = mapped_column(Integer)
    in_force_version: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()
    updated_at: Mapped[datetime] = timestamp()


class AgreementVersion(TenantScoped, Base):
    """One version of an agreement: its term, renewal and parties. A renewal is a new one."""

    __tablename__ = "agreement_versions"
    __table_args__ = (
        in_federation("agreement_versions"),
        UniqueConstraint("agreement_id", "number", name="uq_agreement_versions_number"),
        Index("uq_agreement_versions_in_force", "agreement_id", unique=True,
              postgresql_where=text("status = 'in_force'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_id: Mapped[uuid.UUID] = uuid_ref("platform_partners")
    agreement_id: Mapped[uuid.UUID] = uuid_ref("agreements")
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    renewal: Mapped[str] = mapped_column(Text)
    renewal_notice_days: Mapped[int | None] = mapped_column(Integer)
    parties: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    note: Mapped[str | None] = mapped_column(Text)
    in_force_at: Mapped[datetime | None] = timestamp(nullable=True)
    in_force_by: Mapped[str | None] = mapped_column(Text)
    superseded_at: Mapped[datetime | None] = timestamp(nullable=True)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()
    updated_at: Mapped[datetime] = timestamp()


class AgreementClause(TenantScoped, Base):
    """One clause of a version's annex: a template instantiated with parameter values, its
    evidence schema and condition, the agenda item it came from, and once in force its
    signed document. `clause_key` pairs the same clause across versions."""

    __tablename__ = "agreement_clauses"
    __table_args__ = (
        in_federation("agreement_clauses"),
        UniqueConstraint("version_id", "clause_key", name="uq_agreement_clauses_key"),
        Index("ix_agreement_clauses_version", "version_id", "position"),
        Index("ix_agreement_clauses_partner", "partner_id", "status"),
        Index("ix_agreement_clauses_item", "agenda_item_id",
              postgresql_where=text("agenda_item_id IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_id: Mapped[uuid.UUID] = uuid_ref("platform_partners")
    agreement_id: Mapped[uuid.UUID] = uuid_ref("agreements")
    version_id: Mapped[uuid.UUID] = uuid_ref("agreement_versions")
    version_number: Mapped[int] = mapped_column(Integer)
    clause_key: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Text)
    template_id: Mapped[uuid.UUID | None] = uuid_ref("clause_templates", nullable=True)
    template_code: Mapped[str | None] = mapped_column(Text)
    template_revision: Mapped[int | None] = mapped_column(Integer)
    title_zh: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB)
    missing_parameters: Mapped[list[str]] = mapped_column(JSONB)
    evidence_schema: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    condition: Mapped[str | None] = mapped_column(Text)
    condition_reads: Mapped[list[str]] = mapped_column(JSONB)
    agenda_item_id: Mapped[uuid.UUID | None] = uuid_ref("agenda_items", nullable=True)
    origin: Mapped[str] = mapped_column(Text)
    document: Mapped[str | None] = mapped_column(Text)
    document_sha256: Mapped[str | None] = mapped_column(Text)
    document_kid: Mapped[str | None] = mapped_column(Text)
    signed_at: Mapped[datetime | None] = timestamp(nullable=True)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()
    updated_at: Mapped[datetime] = timestamp()
