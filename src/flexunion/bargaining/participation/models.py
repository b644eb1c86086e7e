"""参与授权 The participation grants table (migration 0037 has the policies and functions)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk, uuid_ref


class ParticipationGrant(TenantScoped, Base):
    """A member's grant to see and support the board of the region `tenant_id` (not their
    home, `home_tenant_id`) until `expires_at`, unless revoked. One unrevoked row per member
    and region; the job extends it while the evidence holds."""

    __tablename__ = "participation_grants"
    __table_args__ = (
        in_federation("participation_grants"),
        Index("uq_participation_grants_open", "member_id", "tenant_id", unique=True,
              postgresql_where=text("revoked_at IS NULL")),
        Index("ix_participation_grants_worker", "worker_id"),
        Index("ix_participation_grants_tenant", "tenant_id", "expires_at"),
        Index("ix_participation_grants_home", "home_tenant_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    member_id: Mapped[uuid.UUID] = uuid_ref("members")
    worker_id: Mapped[uuid.UUID] = uuid_ref("worker_accounts")
    home_tenant_id: Mapped[uuid.UUID] = uuid_ref("tenants")
    reason: Mapped[str] = mapped_column(Text)  # checkins | case | manual
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONB)
    note: Mapped[str | None] = mapped_column(Text)
    granted_by: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime] = timestamp()
    renewed_at: Mapped[datetime | None] = timestamp(nullable=True)
    expires_at: Mapped[datetime] = timestamp()
    revoked_at: Mapped[datetime | None] = timestamp(nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(Text)
    revoke_reason: Mapped[str | None] = mapped_column(Text)
