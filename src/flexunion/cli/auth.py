"""Accounts, tokens and keys: `flexunion admin|partner|token|keys …`."""

from __future__ import annotations

import secrets
import sys

import click
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cli._run import as_owner, with_database
from flexunion.config import Settings


@click.group()
def admin() -> None:
    """Staff accounts (HQ admins, regional admins, station officers)."""


@admin.command("create")
@click.option("--tenant", "tenant_code", required=True, help="Tenant code the account belongs to.")
@click.option("--username", required=True)
@click.option("--role", required=True,
              type=click.Choice(["hq_admin", "regional_admin", "station_officer"]))
@click.option("--display-name", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--oidc-issuer", default=None, help="Link to an identity provider account.")
@click.option("--oidc-subject", default=None)
def admin_create(tenant_code: str, username: str, role: str, display_name: str | None,
                 password_stdin: bool, oidc_issuer: str | None, oidc_subject: str | None) -> None:
    """Create a staff account; prints a generated password when none is given."""
    from flexunion.auth.accounts import create_admin

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    generated = None
    if password is None and not oidc_subject:
        generated = password = secrets.token_urlsafe(12)

    async def work(settings: Settings, session: AsyncSession):
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
@click.option("--partner", "partner_code", required=True, help="Platform partner code, e.g. meituan.")
@click.option("--name", default=None, help="A label for the client.")
def partner_create(tenant_code: str, partner_code: str, name: str | None) -> None:
    """Create a client; the secret is printed once and stored only hashed."""
    from flexunion.auth.accounts import create_partner_client

    async def work(settings: Settings, session: AsyncSession):
        return await create_partner_client(session, tenant_code=tenant_code,
                                           partner_code=partner_code, name=name or partner_code)

    client_id, secret = as_owner(work)
    click.echo(f"client_id: {client_id}")
    click.echo(f"client_secret: {secret}")


@click.group()
def token() -> None:
    """Tokens for operators and scripts."""


@token.command("issue")
@click.option("--role", required=True,
              type=click.Choice(["worker", "station_officer", "regional_admin", "hq_admin", "partner"]))
@click.option("--tenant", "tenant_code", required=True)
@click.option("--subject", required=True)
@click.option("--ttl", default=None, type=click.IntRange(1, 24 * 3600), help="Seconds.")
def token_issue(role: str, tenant_code: str, subject: str, ttl: int | None) -> None:
    """Print a signed access token."""
    from flexunion.auth.accounts import issue_operator_token

    async def work(settings: Settings) -> str:
        return await issue_operator_token(settings, role=role, tenant_code=tenant_code,
                                          subject=subject, ttl=ttl)

    click.echo(with_database(work))


@click.group()
def keys() -> None:
    """Token signing keys."""


@keys.command("rotate")
@click.option("--federation", "federation_code", default=None,
              help="Rotate this federation's card key (HQ code) instead of the access-token key.")
def keys_rotate(federation_code: str | None) -> None:
    """Make a new active key; the old one stays in the JWKS (retired) for verification."""
    from flexunion.auth.accounts import rotate_key

    async def work(settings: Settings, session: AsyncSession) -> str:
        return await rotate_key(session, settings, federation_code)

    kid = as_owner(work)
    which = f"card key of {federation_code}" if federation_code else "signing key"
    click.echo(f"active {which}: {kid}")


COMMANDS = [admin, partner, token, keys]
