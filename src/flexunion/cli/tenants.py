"""`flexunion tenants plan|apply DIR`: federations as files, like `kubectl apply`."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cli._run import as_owner
from flexunion.config import Settings
from flexunion.provisioning.schemas import Plan

Folder = click.Path(exists=True, file_okay=False, path_type=Path)


@click.group()
def tenants() -> None:
    """Federations as files (tenants/): plan, then apply."""


@tenants.command("plan")
@click.argument("directory", type=Folder)
def plan(directory: Path) -> None:
    """Show what `apply` would change, changing nothing."""
    from flexunion.provisioning.service import plan_directory

    async def work(settings: Settings, session: AsyncSession) -> Plan:
        return await plan_directory(session, directory)

    # Migrates the schema, not the tenants: plan changes no tenant.
    click.echo(as_owner(work, migrate=True).render())


@tenants.command("apply")
@click.argument("directory", type=Folder)
def apply(directory: Path) -> None:
    """Apply the federation files in one transaction (a second apply changes nothing)."""
    from flexunion.provisioning.service import apply_directory

    async def work(settings: Settings, session: AsyncSession) -> Plan:
        return await apply_directory(session, directory)

    done = as_owner(work, migrate=True)
    click.echo(done.render())
    click.echo(f"applied: {done.summary()}")


COMMANDS = [tenants]
