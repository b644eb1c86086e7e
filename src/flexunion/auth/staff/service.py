"""Staff logins and the operator's actions on staff accounts, tokens and keys.

A login narrows its database scope to exactly the credential it checks
(`login:admin:<username>`, `login:oidc:<issuer>|<subject>`): row-level security then shows
it that one account and nothing else. Once the account is known, the scope becomes the
account's own (its role in its tenant), and the login is audited there. A password login
locks the account for ADMIN_LOCK_MINUTES after ADMIN_MAX_FAILURES wrong passwords in a row.

The operator's actions run as the owner from the CLI, each audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.auth.keys import CARD, create_key
from flexunion.auth.models import AdminAccount
from flexunion.auth.operators import AccountError, anchor_for
from flexunion.auth.passwords import check_password_off_loop, hash_password
from flexunion.auth.schemas import AccessToken
from flexunion.auth.staff import repository
from flexunion.auth.tokens import TokenService
from flexunion.core.clock import Clock
from flexunion.core.context import Role
from flexunion.core.errors import TooManyRequests, Unauthenticated
from flexunion.core.secrets import Keyring
from flexunion.core.uow import UnitOfWork
from flexunion.db.scope import DbScope
from flexunion.federation import directory

ADMIN_MAX_FAILURES = 5
ADMIN_LOCK_MINUTES = 15


def _login_failed(*, commit_writes: bool = False) -> Unauthenticated:
    return Unauthenticated("用户名或密码错误。", "Wrong username or password.",
                           code="login_failed", commit_writes=commit_writes)


@dataclass(frozen=True, slots=True)
class StaffIdentity:
    """Who signed in: what a token or a console session is made for."""

    account_id: uuid.UUID
    role: Role
    tenant_id: uuid.UUID
    tenant_code: str
    federation_id: uuid.UUID
    display_name: str
    method: str  # password | oidc


async def _signed_in(uow: UnitOfWork, account: AdminAccount, method: str, via: str
                     ) -> StaffIdentity:
    """Act as the account from here on and audit the login."""
    role = Role(account.role)
    await uow.rescope(DbScope(account.tenant_id, f"{role.value}:{account.id}",
                              uow.scope.request_id))
    await audit.record(uow.session, "auth.admin_login", tenant_id=account.tenant_id,
                       object_type="admin_account", object_id=account.id,
                       payload={"method": method, "via": via})
    tenant = await directory.tenant_by_id(uow.session, account.tenant_id)
    return StaffIdentity(account.id, role, tenant.id, tenant.code, tenant.federation_id,
                         account.display_name, method)


async def _answer(tokens: TokenService, who: StaffIdentity) -> AccessToken:
    return await tokens.answer_login(role=who.role, subject=str(who.account_id),
                                     tenant_id=who.tenant_id, tenant_code=who.tenant_code)


async def password_sign_in(
    uow: UnitOfWork, clock: Clock, *, username: str, password: str, via: str = "api"
) -> StaffIdentity:
    """The account behind a username and password (lockout after repeated failures); the
    unit of work acts as it afterwards."""
    session = uow.session
    await uow.rescope(DbScope(None, f"login:admin:{username}", uow.scope.request_id))
    account = await repository.account_by_username(session, username)
    now = clock.now()
    if account is None or account.disabled:
        await check_password_off_loop(None, password)  # same work, account or not
        raise _login_failed()
    if account.locked_until is not None and account.locked_until > now:
        raise TooManyRequests("登录失败次数过多，请稍后再试。",
                              "Too many failed logins; try again later.", code="login_locked")
    if not await check_password_off_loop(account.password_hash, password):
        account.failed_logins += 1
        if account.failed_logins >= ADMIN_MAX_FAILURES:
            account.locked_until = now + timedelta(minutes=ADMIN_LOCK_MINUTES)
            account.failed_logins = 0
        await repository.flush(session)
        raise _login_failed(commit_writes=True)
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = now
    await repository.flush(session)
    return await _signed_in(uow, account, "password", via)


async def password_login(
    uow: UnitOfWork, clock: Clock, tokens: TokenService, *, username: str, password: str
) -> AccessToken:
    who = await password_sign_in(uow, clock, username=username, password=password)
    return await _answer(tokens, who)


async def oidc_sign_in(
    uow: UnitOfWork, clock: Clock, *, issuer: str, subject: str, via: str = "api"
) -> StaffIdentity:
    """The staff account linked to a verified identity of the provider."""
    session = uow.session
    await uow.rescope(DbScope(None, f"login:oidc:{issuer}|{subject}", uow.scope.request_id))
    account = await repository.account_by_identity(session, issuer, subject)
    if account is None:
        raise Unauthenticated("没有与该身份关联的管理员账号。",
                              "No staff account is linked to this identity.",
                              code="oidc_account_unknown")
    if account.disabled:
        raise Unauthenticated("该账号不能登录。", "This account cannot log in.",
                              code="login_failed")
    account.last_login_at = clock.now()
    await repository.flush(session)
    return await _signed_in(uow, account, "oidc", via)


async def oidc_login(
    uow: UnitOfWork, clock: Clock, tokens: TokenService, *, issuer: str, subject: str
) -> AccessToken:
    who = await oidc_sign_in(uow, clock, issuer=issuer, subject=subject)
    return await _answer(tokens, who)


# ---- the operator's actions (as the owner, from the CLI) -------------------------------


async def create_admin(
    session: AsyncSession, *, tenant_code: str, username: str, role: str, display_name: str,
    password: str | None, oidc_issuer: str | None, oidc_subject: str | None,
) -> uuid.UUID:
    tenant = await anchor_for(session, tenant_code, Role(role))
    if bool(oidc_issuer) != bool(oidc_subject):
        raise AccountError("give both --oidc-issuer and --oidc-subject, or neither")
    account = AdminAccount(
        id=uuid.uuid4(), tenant_id=tenant.id, username=username, display_name=display_name,
        role=role, password_hash=hash_password(password) if password else None,
        oidc_issuer=oidc_issuer, oidc_subject=oidc_subject,
    )
    if not await repository.add(session, account):
        raise AccountError(f"username '{username}' or that OIDC identity is taken, "
                           "or the username is not 3–64 of A-Z a-z 0-9 . _ @ -")
    await audit.record(session, "admin.created", tenant_id=tenant.id,
                       object_type="admin_account", object_id=account.id,
                       payload={"username": username, "role": role,
                                "oidc": bool(oidc_subject)})
    return account.id


async def issue_operator_token(
    session: AsyncSession, tokens: TokenService, *, role: str, tenant_code: str, subject: str,
    ttl: int | None,
) -> str:
    """Sign a token for a script or an operator; audited with who it names."""
    the_role = Role(role)
    tenant = await anchor_for(session, tenant_code, the_role)
    await audit.record(session, "token.issued", tenant_id=tenant.id, object_type="token",
                       object_id=subject, payload={"role": role, "ttl": ttl})
    token, _ = await tokens.issue(role=the_role, subject=subject, tenant_id=tenant.id,
                                  tenant_code=tenant.code, ttl_seconds=ttl)
    return token


async def rotate_key(session: AsyncSession, keyring: Keyring, federation_code: str | None) -> str:
    """A new active key (the access-token key, or one federation's card key); the old one
    stays published, retired, until what it signed expires."""
    if federation_code is None:
        return await create_key(session, keyring, activate=True)
    hq = await directory.tenant_by_code(session, federation_code)
    if hq.kind != "hq":
        raise AccountError(f"'{federation_code}' is a {hq.kind}, not a federation (hq)")
    return await create_key(session, keyring, activate=True, purpose=CARD, federation_id=hq.id)
