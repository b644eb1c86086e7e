"""The monthly review's SQL: counts only, grouped in PostgreSQL (no per-member loop), over
the services' own tables under the caller's row-level security. The review has no tables.

Windows: `start`/`end` are the month's bounds in Beijing time (timestamps), `first`/`after`
the same as days (a work signal's `day` is a Beijing day). `as_of` is when overdue is judged
(the end of a past month, now for the current one)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Items unfinished at the month's end: filed before it and not decided (closed) by then.
# Overdue: past the deadline at `as_of`, a returned application (its clock paused) excepted.
_OPEN_ITEMS = """
  SELECT member_id, tenant_id, 'application' AS kind, false AS urgent, status = 'returned'
         AS returned, status <> 'returned' AND deadline_at < :as_of AS overdue
    FROM service_applications
   WHERE created_at < :end AND (decided_at IS NULL OR decided_at >= :end)
  UNION ALL
  SELECT member_id, tenant_id, 'assistance', urgent, false,
         coalesce(step_due_at < :as_of, false)
    FROM assistance_cases
   WHERE created_at < :end AND (closed_at IS NULL OR closed_at >= :end)
"""

# Per (home tenant, group): the group's members in the month (a membership open at any
# moment of it), reached (到达: an application or sign-up filed, or one answered — the
# member's inbox notice of kind service_application is written in the decision's
# transaction — in the month, or offered by a trigger: :offered), participated (参与:
# applied or signed up in the month), their workload and their unfinished items.
_GROUPS = text(f"""
WITH g AS (
  SELECT DISTINCT ON (member_id, group_code) member_id, group_code, tenant_id
    FROM member_groups
   WHERE since < :end AND (until IS NULL OR until >= :start)
   ORDER BY member_id, group_code, since DESC
), a AS (
  SELECT member_id,
         bool_or(created_at >= :start AND created_at < :end AND event_id IS NULL) AS applied,
         bool_or(created_at >= :start AND created_at < :end AND event_id IS NOT NULL
                 AND status <> 'refused') AS signed_up
    FROM service_applications
   WHERE (created_at >= :start AND created_at < :end)
      OR (decided_at >= :start AND decided_at < :end)
   GROUP BY member_id
), w AS (
  SELECT member_id, count(DISTINCT day) AS days, sum(night_hours) AS night,
         sum(heat_hours) AS heat
    FROM work_signals WHERE day >= :first AND day < :after GROUP BY member_id
), o AS (
  SELECT member_id, count(*) AS n, count(*) FILTER (WHERE overdue) AS late
    FROM ({_OPEN_ITEMS}) x GROUP BY member_id
)
SELECT g.tenant_id, g.group_code,
       count(*) AS members,
       count(*) FILTER (WHERE a.member_id IS NOT NULL
                        OR g.member_id = ANY (CAST(:offered AS uuid[]))) AS reached,
       count(*) FILTER (WHERE a.applied OR a.signed_up) AS participated,
       count(*) FILTER (WHERE a.signed_up) AS signed_up,
       count(w.member_id) AS active_members,
       coalesce(sum(w.days), 0) AS active_days,
       coalesce(sum(w.night), 0) AS night_hours,
       coalesce(sum(w.heat), 0) AS heat_hours,
       coalesce(sum(o.n), 0) AS open_items,
       coalesce(sum(o.late), 0) AS overdue_items
  FROM g LEFT JOIN a ON a.member_id = g.member_id
         LEFT JOIN w ON w.member_id = g.member_id
         LEFT JOIN o ON o.member_id = g.member_id
 GROUP BY g.tenant_id, g.group_code
""")

# Workload of every member (in a group or not), by the home at the shift, and by zone.
_WORK = text("""
SELECT tenant_id, count(DISTINCT member_id) AS active_members,
       count(DISTINCT (member_id, day)) AS active_days, coalesce(sum(hours), 0) AS hours,
       coalesce(sum(night_hours), 0) AS night_hours, coalesce(sum(heat_hours), 0) AS heat_hours
  FROM work_signals WHERE day >= :first AND day < :after GROUP BY tenant_id
""")
_ZONES = text("""
SELECT zone_code, count(DISTINCT member_id) AS active_members,
       count(DISTINCT (member_id, day)) AS active_days, coalesce(sum(hours), 0) AS hours,
       coalesce(sum(night_hours), 0) AS night_hours, coalesce(sum(heat_hours), 0) AS heat_hours
  FROM work_signals WHERE day >= :first AND day < :after AND zone_code IS NOT NULL
 GROUP BY zone_code
""")
# Turnover (流动): riders registered and deregistered on a platform in the month.
_TURNOVER = text("""
SELECT tenant_id, count(*) FILTER (WHERE kind = 'worker_registered') AS registered,
       count(*) FILTER (WHERE kind = 'worker_deregistered') AS deregistered
  FROM platform_events
 WHERE kind IN ('worker_registered', 'worker_deregistered')
   AND occurred_at >= :start AND occurred_at < :end
 GROUP BY tenant_id
""")
# Unfinished items by the unit that holds them (the window, the case's tenant).
_UNFINISHED = text(f"""
SELECT tenant_id,
       count(*) FILTER (WHERE kind = 'application') AS applications_open,
       count(*) FILTER (WHERE kind = 'application' AND returned) AS applications_returned,
       count(*) FILTER (WHERE kind = 'application' AND overdue) AS applications_overdue,
       count(*) FILTER (WHERE kind = 'assistance') AS assistance_open,
       count(*) FILTER (WHERE kind = 'assistance' AND urgent) AS assistance_urgent,
       count(*) FILTER (WHERE kind = 'assistance' AND overdue) AS assistance_overdue
  FROM ({_OPEN_ITEMS}) x GROUP BY tenant_id
""")
# Money (经费): the assistance granted in the month, by the unit that granted.
_GRANTS = text("""
SELECT tenant_id, count(*) AS grants, coalesce(sum(amount_fen), 0) AS granted_fen
  FROM assistance_grants WHERE granted_at >= :start AND granted_at < :end GROUP BY tenant_id
""")
# The groups (in the month) of the members named: for the repeated demands.
_GROUPS_OF = text("""
SELECT DISTINCT member_id, group_code FROM member_groups
 WHERE member_id = ANY (CAST(:ids AS uuid[])) AND since < :end
   AND (until IS NULL OR until >= :start)
""")


def _window(start: datetime, end: datetime, first: date, after: date,
            as_of: datetime) -> dict[str, Any]:
    return {"start": start, "end": end, "first": first, "after": after, "as_of": as_of}


async def group_rows(session: AsyncSession, *, start: datetime, end: datetime, first: date,
                     after: date, as_of: datetime,
                     offered: Sequence[uuid.UUID]) -> Sequence[Any]:
    return (await session.execute(_GROUPS, _window(start, end, first, after, as_of)
                                  | {"offered": list(offered)})).all()


async def work_rows(session: AsyncSession, *, first: date, after: date) -> Sequence[Any]:
    return (await session.execute(_WORK, {"first": first, "after": after})).all()


async def zone_rows(session: AsyncSession, *, first: date, after: date) -> Sequence[Any]:
    return (await session.execute(_ZONES, {"first": first, "after": after})).all()


async def turnover_rows(session: AsyncSession, *, start: datetime,
                        end: datetime) -> Sequence[Any]:
    return (await session.execute(_TURNOVER, {"start": start, "end": end})).all()


async def unfinished_rows(session: AsyncSession, *, end: datetime,
                          as_of: datetime) -> Sequence[Any]:
    return (await session.execute(_UNFINISHED, {"end": end, "as_of": as_of})).all()


async def grant_rows(session: AsyncSession, *, start: datetime, end: datetime) -> Sequence[Any]:
    return (await session.execute(_GRANTS, {"start": start, "end": end})).all()


async def groups_of(session: AsyncSession, member_ids: Sequence[uuid.UUID], *, start: datetime,
                    end: datetime) -> dict[uuid.UUID, set[str]]:
    out: dict[uuid.UUID, set[str]] = {}
    if not member_ids:
        return out
    for r in await session.execute(_GROUPS_OF, {"ids": list(member_ids), "start": start,
                                                "end": end}):
        out.setdefault(r.member_id, set()).add(r.group_code)
    return out
