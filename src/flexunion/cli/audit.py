"""`flexunion audit verify`: recompute the hash chain."""

from __future__ import annotations

import sys

import click

from flexunion.cli._run import with_database
from flexunion.config import Settings


@click.group()
def audit() -> None:
    """The hash-chained audit trail."""


@audit.command("verify")
def verify() -> None:
    """Recompute the chain; exit 1 and name the entries when anything was edited or removed."""
    from flexunion.audit.verify import VerifyReport
    from flexunion.audit.verify import verify as check

    async def work(settings: Settings) -> VerifyReport:
        return await check(settings.database_url or "")

    report = with_database(work)
    for problem in report.problems:
        click.echo(f"BROKEN {problem}")
    click.echo(f"checked {report.checked} entries; head seq {report.head_seq} "
               f"hash {report.head_hash[:16]}")
    if not report.ok:
        sys.exit(1)
    click.echo("audit chain intact")


COMMANDS = [audit]
