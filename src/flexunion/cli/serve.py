"""`flexunion serve`: the API, with the embedded PostgreSQL when DATABASE_URL is unset."""

from __future__ import annotations

import asyncio

import click

from flexunion.cli._run import prepare
from flexunion.config import Settings, load_settings
from flexunion.db.runtime import open_database, owner_session


async def load_demo_if_empty(settings: Settings) -> bool:
    from flexunion.federation import repository as tenants_repo
    from flexunion.provisioning.service import apply_directory

    if not settings.load_demo or settings.demo_dir is None:
        return False
    async with owner_session(settings) as session:
        if await tenants_repo.federation_ids(session):
            return False
        plan = await apply_directory(session, settings.demo_dir)
    click.echo(f"loaded demo federation from {settings.demo_dir}: {plan.summary()}", err=True)
    return True


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-migrate", is_flag=True,
              help="Serve only: no migrations, no demo (for pods that hold only the app's URL).")
def serve(host: str, port: int, no_migrate: bool) -> None:
    """Run the service (embedded PostgreSQL when DATABASE_URL is unset)."""
    import uvicorn

    from flexunion.app import create_app

    db = open_database(load_settings())
    try:
        if not no_migrate:
            if not db.settings.database_url:
                raise click.ClickException(
                    "migrating needs the owner's DATABASE_URL; use --no-migrate to only serve")
            asyncio.run(prepare(db.settings))
            asyncio.run(load_demo_if_empty(db.settings))
        click.echo(f"flexunion on http://{host}:{port}  (API docs: /schema)", err=True)
        uvicorn.run(create_app(db.settings), host=host, port=port, log_config=None,
                    proxy_headers=False, server_header=False)
    finally:
        db.stop()


COMMANDS = [serve]
