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


@tenants.command("calendar")
@click.option("--years", required=True, help="e.g. 2025-2026 or 2024,2026 (years the installed"
              " chinese-calendar knows)")
@click.argument("directory", type=Folder)
def calendar(years: str, directory: Path) -> None:
    """Write DIRECTORY/calendar.yaml (工作日历) from the chinese-calendar package: its holidays
    and 调休 make-up working days with their names, standard weekly hours, covered years. A
    file already there keeps its weekly hours and its regions' local days. Changes no
    database: `plan` and `apply` do."""
    from flexunion.calendars import files
    from flexunion.calendars.hours import STANDARD_WEEK
    from flexunion.core.errors import OperatorError

    path = directory / files.FILE_NAME
    try:
        old = files.load(path) if path.is_file() else None
        spec = files.generate(files.parse_years(years),
                              files.weekly_of(old) if old is not None else STANDARD_WEEK)
    except OperatorError as exc:
        raise click.ClickException(str(exc)) from exc
    if old is not None:
        spec.local = old.local
    path.write_text(files.render(spec, path), encoding="utf-8")
    covered = ", ".join(map(str, spec.covered_years))
    click.echo(f"wrote {path}: {len(spec.days)} days, years {covered} ({spec.source})")


COMMANDS = [tenants]
