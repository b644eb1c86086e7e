"""Accounts, tokens and keys: `flexunion admin|partner|provider|token|keys …`."""

from __future__ import annotations

import secrets
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import click
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cli._run import OPERATOR, as_owner
from flexunion.config import Settings

if TYPE_CHECKING:
    from flexunion.auth.tokens import TokenService


@click.group()
def admin() -> None:
    """Staff accounts (HQ admins, regional admins, station officers)."""


@admin.command("create")
@click.option("--tenant", "tenant_code", required=True, help="Tenant code the account belongs to.")
@click.option("--username", required=True)
@click.option("--role", required=True,
              type=click.Choice(["hq_admin", "regional_admin", "station_officer",
                                 "hotline_operator"]))
@click.option("--display-name", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--oidc-issuer", default=None, help="Link to an identity provider account.")
@click.option("--oidc-subject", default=None)
def admin_create(tenant_code: str, username: str, role: str, display_name: str | None,
                 password_stdin: bool, oidc_issuer: str | None, oidc_subject: str | None) -> None:
    """Create a staff account; prints a generated password when none is given."""
    from flexunion.auth.staff.service import create_admin

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    generated = None
    if password is None and not oidc_subject:
        generated = password = secrets.token_urlsafe(12)

    async def work(settings: Settings, session: AsyncSession) -> uuid.UUID:
        return await create_admin(
            session, tenant_code=tenant_code, username=username, role=role,
            display_name=display_name or username, password=password,
            oidc_issuer=oidc_issuer, oidc_subject=oidc_subject)

    account_id = as_owner(work)
    click.echo(f"created {role} {username} ({account_id}) in {tenant_code}")
    if generated:
        click.echo(f"password: {generated}")


@click.group()
def partner() -> None:
    """Platform partner API clients (OAuth2 client credentials)."""


@partner.command("create")
@click.option("--tenant", "tenant_code", required=True,
              help="Tenant whose subtree the client may see (usually the federation HQ).")
@click.option("--partner", "partner_code", required=True,
              help="Platform partner code, e.g. meituan.")
@click.option("--name", default=None, help="A label for the client.")
@click.option("--contracts-role", type=click.Choice(["platform_business", "platform_hr"]),
              default=None, help="The role in which it signs clause checkpoints (业务 / 人力).")
def partner_create(tenant_code: str, partner_code: str, name: str | None,
                   contracts_role: str | None) -> None:
    """Create a client; the secret is printed once and stored only hashed."""
    from flexunion.auth.partners.service import create_partner_client

    async def work(settings: Settings, session: AsyncSession) -> tuple[str, str]:
        return await create_partner_client(session, tenant_code=tenant_code,
                                           partner_code=partner_code, name=name or partner_code,
                                           contracts_role=contracts_role)

    client_id, secret = as_owner(work)
    click.echo(f"client_id: {client_id}")
    click.echo(f"client_secret: {secret}")


@click.group()
def provider() -> None:
    """Referral providers' API clients (调解组织 / 法律援助站; OAuth2 client credentials)."""


@provider.command("create")
@click.option("--federation", "federation_code", required=True, help="The federation's HQ code.")
@click.option("--provider", "provider_code", required=True,
              help="Provider code (tenants/<fed>/referral-providers.yaml), e.g. xh-aid.")
@click.option("--name", default=None, help="A label for the client.")
def provider_create(federation_code: str, provider_code: str, name: str | None) -> None:
    """Create a client; the secret is printed once and stored only hashed."""
    from flexunion.cases.provider_desk.service import create_client_as_operator

    async def work(settings: Settings, session: AsyncSession) -> tuple[str, str]:
        return await create_client_as_operator(
            session, federation_code=federation_code, provider_code=provider_code,
            name=name or provider_code, operator=OPERATOR)

    client_id, secret = as_owner(work)
    click.echo(f"client_id: {client_id}")
    click.echo(f"client_secret: {secret}")


@provider.command("rotate")
@click.argument("client_id")
def provider_rotate(client_id: str) -> None:
    """A new secret for CLIENT_ID, printed once; the old one stops working at once."""
    from flexunion.cases.provider_desk.service import rotate_as_operator

    async def work(settings: Settings, session: AsyncSession) -> str:
        return await rotate_as_operator(session, client_id)

    click.echo(f"client_secret: {as_owner(work)}")


@provider.command("disable")
@click.argument("client_id")
def provider_disable(client_id: str) -> None:
    """Disable CLIENT_ID: no new token; tokens already issued are refused."""
    from flexunion.cases.provider_desk.service import disable_as_operator

    async def work(settings: Settings, session: AsyncSession) -> None:
        await disable_as_operator(session, client_id)

    as_owner(work)
    click.echo(f"disabled {client_id}")


@asynccontextmanager
async def token_service(settings: Settings) -> AsyncIterator[TokenService]:
    """Tokens signed with the active key, read through a pool of its own."""
    from flexunion.auth.keys import KeyStore
    from flexunion.auth.tokens import TokenService
    from flexunion.core.clock import Clock
    from flexunion.core.secrets import Keyring, load_master_secret
    from flexunion.db.engine import make_engine, make_sessionmaker

    assert settings.database_url
    engine = make_engine(settings.database_url, pool_size=1, max_overflow=0)
    try:
        keys = KeyStore(make_sessionmaker(engine), Keyring(load_master_secret(settings)))
        yield TokenService(settings, keys, Clock())
    finally:
        await engine.dispose()


@click.group()
def token() -> None:
    """Tokens for operators and scripts."""


@token.command("issue")
@click.option("--role", required=True,
              type=click.Choice(["worker", "station_officer", "regional_admin", "hq_admin",
                                 "partner"]))
@click.option("--tenant", "tenant_code", required=True)
@click.option("--subject", required=True)
@click.option("--ttl", default=None, type=click.IntRange(1, 24 * 3600), help="Seconds.")
def token_issue(role: str, tenant_code: str, subject: str, ttl: int | None) -> None:
    """Print a signed access token."""
    from flexunion.auth.staff.service import issue_operator_token

    async def work(settings: Settings, session: AsyncSession) -> str:
        async with token_service(settings) as tokens:
            return await issue_operator_token(session, tokens, role=role,
                                              tenant_code=tenant_code, subject=subject, ttl=ttl)

    click.echo(as_owner(work))


@click.group()
def keys() -> None:
    """Token signing keys."""


@keys.command("rotate")
@click.option("--federation", "federation_code", default=None,
              help="Rotate this federation's card key (HQ code) instead of the access-token key.")
def keys_rotate(federation_code: str | None) -> None:
    """Make a new active key; the old one stays in the JWKS (retired) for verification."""
    from flexunion.auth.staff.service import rotate_key
    from flexunion.core.secrets import Keyring, load_master_secret

    async def work(settings: Settings, session: AsyncSession) -> str:
        return await rotate_key(session, Keyring(load_master_secret(settings)), federation_code)

    kid = as_owner(work)
    which = f"card key of {federation_code}" if federation_code else "signing key"
    click.echo(f"active {which}: {kid}")


@click.group()
def sms() -> None:
    """The development SMS backend (FLEXUNION_SMS_BACKEND=log)."""


@sms.command("last-code")
@click.argument("phone")
def sms_last_code(phone: str) -> None:
    """Print the newest one-time code the log backend 'sent' to PHONE (exit 1 if none)."""
    from flexunion.auth.workers.sms import last_code
    from flexunion.config import load_settings

    code = last_code(load_settings().data_dir, phone)
    if code is None:
        raise click.ClickException(f"no code for {phone} in the dev SMS outbox "
                                   "(FLEXUNION_SMS_BACKEND=log writes it)")
    click.echo(code)


COMMANDS = [admin, partner, provider, token, keys, sms]
