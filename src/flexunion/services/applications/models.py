"""A worker's service applications and their materials (migration 0052 has the policies)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk, uuid_ref


class ServiceApplication(TenantScoped, Base):
    """申请: `tenant_id` is the reviewing unit (the window); `filed_at` the station of a
    walk-in. The deadline restarts when a 补件 is answered (docs/services.md)."""

    __tablename__ = "service_applications"
    __table_args__ = (
        in_federation("service_applications"),
        UniqueConstraint("federation_id", "number", name="uq_service_applications_number"),
        Index("ix_service_applications_window", "tenant_id", "status", "deadline_at"),
        Index("ix_service_applications_worker", "worker_id", "created_at"),
        Index("ix_service_applications_filed_at", "filed_at"),
        Index("uq_service_applications_event_worker", "event_id", "worker_id", unique=True,
              postgresql_where=text("event_id IS NOT NULL AND status <> 'refused'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    number: Mapped[str] = mapped_column(Text)
    service_id: Mapped[uuid.UUID] = uuid_ref("service_catalogue")
    event_id: Mapped[uuid.UUID | None] = uuid_ref("service_events", nullable=True)
    worker_id: Mapped[uuid.UUID] = uuid_ref("worker_accounts")
    member_id: Mapped[uuid.UUID] = uuid_ref("members")
    channel: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True),
                                                       ForeignKey("tenants.id"), nullable=True)
    filed_by: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    requested: Mapped[list[Any]] = mapped_column(JSONB, server_default="[]")
    request_note: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime | None] = timestamp(nullable=True)
    clock_started_at: Mapped[datetime] = timestamp()
    deadline_at: Mapped[datetime] = timestamp()
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = timestamp(nullable=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()
    updated_at: Mapped[datetime] = timestamp()


class ServiceMaterial(TenantScoped, Base):
    """One file of an application's 材料清单; bytes in the evidence store."""

    __tablename__ = "service_materials"
    __table_args__ = (
        in_federation("service_materials"),
        Index("ix_service_materials_application", "application_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    application_id: Mapped[uuid.UUID] = uuid_ref("service_applications")
    material: Mapped[str] = mapped_column(Text)
    storage_key: Mapped[str] = mapped_column(Text, unique=True)
    filename: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(Text)
    uploaded_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()
