"""Group rules per federation and the materialised membership of groups (migration 0054)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk, uuid_ref


class GroupRule(TenantScoped, Base):
    """One group's rule parameters and the service codes it offers (service-groups.yaml)."""

    __tablename__ = "service_group_rules"
    __table_args__ = (
        in_federation("service_group_rules"),
        UniqueConstraint("federation_id", "code", name="uq_service_group_rules_federation_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(Text)
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB)
    offers: Mapped[list[str]] = mapped_column(ARRAY(Text))
    revision: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = timestamp()


class MemberGroup(TenantScoped, Base):
    """A member in a group from `since` until `until` (open: NULL), with the values that
    decided it (`why`) and, once closed, those that ended it. `tenant_id` is the member's home
    and `region_id` its region (hardship rows: read there only)."""

    __tablename__ = "member_groups"
    __table_args__ = (
        in_federation("member_groups"),
        Index("uq_member_groups_open", "member_id", "group_code", unique=True,
              postgresql_where=text("until IS NULL")),
        Index("ix_member_groups_list", "federation_id", "group_code", "tenant_id",
              postgresql_where=text("until IS NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    region_id: Mapped[uuid.UUID] = uuid_ref("tenants")
    member_id: Mapped[uuid.UUID] = uuid_ref("members")
    group_code: Mapped[str] = mapped_column(Text)
    since: Mapped[datetime] = timestamp()
    until: Mapped[datetime | None] = timestamp(nullable=True)
    expires_at: Mapped[datetime | None] = timestamp(nullable=True)
    why: Mapped[dict[str, Any]] = mapped_column(JSONB)
    ended_why: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    updated_by: Mapped[str] = mapped_column(Text)
