"""Engines and session factories: one for the app role, one for the owner.

When PostgreSQL is out of reach (down, restarting, a connection killed under a statement)
every driver error that says so becomes one exception, `DatabaseUnavailable`, which the API
answers as 503 with Retry-After: the engine's (connect, execute, commit) through its events
here, a bare asyncpg pool's inside `reachable()`. Pooled connections the server closed are
replaced when they are checked out, without a round trip."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import Dialect, ExceptionContext
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from flexunion.db.scope import SET_SCOPE_SQLA, DbScope
from flexunion.db.urls import to_sqlalchemy


class DatabaseUnavailable(Exception):
    """PostgreSQL cannot be reached, or the connection died under the statement: nothing
    is wrong with the request, and the same request may be retried (the API says 503)."""


# SQLSTATEs of a server that is gone rather than refusing a statement: class 08 (connection
# exception), admin shutdown, crash shutdown, cannot connect now (starting or stopping).
_GONE_STATES = ("08", "57P01", "57P02", "57P03")
# asyncpg's client-side words for a connection that died under an operation.
_LOST = ("connection is closed", "connection was closed", "another operation", "pool is closing")


def unavailable(exc: BaseException) -> bool:
    """Whether `exc`, or an error it wraps, says the database is out of reach."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DatabaseUnavailable | OSError):  # refused, reset, no socket, timeout
            return True
        if isinstance(seen, DBAPIError) and seen.connection_invalidated:
            return True
        state = getattr(seen, "sqlstate", None)
        if isinstance(state, str) and state.startswith(_GONE_STATES):
            return True
        if (isinstance(seen, asyncpg.InterfaceError | asyncpg.InternalClientError)
                and any(lost in str(seen) for lost in _LOST)):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


@asynccontextmanager
async def reachable() -> AsyncIterator[None]:
    """Around the use of a bare asyncpg pool or connection: an error saying PostgreSQL is out
    of reach is raised as `DatabaseUnavailable`, as the engine's are."""
    try:
        yield
    except DatabaseUnavailable:
        raise
    except Exception as exc:
        if unavailable(exc):
            raise DatabaseUnavailable(str(exc) or type(exc).__name__) from exc
        raise


def _connect(dialect: Dialect, _record: ConnectionPoolEntry, cargs: Any, cparams: Any) -> Any:
    try:
        return dialect.connect(*cargs, **cparams)
    except OSError as exc:  # no server behind the address (asyncpg raises it as it comes)
        raise DatabaseUnavailable(str(exc) or type(exc).__name__) from exc


def _checkout(_dbapi: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection) -> None:
    """A pooled connection the server has closed (a restart, a terminated backend) is
    replaced by a fresh one: asyncpg saw the close already, so this costs no round trip."""
    if record.driver_connection is not None and record.driver_connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def _out_of_reach(context: ExceptionContext) -> BaseException | None:
    """A statement or commit that met a lost server: drop the connection (and, as SQLAlchemy
    does on a disconnect, every pooled one older than it) and say DatabaseUnavailable."""
    exc = context.original_exception
    if not isinstance(exc, Exception):  # a cancellation is no error: let it through as it is
        return None
    if not (context.is_disconnect or unavailable(exc)):
        return None
    context.is_disconnect = True
    return DatabaseUnavailable(str(exc) or type(exc).__name__)


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20) -> AsyncEngine:
    engine = create_async_engine(
        to_sqlalchemy(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        # No pre-ping: it costs a round trip on every checkout. A connection the server closed
        # is replaced at checkout (`_checkout`), one that died unseen fails once as a 503.
        pool_pre_ping=False,
        pool_recycle=600,
        connect_args={"server_settings": {"application_name": "flexunion"}},
    )
    event.listen(engine.sync_engine, "do_connect", _connect)
    event.listen(engine.sync_engine, "checkout", _checkout)
    event.listen(engine.sync_engine, "handle_error", _out_of_reach)
    return engine


def make_sessionmaker(engine: AsyncEngine,
                      info: dict[str, Any] | None = None) -> async_sessionmaker[AsyncSession]:
    """`info` is copied into every session's `Session.info` (the app's outbound channels)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True, info=info)


def bind_scope(session: AsyncSession, get_scope: Callable[[], DbScope]) -> None:
    """Every transaction this session begins first sets the caller's scope."""

    @event.listens_for(session.sync_session, "after_begin")
    def _set_scope(_session: Session, _transaction: SessionTransaction,
                   connection: Connection) -> None:
        scope: DbScope = get_scope()
        connection.execute(text(SET_SCOPE_SQLA), scope.params())


async def apply_scope(session: AsyncSession, scope: DbScope) -> None:
    """Re-scope a transaction that has already begun (e.g. a login narrowing itself)."""
    await session.execute(text(SET_SCOPE_SQLA), scope.params())
