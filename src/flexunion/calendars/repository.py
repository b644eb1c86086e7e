"""Queries for the calendar. Row-level security decides what exists: the federation's staff
read it; only the HQ (federation layer) and a region (its own layer) can add to it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.calendars.models import CalendarDay, CalendarSettings, CalendarVersion

# Re-exported for the service: the session calls every repository shares.
from flexunion.db.rows import add as add
from flexunion.db.rows import add_all as add_all
from flexunion.db.rows import flush as flush

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended('flexunion.calendar:' || :fed, 0))")


async def lock_numbering(session: AsyncSession, federation_id: uuid.UUID) -> None:
    """Serialise the federation's calendar changes until the transaction ends (the next
    version number is then max + 1 without a race)."""
    await session.execute(_LOCK, {"fed": str(federation_id)})


async def latest_version(session: AsyncSession, federation_id: uuid.UUID) -> int | None:
    return await session.scalar(select(func.max(CalendarVersion.version))
                                .where(CalendarVersion.federation_id == federation_id))


async def version_exists(session: AsyncSession, federation_id: uuid.UUID, version: int) -> bool:
    return bool(await session.scalar(
        select(func.count()).select_from(CalendarVersion)
        .where(CalendarVersion.federation_id == federation_id,
               CalendarVersion.version == version)))


async def versions(session: AsyncSession, federation_id: uuid.UUID,
                   limit: int) -> Sequence[CalendarVersion]:
    return (await session.scalars(
        select(CalendarVersion).where(CalendarVersion.federation_id == federation_id)
        .order_by(CalendarVersion.version.desc()).limit(limit))).all()


async def settings_at(session: AsyncSession, federation_id: uuid.UUID,
                      version: int) -> CalendarSettings | None:
    return await session.scalar(
        select(CalendarSettings)
        .where(CalendarSettings.federation_id == federation_id,
               CalendarSettings.version <= version)
        .order_by(CalendarSettings.version.desc()).limit(1))


async def days_at(session: AsyncSession, federation_id: uuid.UUID,
                  tenant_ids: Sequence[uuid.UUID], version: int) -> list[CalendarDay]:
    """Per (tenant, day) of the given layers, the row in force at `version` (`cleared`
    rows included: the caller drops them)."""
    rows = await session.scalars(
        select(CalendarDay)
        .where(CalendarDay.federation_id == federation_id,
               CalendarDay.tenant_id.in_(list(tenant_ids)),
               CalendarDay.version <= version)
        .order_by(CalendarDay.tenant_id, CalendarDay.day, CalendarDay.version.desc())
        .ext(distinct_on(CalendarDay.tenant_id, CalendarDay.day)))
    return list(rows.all())
