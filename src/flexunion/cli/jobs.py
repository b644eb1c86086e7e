"""`flexunion worker`: run the job queue (jobs/) — every registered entrypoint and the
periodic schedules — until SIGTERM or SIGINT, which let running jobs finish first.

As the app role, never the owner: with DATABASE_URL it connects with the app role's URL
(FLEXUNION_APP_DATABASE_URL, or the owner's URL with FLEXUNION_APP_ROLE and its password);
with no database configured it starts (or reuses) the embedded PostgreSQL and migrates it
first, as `flexunion serve` does."""

from __future__ import annotations

import asyncio
import signal

import click

from flexunion.cli._run import prepare
from flexunion.config import Settings
from flexunion.db.runtime import Database, open_database


async def run_worker(settings: Settings) -> None:
    """The worker until a stop signal (the asyncio loop's own handlers)."""
    from flexunion.jobs.worker import Worker

    worker = Worker(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.stop)
    await worker.run()


@click.command()
def worker() -> None:
    """Run the job queue: queued jobs and the periodic schedules (docs/jobs.md)."""
    from flexunion.config import load_settings

    db: Database = open_database(load_settings())
    try:
        if db.server is not None:
            asyncio.run(prepare(db.settings))
        click.echo("flexunion worker: running jobs (stop with Ctrl-C or SIGTERM)", err=True)
        asyncio.run(run_worker(db.settings))
        click.echo("flexunion worker stopped", err=True)
    finally:
        db.stop()


COMMANDS = [worker]
