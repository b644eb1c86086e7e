"""Queries for rosters and census runs.

Roster entries go in with one INSERT … SELECT FROM unnest(…) per batch (COPY is not
available under row-level security). A census reads within the session's scope (an
admin's subtree, or the one the operator set); which roster is each partner's newest is
federation-wide (upload ids and times only) and read on the registry's reader."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from flexunion.geo.census.models import CensusRun, RosterUpload

_LATEST_UPLOADS = """
SELECT DISTINCT ON (u.partner_id) u.id, u.partner_id, u.uploaded_at, u.rows
  FROM roster_uploads u
 WHERE u.federation_id = {fed}
 ORDER BY u.partner_id, u.uploaded_at DESC, u.id DESC
"""
_INSERT_ENTRIES = text("""
INSERT INTO roster_entries (upload_id, federation_id, tenant_id, worker_ref, platform, lon, lat,
                            zone_code, active_days)
SELECT CAST(:upload AS uuid), CAST(:federation AS uuid), u.t, u.r, u.p, u.x, u.y, u.z, u.d
  FROM unnest(CAST(:t AS uuid[]), CAST(:r AS text[]), CAST(:p AS text[]),
              CAST(:x AS float8[]), CAST(:y AS float8[]), CAST(:z AS text[]),
              CAST(:d AS int[])) AS u(t, r, p, x, y, z, d)
""")
_WORKERS = text("""
SELECT e.upload_id, e.lon, e.lat, e.zone_code, e.active_days FROM roster_entries e
 WHERE e.upload_id = ANY (CAST(:uploads AS uuid[]))
   AND e.tenant_id = ANY ((SELECT flexunion_tenant_scope())::uuid[])
""")
# Active members homed in the scope with their latest check-in and the platforms they work
# for (flexunion_census_members, migrations 0004 and 0007: members are read only there).
_MEMBERS = text("""
SELECT c.member_id, c.lon, c.lat, c.seen_at, c.platforms
  FROM flexunion_census_members(CAST('-infinity' AS timestamptz)) c
""")


# ---- rosters --------------------------------------------------------------------------------


async def latest_uploads(conn: asyncpg.Connection, federation_id: uuid.UUID) -> Sequence[Any]:
    """Each partner's newest upload of the federation (on a federation-wide reader)."""
    rows: Sequence[Any] = await conn.fetch(_LATEST_UPLOADS.format(fed="$1"), federation_id)
    return rows


async def latest_uploads_as_owner(session: AsyncSession,
                                  federation_id: uuid.UUID) -> Sequence[Any]:
    """The same, for the owner (who passes every row policy)."""
    return (await session.execute(text(_LATEST_UPLOADS.format(fed=":fed")),
                                  {"fed": federation_id})).mappings().all()


async def add_upload(session: AsyncSession, upload: RosterUpload) -> None:
    session.add(upload)
    await session.flush()


async def insert_entries(session: AsyncSession, upload: RosterUpload, *,
                         tenants: Sequence[uuid.UUID], refs: Sequence[str],
                         platforms: Sequence[str], lons: Sequence[float | None],
                         lats: Sequence[float | None], zones: Sequence[str | None],
                         days: Sequence[int]) -> None:
    await session.execute(_INSERT_ENTRIES, {
        "upload": upload.id, "federation": upload.federation_id, "t": list(tenants),
        "r": list(refs), "p": list(platforms), "x": list(lons), "y": list(lats),
        "z": list(zones), "d": list(days)})


async def newest_upload(session: AsyncSession, partner_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(
        select(RosterUpload.id).where(RosterUpload.partner_id == partner_id)
        .order_by(RosterUpload.uploaded_at.desc(), RosterUpload.id.desc()).limit(1))


async def uploads(session: AsyncSession, partner_id: uuid.UUID, *,
                  after: tuple[datetime, uuid.UUID] | None,
                  limit: int) -> Sequence[RosterUpload]:
    """The partner's uploads, newest first."""
    query = select(RosterUpload).where(RosterUpload.partner_id == partner_id)
    if after is not None:
        query = query.where(func.row(RosterUpload.uploaded_at, RosterUpload.id)
                            < func.row(after[0], after[1]))
    return (await session.scalars(query.order_by(RosterUpload.uploaded_at.desc(),
                                                 RosterUpload.id.desc()).limit(limit))).all()


# ---- what a census reads --------------------------------------------------------------------


async def roster_workers(session: AsyncSession,
                         upload_ids: Sequence[uuid.UUID]) -> Sequence[Any]:
    """(upload_id, lon, lat, zone_code, active_days) of the uploads' entries in scope."""
    return (await session.execute(_WORKERS, {"uploads": list(upload_ids)})).all()


async def census_members(session: AsyncSession) -> Sequence[Any]:
    """(member_id, lon, lat, seen_at, platforms) of the active members in scope."""
    return (await session.execute(_MEMBERS)).all()


# ---- census runs ----------------------------------------------------------------------------


async def add_run(session: AsyncSession, run: CensusRun) -> None:
    session.add(run)
    await session.flush()


async def run(session: AsyncSession, run_id: uuid.UUID) -> CensusRun | None:
    return await session.get(CensusRun, run_id)


async def runs(session: AsyncSession, *, after: tuple[datetime, uuid.UUID] | None,
               limit: int) -> Sequence[CensusRun]:
    """Runs in scope, newest first, without their zones."""
    query = select(CensusRun).options(defer(CensusRun.zones))
    if after is not None:
        query = query.where(func.row(CensusRun.started_at, CensusRun.id)
                            < func.row(after[0], after[1]))
    query = query.order_by(CensusRun.started_at.desc(), CensusRun.id.desc()).limit(limit)
    return (await session.scalars(query)).all()
