"""`flexunion transfers auto-release`: the origin's silence becomes a release."""

from __future__ import annotations

import click
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cli._run import as_owner
from flexunion.config import Settings


@click.group()
def transfers() -> None:
    """Cross-city relationship transfers (异地关系接转)."""


@transfers.command("auto-release")
def auto_release() -> None:
    """Release every transfer whose origin did not answer within the working-day deadline,
    now (the worker does it every 5 minutes: `flexunion worker`)."""
    from flexunion.core.clock import Clock
    from flexunion.transfers.jobs import PRINCIPAL
    from flexunion.transfers.jobs import auto_release as release_due

    async def work(settings: Settings, session: AsyncSession) -> int:
        return len(await release_due(session, Clock().now()))

    click.echo(f"released {as_owner(work, principal=PRINCIPAL)} transfer(s)")


COMMANDS = [transfers]
