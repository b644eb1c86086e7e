"""Retention: keep short-lived personal and request data no longer than needed.

Runs as the owner (the app role may delete nothing), e.g. hourly from a CronJob:
expired Idempotency-Key records, and one-time-code challenges (they carry a
keyed phone hash) a day after they were issued."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

OTP_KEEP = "1 day"

_PURGES = {
    "idempotency_keys": "DELETE FROM idempotency_keys WHERE expires_at < now()",
    "otp_challenges": f"DELETE FROM otp_challenges WHERE created_at < now() - interval '{OTP_KEEP}'",
}


async def purge(session: AsyncSession) -> dict[str, int]:
    removed: dict[str, int] = {}
    for table, statement in _PURGES.items():
        result = await session.execute(text(statement))
        removed[table] = result.rowcount or 0  # type: ignore[attr-defined]
    return removed
