"""Operator actions on accounts (run as the owner from the CLI), each audited."""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.auth.models import AdminAccount, PartnerClient
from flexunion.auth.service import hash_password
from flexunion.config import Settings
from flexunion.core.context import ROLE_TENANT_KIND, Role
from flexunion.core.errors import OperatorError
from flexunion.federation.models import PlatformPartner, Tenant


class AccountError(OperatorError):
    pass


async def tenant_by_code(session: AsyncSession, code: str) -> Tenant:
    tenant = await session.scalar(select(Tenant).where(Tenant.code == code))
    if tenant is None:
        raise AccountError(f"no tenant with code '{code}'")
    return tenant


def check_role_fits(role: Role, tenant: Tenant) -> None:
    kinds = ROLE_TENANT_KIND[role]
    if tenant.kind not in kinds:
        raise AccountError(
            f"role {role.value} belongs to a tenant of kind {' or '.join(kinds)};"
            f" '{tenant.code}' is {tenant.kind}"
        )


async def create_admin(
    session: AsyncSession, *, tenant_code: str, username: str, role: str, display_name: str,
    password: str | None, oidc_issuer: str | None, oidc_subject: str | None,
) -> uuid.UUID:
    tenant = await tenant_by_code(session, tenant_code)
    check_role_fits(Role(role), tenant)
    if bool(oidc_issuer) != bool(oidc_subject):
        raise AccountError("give both --oidc-issuer and --oidc-subject, or neither")
    account = AdminAccount(
        id=uuid.uuid4(), tenant_id=tenant.id, username=username, display_name=display_name,
        role=role, password_hash=hash_password(password) if password else None,
        oidc_issuer=oidc_issuer, oidc_subject=oidc_subject,
    )
    session.add(account)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise AccountError(f"username '{username}' or that OIDC identity is taken, "
                           "or the username is not 3–64 of A-Z a-z 0-9 . _ @ -") from exc
    await audit.record(session, "admin.created", tenant_id=tenant.id,
                       object_type="admin_account", object_id=account.id,
                       payload={"username": username, "role": role,
                                "oidc": bool(oidc_subject)})
    return account.id


async def create_partner_client(
    session: AsyncSession, *, tenant_code: str, partner_code: str, name: str
) -> tuple[str, str]:
    tenant = await tenant_by_code(session, tenant_code)
    check_role_fits(Role.PARTNER, tenant)
    partner = await session.scalar(
        select(PlatformPartner).where(PlatformPartner.tenant_id == tenant.federation_id,
                                      PlatformPartner.code == partner_code)
    )
    if partner is None:
        raise AccountError(f"no platform partner '{partner_code}' in this federation")
    client_id = f"{partner_code}-{secrets.token_hex(6)}"
    secret = secrets.token_urlsafe(32)
    client = PartnerClient(
        id=uuid.uuid4(), tenant_id=tenant.id, partner_id=partner.id, client_id=client_id,
        secret_hash=hash_password(secret), name=name,
    )
    session.add(client)
    await session.flush()
    await audit.record(session, "partner_client.created", tenant_id=tenant.id,
                       object_type="partner_client", object_id=client.id,
                       payload={"client_id": client_id, "partner": partner_code})
    return client_id, secret


async def issue_operator_token(
    settings: Settings, *, role: str, tenant_code: str, subject: str, ttl: int | None
) -> str:
    """Sign a token for a script or an operator; audited with who it names."""
    from flexunion.auth.keys import KeyStore
    from flexunion.auth.tokens import TokenService
    from flexunion.core.clock import Clock
    from flexunion.core.secrets import Keyring, load_master_secret
    from flexunion.db.engine import make_engine, make_sessionmaker
    from flexunion.db.runtime import owner_session

    the_role = Role(role)
    async with owner_session(settings) as session:
        tenant = await tenant_by_code(session, tenant_code)
        check_role_fits(the_role, tenant)
        await audit.record(session, "token.issued", tenant_id=tenant.id, object_type="token",
                           object_id=subject, payload={"role": role, "ttl": ttl})
    assert settings.database_url
    engine = make_engine(settings.database_url, pool_size=1, max_overflow=0)
    try:
        keys = KeyStore(make_sessionmaker(engine), Keyring(load_master_secret(settings)))
        token, _ = await TokenService(settings, keys, Clock()).issue(
            role=the_role, subject=subject, tenant_id=tenant.id, tenant_code=tenant.code,
            ttl_seconds=ttl,
        )
    finally:
        await engine.dispose()
    return token


async def rotate_key(session: AsyncSession, settings: Settings, federation_code: str | None) -> str:
    """A new active key (the access-token key, or one federation's card key); the old one
    stays published, retired, until what it signed expires."""
    from flexunion.auth.keys import CARD, create_key
    from flexunion.core.secrets import Keyring, load_master_secret

    keyring = Keyring(load_master_secret(settings))
    if federation_code is None:
        return await create_key(session, keyring, activate=True)
    hq = await tenant_by_code(session, federation_code)
    if hq.kind != "hq":
        raise AccountError(f"'{federation_code}' is a {hq.kind}, not a federation (hq)")
    return await create_key(session, keyring, activate=True, purpose=CARD, federation_id=hq.id)
