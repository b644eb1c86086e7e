from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy import Boolean, ForeignKey, Index, Text, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, created_at, uuid_pk, uuid_ref

Purpose = Literal["privacy_policy", "id_number", "location_checkin", "sms_notice",
                  "data_sharing"]
# What a row may hold: the purposes above (POST /v1/me/consents) and a dispute's naming consent.
StoredPurpose = Purpose | Literal["dispute_named"]
# purpose → (Chinese label, English label). `id_number` is the separate consent (单独同意,
# PIPL art. 29) to processing the resident ID number, sensitive personal information.
PURPOSES: dict[str, tuple[str, str]] = {
    "privacy_policy": ("隐私政策", "Privacy policy"),
    "id_number": ("身份证号处理单独同意", "Separate consent to processing the ID number"),
    "location_checkin": ("位置签到", "Location check-ins"),
    "sms_notice": ("短信通知", "SMS notices"),
    "data_sharing": ("数据共享", "Data sharing"),
}


# 具名同意 (issue 15): the worker agrees to be named to the platform a dispute is addressed
# to, per dispute (`dispute_id`); recorded here, never through POST /v1/me/consents.
DISPUTE_NAMED = "dispute_named"
DISPUTE_NAMED_VERSION = "1"


class WorkerConsent(Base):
    """A consent a worker gave or withdrew (recorded, never overwritten): the latest row of a
    purpose decides."""

    __tablename__ = "worker_consents"
    __table_args__ = (
        Index("ix_worker_consents_worker", "worker_id", "created_at"),
        Index("ix_worker_consents_dispute", "dispute_id", "worker_id", "created_at",
              postgresql_where=text("dispute_id IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("tenants.id"))
    worker_id: Mapped[uuid.UUID] = uuid_ref("worker_accounts")
    purpose: Mapped[StoredPurpose] = mapped_column(Text)  # CHECK constraint
    # Only for `dispute_named` (CHECK): the dispute the worker agreed to be named in.
    dispute_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("case_disputes.id"), nullable=True)
    version: Mapped[str] = mapped_column(Text)
    granted: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = created_at()
