from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, created_at, uuid_pk

CONSENT_PURPOSES = ("privacy_policy", "location_checkin", "sms_notice", "data_sharing")


class WorkerConsent(Base):
    """A consent a worker gave or withdrew (个人信息保护法: recorded, never overwritten)."""

    __tablename__ = "worker_consents"
    __table_args__ = (Index("ix_worker_consents_worker", "worker_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("tenants.id"))
    worker_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("worker_accounts.id")
    )
    purpose: Mapped[str] = mapped_column(Text)
    version: Mapped[str] = mapped_column(Text)
    granted: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = created_at()
