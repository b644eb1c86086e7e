"""Retention: keep short-lived personal and request data no longer than needed.

Runs hourly as the `purge` job (jobs/, principal `system:jobs:purge`, the app role) or
`flexunion purge` (an operator, as the owner with the same principal). Both call the
owner's `flexunion_purge_expired(days)` (migration 0014): the app role itself may delete
none of these rows, and the function answers only that principal. It deletes expired
Idempotency-Key records, one-time-code challenges (they carry a keyed phone hash) a day
after they were issued, console sessions 30 days after they ended, opt-in location
check-ins older than `checkin_retention_days` (90 by default: the census counts members
"in contact" over 90 days; at least 1), and the job log's aggregated rows after 7 days."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

PRINCIPAL = "system:jobs:purge"
OTP_KEEP = "1 day"
SESSIONS_KEEP = "30 days"  # ended console sessions: long enough to answer "who was signed in"
JOB_LOG_KEEP = "7 days"

_PURGE = text("SELECT kind, removed FROM flexunion_purge_expired(:days)")


async def purge(session: AsyncSession, *, checkin_retention_days: int = 90) -> dict[str, int]:
    """What was removed, per kind. The session's principal must be PRINCIPAL."""
    rows = await session.execute(_PURGE, {"days": max(1, checkin_retention_days)})
    return {row.kind: int(row.removed) for row in rows}
