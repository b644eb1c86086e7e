"""满意度: one rating a closing (migration 0015)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk, uuid_ref


class CaseRating(TenantScoped, Base):
    """The worker's satisfaction (满意 / 基本满意 / 不满意), one per closing of the case."""

    __tablename__ = "case_ratings"
    __table_args__ = (
        in_federation("case_ratings"),
        UniqueConstraint("case_id", "closing", name="uq_case_ratings_case_closing"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    case_id: Mapped[uuid.UUID] = uuid_ref("cases")
    closing: Mapped[int] = mapped_column(Integer)
    worker_id: Mapped[uuid.UUID] = uuid_ref("worker_accounts")
    rating: Mapped[str] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = timestamp()
