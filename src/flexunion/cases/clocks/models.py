"""case_clocks: one SLA clock per case per metric (migration 0017 has the policies).

The row pins what the clock counts on when it starts — the policy version (targets:
clocks/rules.py) and the calendar version of the tenant whose calendar it counts on — and
caches the engine's last answer over the case's events (state, deadline, elapsed, remaining,
uncovered years). The cache is re-derived from the events after every event, never
incremented; `breached` as a state is only as fresh as `derived_at` (time passing breaches a
clock without any event), so lists compare `deadline < now` for open clocks."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, Integer, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk, uuid_ref


class CaseClock(TenantScoped, Base):
    __tablename__ = "case_clocks"
    __table_args__ = (
        in_federation("case_clocks"),
        UniqueConstraint("case_id", "metric", name="uq_case_clocks_case_metric"),
        # The SLA sweep (breaches, due reminders) and the overdue list: open clocks by deadline.
        Index("ix_case_clocks_open_deadline", "deadline", "id",
              postgresql_where=text("ended_at IS NULL")),
        Index("ix_case_clocks_open_tenant", "tenant_id", "deadline", "id",
              postgresql_where=text("ended_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    case_id: Mapped[uuid.UUID] = uuid_ref("cases")
    metric: Mapped[str] = mapped_column(Text)
    target_days: Mapped[int | None] = mapped_column(Integer)
    target_minutes: Mapped[int | None] = mapped_column(Integer)
    policy_version: Mapped[int] = mapped_column(Integer)
    calendar_version: Mapped[int] = mapped_column(Integer)
    calendar_tenant_id: Mapped[uuid.UUID] = uuid_ref("tenants")
    started_at: Mapped[datetime] = timestamp()
    state: Mapped[str] = mapped_column(Text)
    deadline: Mapped[datetime | None] = timestamp(nullable=True)
    elapsed_minutes: Mapped[int] = mapped_column(Integer)
    remaining_minutes: Mapped[int] = mapped_column(Integer)
    budget_minutes: Mapped[int] = mapped_column(Integer)
    uncovered_years: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    paused_since: Mapped[datetime | None] = timestamp(nullable=True)
    pause_reason: Mapped[str | None] = mapped_column(Text)
    ended_at: Mapped[datetime | None] = timestamp(nullable=True)
    derived_at: Mapped[datetime] = timestamp()
