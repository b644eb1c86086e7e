"""The one way an operator command runs: open the database (the configured server, or the
embedded one started for this command and stopped after it), optionally migrate, do the
work as the owner in one transaction, and turn a refusal into a one-line error and exit 1."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import Settings, load_settings
from flexunion.core.errors import DomainError, OperatorError
from flexunion.db.runtime import Database, open_database, owner_session

T = TypeVar("T")
OPERATOR = "cli:operator"


async def prepare(settings: Settings) -> None:
    """Migrate as the owner and make sure the signing keys exist (access, and each
    federation's card key)."""
    from flexunion.auth.keys import ensure_active_key, ensure_card_keys
    from flexunion.core.secrets import Keyring, load_master_secret
    from flexunion.db.migrate import upgrade_async

    assert settings.database_url
    await upgrade_async(settings.database_url, settings.app_role, settings.app_db_password)
    async with owner_session(settings) as session:
        keyring = Keyring(load_master_secret(settings))
        await ensure_active_key(session, keyring)
        await ensure_card_keys(session, keyring)


def with_database(work: Callable[[Settings], Coroutine[Any, Any, T]], *,
                  migrate: bool = False) -> T:
    """Run `work(settings)` against the database, embedded or configured."""
    db: Database = open_database(load_settings())
    try:
        if migrate:
            asyncio.run(prepare(db.settings))
        return asyncio.run(work(db.settings))
    except (DomainError, OperatorError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        db.stop()


def as_owner(work: Callable[[Settings, AsyncSession], Coroutine[Any, Any, T]], *,
             migrate: bool = False,
             principal: str = OPERATOR) -> T:
    """Run `work(settings, session)` as the owner in one transaction, committed on success;
    audit rows it writes name `principal` (default `cli:operator`)."""
    import flexunion.db.registry  # noqa: F401  (every model: foreign keys name other domains' tables)

    async def run(settings: Settings) -> T:
        async with owner_session(settings, principal=principal) as session:
            return await work(settings, session)

    return with_database(run, migrate=migrate)
