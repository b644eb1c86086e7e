"""Engines and session factories: one for the app role, one for the owner."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction

from flexunion.db.scope import SET_SCOPE_SQLA, DbScope
from flexunion.db.urls import to_sqlalchemy


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20) -> AsyncEngine:
    return create_async_engine(
        to_sqlalchemy(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        # No pre-ping: it costs a round trip on every checkout. Connections are recycled
        # instead, and a request that meets a dead one fails once and is retried by the client.
        pool_pre_ping=False,
        pool_recycle=600,
        connect_args={"server_settings": {"application_name": "flexunion"}},
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


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
