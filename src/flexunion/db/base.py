"""Declarative base for every model, the tenancy mixin, and small column helpers; the naming
convention keeps migrations deterministic."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, ForeignKeyConstraint, MetaData, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class TenantScoped:
    """A row that belongs to one tenant of one federation. Row-level security compares
    `tenant_id` with the caller's scope (migrations/, beside the table); declare
    `in_federation(<table>)` in `__table_args__` so the tenant cannot lie outside the
    row's federation."""

    federation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))


def in_federation(table: str, column: str = "tenant_id") -> ForeignKeyConstraint:
    """(column, federation_id) → tenants(id, federation_id): the tenant is of this federation."""
    return ForeignKeyConstraint([column, "federation_id"], ["tenants.id", "tenants.federation_id"],
                                name=f"fk_{table}_{column}_in_federation")


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


def uuid_ref(target: str | None = None, *, nullable: bool = False) -> Mapped[uuid.UUID]:
    """A uuid column, referencing `<target>.id` when a target is named."""
    if target is None:
        return mapped_column(UUID(as_uuid=True), nullable=nullable)
    return mapped_column(UUID(as_uuid=True), ForeignKey(f"{target}.id"), nullable=nullable)


def timestamp(*, nullable: bool = False) -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=nullable)


def created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
