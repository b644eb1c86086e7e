"""The auth tables: staff accounts, partner clients, referral providers' clients, worker
accounts, one-time code challenges and the signing keys."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, created_at, in_federation, uuid_pk


class AdminAccount(Base):
    """A staff account: HQ admin, regional admin or station officer."""

    __tablename__ = "admin_accounts"
    __table_args__ = (
        UniqueConstraint("oidc_issuer", "oidc_subject", name="uq_admin_accounts_oidc"),
        Index("ix_admin_accounts_tenant_id", "tenant_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("tenants.id"))
    username: Mapped[str] = mapped_column(Text, unique=True)
    display_name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    password_hash: Mapped[str | None] = mapped_column(Text)
    oidc_issuer: Mapped[str | None] = mapped_column(Text)
    oidc_subject: Mapped[str | None] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()


class PartnerClient(Base):
    """OAuth2 client-credentials client of a platform partner; the secret is stored hashed."""

    __tablename__ = "partner_clients"

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("tenants.id"))
    partner_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("platform_partners.id")
    )
    client_id: Mapped[str] = mapped_column(Text, unique=True)
    secret_hash: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # 业务 or 人力: the role in which this client signs a clause checkpoint (migration 0049);
    # none: the client does not sign
    contracts_role: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = created_at()
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ProviderClient(TenantScoped, Base):
    """OAuth2 client-credentials client of a referral provider (调解组织 / 法律援助站,
    `referral_providers`, migration 0041): `tenant_id` is the provider's region. The secret
    is stored hashed. The providers' model lives in cases/referrals, above auth: the foreign
    key names its table only."""

    __tablename__ = "referral_provider_clients"
    __table_args__ = (
        in_federation("referral_provider_clients"),
        Index("ix_referral_provider_clients_provider", "provider_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    provider_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("referral_providers.id"))
    client_id: Mapped[str] = mapped_column(Text, unique=True)
    secret_hash: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WorkerAccount(Base):
    """A gig worker's login identity within one federation (phone, never shown whole)."""

    __tablename__ = "worker_accounts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "phone_hash", name="uq_worker_accounts_tenant_phone"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("tenants.id"))
    phone_hash: Mapped[str] = mapped_column(Text)
    phone_masked: Mapped[str] = mapped_column(Text)
    phone_cipher: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = created_at()
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OtpChallenge(Base):
    __tablename__ = "otp_challenges"
    __table_args__ = (Index("ix_otp_challenges_phone", "tenant_id", "phone_hash", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("tenants.id"))
    phone_hash: Mapped[str] = mapped_column(Text)
    code_hash: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    consumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()


class SigningKey(Base):
    __tablename__ = "signing_keys"
    __table_args__ = (
        Index("uq_signing_keys_one_active", "purpose",
              text("coalesce(federation_id, '00000000-0000-0000-0000-000000000000'::uuid)"),
              unique=True, postgresql_where=text("status = 'active'")),
    )

    kid: Mapped[str] = mapped_column(Text, primary_key=True)
    alg: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, str]] = mapped_column(JSONB)
    private_key_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(Text, default="access")  # access | card
    federation_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id")
    )
    created_at: Mapped[datetime] = created_at()
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ConsoleSession(Base):
    """A staff member signed in to the web console (migration 0010). The cookie holds a
    random token; the row only its sha256."""

    __tablename__ = "console_sessions"
    __table_args__ = (
        Index("ix_console_sessions_account", "account_id"),
        Index("ix_console_sessions_ended", "ended_at",
              postgresql_where=text("ended_at IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    federation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("tenants.id"))
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("tenants.id"))
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("admin_accounts.id"))
    role: Mapped[str] = mapped_column(Text)
    principal: Mapped[str] = mapped_column(Text)
    csrf_token: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_reason: Mapped[str | None] = mapped_column(Text)
