"""Domain events: an outbox table written in the same transaction as the change.

Consumers (the demand ledger, disputes) read pending rows later; nothing is
sent from inside a transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, created_at, uuid_pk


class DomainEvent(Base):
    __tablename__ = "domain_events"
    __table_args__ = (
        Index("ix_domain_events_pending", "kind", "created_at",
              postgresql_where=text("processed_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    federation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("tenants.id"))
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("tenants.id"))
    kind: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at()
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


async def emit(
    session: AsyncSession, kind: str, *, federation_id: uuid.UUID, tenant_id: uuid.UUID,
    payload: dict[str, Any],
) -> uuid.UUID:
    event = DomainEvent(id=uuid.uuid4(), federation_id=federation_id, tenant_id=tenant_id,
                        kind=kind, payload=payload)
    session.add(event)
    await session.flush()
    return event.id
