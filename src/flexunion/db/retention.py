"""Retention: keep short-lived personal and request data no longer than needed.

Runs as the owner (the app role may delete nothing), e.g. hourly from a CronJob:
expired Idempotency-Key records, one-time-code challenges (they carry a
keyed phone hash) a day after they were issued, console sessions 30 days after they
ended, and opt-in location check-ins older than
`checkin_retention_days` (90 by default: the census counts members "in contact" over 90
days)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

OTP_KEEP = "1 day"
SESSIONS_KEEP = "30 days"  # ended console sessions: long enough to answer "who was signed in"

_PURGES = {
    "idempotency_keys": "DELETE FROM idempotency_keys WHERE expires_at < now()",
    "otp_challenges": "DELETE FROM otp_challenges"
                      f" WHERE created_at < now() - interval '{OTP_KEEP}'",
    "console_sessions": "DELETE FROM console_sessions"
                        f" WHERE ended_at < now() - interval '{SESSIONS_KEEP}'",
}
_CHECKINS = ("DELETE FROM location_checkins"
             " WHERE recorded_at < now() - make_interval(days => :days)")


async def purge(session: AsyncSession, *, checkin_retention_days: int = 90) -> dict[str, int]:
    removed: dict[str, int] = {}
    for table, statement in _PURGES.items():
        result = await session.execute(text(statement))
        removed[table] = result.rowcount or 0  # type: ignore[attr-defined]  # DELETE: has one
    result = await session.execute(text(_CHECKINS), {"days": max(1, checkin_retention_days)})
    removed["location_checkins"] = result.rowcount or 0  # type: ignore[attr-defined]  # as above
    return removed
