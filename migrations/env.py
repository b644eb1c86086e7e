"""Alembic environment: runs as the database owner, over asyncpg.

`flexunion migrate` passes the owner URL and the app role's name through
`config.attributes`; plain `alembic upgrade head` falls back to the same
settings the service reads (DATABASE_URL, FLEXUNION_APP_ROLE)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from flexunion.config import load_settings
from flexunion.db.registry import metadata
from flexunion.db.urls import to_sqlalchemy

config = context.config
settings = load_settings()
config.attributes.setdefault("app_role", settings.app_role)
url = config.attributes.get("database_url") or settings.database_url
if not url:
    raise SystemExit("No database: set DATABASE_URL, or run `flexunion migrate` (embedded).")


def run(connection) -> None:
    # target_metadata gives migrations the same constraint naming convention as the models
    context.configure(connection=connection, target_metadata=metadata,
                      transaction_per_migration=False)
    with context.begin_transaction():
        context.run_migrations()


async def main() -> None:
    engine = create_async_engine(to_sqlalchemy(url))
    async with engine.connect() as connection:
        await connection.run_sync(run)
        await connection.commit()
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    asyncio.run(main())
