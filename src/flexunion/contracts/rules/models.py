"""The register's tables: entries and their versions (migration 0042 has the policies)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk, uuid_ref


class PlatformRule(TenantScoped, Base):
    """One rule of a platform partner's register, in a category (categories.py). `tenant_id`
    is where it was filed: the federation for the partner's own filing, a union for an entry
    its staff recorded from what the platform published elsewhere."""

    __tablename__ = "platform_rules"
    __table_args__ = (
        in_federation("platform_rules"),
        UniqueConstraint("partner_id", "code", name="uq_platform_rules_partner_code"),
        Index("ix_platform_rules_partner_category", "partner_id", "category"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_id: Mapped[uuid.UUID] = uuid_ref("platform_partners")
    category: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(Text)
    title_zh: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()


class PlatformRuleVersion(TenantScoped, Base):
    """A version of a rule: its text and parameters from `effective_from`, the stated reason
    for the change, its source, and the notice it was given (append-only)."""

    __tablename__ = "platform_rule_versions"
    __table_args__ = (
        in_federation("platform_rule_versions"),
        UniqueConstraint("rule_id", "version", name="uq_platform_rule_versions_rule_id"),
        UniqueConstraint("consultation_item_id",
                         name="uq_platform_rule_versions_consultation_item_id"),
        Index("ix_platform_rule_versions_partner_effective", "partner_id", "effective_from"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    rule_id: Mapped[uuid.UUID] = uuid_ref("platform_rules")
    partner_id: Mapped[uuid.UUID] = uuid_ref("platform_partners")
    version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[date] = mapped_column(Date)
    text_zh: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str | None] = mapped_column(Text)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB)
    reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)  # partner_api | published
    source_note: Mapped[str | None] = mapped_column(Text)
    topics: Mapped[list[str]] = mapped_column(ARRAY(Text))
    notice_days: Mapped[int | None] = mapped_column(Integer)
    notified_on: Mapped[date] = mapped_column(Date)
    earliest_effective: Mapped[date | None] = mapped_column(Date)
    short_notice: Mapped[bool] = mapped_column(Boolean)
    consultation_item_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("agenda_items.id", deferrable=True, initially="DEFERRED"),
        nullable=True)
    filed_by: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = timestamp()
