"""Queries for the rectification list. Row-level security decides what exists (migration
0019 for the items, 0015 for the cases and ratings the groups are counted from); the groups
also keep to the caller's own subtree (`flexunion_tenant_scope()`), not the cases its units
are merely assigned."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.ledger.models import Case
from flexunion.cases.rectification.models import (
    RectificationItem,
    RectificationItemCase,
    RectificationStep,
)
from flexunion.db.rows import add as add
from flexunion.db.rows import flush as flush

# One row per (category, dimension, place, quarter: current or previous) of the caller's
# subtree: a case counts once under its tenant, once under its delivery zone (when its place
# names one) and once under its platform partner (when it has one). Merged cases are left
# out (they live on in the case they were merged into).
_GROUPS = text("""
WITH c AS (
  SELECT id, category, tenant_id, place->>'zone' AS zone, partner_id, worker_id, status,
         reopens, created_at >= :start AS current
    FROM cases
   WHERE created_at >= :prev AND created_at < :end AND status <> 'merged'
     AND tenant_id = ANY (CAST((SELECT flexunion_tenant_scope()) AS uuid[]))
     AND (CAST(:category AS text) IS NULL OR category = CAST(:category AS text))
), g AS (
  SELECT c.*, d.dimension, d.place FROM c CROSS JOIN LATERAL (VALUES
      ('tenant', c.tenant_id::text), ('zone', c.zone), ('partner', c.partner_id::text)
    ) AS d(dimension, place)
   WHERE d.place IS NOT NULL
     AND (CAST(:dimension AS text) IS NULL OR d.dimension = CAST(:dimension AS text))
     AND (CAST(:place AS text) IS NULL OR d.place = CAST(:place AS text))
), r AS (
  SELECT case_id,
         count(*) FILTER (WHERE rating = 'satisfied') AS s,
         count(*) FILTER (WHERE rating = 'basically_satisfied') AS b,
         count(*) FILTER (WHERE rating = 'dissatisfied') AS d
    FROM case_ratings WHERE case_id IN (SELECT id FROM c) GROUP BY case_id
)
SELECT g.category, g.dimension, g.place, g.current,
       count(*) AS cases, count(DISTINCT g.worker_id) AS workers,
       count(*) FILTER (WHERE g.worker_id IS NULL) AS anonymous,
       count(*) FILTER (WHERE g.status = 'closed') AS closed,
       count(*) FILTER (WHERE g.reopens > 0) AS reopened,
       coalesce(sum(r.s), 0) AS satisfied, coalesce(sum(r.b), 0) AS basically_satisfied,
       coalesce(sum(r.d), 0) AS dissatisfied
  FROM g LEFT JOIN r ON r.case_id = g.id
 GROUP BY g.category, g.dimension, g.place, g.current
""")

_GROUP_CASES = text("""
SELECT id FROM cases
 WHERE created_at >= :start AND created_at < :end AND status <> 'merged'
   AND tenant_id = ANY (CAST((SELECT flexunion_tenant_scope()) AS uuid[])) AND category = :category
   AND CASE CAST(:dimension AS text)
         WHEN 'tenant' THEN tenant_id::text = :place
         WHEN 'zone' THEN place->>'zone' = :place
         ELSE partner_id::text = :place END
 ORDER BY created_at, id
""")


async def group_rows(session: AsyncSession, *, prev: datetime, start: datetime, end: datetime,
                     category: str | None = None, dimension: str | None = None,
                     place: str | None = None) -> Sequence[Any]:
    """Counts per group for [start, end) (`current`) and [prev, start) (not current). The
    place is a tenant id, a zone code or a partner id, as text."""
    return (await session.execute(_GROUPS, {
        "prev": prev, "start": start, "end": end, "category": category,
        "dimension": dimension, "place": place})).all()


async def group_case_ids(session: AsyncSession, *, start: datetime, end: datetime,
                         category: str, dimension: str, place: str) -> list[uuid.UUID]:
    rows = await session.execute(_GROUP_CASES, {"start": start, "end": end,
                                                "category": category, "dimension": dimension,
                                                "place": place})
    return [r.id for r in rows.all()]


async def visible_cases(session: AsyncSession,
                        ids: Sequence[uuid.UUID]) -> Sequence[Case]:
    if not ids:
        return []
    return (await session.scalars(select(Case).where(Case.id.in_(list(ids)))
                                  .order_by(Case.created_at, Case.id))).all()


async def item(session: AsyncSession, item_id: uuid.UUID, *,
               lock: bool = False) -> RectificationItem | None:
    stmt = select(RectificationItem).where(RectificationItem.id == item_id)
    if lock:  # and re-read: the row may have been loaded (unlocked) earlier in the session
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(stmt)


async def items(session: AsyncSession, *, quarter: str | None = None,
                statuses: Sequence[str] | None = None, owner_partner: uuid.UUID | None = None,
                owner_tenants: Sequence[uuid.UUID] | None = None,
                lock: bool = False) -> Sequence[RectificationItem]:
    stmt = select(RectificationItem).order_by(RectificationItem.created_at,
                                              RectificationItem.id)
    if quarter is not None:
        stmt = stmt.where(RectificationItem.quarter == quarter)
    if statuses is not None:
        stmt = stmt.where(RectificationItem.status.in_(list(statuses)))
    if owner_partner is not None:
        stmt = stmt.where(RectificationItem.owner_partner_id == owner_partner)
    if owner_tenants is not None:
        stmt = stmt.where(RectificationItem.owner_tenant_id.in_(list(owner_tenants)))
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).all()


async def same_group(session: AsyncSession, row: RectificationItem,
                     quarter: str) -> RectificationItem | None:
    """The item of the same union's list for the same group in `quarter`."""
    return await session.scalar(select(RectificationItem).where(
        RectificationItem.tenant_id == row.tenant_id, RectificationItem.quarter == quarter,
        RectificationItem.category == row.category,
        RectificationItem.dimension == row.dimension, RectificationItem.place == row.place))


async def successors(session: AsyncSession,
                     ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """carried_from → the item carried into the next quarter."""
    if not ids:
        return {}
    rows = await session.execute(select(RectificationItem.carried_from_id, RectificationItem.id)
                                 .where(RectificationItem.carried_from_id.in_(list(ids))))
    return {f: i for f, i in rows.all() if f is not None}


async def links(session: AsyncSession, item_ids: Sequence[uuid.UUID], *,
                current: bool = True) -> Sequence[RectificationItemCase]:
    if not item_ids:
        return []
    stmt = (select(RectificationItemCase)
            .where(RectificationItemCase.item_id.in_(list(item_ids)))
            .order_by(RectificationItemCase.linked_at, RectificationItemCase.case_id))
    if current:
        stmt = stmt.where(RectificationItemCase.unlinked_at.is_(None))
    return (await session.scalars(stmt)).all()


async def link(session: AsyncSession, item_id: uuid.UUID,
               case_id: uuid.UUID) -> RectificationItemCase | None:
    return await session.scalar(select(RectificationItemCase).where(
        RectificationItemCase.item_id == item_id, RectificationItemCase.case_id == case_id)
        .with_for_update())


async def steps(session: AsyncSession,
                item_ids: Sequence[uuid.UUID]) -> Sequence[RectificationStep]:
    if not item_ids:
        return []
    return (await session.scalars(select(RectificationStep)
                                  .where(RectificationStep.item_id.in_(list(item_ids)))
                                  .order_by(RectificationStep.at, RectificationStep.id))).all()
