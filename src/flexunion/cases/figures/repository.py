"""The one query behind the handling figures (办理统计). Row-level security decides which
cases, clocks, assignments and ratings exist (migrations 0015, 0017); the figures also keep
to the caller's own subtree (`flexunion_tenant_scope()`), not the cases its units are merely
assigned. Everything is counted in PostgreSQL, grouped by handling unit: no per-case loop."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# The cohort is the cases received in [start, end) (intake `created_at`), merged cases left
# out (they live on in the case they were merged into). A case's handling unit is the lead
# unit whose assignment ended as answered (the latest answer, after a reopen), else the
# case's tenant. Clocks are judged at :now — an open clock past its deadline is breached by
# time, whatever its cached state says (docs/cases.md "SLA clocks").
_FIGURES = text("""
WITH c AS (
  SELECT id, tenant_id, status, route, closings, reopens
    FROM cases
   WHERE created_at >= :start AND created_at < :end AND status <> 'merged'
     AND tenant_id = ANY (CAST((SELECT flexunion_tenant_scope()) AS uuid[]))
), u AS (
  SELECT c.*, coalesce(l.unit_tenant_id, c.tenant_id) AS unit_id
    FROM c LEFT JOIN LATERAL (
      SELECT a.unit_tenant_id FROM case_assignments a
       WHERE a.case_id = c.id AND a.role = 'lead' AND a.status = 'answered'
       ORDER BY a.ended_at DESC, a.seq DESC LIMIT 1) l ON true
), k AS (
  SELECT case_id,
         bool_or(metric = 'first_response' AND ended_at IS NOT NULL AND state = 'met')
           AS responded_on_time,
         bool_or(metric = 'first_response' AND (
                   (ended_at IS NOT NULL AND state IN ('met', 'breached'))
                   OR (ended_at IS NULL AND deadline < :now))) AS response_judged,
         bool_or(metric = 'resolution' AND ended_at IS NOT NULL AND state = 'met')
           AS resolved_on_time,
         bool_or(metric = 'resolution' AND ended_at IS NOT NULL
                 AND state IN ('met', 'breached')) AS resolution_stopped
    FROM case_clocks WHERE case_id IN (SELECT id FROM c) GROUP BY case_id
), r AS (
  SELECT case_id,
         count(*) FILTER (WHERE rating = 'satisfied') AS s,
         count(*) FILTER (WHERE rating = 'basically_satisfied') AS b,
         count(*) AS n
    FROM case_ratings WHERE case_id IN (SELECT id FROM c) GROUP BY case_id
)
SELECT u.unit_id,
       count(*) AS received,
       count(*) FILTER (WHERE k.responded_on_time) AS responded_on_time,
       count(*) FILTER (WHERE k.response_judged) AS response_judged,
       count(*) FILTER (WHERE u.status = 'closed') AS closed,
       coalesce(sum(r.s), 0) AS satisfied,
       coalesce(sum(r.b), 0) AS basically_satisfied,
       coalesce(sum(r.n), 0) AS rated,
       count(*) FILTER (WHERE k.resolved_on_time) AS resolved_on_time,
       count(*) FILTER (WHERE k.resolution_stopped) AS resolution_stopped,
       count(*) FILTER (WHERE u.reopens > 0) AS reopened,
       count(*) FILTER (WHERE u.closings > 0) AS ever_closed,
       count(*) FILTER (WHERE u.route = 'coordinate') AS supervised
  FROM u LEFT JOIN k ON k.case_id = u.id LEFT JOIN r ON r.case_id = u.id
 GROUP BY u.unit_id
""")


async def unit_rows(session: AsyncSession, *, start: datetime, end: datetime,
                    now: datetime) -> Sequence[Any]:
    """One row of counts per handling unit for the cases received in [start, end)."""
    return (await session.execute(_FIGURES, {"start": start, "end": end, "now": now})).all()


# 重复诉求: the same member filing demands of the same category more than once in [start,
# end) (merged cases left out), in the caller's own subtree; one row per (unit, member,
# category) with its case count. The monthly review (services/review) reads it.
_REPEATED = text("""
SELECT tenant_id, member_id, category, count(*) AS cases
  FROM cases
 WHERE created_at >= :start AND created_at < :end AND status <> 'merged'
   AND member_id IS NOT NULL
   AND tenant_id = ANY (CAST((SELECT flexunion_tenant_scope()) AS uuid[]))
 GROUP BY tenant_id, member_id, category
HAVING count(*) > 1
""")


async def repeated_rows(session: AsyncSession, *, start: datetime,
                        end: datetime) -> Sequence[Any]:
    """(tenant_id, member_id, category, cases) for each demand repeated in [start, end)."""
    return (await session.execute(_REPEATED, {"start": start, "end": end})).all()
