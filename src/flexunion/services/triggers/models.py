"""Trigger rule sets and the actions they made (migration 0055 has the policies)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Index, Integer, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk, uuid_ref


class TriggerRuleSet(TenantScoped, Base):
    """One version of a unit's (HQ's or a region's) rules, in effect from `effective_from`."""

    __tablename__ = "service_trigger_rules"
    __table_args__ = (
        in_federation("service_trigger_rules"),
        UniqueConstraint("tenant_id", "version", name="uq_service_trigger_rules_version"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[date] = mapped_column(Date)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()


class TriggerAction(TenantScoped, Base):
    """What one rule did about one source for one target, once (UNIQUE)."""

    __tablename__ = "trigger_actions"
    __table_args__ = (
        in_federation("trigger_actions"),
        UniqueConstraint("source_id", "rule_code", "action", "target",
                         name="uq_trigger_actions_once"),
        Index("ix_trigger_actions_tenant", "tenant_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    source: Mapped[str] = mapped_column(Text)
    source_id: Mapped[uuid.UUID] = uuid_ref()
    rule_code: Mapped[str] = mapped_column(Text)
    rule_unit: Mapped[uuid.UUID] = uuid_ref("tenants")
    rule_version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)
    member_id: Mapped[uuid.UUID | None] = uuid_ref("members", nullable=True)
    worker_id: Mapped[uuid.UUID | None] = uuid_ref("worker_accounts", nullable=True)
    partner_id: Mapped[uuid.UUID | None] = uuid_ref("platform_partners", nullable=True)
    rider_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    station_id: Mapped[uuid.UUID | None] = uuid_ref("tenants", nullable=True)
    service_code: Mapped[str | None] = mapped_column(Text, nullable=True)
    assistance_case_id: Mapped[uuid.UUID | None] = uuid_ref("assistance_cases", nullable=True)
    delivery: Mapped[str] = mapped_column(Text)
    title_zh: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()
