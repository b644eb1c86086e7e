"""Where the database is: a configured server, or the embedded default started here."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import Settings
from flexunion.db import embedded
from flexunion.db.engine import bind_scope, make_engine, make_sessionmaker
from flexunion.db.scope import DbScope

log = logging.getLogger(__name__)


@dataclass
class Database:
    settings: Settings
    server: embedded.EmbeddedDatabase | None = None

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def open_database(settings: Settings) -> Database:
    """With DATABASE_URL (or only the app's URL, for a serving-only pod): use it.
    Without either: start (or reuse) the embedded PostgreSQL."""
    if settings.database_url or settings.app_database_url:
        return Database(settings)
    server = embedded.start(settings.data_dir, settings.app_role)
    return Database(replace(settings, database_url=server.owner_url,
                            app_database_url=server.app_url), server)


def app_url(settings: Settings) -> str:
    """The app role's URL: given, or the owner's URL with the app role's name and password."""
    if settings.app_database_url:
        return settings.app_database_url
    if not settings.database_url:
        raise RuntimeError("no database configured")
    from flexunion.db.urls import with_user

    return with_user(settings.database_url, settings.app_role, settings.app_db_password)


@asynccontextmanager
async def owner_session(settings: Settings,
                        principal: str = "cli:operator") -> AsyncIterator[AsyncSession]:
    """An owner session for operator commands: one transaction, committed on success."""
    assert settings.database_url
    engine = make_engine(settings.database_url, pool_size=2, max_overflow=0)
    scope = DbScope(None, principal)
    try:
        async with make_sessionmaker(engine)() as session:
            bind_scope(session, lambda: scope)
            async with session.begin():
                yield session
    finally:
        await engine.dispose()
