"""分层分类 at scale: the group rules over every member after a day of partners' events, and
one event end to end (issue 17, last paragraph).

    flock /tmp/bench.lock .venv/bin/python bench/services.py [--members 1000000]
                          [--events 300] [--regions 16] [--stations 8] [--shifts 0.4]

The bench starts its own embedded PostgreSQL in a temporary directory (tests/support/
database; FLEXUNION_TEST_DATABASE_URL points it at a server instead), applies one federation
(bench/scale.py's `arrange`), seeds `--members` members with bench/_seed.py (set-based, as the
owner), gives each a rider id of platform `alpha` and a sex and birth month (as membership
derives them from the resident ID), and applies the demo federation's service groups and
catalogue (tenants/demo/*.yaml, as `tenants apply` does). Then:

(a) **the group rules for every member**: once to materialise the groups (the first run:
    the job's service calls in a transaction per chunk, see `materialise`), then, after a day of
    events — yesterday's shifts for `--shifts` of the members (hours, night and heat hours,
    a delivery zone; one member in 20 with a long night), registrations (1 in 200) and
    deregistrations (1 in 500), inserted as the owner into platform_events and work_signals
    set-based — again, through the real job (`service-groups` with no member named: the
    daily drift run, jobs.service.run, one transaction, as the app role under RLS in the
    job's principal; `--evaluate N`: its service calls over the first N members). Members
    per second for each.
(b) **one event end to end**: the real app in one uvicorn worker and the real job worker
    (`flexunion worker`'s Worker, one process), a partner client's token from /oauth/token;
    `--events` times, one after another, a shift with 21 night hours for a member not yet in
    夜间/高温外勤 is POSTed to /v1/partner/services/events (Idempotency-Key), and the clock
    stops when the member's group row is open — the moment GET /v1/me/services/offered
    offers them 送清凉 and 体检预约 (polled in the database every 2 ms as the owner). p50 and
    p95 of that, and of the POST alone. The inbox row a trigger writes (services/triggers)
    is not counted: that part is not on main here; when it is, poll its row instead.

Figures are printed side by side at the end. Recorded runs: docs/services.md
("Benchmark")."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src"), str(ROOT / "bench")]

from _common import server_env, start_server, stop_server  # noqa: E402

DAY_SQL = """
WITH m AS (
  SELECT id, tenant_id, federation_id, abs(hashtext(id::text)) AS h
    FROM members WHERE federation_id = $1 AND status = 'active'
), s AS (
  SELECT m.*, md5('day-ev:' || m.id::text)::uuid AS ev FROM m WHERE m.h % 1000 < $3
), e AS (
  INSERT INTO platform_events (id, federation_id, tenant_id, partner_id, event_id, kind,
                               rider_id, member_id, occurred_at, payload, received_by,
                               received_at)
  SELECT ev, federation_id, tenant_id, $2, 'day-' || id::text, 'shift_worked', 'R' || id::text,
         id, $4::timestamptz, jsonb_build_object('day', $5::date, 'hours', 4 + h % 9,
           'night_hours', CASE WHEN h % 20 = 0 THEN 21 ELSE h % 4 END, 'heat_hours', h % 3,
           'zone_code', 'z-' || (h % 64)),
         'bench:owner', $4::timestamptz
    FROM s RETURNING 1
)
INSERT INTO work_signals (id, federation_id, tenant_id, member_id, partner_id, event_ref, day,
                          hours, night_hours, heat_hours, zone_code)
SELECT md5('day-ws:' || id::text)::uuid, federation_id, tenant_id, id, $2, ev, $5::date,
       CASE WHEN h % 20 = 0 THEN 22 ELSE 4 + h % 9 END,
       CASE WHEN h % 20 = 0 THEN 21 ELSE h % 4 END, h % 3, 'z-' || (h % 64)
  FROM s WHERE (SELECT count(*) FROM e) >= 0
"""
TURNOVER_SQL = """
INSERT INTO platform_events (id, federation_id, tenant_id, partner_id, event_id, kind, rider_id,
                             member_id, occurred_at, payload, received_by, received_at)
SELECT md5('day-t:' || id::text)::uuid, federation_id, tenant_id, $2, 'turn-' || id::text,
       CASE WHEN h % 200 = 1 THEN 'worker_registered' ELSE 'worker_deregistered' END,
       'R' || id::text, id, $3::timestamptz,
       CASE WHEN h % 200 = 1 THEN jsonb_build_object('registered_on', $4::date)
            ELSE jsonb_build_object('reason', 'left') END, 'bench:owner', $3::timestamptz
  FROM (SELECT id, tenant_id, federation_id, abs(hashtext(id::text)) AS h FROM members
         WHERE federation_id = $1) m
 WHERE h % 200 = 1 OR h % 500 = 3
"""


def serve(port: int) -> None:
    from scale import serve as scale_serve

    scale_serve(port)


def work() -> None:
    """The job worker, in this process until SIGTERM."""
    from flexunion.cli.jobs import run_worker
    from flexunion.config import load_settings

    asyncio.run(run_worker(load_settings()))


async def owner_conn(db):  # type: ignore[no-untyped-def]
    import asyncpg

    from flexunion.db.urls import to_asyncpg

    return await asyncpg.connect(to_asyncpg(db.owner_url))


async def riders_and_rules(db, fed) -> tuple[float, uuid.UUID]:  # type: ignore[no-untyped-def]
    """Rider ids, sex and birth month for every member; the demo groups and catalogue."""
    from flexunion.db.engine import bind_scope, make_engine, make_sessionmaker
    from flexunion.db.scope import DbScope
    from flexunion.services.catalogue import files as service_files
    from flexunion.services.groups import files as group_files

    started = time.perf_counter()
    conn = await owner_conn(db)
    try:
        await conn.execute("""
            UPDATE members SET platforms = jsonb_build_array(jsonb_build_object(
                     'partner', 'alpha', 'platform_worker_id', 'R' || id::text)),
                   sex = CASE WHEN abs(hashtext(id::text)) % 5 = 0 THEN 'F' ELSE 'M' END,
                   birth_month = date_trunc('month', date '1962-01-01'
                     + (abs(hashtext(id::text)) % 14000) * interval '1 day')::date
             WHERE federation_id = $1""", fed.hq_id)
        await conn.execute("VACUUM (ANALYZE) members")
        partner = await conn.fetchval("SELECT id FROM platform_partners WHERE code = 'alpha'"
                                      " AND tenant_id = $1", fed.hq_id)
    finally:
        await conn.close()
    engine = make_engine(db.owner_url, pool_size=1, max_overflow=0)
    try:
        async with make_sessionmaker(engine)() as s:
            bind_scope(s, lambda: DbScope(None, "bench:owner"))
            async with s.begin():
                here = ROOT / "tenants" / "demo"
                await group_files.plan(s, group_files.load(here / group_files.FILE_NAME),
                                       fed.hq_id, True, lambda *a: None)
                await service_files.plan(s, service_files.load(here / service_files.FILE_NAME),
                                         fed.hq_id, True, lambda *a: None)
    finally:
        await engine.dispose()
    return time.perf_counter() - started, partner


async def a_day(db, fed, partner: uuid.UUID, shifts: float) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    from flexunion.core.clock import BEIJING

    yesterday = (datetime.now(BEIJING) - timedelta(days=1)).date()
    at = datetime.combine(yesterday, datetime.min.time(), BEIJING) + timedelta(hours=20)
    started = time.perf_counter()
    conn = await owner_conn(db)
    try:
        await conn.execute(DAY_SQL, fed.hq_id, partner, round(shifts * 1000), at, yesterday)
        await conn.execute(TURNOVER_SQL, fed.hq_id, partner, at, yesterday)
        n = await conn.fetchval("SELECT count(*) FROM platform_events")
        for table in ("platform_events", "work_signals"):
            await conn.execute(f"VACUUM (ANALYZE) {table}")
    finally:
        await conn.close()
    return time.perf_counter() - started, int(n)


async def materialise(db, fed, limit: int | None) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    """The first run: every member's groups through the same service calls as the job, but
    one transaction per chunk, with member_groups analysed once it has rows. (The job runs
    everyone in one transaction; on an empty member_groups the planner's statistics say
    empty all along, each chunk's `open_of` scans every row written so far, and the first
    run grows quadratic — measured at 1M: ~2 s a chunk of 500 after 150 chunks. See
    docs/services.md "Benchmark".)"""
    from flexunion.db.engine import bind_scope, make_engine, make_sessionmaker
    from flexunion.db.scope import DbScope
    from flexunion.jobs import service as jobs
    from flexunion.membership import service as membership
    from flexunion.services.groups import service as groups

    engine = make_engine(fed.settings.app_database_url, pool_size=1, max_overflow=0)
    sessions = make_sessionmaker(engine)
    principal = jobs.entrypoint("service-groups").principal
    changed, done, after, analysed = 0, 0, None, False
    wanted = limit or 10**12
    started = time.perf_counter()
    try:
        while done < wanted:
            async with sessions() as s:
                bind_scope(s, lambda: DbScope(fed.hq_id, principal))
                async with s.begin():
                    chunk = await membership.members_in_federation(
                        s, fed.hq_id, after=after, limit=min(groups.CHUNK, wanted - done))
                    if not chunk:
                        break
                    result = await groups.evaluate(s, chunk, now=datetime.now(UTC),
                                                   actor=principal)
            changed += result.joined + result.left
            done += len(chunk)
            after = chunk[-1].id
            if not analysed and done >= 20 * groups.CHUNK:
                conn = await owner_conn(db)
                try:
                    await conn.execute("ANALYZE member_groups")
                finally:
                    await conn.close()
                analysed = True
        conn = await owner_conn(db)
        try:
            await conn.execute("VACUUM (ANALYZE) member_groups")
        finally:
            await conn.close()
        return time.perf_counter() - started, changed
    finally:
        await engine.dispose()


async def evaluate_everyone(fed, limit: int | None) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    """The daily drift run through the real job (jobs.service.run): seconds, rows changed.
    With `limit`, the same service calls the job makes (groups.service.evaluate over chunks
    of members by id, in the job's principal and one transaction) for the first `limit`
    members only: the rate at full size without waiting for every member."""
    import msgspec

    from flexunion.core.clock import Clock
    from flexunion.db.engine import bind_scope, make_engine, make_sessionmaker
    from flexunion.db.scope import DbScope
    from flexunion.jobs import service as jobs
    from flexunion.membership import service as membership
    from flexunion.services.groups import service as groups

    engine = make_engine(fed.settings.app_database_url, pool_size=1, max_overflow=0)
    sessions = make_sessionmaker(engine)
    try:
        started = time.perf_counter()
        if limit is None:
            changed = await jobs.run("service-groups",
                                     msgspec.json.encode(jobs.Body(fed.hq_id, {})),
                                     sessions=sessions, settings=fed.settings, clock=Clock())
            return time.perf_counter() - started, int(changed or 0)
        changed, done, after = 0, 0, None
        principal = jobs.entrypoint("service-groups").principal
        async with sessions() as s:
            bind_scope(s, lambda: DbScope(fed.hq_id, principal))
            async with s.begin():
                now = datetime.now(UTC)
                while done < limit:
                    chunk = await membership.members_in_federation(
                        s, fed.hq_id, after=after, limit=min(groups.CHUNK, limit - done))
                    if not chunk:
                        break
                    result = await groups.evaluate(s, chunk, now=now, actor=principal)
                    changed += result.joined + result.left
                    done += len(chunk)
                    after = chunk[-1].id
        return time.perf_counter() - started, changed
    finally:
        await engine.dispose()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def end_to_end(db, fed, base: str, events: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    import httpx

    from flexunion.auth.partners.service import create_partner_client
    from flexunion.db.engine import bind_scope, make_engine, make_sessionmaker
    from flexunion.db.scope import DbScope

    engine = make_engine(db.owner_url, pool_size=1, max_overflow=0)
    try:
        async with make_sessionmaker(engine)() as s:
            bind_scope(s, lambda: DbScope(None, "bench:owner"))
            async with s.begin():
                client_id, secret = await create_partner_client(
                    s, tenant_code=fed.hq, partner_code="alpha", name="bench 接口")
    finally:
        await engine.dispose()
    conn = await owner_conn(db)
    try:
        picks = [r[0] for r in await conn.fetch(
            "SELECT m.id FROM members m WHERE m.federation_id = $1 AND m.status = 'active'"
            " AND NOT EXISTS (SELECT 1 FROM member_groups g WHERE g.member_id = m.id"
            " AND g.group_code = 'night-heat-outdoor' AND g.until IS NULL)"
            " ORDER BY md5(m.id::text) LIMIT $2", fed.hq_id, events + 10)]
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            r = await http.post("/oauth/token", data={"grant_type": "client_credentials"},
                                auth=(client_id, secret))
            r.raise_for_status()
            auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
            posts, ends = [], []
            today = datetime.now(UTC)
            for i, member in enumerate(picks):
                body = {"events": [{
                    "kind": "shift_worked", "event_id": f"e2e-{member}",
                    "rider_id": f"R{member}", "occurred_at": today.isoformat(),
                    "day": today.date().isoformat(), "hours": 22, "night_hours": 21,
                    "heat_hours": 0, "zone_code": "z-1"}]}
                started = time.perf_counter()
                r = await http.post("/v1/partner/services/events", json=body,
                                    headers=auth | {"Idempotency-Key": secrets.token_hex(8)})
                posted = time.perf_counter()
                if r.status_code != 201:
                    raise RuntimeError(f"event: {r.status_code} {r.text[:300]}")
                while not await conn.fetchval(
                        "SELECT EXISTS (SELECT 1 FROM member_groups WHERE member_id = $1 AND"
                        " group_code = 'night-heat-outdoor' AND until IS NULL)", member):
                    if time.perf_counter() - started > 60:
                        raise RuntimeError(f"no group for {member} after 60 s")
                    await asyncio.sleep(0.002)
                if i >= 10:  # the first ten warm up
                    posts.append((posted - started) * 1000)
                    ends.append((time.perf_counter() - started) * 1000)
    finally:
        await conn.close()
    return {"post_p50": statistics.median(posts), "post_p95": pct(posts, 0.95),
            "e2e_p50": statistics.median(ends), "e2e_p95": pct(ends, 0.95), "n": len(ends)}


async def review_reads(fed, base: str, n: int = 5) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """GET /v1/admin/services/review (the month's review) as HQ and as the biggest region's
    admin: median and max of `n` sequential reads, after one warm-up, in ms."""
    import httpx
    from scale import tokens

    tok = await tokens(fed, [])
    out: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=base, timeout=300) as http:
        for who in ("hq", "regional"):
            times = []
            for i in range(n + 1):
                started = time.perf_counter()
                r = await http.get("/v1/admin/services/review",
                                   headers={"Authorization": f"Bearer {tok[who]}"})
                if r.status_code != 200:
                    raise RuntimeError(f"review: {r.status_code} {r.text[:300]}")
                if i:
                    times.append((time.perf_counter() - started) * 1000)
            out[f"{who}_p50"], out[f"{who}_max"] = statistics.median(times), max(times)
    return out


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
        return
    if len(sys.argv) == 2 and sys.argv[1] == "--work":
        work()
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--regions", type=int, default=16)
    parser.add_argument("--stations", type=int, default=8)
    parser.add_argument("--evaluate", type=int, default=None,
                        help="(a) over the first N members only (default: every member, "
                             "through the job)")
    parser.add_argument("--shifts", type=float, default=0.4,
                        help="share of the active members with a shift in the day")
    args = parser.parse_args()

    import subprocess

    from scale import arrange, grow

    from tests.support import database

    tmp = Path(tempfile.mkdtemp(prefix="flexunion-services-"))
    db = server = worker = None
    out: dict[str, str] = {}
    load_start = os.getloadavg()[0]
    try:
        db = database.create(tmp)
        fed = asyncio.run(arrange(db, tmp, args.regions, args.stations))
        spent = asyncio.run(grow(db, fed, 0, args.members, args.members))
        out["seeding members (owner, set-based)"] = f"{spent:.1f} s"
        spent, partner = asyncio.run(riders_and_rules(db, fed))
        out["rider ids, sex, birth month; rules"] = f"{spent:.1f} s"
        print("seeded", file=sys.stderr)
        limit = args.evaluate if args.evaluate and args.evaluate < args.members else None
        n = limit or args.members
        over = f"over {n:,} of {args.members:,} members, " if limit else ""
        spent, changed = asyncio.run(materialise(db, fed, limit))
        out["(a) group rules, first run (a transaction per chunk)"] = (
            f"{n / spent:,.0f} members/s ({over}{spent:.1f} s, {changed:,} rows)")
        print("first run done", file=sys.stderr)
        spent, events = asyncio.run(a_day(db, fed, partner, args.shifts))
        out["a day of events (owner, set-based)"] = f"{events:,} events in {spent:.1f} s"
        spent, changed = asyncio.run(evaluate_everyone(fed, limit))
        out["(a) group rules after the day"] = (
            f"{n / spent:,.0f} members/s ({over}{spent:.1f} s, {changed:,} changes)")
        print("second run done", file=sys.stderr)
        env = server_env(db, tmp)
        log = tmp / "server.log"
        with log.open("wb") as sink:
            server, port = start_server(__file__, env, stderr=sink, timeout=120)
        with (tmp / "worker.log").open("wb") as sink:
            worker = subprocess.Popen([sys.executable, __file__, "--work"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=sink,
                                      start_new_session=True)
        time.sleep(3)
        e2e = asyncio.run(end_to_end(db, fed, f"http://127.0.0.1:{port}", args.events))
        out["(b) POST /v1/partner/services/events"] = (
            f"p50 {e2e['post_p50']:.1f} / p95 {e2e['post_p95']:.1f} ms")
        out["(b) event in → offer (group row open)"] = (
            f"p50 {e2e['e2e_p50']:.1f} / p95 {e2e['e2e_p95']:.1f} ms ({e2e['n']:.0f} events)")
        rv = asyncio.run(review_reads(fed, f"http://127.0.0.1:{port}"))
        out["(c) GET /v1/admin/services/review, HQ"] = (
            f"p50 {rv['hq_p50']:.0f} / max {rv['hq_max']:.0f} ms")
        out["(c) the same, regional admin"] = (
            f"p50 {rv['regional_p50']:.0f} / max {rv['regional_max']:.0f} ms")
    finally:
        stop_server(worker)
        stop_server(server)
        if db is not None:
            db.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    width = max(len(k) for k in out)
    print(f"flexunion services bench — {args.members:,} members, {os.cpu_count()} CPUs, load "
          f"average {load_start:.2f} at the start, {os.getloadavg()[0]:.2f} now")
    for k, v in out.items():
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
