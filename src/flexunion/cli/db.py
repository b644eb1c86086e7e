"""`flexunion migrate` and `flexunion purge`: the schema and what is kept how long."""

from __future__ import annotations

import click
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cli._run import as_owner, with_database
from flexunion.config import Settings


@click.command()
def migrate() -> None:
    """Apply database migrations as the owner; create the app role and a signing key if missing."""

    async def nothing(settings: Settings) -> None:
        return None

    with_database(nothing, migrate=True)
    click.echo("database at the latest migration")


@click.command()
def purge() -> None:
    """Delete expired idempotency records, day-old one-time-code challenges, ended console
    sessions, location check-ins past FLEXUNION_CHECKIN_RETENTION_DAYS and the old job log
    (the worker's `purge` job does the same every hour)."""
    from flexunion.db.retention import PRINCIPAL
    from flexunion.db.retention import purge as run_purge

    async def work(settings: Settings, session: AsyncSession) -> dict[str, int]:
        return await run_purge(session, checkin_retention_days=settings.geo.checkin_retention_days)

    removed = as_owner(work, principal=PRINCIPAL)
    click.echo(", ".join(f"{table}: {n} removed" for table, n in removed.items()))


COMMANDS = [migrate, purge]
