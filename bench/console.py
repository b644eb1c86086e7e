"""Page budgets of the console (工作台, issue 13): each main page's time, p50 / p95, on the
demo federation and in a federation of 1M members.

    flock /tmp/bench.lock .venv/bin/python bench/console.py [--sizes 200,1000000]
                                  [--requests 100]

One embedded PostgreSQL (tests/support/database.create()) holds two federations: the demo
one from tenants/demo (its areas and stations), and the scale bench's federation (16
regions × 8 stations; bench/scale.py arrange + bench/_seed.py), grown through `--sizes`.
At each size the real app runs in one uvicorn worker (bench/scale.py serve: uvloop,
httptools, no access log), an HQ admin and a regional admin of each federation sign in
through the sign-in form (real sessions, real cookies), and every menu's page
(console/menus.py), the member search and a member's detail are fetched `--requests` times
one after another on one keep-alive connection after a warm-up. The figure is the time the
client waits on loopback: the server's time plus well under a millisecond.

Goals: p95 ≤ 100 ms on the demo data, ≤ 150 ms at 1M members.

Measured 2026-12-04 (2 CPUs shared with four other test runs: load average 3.5 at the start,
5.2 at the end, so these are pessimistic), p50 / p95 ms:
- demo, HQ and region: every page ≤ 26.5 p95 (slowest: HQ areas 16.2 / 26.5).
- 1M members, every page ≤ 91.3 p95 (slowest: region areas 29.5 / 91.3, region organisation
  29.5 / 85.1, HQ dashboard 35.0 / 72.0); members list HQ 21.9 / 48.9, region 31.1 / 41.8.
- name search `q=张*` at 1M: HQ 59.0 / 81.2, region 16.2 / 30.6 — before migration 0012's
  index (2026-12-03, idle box) it was 4,438 / 4,865 and 1,054 / 1,195.
On an idle box (2026-12-03, load ~1.0) the 1M pages were ≤ 66.0 p95.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src"), str(ROOT / "bench")]

from _common import SECRET, server_env, start_server, stop_server  # noqa: E402
from scale import arrange, grow, pct, serve  # noqa: E402

CSRF = re.compile(r'name="_csrf" value="([^"]+)"')
MEMBER_LINK = re.compile(r'href="/console/members/([0-9a-f-]{36})"')


async def accounts(db, codes: dict[str, tuple[str, str]]) -> None:
    """Staff accounts (username → (tenant code, role)), made as the operator makes them."""
    from flexunion.auth.staff.service import create_admin
    from flexunion.db.engine import bind_scope, make_engine, make_sessionmaker
    from flexunion.db.scope import DbScope

    engine = make_engine(db.owner_url, pool_size=1, max_overflow=0)
    try:
        async with make_sessionmaker(engine)() as s:
            bind_scope(s, lambda: DbScope(None, "bench:owner"))
            async with s.begin():
                for username, (code, role) in codes.items():
                    await create_admin(s, tenant_code=code, username=username, role=role,
                                       display_name=username, password="bench-password",
                                       oidc_issuer=None, oidc_subject=None)
    finally:
        await engine.dispose()


async def demo(db, tmp: Path) -> None:
    from flexunion.core.secrets import Keyring
    from flexunion.db.engine import bind_scope, make_engine, make_sessionmaker
    from flexunion.db.scope import DbScope
    from flexunion.provisioning.service import apply_directory


    engine = make_engine(db.owner_url, pool_size=1, max_overflow=0)
    try:
        async with make_sessionmaker(engine)() as s:
            bind_scope(s, lambda: DbScope(None, "bench:owner"))
            async with s.begin():
                await apply_directory(s, ROOT / "tenants" / "demo", Keyring(SECRET.encode()))
    finally:
        await engine.dispose()


def signed_in(base: str, username: str):
    import httpx

    client = httpx.Client(base_url=base, timeout=60, limits=httpx.Limits(max_connections=1))
    page = client.get("/console/login")
    token = CSRF.search(page.text)
    assert token, page.text[:300]
    answer = client.post("/console/login", data={"_csrf": token.group(1), "username": username,
                                                 "password": "bench-password"})
    assert answer.status_code == 303, answer.text[:300]
    return client


def timed(client, path: str, n: int, warm: int = 5) -> dict[str, float]:
    latencies = []
    for i in range(warm + n):
        started = time.perf_counter()
        r = client.get(path)
        elapsed = time.perf_counter() - started
        if r.status_code != 200:
            raise RuntimeError(f"GET {path}: {r.status_code} {r.text[:300]}")
        if i >= warm:
            latencies.append(elapsed * 1000)
    return {"p50": statistics.median(latencies), "p95": pct(latencies, 0.95)}


def pages_of(client) -> list[str]:
    """Every menu the account has, the member search, and the first member's page."""
    from flexunion.console.menus import MENUS

    home = client.get("/console/").text
    paths = [m.path for m in MENUS if f'data-menu="{m.key}"' in home]
    paths.append("/console/members?q=" + "张*")
    members = client.get("/console/members").text
    found = MEMBER_LINK.search(members)
    if found:
        paths.append(f"/console/members/{found.group(1)}")
    return paths


def measure(db, tmp: Path, size: int, n: int, who: dict[str, str]) -> dict[str, dict]:
    log = tmp / f"server-{size}.log"
    with log.open("wb") as sink:
        server, port = start_server(__file__, server_env(db, tmp), stderr=sink, timeout=180)
    out: dict[str, dict] = {}
    try:
        base = f"http://127.0.0.1:{port}"
        for label, username in who.items():
            client = signed_in(base, username)
            for path in pages_of(client):
                out[f"{label} {path}"] = timed(client, path, n)
            client.close()
    finally:
        stop_server(server)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="200,1000000")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    from tests.support import database

    sizes = [int(s) for s in args.sizes.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="flexunion-console-bench-"))
    db = None
    results: dict[int, dict[str, dict]] = {}
    try:
        print(f"load average at start: {os.getloadavg()[0]:.2f}", file=sys.stderr)
        db = database.create(tmp)
        fed = asyncio.run(arrange(db, tmp, 16, 8))
        asyncio.run(demo(db, tmp))
        biggest = fed.regions[0]
        asyncio.run(accounts(db, {
            "demo-hq-admin": ("demo-hq", "hq_admin"),
            "demo-sh-admin": ("sh-xuhui", "regional_admin"),
            "scale-hq-admin": (fed.hq, "hq_admin"),
            "scale-region-admin": (biggest, "regional_admin"),
        }))
        have = 0
        for size in sizes:
            spent = asyncio.run(grow(db, fed, have, size, sizes[-1]))
            print(f"seeded {have:,} → {size:,} members in {spent:.1f} s", file=sys.stderr)
            have = size
            who = {"scale HQ": "scale-hq-admin", "scale region": "scale-region-admin"}
            if size == sizes[0]:
                who = {"demo HQ": "demo-hq-admin", "demo region": "demo-sh-admin", **who}
            results[size] = measure(db, tmp, size, args.requests, who)
            print(f"measured {size:,}", file=sys.stderr)
    finally:
        if db is not None:
            db.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    rows = list(dict.fromkeys(k for r in results.values() for k in r))
    width = max(len(r) for r in rows)
    print(f"flexunion console page budgets — {os.cpu_count()} CPUs, load average now "
          f"{os.getloadavg()[0]:.2f}; {args.requests} sequential GETs per row, p50 / p95 ms")
    print(f"{'scale members':<{width}}  " + "  ".join(f"{s:>16,}" for s in sizes))
    for row in rows:
        cells = [f"{results[s][row]['p50']:6.1f} / {results[s][row]['p95']:6.1f}"
                 if row in results[s] else "-" for s in sizes]
        print(f"{row:<{width}}  " + "  ".join(f"{c:>16}" for c in cells))


if __name__ == "__main__":
    main()
