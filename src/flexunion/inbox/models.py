"""The inbox's table (migration 0015 has its policies: only the worker reads and marks it)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk, uuid_ref


class WorkerNotification(TenantScoped, Base):
    """One status change of the worker's own case, written in the change's transaction.
    `sms` says whether an SMS was asked for it (the worker's `sms_notice` consent)."""

    __tablename__ = "worker_notifications"
    __table_args__ = (
        in_federation("worker_notifications"),
        Index("ix_worker_notifications_worker", "worker_id", "created_at", "id"),
        Index("uq_worker_notifications_trigger_action", "trigger_action_id", unique=True,
              postgresql_where=text("trigger_action_id IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    worker_id: Mapped[uuid.UUID] = uuid_ref("worker_accounts")
    case_id: Mapped[uuid.UUID | None] = uuid_ref("cases", nullable=True)
    # A service application's decision (kind `service_application`, migration 0052).
    application_id: Mapped[uuid.UUID | None] = uuid_ref("service_applications", nullable=True)
    # A trigger's action: a join invitation, a service offer, a legal-information note
    # (migration 0055, services/triggers/).
    trigger_action_id: Mapped[uuid.UUID | None] = uuid_ref("trigger_actions", nullable=True)
    kind: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    case_no: Mapped[str] = mapped_column(Text)
    title_zh: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    sms: Mapped[str] = mapped_column(Text, server_default="none")
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()
    read_at: Mapped[datetime | None] = timestamp(nullable=True)
