"""Queries for console sessions: the app role sees only its own (migration 0010); which
session a cookie opens is one SECURITY DEFINER function read through a bare pool."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.auth.models import ConsoleSession
from flexunion.auth.sessions.schemas import OpenSession
from flexunion.db.engine import reachable
from flexunion.db.rows import add as add
from flexunion.db.rows import flush as flush

_LOOKUP = ("SELECT id, federation_id, tenant_id, tenant_code, account_id, role, display_name,"
           " csrf_token, expires_at FROM flexunion_console_session($1, $2, $3)")


async def lookup(reader: Any, token_hash: bytes, at: datetime,
                 idle: timedelta) -> OpenSession | None:
    async with reachable():
        row = await reader.fetchrow(_LOOKUP, token_hash, at, idle)
    return OpenSession(*row) if row is not None else None


async def end(session: AsyncSession, session_id: uuid.UUID, at: datetime, reason: str) -> bool:
    """End one of the caller's own sessions (RLS: any other is invisible here)."""
    result = await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.id == session_id, ConsoleSession.ended_at.is_(None))
        .values(ended_at=at, ended_reason=reason))
    return bool(result.rowcount)  # type: ignore[attr-defined]  # UPDATE: has one
