"""The session calls every repository shares: keep new rows and send pending changes to
PostgreSQL now (inside the caller's transaction: the unit of work commits, never a
repository or a service). Repositories re-export them, so a service writes
`repository.add(session, row)` and `await repository.flush(session)`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


def add(session: AsyncSession, row: Any) -> None:
    session.add(row)


def add_all(session: AsyncSession, rows: Iterable[Any]) -> None:
    session.add_all(list(rows))


async def flush(session: AsyncSession) -> None:
    await session.flush()
