"""Evidence attachments (证据附件): who may see a file is this row's business (migration 0005
has the policies); the bytes live in the evidence store (store.py) under `storage_key`.

Relationships are not declared: every read is an explicit query in evidence/repository.py."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk, uuid_ref


class AgendaAttachment(TenantScoped, Base):
    """Evidence on an item (staff, partner) or a report (its worker); bytes in the store."""

    __tablename__ = "agenda_attachments"
    __table_args__ = (
        in_federation("agenda_attachments"),
        Index("ix_agenda_attachments_item", "item_id"),
        Index("ix_agenda_attachments_report", "report_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    item_id: Mapped[uuid.UUID | None] = uuid_ref("agenda_items", nullable=True)
    report_id: Mapped[uuid.UUID | None] = uuid_ref("problem_reports", nullable=True)
    partner_id: Mapped[uuid.UUID | None] = uuid_ref("platform_partners", nullable=True)
    storage_key: Mapped[str] = mapped_column(Text, unique=True)
    filename: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(Text)
    shared_with_partner: Mapped[bool] = mapped_column(Boolean)
    uploaded_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()
