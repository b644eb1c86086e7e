"""季度整改清单's tables (migrations 0019 and 0026 have the policies). No relationships are
declared: every read is an explicit query in repository.py."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk, uuid_ref


class RectificationItem(TenantScoped, Base):
    """整改项: one recurring problem of a quarter, owned by a unit (a tenant or a platform
    partner), with its measure, next node and status; `tenant_id` is the union keeping the
    list. A carried-over item names the item it was carried from (once: UNIQUE)."""

    __tablename__ = "rectification_items"
    __table_args__ = (
        in_federation("rectification_items"),
        UniqueConstraint("carried_from_id", name="uq_rectification_items_carried_from_id"),
        UniqueConstraint("tenant_id", "quarter", "category", "dimension", "place",
                         name="uq_rectification_items_group"),
        Index("ix_rectification_items_quarter", "tenant_id", "quarter", "created_at"),
        Index("ix_rectification_items_owner_partner", "owner_partner_id",
              postgresql_where=text("owner_partner_id IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    quarter: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(Text)
    dimension: Mapped[str] = mapped_column(Text)
    place: Mapped[str] = mapped_column(Text)
    owner_tenant_id: Mapped[uuid.UUID | None] = uuid_ref("tenants", nullable=True)
    owner_partner_id: Mapped[uuid.UUID | None] = uuid_ref("platform_partners", nullable=True)
    problem: Mapped[str] = mapped_column(Text)
    measure: Mapped[str] = mapped_column(Text)
    next_node: Mapped[str] = mapped_column(Text)
    next_due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Text)
    carried_from_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("rectification_items.id"), nullable=True)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()
    updated_at: Mapped[datetime] = timestamp()
    done_at: Mapped[datetime | None] = timestamp(nullable=True)


class RectificationItemCase(TenantScoped, Base):
    """A case linked to an item. Never deleted: unlinking stamps `unlinked_at`."""

    __tablename__ = "rectification_item_cases"
    __table_args__ = (
        in_federation("rectification_item_cases"),
        Index("ix_rectification_item_cases_case", "case_id"),
    )

    item_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("rectification_items.id"), primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("cases.id"), primary_key=True)
    linked_by: Mapped[str] = mapped_column(Text)
    linked_at: Mapped[datetime] = timestamp()
    unlinked_by: Mapped[str | None] = mapped_column(Text, nullable=True)
    unlinked_at: Mapped[datetime | None] = timestamp(nullable=True)


class RectificationStep(TenantScoped, Base):
    """One step of an item's history, append-only (the app role may not UPDATE or DELETE)."""

    __tablename__ = "rectification_steps"
    __table_args__ = (
        in_federation("rectification_steps"),
        Index("ix_rectification_steps_item", "item_id", "at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    item_id: Mapped[uuid.UUID] = uuid_ref("rectification_items")
    kind: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = timestamp()
    actor: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
