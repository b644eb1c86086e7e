"""Queries for worker logins. Each runs in a scope narrowed to one phone in one federation
(`login:otp:…`) or to the worker itself, so row-level security shows nothing else."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.auth.models import OtpChallenge, WorkerAccount

# Re-exported for the service: the session calls every repository shares.
from flexunion.db.rows import flush as flush


async def codes_sent_since(
    session: AsyncSession, federation_id: uuid.UUID, phone_hash: str, since: datetime
) -> tuple[int, datetime | None]:
    """(how many codes went to this phone since `since`, when the last one did)."""
    count, last = (await session.execute(
        select(func.count(), func.max(OtpChallenge.created_at)).where(
            OtpChallenge.tenant_id == federation_id,
            OtpChallenge.phone_hash == phone_hash,
            OtpChallenge.created_at > since,
        ))).one()
    return int(count), last


async def live_challenge(
    session: AsyncSession, federation_id: uuid.UUID, phone_hash: str, now: datetime
) -> OtpChallenge | None:
    """The newest unspent, unexpired challenge of this phone, locked."""
    return await session.scalar(
        select(OtpChallenge)
        .where(OtpChallenge.tenant_id == federation_id, OtpChallenge.phone_hash == phone_hash,
               OtpChallenge.consumed_at.is_(None), OtpChallenge.expires_at > now)
        .order_by(OtpChallenge.created_at.desc())
        .limit(1)
        .with_for_update()
    )


async def worker_by_phone(
    session: AsyncSession, federation_id: uuid.UUID, phone_hash: str
) -> WorkerAccount | None:
    return await session.scalar(
        select(WorkerAccount).where(WorkerAccount.tenant_id == federation_id,
                                    WorkerAccount.phone_hash == phone_hash))


async def worker_by_id(session: AsyncSession, worker_id: uuid.UUID) -> WorkerAccount | None:
    return await session.get(WorkerAccount, worker_id)


async def add(session: AsyncSession, row: OtpChallenge | WorkerAccount) -> None:
    session.add(row)
    await session.flush()

