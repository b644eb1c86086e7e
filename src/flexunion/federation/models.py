from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, created_at, uuid_pk

TenantKind = Literal["hq", "regional", "station"]
KINDS = ("hq", "regional", "station")


class Tenant(Base):
    """One node of a federation tree. `id` is also the tenant id its rows carry."""

    __tablename__ = "tenants"
    __table_args__ = (
        Index("ix_tenants_parent_id", "parent_id"),
        Index("ix_tenants_federation_id", "federation_id"),
        UniqueConstraint("id", "federation_id", name="uq_tenants_id_federation"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    federation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("tenants.id"))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True),
                                                        ForeignKey("tenants.id"))
    kind: Mapped[TenantKind] = mapped_column(Text)  # CHECK constraint
    code: Mapped[str] = mapped_column(Text, unique=True)
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    adcode: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(Text)
    partner_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("platform_partners.id", use_alter=True)
    )
    address: Mapped[str | None] = mapped_column(Text)
    auto_approve_joins: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class PlatformPartner(Base):
    """A platform enterprise, franchisee or carrier (平台企业/加盟商/承运商) of a federation."""

    __tablename__ = "platform_partners"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code", name="uq_platform_partners_tenant_code"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("tenants.id"))
    code: Mapped[str] = mapped_column(Text)
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
