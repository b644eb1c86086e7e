"""The demand ledger (诉求台账, issue 14 "Benchmark") at 1M cases: RLS against the owner, side by
side in one run, and the SLA sweep's throughput.

    flock /tmp/bench.lock .venv/bin/python bench/cases.py [--cases 1000000] [--requests 100]

One embedded PostgreSQL (tests/support/database.create()), one federation (bench/scale.py
arrange: an HQ, 16 regions × 8 stations), then `--cases` cases seeded set-based as the owner
(INSERT … SELECT generate_series, chunks of 100k, then VACUUM ANALYZE), spread evenly over
the 128 stations and the last 180 days:

- statuses by case number g: g % 10 in 0–3 open (received, assigned, accepted, returned),
  4–5 answered, 6 followed_up, 7–9 closed;
- case_events: intake, assign (+1 h), accept (+2 h) for every case past `received`, answer
  (+3 days) for the answered / followed-up / closed ones;
- case_clocks: a first_response clock per case (stopped: met, or breached when g % 20 = 1)
  and a resolution clock (open for the open cases: past its deadline when g % 10 = 0, else
  due within the next 300 hours; stopped and met for the others). So ~10 % of all clocks
  breached (5 % stopped late, 5 % open and overdue) and 40 % of the cases have an open clock.
- case_assignments (since 2026-12-07): one lead per case past `received`, its unit the case's
  station: open for the assigned and accepted cases, ended for the others.
  No ratings are seeded (the figures' satisfaction arm reads an empty index).

Measured, `--requests` sequential calls each after 5 warm-ups, the RLS and the owner's call
taking turns (since 2026-12-07 afternoon: before, all RLS calls and then all the owner's, so
a change of load between the two rows moved the ratio), p50 / p95 in ms:
(a) the overdue list's first page (20) as the first region's admin: clocks.service.overdue in
an app-role session with the admin's DbScope (RLS), against the same query as the owner with
the region's subtree as an explicit `tenant_id IN (…)` (no RLS); (b) the figures report
(figures.service.report, the quarter of now) as that admin under RLS, against
figures.repository.unit_rows as the owner with the same scope setting (RLS bypassed by the
owner's policy). Ratio = owner p50 / RLS p50 (goal ≥ 0.5); list p95 goal ≤ 50 ms.
(c) the SLA sweep as `system:jobs:sla-sweep` with the HQ's scope: clocks.service.breaches
over every overdue open clock, and due_reminders (240 working minutes) over the open clocks
of its candidate window, once each; open clocks per second = open clocks / both times.

Recorded 2026-12-04 (2 vCPUs; embedded PostgreSQL from pgserver; 16 regions × 8 stations;
the first region's subtree holds 1/16 of the cases), p50 / p95 ms:

    cases (open clocks)                       100,000 (40,000)     1,000,000 (400,000)
    load average start → end                  0.26 → 0.85          0.66 → 1.01
    overdue list p1, regional (RLS)          411.7 / 658.6       3,931.1 / 4,535.9 (11 calls)
    overdue list p1, owner (no RLS)            3.4 /   4.3           3.5 /     4.6
      ratio owner / RLS (p50)                 0.01                 0.00     — MISSED
    figures, quarter, regional (RLS)          42.5 /  58.3         435.0 /   617.7
    figures, quarter, owner (no RLS)          27.9 /  31.4         222.0 /   281.7
      ratio owner / RLS (p50)                 0.66                 0.51     — met
    sweep: breaches (all overdue)       10,000 in 0.52 s     100,000 in 4.20 s (23,786/s)
    sweep: due_reminders (kept)          6,012 in 3.46 s      60,012 in 18.68 s
    open clocks / (breaches + reminders)     10,055/s             17,482/s
    seeding (owner, set-based, + VACUUM)     14.6 s               172.0 s

Goals: the overdue list's p95 ≤ 50 ms and ratio ≥ 0.5 are MISSED at both sizes, by a cost
linear in the federation's cases. EXPLAIN (ANALYZE, BUFFERS) of the list under RLS (printed
at the end of a run): the same index scan as the owner's (ix_case_clocks_open_deadline, 20
rows, 307 other regions' clocks filtered), but case_clocks' read policy (migration 0017:
`STAFF_OWN OR SYSTEM OR CASE_VISIBLE`) plans its CASE_VISIBLE arm, `EXISTS (SELECT 1 FROM
cases c WHERE c.id = case_id)`, as a hashed SubPlan: built the first time a row fails the
first arm (any other region's clock), as a Seq Scan of every case evaluating cases' own
seven-arm policy — 1M rows, 937,496 removed, 4,373 ms of the 4,420 ms (at 100k: 384 of
388 ms). The owner's plan of the same page: 3.1 ms.

After migration 0021 (the same sight, arm by arm: case_units()/case_partners() arrays and
indexed IN lookups for the worker, the hotline platform and the pick-up code), same box,
2026-12-04 21:33–21:43, load ~1.0–1.2:

    overdue list p1, regional (RLS)           19.7 /  25.6 (again: 18.3 / 25.8)   148.6 / 217.0
    overdue list p1, owner (no RLS)            2.2 /   3.1                          2.3 /   3.0
      ratio owner / RLS (p50)                 0.11 — MISSED                        0.02 — MISSED
    figures, quarter: ratio owner / RLS       0.49                                 0.49
    sweep: open clocks / s                    11,647/s                             14,575/s

The list's p95 goal is met at 100k (25.6 ms) but not at 1M (217 ms), and the ratio is missed
at both: the three `IN (SELECT … FROM cases …)` arms are planned through the cases policy's
OR arms and still read a share of `cases` that grows with the federation. An owner-owned
function returning those case ids was tried and was slower (237 / 372 ms at 100k).
The figures ratio is 0.49–0.53 across runs: at the goal's edge; their p95 (617.7 ms at 1M,
one region, a quarter ≈ 22,600 cases) has no goal. The sweep's due_reminders is Python-bound
(a working_time per candidate on its pinned calendar).

2026-12-07, after migration 0022 (an index for the hotline arm: it was a sequential scan of
every case for every reader) and the figures' scope as an InitPlan (it was a call of
flexunion_tenant_scope() per row once the planner chose a BitmapOr), 1M cases, load 1.24 at
start → 3.66 at the end (other work on the box), p50 / p95 ms:

    overdue list p1, regional (RLS)      5.9 /  17.1     owner  1.8 /   4.2   ratio 0.31 — MISSED
    figures, quarter, regional (RLS)   362.2 / 819.6     owner 203.6 / 324.7  ratio 0.56 — met
    sweep: 100,000 breaches in 6.70 s; due_reminders kept 10,002 in 31.70 s; 10,418 open clocks/s

The list's p95 goal (≤ 50 ms) is met at 1M (17.1 ms), and its cost no longer grows with the
federation (the plan reads the same ~327 index rows at 100k and 1M). The ratio misses because
the owner's page is now 1.8 ms and RLS adds a constant: EXPLAIN ANALYZE shows 2.3 ms in the
database against 1.0 ms, most of it seven InitPlans (flexunion_tenant_scope, case_units,
case_partners, case_sight — SECURITY DEFINER functions of ~0.1–0.4 ms each — and the worker,
partner and pick-up values) plus the policy's larger plan. An earlier run the same day, under
load 6–7, had 15.7 / 35.6 against 13.8 / 32.5 (ratio 0.88): the ratio swings with load.

Not measured by this bench, found the same day: it seeds no case_assignments. With 2,504 open
lead assignments in the first region (every open case of it assigned, 100k cases), the RLS
page went from 1.5 to 4.5 ms in the database (pgbench, 3 × 300 transactions each, load ~4):
flexunion_case_units() builds the array of every open assignment to the caller's units on
every query, although a regional admin needs only those of cases outside its own subtree.
At 1M that array would hold ~25,000 ids. Rewriting the arm as `IN (SELECT unnest(…))`
(a hashed subplan instead of a linear ANY) did not help: the cost is building the array.
Migration 0034 makes the function list only cases outside the caller's subtree (1.6–2.2 ms
against 4.4–5.4 with those assignments), and this bench now seeds a lead assignment per case.

Re-run with the assignments seeded, 1M cases, 2026-12-07 02:38, load 1.80 at start → 6.03 at
the end (helpers' tests shared the box), p50 / p95 ms:

    overdue list p1, regional (RLS)      8.6 /    16.1   owner   3.9 /   7.4   ratio 0.46 — MISSED
    figures, quarter, regional (RLS)   844.4 / 1,288.4   owner 321.4 / 562.1   ratio 0.38 — MISSED
    sweep: 100,000 breaches in 6.08 s; due_reminders kept 10,002 in 43.79 s; 8,021 open clocks/s

The list's p95 goal holds (16.1 ms ≤ 50). With real assignments the figures' lateral read of
each case's answered lead assignment goes through case_assignments' own policy under RLS
(its EXISTS on cases per row), which the owner skips: that is the figures' new gap, not
measured apart yet.

Migration 0046 (the scope functions in PL/pgSQL, principal tests folded into the InitPlans,
an assignments arm on `case_tenant_id`), 2026-12-07 14:24–14:31, the RLS and owner calls
taking turns, measure() of this file on one database seeded by seed() above (1M cases) on the
system PostgreSQL 15 (jit off, as the embedded server has no JIT), 0037 and 0046 alternated
three times (the sweep not run), load 6.7 → 1.9; p50 / p95 ms, median of the three runs:

                                       0037 (before)                 0046 (after)
    overdue list p1, regional (RLS)      4.3 /   7.5                   1.2 /   1.4
    overdue list p1, owner (no RLS)      2.5 /   3.9                   1.2 /   1.4
      ratio owner / RLS (p50)           0.48 (0.48, 0.62, 0.45)       1.02 (1.12, 1.02, 0.92)
    figures, quarter, regional (RLS)   443.3 / 612.3                 262.2 / 436.9
    figures, quarter, owner (no RLS)   247.7 / 339.0                 233.8 / 405.1
      ratio owner / RLS (p50)           0.56 (0.59, 0.56, 0.54)       0.89 (0.90, 0.89, 0.89)

In the database (pgbench -M prepared, one client, the RLS and the owner's transaction drawn
at random from one run, 3 runs each, load 4–5, medians): the list 1.67 ms (RLS) against 0.23
(owner) before, 0.37 against 0.18 after; the figures 583.6 against 431.7 before, 303.8 against
294.1 after; EXPLAIN ANALYZE of the RLS page, warm: the InitPlans
flexunion_tenant_scope 0.14 → 0.06 ms, flexunion_case_units 0.35 → 0.06, case_partners
0.07 → not run, case_sight 0.22 → 0.05, execution 1.39 → 0.38 ms (the owner's 0.08). The
figures: the cases' BitmapOr read the region's 23,584 cases three times (the staff, sweep
and follow-transfer arms) and every pick-up hash, now once; the lateral assignment read no
longer runs its EXISTS on cases (14,148 loops, ~100 ms) for a staff caller.
This bench as it stands (embedded PostgreSQL, seeding its own 1M cases), once each, the same
afternoon: before (a copy without 0046, 14:47, load 4.46 → 1.33) list 2.4 / 2.5 against
1.0 / 1.1, ratio 0.42; figures 394.5 / 432.0 against 208.0 / 238.9, ratio 0.53; sweep 100,000
breaches in 3.06 s, 22,288 open clocks/s. After (14:43, load 4.26 → 4.46) list 1.3 / 6.6
against 1.1 / 4.8, ratio 0.87; figures 274.1 / 386.3 against 265.3 / 465.1, ratio 0.97; sweep
100,000 breaches in 3.88 s, 18,817 open clocks/s (the sweep's query itself, EXPLAIN ANALYZE
alternated on the seeded database: 346–420 ms before, 290–306 ms after).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src"), str(ROOT / "bench")]

from scale import arrange, pct  # noqa: E402  (bench/ on the path first)

CHUNK = 100_000
PAGE = 20

_CASES_SQL = """
INSERT INTO cases (id, federation_id, tenant_id, case_no, is_member, contact, category,
                   description, tags, tier, channel, place, status, route, route_details,
                   created_by, created_at, updated_at, answered_at, closed_at, closings)
SELECT md5('seed-c:' || g)::uuid, $1::uuid,
       ($2::uuid[])[1 + g % array_length($2::uuid[], 1)], 'B' || lpad(g::text, 8, '0'), false,
       '{}'::jsonb, 'wage', 'bench 欠薪', '{}', 'general', 'app', '{}'::jsonb,
       (ARRAY['received', 'assigned', 'accepted', 'returned', 'answered', 'answered',
              'followed_up', 'closed', 'closed', 'closed'])[1 + g % 10],
       CASE WHEN g % 10 >= 4 THEN 'instant' END, '{}'::jsonb, 'bench',
       t.at, t.at, CASE WHEN g % 10 >= 4 THEN t.at + interval '3 days' END,
       CASE WHEN g % 10 >= 7 THEN t.at + interval '5 days' END,
       CASE WHEN g % 10 >= 7 THEN 1 ELSE 0 END
  FROM generate_series($3::bigint, $4::bigint - 1) AS g
 CROSS JOIN LATERAL (SELECT now() - interval '180 days' * (1 - g::float8 / $5) AS at) t
"""

_EVENTS_SQL = """
INSERT INTO case_events (id, federation_id, tenant_id, case_id, kind, at, actor, details)
SELECT md5('seed-e:' || g || ':' || e.kind)::uuid, $1::uuid, c.tenant_id, c.id, e.kind,
       c.created_at + e.after, 'bench', '{}'::jsonb
  FROM generate_series($2::bigint, $3::bigint - 1) AS g
  JOIN cases c ON c.id = md5('seed-c:' || g)::uuid
 CROSS JOIN (VALUES ('intake', interval '0', 0), ('assign', interval '1 hour', 1),
                    ('accept', interval '2 hours', 1), ('answer', interval '3 days', 4)) AS
       e(kind, after, from_status)
 WHERE g % 10 >= e.from_status
"""

# One lead assignment per case past `received`, its unit the case's own station: open for the
# assigned and accepted cases (g % 10 in 1–2), returned for g % 10 = 3, answered (+3 days) for
# the rest. case_tenant_id is stamped by its trigger (migration 0034).
_ASSIGN_SQL = """
INSERT INTO case_assignments (id, federation_id, tenant_id, case_id, role, seq, unit_tenant_id,
                              evidence_required, status, assigned_by, assigned_at,
                              accepted_at, ended_at, end_reason)
SELECT md5('seed-a:' || g)::uuid, $1::uuid, c.tenant_id, c.id, 'lead', 1, c.tenant_id, '{}',
       CASE WHEN g % 10 = 1 THEN 'assigned' WHEN g % 10 = 2 THEN 'accepted'
            WHEN g % 10 = 3 THEN 'returned' ELSE 'answered' END,
       'bench', c.created_at + interval '1 hour',
       CASE WHEN g % 10 >= 2 AND g % 10 <> 3 THEN c.created_at + interval '2 hours' END,
       CASE WHEN g % 10 = 3 THEN c.created_at + interval '2 hours'
            WHEN g % 10 >= 4 THEN c.created_at + interval '3 days' END,
       CASE WHEN g % 10 = 3 THEN 'bench: returned' END
  FROM generate_series($2::bigint, $3::bigint - 1) AS g
  JOIN cases c ON c.id = md5('seed-c:' || g)::uuid
 WHERE g % 10 >= 1
"""

_CLOCKS_SQL = """
INSERT INTO case_clocks (id, federation_id, tenant_id, case_id, metric, target_days,
                         target_minutes, policy_version, calendar_version,
                         calendar_tenant_id, started_at, state, deadline, elapsed_minutes,
                         remaining_minutes, budget_minutes, uncovered_years, ended_at,
                         derived_at)
SELECT md5('seed-k:' || g || ':' || k.metric)::uuid, $1::uuid, c.tenant_id, c.id, k.metric,
       k.days, k.minutes, $4::int, 0, c.tenant_id, c.created_at, k.state, k.deadline,
       60, 0, 480, '{}', k.ended, now()
  FROM generate_series($2::bigint, $3::bigint - 1) AS g
  JOIN cases c ON c.id = md5('seed-c:' || g)::uuid
 CROSS JOIN LATERAL (VALUES
   ('first_response', NULL::int, 480,
    CASE WHEN g % 20 = 1 THEN 'breached' ELSE 'met' END,
    c.created_at + interval '1 day', c.created_at + interval '1 hour'),
   ('resolution', 15, NULL::int,
    CASE WHEN g % 10 >= 4 THEN 'met' ELSE 'running' END,
    CASE WHEN g % 10 >= 4 THEN c.created_at + interval '21 days'
         WHEN g % 10 = 0 THEN now() - interval '1 hour' * (1 + g % 500)
         ELSE now() + interval '1 hour' * (1 + g % 300) END,
    CASE WHEN g % 10 >= 4 THEN c.created_at + interval '3 days' END)
 ) AS k(metric, days, minutes, state, deadline, ended)
"""


async def seed(db, fed, n: int) -> float:
    import asyncpg

    from flexunion.cases.clocks import rules
    from flexunion.db.urls import to_asyncpg

    started = time.perf_counter()
    stations = [fed.ids[s][0] for s in fed.stations]
    conn = await asyncpg.connect(to_asyncpg(db.owner_url))
    try:
        for lo in range(0, n, CHUNK):
            hi = min(n, lo + CHUNK)
            async with conn.transaction():
                await conn.execute(_CASES_SQL, fed.hq_id, stations, lo, hi, float(n))
                await conn.execute(_EVENTS_SQL, fed.hq_id, lo, hi)
                await conn.execute(_ASSIGN_SQL, fed.hq_id, lo, hi)
                await conn.execute(_CLOCKS_SQL, fed.hq_id, lo, hi, rules.POLICY_VERSION)
        for table in ("cases", "case_events", "case_assignments", "case_clocks"):
            await conn.execute(f"VACUUM (ANALYZE) {table}")
    finally:
        await conn.close()
    return time.perf_counter() - started


BUDGET = 120.0  # seconds per pair of rows: it stops after 10 calls each past the budget


async def timed(calls, n: int, warm: int = 5) -> list[dict[str, float]]:
    """Each of `calls` in turn, call by call (RLS, owner, RLS, …): both rows of a ratio see the
    same load on a shared box, which drifts over the seconds one row takes."""
    ms: list[list[float]] = [[] for _ in calls]
    began = time.perf_counter()
    for i in range(warm + n):
        for call, row in zip(calls, ms, strict=True):
            started = time.perf_counter()
            await call()
            if i >= warm:
                row.append((time.perf_counter() - started) * 1000)
        if len(ms[0]) >= 10 and time.perf_counter() - began > BUDGET:
            break
    return [{"p50": statistics.median(r), "p95": pct(r, 0.95), "n": len(r)} for r in ms]


async def measure(db, fed, requests: int) -> dict[str, object]:
    from sqlalchemy import select

    from flexunion.cases.clocks import service as clocks
    from flexunion.cases.clocks.models import CaseClock
    from flexunion.cases.figures import repository as figures_repo
    from flexunion.cases.figures import service as figures
    from flexunion.cases.figures.periods import Period
    from flexunion.core.context import Caller, Role
    from flexunion.db.engine import bind_scope, make_engine, make_sessionmaker
    from flexunion.db.scope import DbScope

    region = fed.regions[0]
    region_id = fed.ids[region][0]
    subtree = [region_id] + [fed.ids[s][0] for s in fed.stations
                             if fed.ids[s][2] == region]
    caller = Caller(role=Role.REGIONAL_ADMIN, subject="bench-regional-admin",
                    tenant_id=region_id, tenant_code=region, audience="flexunion-console")
    now = datetime.now(UTC)
    period = Period.quarter_of(now)
    app_engine = make_engine(fed.settings.app_database_url, pool_size=1, max_overflow=0)
    owner_engine = make_engine(db.owner_url, pool_size=1, max_overflow=0)
    app, owner = make_sessionmaker(app_engine), make_sessionmaker(owner_engine)
    out: dict[str, object] = {}

    def session(maker, scope: DbScope):  # type: ignore[no-untyped-def]
        s = maker()
        bind_scope(s, lambda: scope)
        return s

    rls_scope = caller.db_scope("bench")
    owner_scope = DbScope(region_id, "bench:owner")
    sweep_scope = DbScope(fed.hq_id, "system:jobs:sla-sweep")
    pages: dict[str, int] = {}

    async def list_rls() -> None:
        async with session(app, rls_scope) as s, s.begin():
            pages["rls"] = len(await clocks.overdue(s, now, after=None, limit=PAGE))

    async def list_owner() -> None:
        async with session(owner, owner_scope) as s, s.begin():
            pages["owner"] = len((await s.scalars(
                select(CaseClock).where(CaseClock.ended_at.is_(None), CaseClock.deadline < now,
                                        CaseClock.tenant_id.in_(subtree))
                .order_by(CaseClock.deadline, CaseClock.id).limit(PAGE))).all())

    async def figures_rls() -> None:
        async with session(app, rls_scope) as s, s.begin():
            pages["fig_rls"] = sum(u.received for u in (
                await figures.report(s, caller, period, now=now)).units)

    async def figures_owner() -> None:
        async with session(owner, owner_scope) as s, s.begin():
            pages["fig_owner"] = sum(int(r.received) for r in await figures_repo.unit_rows(
                s, start=period.start, end=period.end, now=now))

    try:
        (out["overdue list p1, regional (RLS)"],
         out["overdue list p1, owner (no RLS)"]) = await timed((list_rls, list_owner), requests)
        (out["figures, quarter, regional (RLS)"],
         out["figures, quarter, owner (no RLS)"]) = await timed((figures_rls, figures_owner),
                                                               requests)
        if pages["rls"] != pages["owner"] or pages["fig_rls"] != pages["fig_owner"]:
            raise RuntimeError(f"RLS and owner disagree: {pages}")
        out["rows"] = dict(pages)
        async with owner_engine.connect() as c:
            from sqlalchemy import text
            out["open clocks"] = int((await c.execute(text(
                "SELECT count(*) FROM case_clocks WHERE ended_at IS NULL"))).scalar_one())
            out["explain list (RLS off)"] = "\n".join(r[0] for r in await c.execute(text(
                "EXPLAIN ANALYZE SELECT * FROM case_clocks WHERE ended_at IS NULL"
                " AND deadline < now() AND tenant_id = ANY (:t) ORDER BY deadline, id"
                " LIMIT 20"), {"t": subtree}))
        async with session(app, rls_scope) as s, s.begin():
            out["explain list (RLS)"] = "\n".join(r[0] for r in await s.execute(text(
                "EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM case_clocks WHERE ended_at IS NULL"
                " AND deadline < now() ORDER BY deadline, id LIMIT 20")))
        async with session(app, sweep_scope) as s, s.begin():
            started = time.perf_counter()
            found = await clocks.breaches(s, now, limit=10_000_000)
            t_breach = time.perf_counter() - started
        async with session(app, sweep_scope) as s, s.begin():
            started = time.perf_counter()
            due = await clocks.due_reminders(s, now, timedelta(minutes=240), limit=10_000_000)
            t_due = time.perf_counter() - started
        out["sweep"] = {"breaches": len(found), "t_breach": t_breach, "due": len(due),
                        "t_due": t_due}
    finally:
        await app_engine.dispose()
        await owner_engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--regions", type=int, default=16)
    parser.add_argument("--stations", type=int, default=8)
    args = parser.parse_args()

    from tests.support import database

    tmp = Path(tempfile.mkdtemp(prefix="flexunion-cases-"))
    db = None
    load_start = os.getloadavg()[0]
    try:
        db = database.create(tmp)
        fed = asyncio.run(arrange(db, tmp, args.regions, args.stations))
        spent = asyncio.run(seed(db, fed, args.cases))
        print(f"seeded {args.cases:,} cases in {spent:.1f} s", file=sys.stderr)
        out = asyncio.run(measure(db, fed, args.requests))
    finally:
        if db is not None:
            db.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"flexunion cases bench — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} "
          f"CPUs, load average {load_start:.2f} at start, {os.getloadavg()[0]:.2f} now; "
          f"{args.cases:,} cases, {out['open clocks']:,} open clocks; "
          f"{args.requests} sequential calls per row, p50 / p95 ms")
    for name, value in out.items():
        if isinstance(value, dict) and "p50" in value:
            calls = "" if value["n"] == args.requests else f"  ({value['n']:.0f} calls)"
            print(f"  {name:<36} {value['p50']:7.1f} / {value['p95']:7.1f}{calls}")
    for what in ("overdue list p1", "figures, quarter"):
        rls = out[f"{what}, regional (RLS)"]["p50"]  # type: ignore[index]
        own = out[f"{what}, owner (no RLS)"]["p50"]  # type: ignore[index]
        print(f"  {what}: ratio owner / RLS (p50) {own / rls:.2f} (goal ≥ 0.5)")
    print(f"  rows: {out['rows']}")
    sw = out["sweep"]
    assert isinstance(sw, dict)
    print(f"  sweep: breaches {sw['breaches']:,} clocks in {sw['t_breach']:.2f} s "
          f"({sw['breaches'] / sw['t_breach']:,.0f}/s); due_reminders kept {sw['due']:,} in "
          f"{sw['t_due']:.2f} s; open clocks / (both) "
          f"{int(out['open clocks']) / (sw['t_breach'] + sw['t_due']):,.0f}/s")  # type: ignore[call-overload]
    print(out["explain list (RLS off)"])
    print(out["explain list (RLS)"])


if __name__ == "__main__":
    main()
