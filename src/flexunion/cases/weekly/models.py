"""A week's review signals of a region, each with its judgement once an officer records it
(migration 0032 has the policies)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, Double, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk


class ReviewSignal(TenantScoped, Base):
    """A signal of region `tenant_id` in ISO week `week` (Beijing time): `kind` at a
    `dimension` (station | zone | partner) `place` (a tenant id, a zone code or a partner
    id; `detail` a category or a partner id, else ''), its value against its baseline."""

    __tablename__ = "review_signals"
    __table_args__ = (
        in_federation("review_signals"),
        UniqueConstraint("tenant_id", "week", "kind", "dimension", "place", "detail",
                         name="uq_review_signals_place"),
        Index("ix_review_signals_place_tenant", "place_tenant_id", "week"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    week: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    dimension: Mapped[str] = mapped_column(Text)
    place: Mapped[str] = mapped_column(Text)
    place_tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id"), nullable=True)
    detail: Mapped[str] = mapped_column(Text, server_default="")
    value: Mapped[int] = mapped_column(Integer)
    baseline: Mapped[float] = mapped_column(Double)
    spread: Mapped[float] = mapped_column(Double)
    threshold: Mapped[float] = mapped_column(Double)
    why_zh: Mapped[str] = mapped_column(Text)
    why_en: Mapped[str] = mapped_column(Text)
    computed_at: Mapped[datetime] = timestamp()
    judgement: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str | None] = mapped_column(Text)
    follow_up_node: Mapped[str | None] = mapped_column(Text)
    follow_up_due: Mapped[date | None] = mapped_column(Date)
    judged_by: Mapped[str | None] = mapped_column(Text)
    judged_at: Mapped[datetime | None] = timestamp(nullable=True)
