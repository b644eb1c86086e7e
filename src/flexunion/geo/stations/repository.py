"""Queries for stations and their upkeep.

Staff of a federation can *read* every station of it (RLS `federation_read`), but the admin
API only shows and changes the caller's subtree: the admin queries narrow to
`flexunion_tenant_scope()`, so a station of a sibling region answers like a missing one.
Workers' board reads take the registry's federation-wide read-only connection (asyncpg)
and select public columns only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import asyncpg
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

# Re-exported for the service: the session calls every repository shares.
from flexunion.db.rows import add as add
from flexunion.db.rows import flush as flush
from flexunion.geo.stations.models import ServicePoint, StationCheck, StationDuty, StationSupply

# The scope as one value per query (an InitPlan), not a call per row.
_IN_SCOPE = text("service_points.tenant_id"
                 " = ANY (CAST((SELECT flexunion_tenant_scope()) AS uuid[]))")


# ---- stations -------------------------------------------------------------------------------


async def in_scope(session: AsyncSession, code: str, *, lock: bool = False) -> ServicePoint | None:
    stmt = select(ServicePoint).where(ServicePoint.code == code, _IN_SCOPE)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def code_taken(session: AsyncSession, federation_id: uuid.UUID, code: str) -> bool:
    return await session.scalar(select(ServicePoint.id).where(
        ServicePoint.federation_id == federation_id, ServicePoint.code == code)) is not None


async def insert(session: AsyncSession, row: Any) -> None:
    """Add and flush in a savepoint: an IntegrityError leaves the transaction usable."""
    async with session.begin_nested():
        session.add(row)
        await session.flush()


async def page(session: AsyncSession, *, tenant_ids: Sequence[uuid.UUID] | None,
               active: bool | None, after: str | None, limit: int) -> Sequence[ServicePoint]:
    stmt = select(ServicePoint).where(_IN_SCOPE).order_by(ServicePoint.code).limit(limit)
    if tenant_ids is not None:
        stmt = stmt.where(ServicePoint.tenant_id.in_(tenant_ids))
    if active is not None:
        stmt = stmt.where(ServicePoint.active.is_(active))
    if after is not None:
        stmt = stmt.where(ServicePoint.code > after)
    return (await session.scalars(stmt)).all()


async def of_federation(session: AsyncSession, federation_id: uuid.UUID) -> Sequence[ServicePoint]:
    return (await session.scalars(select(ServicePoint).where(
        ServicePoint.federation_id == federation_id))).all()


async def active_positions(session: AsyncSession,
                           federation_id: uuid.UUID) -> list[tuple[float, float]]:
    rows = await session.execute(select(ServicePoint.lon, ServicePoint.lat).where(
        ServicePoint.federation_id == federation_id, ServicePoint.active))
    return [(lon, lat) for lon, lat in rows]


# ---- duty roster ----------------------------------------------------------------------------


async def duties_from(session: AsyncSession, point_id: uuid.UUID,
                      day: date) -> Sequence[StationDuty]:
    return (await session.scalars(select(StationDuty).where(
        StationDuty.point_id == point_id, StationDuty.duty_date >= day))).all()


async def replace_roster(session: AsyncSession, point_id: uuid.UUID, day: date,
                         rows: Sequence[StationDuty]) -> None:
    await session.execute(delete(StationDuty).where(StationDuty.point_id == point_id,
                                                    StationDuty.duty_date == day))
    session.add_all(rows)
    await session.flush()


async def duties(session: AsyncSession, point_id: uuid.UUID, start: date,
                 end: date) -> Sequence[StationDuty]:
    return (await session.scalars(select(StationDuty).where(
        StationDuty.point_id == point_id, StationDuty.duty_date >= start,
        StationDuty.duty_date <= end).order_by(
        StationDuty.starts_at, StationDuty.shift_no, StationDuty.officer_name))).all()


# ---- supplies and checks --------------------------------------------------------------------


async def supplies(session: AsyncSession, point_id: uuid.UUID, active_on: date | None,
                   limit: int) -> Sequence[StationSupply]:
    stmt = (select(StationSupply).where(StationSupply.point_id == point_id)
            .order_by(StationSupply.valid_to.desc(), StationSupply.created_at.desc())
            .limit(limit))
    if active_on is not None:
        stmt = stmt.where(StationSupply.valid_from <= active_on,
                          StationSupply.valid_to >= active_on)
    return (await session.scalars(stmt)).all()


async def checks(session: AsyncSession, point_id: uuid.UUID, limit: int) -> Sequence[StationCheck]:
    return (await session.scalars(select(StationCheck).where(StationCheck.point_id == point_id)
                                  .order_by(StationCheck.iso_week.desc()).limit(limit))).all()


_MISSING = """
SELECT p.code, p.tenant_id, p.name_zh, p.name_en, last.iso_week AS last_week,
       last.checked_at AS last_checked_at
  FROM service_points p
  LEFT JOIN LATERAL (SELECT c.iso_week, c.checked_at FROM station_checks c
                      WHERE c.point_id = p.id ORDER BY c.iso_week DESC LIMIT 1) last ON true
 WHERE p.active AND p.tenant_id = ANY (CAST((SELECT flexunion_tenant_scope()) AS uuid[]))
   AND p.created_at < :week_end
   AND NOT EXISTS (SELECT 1 FROM station_checks c WHERE c.point_id = p.id AND c.iso_week = :week)
   AND (CAST(:after AS text) IS NULL OR p.code > :after)
   {tenant}
 ORDER BY p.code
 LIMIT :limit
"""


async def missing_checks(session: AsyncSession, *, week: str, week_end: datetime,
                         tenant_ids: Sequence[uuid.UUID] | None, after: str | None,
                         limit: int) -> list[Any]:
    """Active stations of my subtree (of `tenant_ids`, if given) that existed by `week_end`
    with no check for `week`, by code."""
    params: dict[str, Any] = {"week": week, "week_end": week_end, "after": after, "limit": limit}
    sql = _MISSING.format(tenant="")
    if tenant_ids is not None:
        sql = _MISSING.format(tenant="AND p.tenant_id = ANY (:subtree)")
        params["subtree"] = list(tenant_ids)
    return list((await session.execute(text(sql), params)).all())


# ---- a station's public board (federation-wide, read-only) -------------------------------------

_BOARD_DUTIES = """
SELECT duty_date, shift_no, starts_at, ends_at, officer_name FROM station_duties
 WHERE point_id = $1 AND starts_at < $3 AND ends_at > $2
 ORDER BY starts_at, shift_no, officer_name"""
_BOARD_SUPPLIES = """
SELECT season, item, quantity, unit, valid_to FROM station_supplies
 WHERE point_id = $1 AND valid_from <= $2 AND valid_to >= $2
 ORDER BY season, item, valid_to"""
_BOARD_CHECK = """
SELECT iso_week, restocked, cleaned, equipment, checked_at FROM station_checks
 WHERE point_id = $1 ORDER BY iso_week DESC LIMIT 1"""


async def board(conn: asyncpg.Connection, point_id: uuid.UUID, *, start: datetime,
                end: datetime, today: date) -> tuple[list[Any], list[Any], Any | None]:
    """Duties overlapping [start, end), supplies valid `today`, the latest check."""
    duties = await conn.fetch(_BOARD_DUTIES, point_id, start, end)
    supplies = await conn.fetch(_BOARD_SUPPLIES, point_id, today)
    check = await conn.fetchrow(_BOARD_CHECK, point_id)
    return list(duties), list(supplies), check
