"""The clause templates table (migration 0047 has the policies)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk


class ClauseTemplate(TenantScoped, Base):
    """条款模板, kept by HQ (`tenant_id` is the HQ): a union clause or a bargaining outcome."""

    __tablename__ = "clause_templates"
    __table_args__ = (
        in_federation("clause_templates"),
        UniqueConstraint("federation_id", "code", name="uq_clause_templates_code"),
        Index("uq_clause_templates_topic", "federation_id", "topic", unique=True,
              postgresql_where=text("topic IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    topic: Mapped[str | None] = mapped_column(Text)
    title_zh: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    parameters: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    evidence_schema: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    condition: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()
    updated_at: Mapped[datetime] = timestamp()
