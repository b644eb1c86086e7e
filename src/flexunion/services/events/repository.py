"""Events SQL (row-level security decides whose)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.db.rows import add, flush
from flexunion.services.events.models import PlatformEvent, WeatherWarning, WorkSignal

__all__ = [
    "add",
    "event",
    "events",
    "first_registration",
    "flush",
    "known_event_ids",
    "members_in_zone",
    "rider_member",
    "signals_since",
    "warning",
    "warning_refs",
    "warnings",
]

_RIDER = text("SELECT member_id, tenant_id FROM flexunion_partner_rider(:r)")


async def rider_member(session: AsyncSession,
                       rider_id: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(member id, home tenant) of the calling partner's rider, if a member names them."""
    row = (await session.execute(_RIDER, {"r": rider_id})).first()
    return (row[0], row[1]) if row else None


async def known_event_ids(session: AsyncSession, partner_id: uuid.UUID,
                          event_ids: Iterable[str]) -> set[str]:
    wanted = list(event_ids)
    if not wanted:
        return set()
    return set((await session.scalars(select(PlatformEvent.event_id).where(
        PlatformEvent.partner_id == partner_id, PlatformEvent.event_id.in_(wanted)))).all())


async def events(session: AsyncSession, *, kind: str | None, member_id: uuid.UUID | None,
                 limit: int) -> Sequence[PlatformEvent]:
    q = select(PlatformEvent).order_by(PlatformEvent.received_at.desc(), PlatformEvent.id)
    if kind:
        q = q.where(PlatformEvent.kind == kind)
    if member_id:
        q = q.where(PlatformEvent.member_id == member_id)
    return (await session.scalars(q.limit(limit))).all()


async def event(session: AsyncSession, event_id: uuid.UUID) -> PlatformEvent | None:
    return await session.get(PlatformEvent, event_id)


async def warning(session: AsyncSession, warning_id: uuid.UUID) -> WeatherWarning | None:
    return await session.get(WeatherWarning, warning_id)


async def warnings(session: AsyncSession, limit: int) -> Sequence[WeatherWarning]:
    return (await session.scalars(select(WeatherWarning).order_by(
        WeatherWarning.valid_from.desc()).limit(limit))).all()


async def warning_refs(session: AsyncSession, tenant_id: uuid.UUID,
                       refs: Iterable[str]) -> set[str]:
    wanted = list(refs)
    return set((await session.scalars(select(WeatherWarning.source_ref).where(
        WeatherWarning.tenant_id == tenant_id, WeatherWarning.source_ref.in_(wanted)))).all())


async def signals_since(session: AsyncSession, member_ids: Sequence[uuid.UUID],
                        since: date) -> dict[uuid.UUID, tuple[float, float, set[str]]]:
    """Per member since `since`: (night hours, heat hours, zone codes worked)."""
    if not member_ids:
        return {}
    rows = (await session.execute(select(
        WorkSignal.member_id, func.sum(WorkSignal.night_hours), func.sum(WorkSignal.heat_hours),
        func.array_remove(func.array_agg(func.distinct(WorkSignal.zone_code)), None)).where(
        WorkSignal.member_id.in_(member_ids), WorkSignal.day >= since).group_by(
        WorkSignal.member_id))).all()
    return {r[0]: (float(r[1] or 0), float(r[2] or 0), set(r[3] or ())) for r in rows}


async def first_registration(session: AsyncSession,
                             member_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, date]:
    """The latest platform registration event's day per member (a re-registration restarts
    the new-registration weeks)."""
    if not member_ids:
        return {}
    day = PlatformEvent.payload["registered_on"].astext
    rows = (await session.execute(select(
        PlatformEvent.member_id, func.max(func.coalesce(
            func.cast(day, type_=WorkSignal.day.type),
            func.date(func.timezone("Asia/Shanghai", PlatformEvent.occurred_at))))).where(
        PlatformEvent.member_id.in_(member_ids),
        PlatformEvent.kind == "worker_registered").group_by(PlatformEvent.member_id))).all()
    return {r[0]: r[1] for r in rows}


async def members_in_zone(session: AsyncSession, zone_code: str, since: date) -> set[uuid.UUID]:
    return set((await session.scalars(select(WorkSignal.member_id).where(
        WorkSignal.zone_code == zone_code, WorkSignal.day >= since).distinct())).all())
