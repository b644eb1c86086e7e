"""Card verification benchmark, measured side by side in one run on this machine.

    .venv/bin/python bench/cards.py [--seconds 10] [--rounds 3] [--connections 32]

(a) HTTP: `POST /v1/cards/verify` (a station officer's bearer token, a valid card,
    the real app: auth, unit of work, the holder read from PostgreSQL) against a bare
    Litestar hello-world app (`GET /hello`, no middleware). Both are served by one
    uvicorn process (1 worker, uvloop + httptools, as `flexunion serve` runs) and
    driven by the same load tool on loopback: `wrk` (Debian package; installed with
    `apt-get install -y wrk` for the recorded run), or, when wrk is missing, an
    asyncio + httpx load generator in a separate process. Rounds alternate the two
    targets; medians are reported. Target: verify ≥ 50 % of hello-world.
(b) In process: `CardVerifier.verify()` (JOSE checks, key lookup, Ed25519, claims,
    federation check and the holder's status) against the raw `cryptography`
    Ed25519 verify of the same token bytes. Reported twice: with the holder's status
    read cached (warm; what the target is about) and uncached (one PostgreSQL round
    trip per check, the service's default online behaviour). PyJWT's decode of the
    same token is shown for reference. Target: cached verify ≥ 80 % of raw.

The bench starts its own embedded PostgreSQL in a temporary directory (the test
suite's `tests/support/database.create()`), applies a federation, admits one
member through the real services, and removes everything when done. The server's
access log (one JSON line per request, as in production) goes to /dev/null.
The httpx fallback saturates long before the server does (a few hundred requests
a second), so its HTTP ratios say little; install wrk for real figures.

Recorded 2026-11-24 (2 vCPUs, wrk 4.1, 32 connections, 3 × 10 s, medians), after
the hot path was reworked (one-statement holder read on a bare asyncpg pool, verified
bearer tokens and card signatures remembered until the keys reload):

    GET /hello (bare Litestar)              10,269 req/s  (runs 9,676–13,491: noisy)
    GET /healthz (flexunion pipeline)        5,673 req/s   55.2 % of hello
    POST /v1/cards/verify                    1,996 req/s   19.4 %   target 50 %: MISSED
    … holder status cached 5 s (opt-in)      3,688 req/s   35.9 %
    Ed25519 verify (cryptography)            8,392 /s
    CardVerifier.verify, signature checked   7,170 /s      85.4 %   target 80 %: met
    … and 1 DB read (session path)           1,320 /s      15.7 %
    … card seen < 60 s ago                 148,804 /s      (no signature check)
    PyJWT jwt.decode (reference)             5,473 /s      65.2 %

Before the rework the same bench gave verify 414–429 req/s (3.0–3.3 %).

Why (a) still misses: every verify reads the holder's *current* status from
PostgreSQL (one round trip on the app role's asyncpg pool, ~0.3 ms of server time
with the driver), and the flexunion pipeline alone (request id, auth and
unit-of-work middleware, buffered response, JSON access log) serves a no-op at
~40–55 % of the bare app. Caching the status for 5 s (FLEXUNION_CARD_VERIFY_CACHE_SECONDS)
reaches ~36 %; the rest is the pipeline. Closing the gap needs a cheaper pipeline
(fewer middleware layers, a cheaper access log) or a status read served from the
status list the instance already caches, at the cost of up to 30 s staleness.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

SECRET = "flexunion-bench-secret-not-for-production"
ISSUER = "http://bench.flexunion.test"


# ---- the server process ------------------------------------------------------------


def serve(port: int) -> None:
    """One uvicorn worker holding three apps: /hello → a bare Litestar app; /cached/… →
    flexunion with the holder's status read cached for 5 s; everything else → flexunion as
    configured (by default every verification reads the holder's status)."""
    from dataclasses import replace

    import uvicorn
    from litestar import Litestar, get

    from flexunion.app import create_app
    from flexunion.config import MembershipSettings, load_settings
    from flexunion.core import logs

    @get("/hello", sync_to_thread=False)
    def hello() -> str:
        return "Hello, world!"

    bare = Litestar([hello], logging_config=None)
    settings = load_settings()
    logs.configure(settings.log_level)
    flex = create_app(settings)
    flex_cached = create_app(replace(settings,
                                     membership=MembershipSettings(card_verify_cache_seconds=5.0)))

    async def both(scope, receive, send):
        if scope["type"] == "lifespan":
            await receive()  # startup
            async with flex.lifespan(), flex_cached.lifespan():
                await send({"type": "lifespan.startup.complete"})
                await receive()  # shutdown
            await send({"type": "lifespan.shutdown.complete"})
        elif scope["path"] == "/hello":
            await bare(scope, receive, send)
        elif scope["path"].startswith("/cached/"):
            path = scope["path"].removeprefix("/cached")
            await flex_cached({**scope, "path": path, "raw_path": path.encode()}, receive, send)
        else:
            await flex(scope, receive, send)

    uvicorn.run(both, host="127.0.0.1", port=port, workers=1, log_config=None, access_log=False,
                proxy_headers=False, server_header=False, lifespan="on")


# ---- the fallback load generator (a separate process, like wrk) --------------------


def loadgen(url: str, seconds: float, connections: int, body: str | None, auth: str | None) -> None:
    import httpx

    async def main() -> None:
        count = errors = 0
        stop = time.perf_counter() + seconds
        headers = {"Authorization": auth} if auth else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:

            async def worker() -> None:
                nonlocal count, errors
                while time.perf_counter() < stop:
                    if body is None:
                        r = await client.get(url, headers=headers)
                    else:
                        r = await client.post(url, content=body, headers=headers)
                    count += 1
                    errors += r.status_code >= 400

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(connections)))
            elapsed = time.perf_counter() - started
        print(json.dumps({"requests": count, "errors": errors, "seconds": elapsed}))

    asyncio.run(main())


# ---- load runs ---------------------------------------------------------------------


def run_load(tool: str, url: str, seconds: float, connections: int, body: str | None = None,
             auth: str | None = None, workdir: Path | None = None) -> float:
    """Requests per second; raises if any answer was not 2xx."""
    if tool == "wrk":
        args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
        if body is not None:
            assert workdir is not None
            script = workdir / "post.lua"
            script.write_text(
                'wrk.method = "POST"\n'
                f"wrk.body = {json.dumps(body)}\n"
                'wrk.headers["Content-Type"] = "application/json"\n'
                f'wrk.headers["Authorization"] = {json.dumps(auth)}\n')
            args += ["-s", str(script)]
        out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if bad:
            raise RuntimeError(f"{url}: {bad.group(1)} non-2xx answers\n{out}")
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    cmd = [sys.executable, __file__, "--loadgen", url, "--seconds", str(seconds),
           "--connections", str(connections)]
    if body is not None:
        cmd += ["--body", body, "--auth", auth or ""]
    result = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    if result["errors"]:
        raise RuntimeError(f"{url}: {result['errors']} error answers")
    return result["requests"] / result["seconds"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not become ready")


# ---- arranging data ----------------------------------------------------------------


async def arrange(db, tmp: Path):
    """A federation, one active member (through the real services), its card, and a
    station officer's token from another region."""
    import yaml
    from sqlalchemy import select

    from flexunion.auth.keys import KeyStore, ensure_active_key
    from flexunion.auth.models import WorkerAccount
    from flexunion.auth.tokens import TokenService
    from flexunion.config import Settings
    from flexunion.consent import service as consent
    from flexunion.consent.schemas import ConsentCreate
    from flexunion.core.clock import Clock
    from flexunion.core.context import Caller, Role
    from flexunion.core.secrets import Keyring
    from flexunion.core.uow import UnitOfWork
    from flexunion.db.engine import bind_scope, make_engine, make_sessionmaker
    from flexunion.db.scope import DbScope
    from flexunion.federation.models import Tenant
    from flexunion.membership import service
    from flexunion.membership.cards import service as cards
    from flexunion.membership.schemas import JoinApplication
    from flexunion.provisioning.service import apply_directory
    from tests.support.factories import federation_spec, random_id_number

    settings = Settings(database_url=db.owner_url, app_database_url=db.app_url, data_dir=tmp,
                        secret_key=SECRET, issuer=ISSUER, load_demo=False)
    keyring = Keyring(SECRET.encode())
    clock = Clock()
    folder = tmp / "tenants" / "bench"
    folder.mkdir(parents=True)
    (folder / "federation.yaml").write_text(
        yaml.safe_dump(federation_spec("bench", regions=2, stations=2), allow_unicode=True))
    owner_engine = make_engine(db.owner_url, pool_size=2, max_overflow=0)
    app_engine = make_engine(db.app_url, pool_size=4, max_overflow=0)
    owner = make_sessionmaker(owner_engine)
    app = make_sessionmaker(app_engine)
    try:
        async with owner() as s:
            bind_scope(s, lambda: DbScope(None, "bench:owner"))
            async with s.begin():
                await ensure_active_key(s, keyring)
                await apply_directory(s, folder, keyring)
                ids = {t.code: t.id for t in (await s.scalars(select(Tenant))).all()}
                worker = WorkerAccount(id=uuid.uuid4(), tenant_id=ids["bench-hq"],
                                       phone_hash="bench", phone_masked="139****0000",
                                       phone_cipher=b"-")
                s.add(worker)
        caller = Caller(role=Role.WORKER, subject=str(worker.id), tenant_id=ids["bench-hq"],
                        tenant_code="bench-hq", audience="flexunion-mobile")
        uow = UnitOfWork(app, caller.db_scope("bench"))
        for required in consent.required_for_join(settings):
            await consent.record(uow.session, caller, ConsentCreate(
                purpose=required.purpose, version=required.version, granted=True))
        member = await service.apply(uow, keyring, clock, settings, caller, JoinApplication(
            real_name="张三丰", id_number=random_id_number(), employment_form="crowdsourced",
            city="上海市", join="bench-r1-s1"))
        await uow.commit()
        await uow.close()
        uow = UnitOfWork(app, DbScope(ids["bench-r1"], "regional_admin:bench", "bench"))
        await service.change_status(uow.session, clock, member.id, "active", None)
        await uow.commit()
        await uow.close()
        keys = KeyStore(app, keyring)
        uow = UnitOfWork(app, caller.db_scope("bench"))
        card = (await cards.issue(uow.session, keys, settings, clock, caller)).token
        await uow.commit()
        await uow.close()
        officer_tenant = ids["bench-r2-s1"]
        token, _ = await TokenService(settings, keys, clock).issue(
            role=Role.STATION_OFFICER, subject="bench-officer", tenant_id=officer_tenant,
            tenant_code="bench-r2-s1", ttl_seconds=3600)
        return settings, card, token, officer_tenant
    finally:
        await owner_engine.dispose()
        await app_engine.dispose()


# ---- (b) in process ----------------------------------------------------------------


async def in_process(settings, card: str, officer_tenant: uuid.UUID, rounds: int,
                     seconds: float) -> dict[str, float]:
    import jwt

    from flexunion.auth.keys import KeyStore
    from flexunion.core.clock import Clock
    from flexunion.core.secrets import Keyring
    from flexunion.core.uow import UnitOfWork
    from flexunion.db.engine import make_engine, make_sessionmaker
    from flexunion.db.scope import DbScope
    from flexunion.membership.cards.service import CardVerifier

    engine = make_engine(settings.app_database_url, pool_size=2, max_overflow=0)
    sessions = make_sessionmaker(engine)
    keys = KeyStore(sessions, Keyring(SECRET.encode()))
    header = json.loads(base64.urlsafe_b64decode(card.split(".")[0] + "=="))
    key = await keys.card_key(header["kid"])
    assert key is not None
    signing_input, _, sig = card.rpartition(".")
    sig_bytes = base64.urlsafe_b64decode(sig + "==")
    data = signing_input.encode()
    public = key.public

    def raw(n: int) -> None:
        for _ in range(n):
            public.verify(sig_bytes, data)

    def pyjwt(n: int) -> None:
        for _ in range(n):
            jwt.decode(card, public, algorithms=["EdDSA"])

    async def ours(verifier: CardVerifier, uow: UnitOfWork, n: int) -> None:
        for _ in range(n):
            verdict = await verifier.verify(uow, officer_tenant, card)
        assert verdict.valid, verdict

    async def timed(body, n: int) -> float:
        started = time.perf_counter()
        result = body(n)
        if asyncio.iscoroutine(result):
            await result
        return time.perf_counter() - started

    scope = DbScope(officer_tenant, "station_officer:bench")
    names = ("raw", "cached", "uncached", "warm", "pyjwt")
    results: dict[str, list[float]] = {name: [] for name in names}
    slice_n = max(100, int(0.2 * 200 / await timed(raw, 200)))  # ~0.2 s of raw verifies
    slices = max(1, int(seconds / 0.2))
    uow = UnitOfWork(sessions, scope)  # one transaction: uncached reads are one round trip each
    try:
        # cached/uncached check the signature every time (no signature cache): the
        # comparison with the raw Ed25519 rate is about that. warm = the service as it
        # runs: a card seen in the last minute skips its signature check.
        cached = CardVerifier(settings, keys, Clock(), holder_cache_seconds=3600,
                              signature_cache_seconds=0)
        uncached = CardVerifier(settings, keys, Clock(), holder_cache_seconds=0,
                                signature_cache_seconds=0)
        warm = CardVerifier(settings, keys, Clock(), holder_cache_seconds=3600)
        await ours(cached, uow, 50)  # warm: keys, federation, holder
        await ours(uncached, uow, 50)
        await ours(warm, uow, 50)
        bodies = {
            "raw": (raw, slice_n), "pyjwt": (pyjwt, slice_n),
            "cached": (lambda n: ours(cached, uow, n), slice_n),
            "uncached": (lambda n: ours(uncached, uow, n), max(20, slice_n // 10)),
            "warm": (lambda n: ours(warm, uow, n), slice_n),
        }
        for _ in range(rounds):  # slices interleaved, so background load hits all alike
            spent = dict.fromkeys(names, 0.0)
            for _ in range(slices):
                for name in names:
                    spent[name] += await timed(*bodies[name])
            for name in names:
                results[name].append(slices * bodies[name][1] / spent[name])
        await uow.rollback()
    finally:
        await uow.close()
        await engine.dispose()
    return {k: statistics.median(v) for k, v in results.items()}


# ---- main --------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--tool", choices=["auto", "wrk", "httpx"], default="auto")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--loadgen", help=argparse.SUPPRESS)
    parser.add_argument("--body", help=argparse.SUPPRESS)
    parser.add_argument("--auth", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    if args.loadgen:
        loadgen(args.loadgen, args.seconds, args.connections, args.body, args.auth or None)
        return

    import httpx

    from tests.support import database

    tool = args.tool if args.tool != "auto" else ("wrk" if shutil.which("wrk") else "httpx")
    if tool == "httpx":
        print("wrk not found (apt-get install -y wrk): using the httpx load generator, which "
              "saturates first; the HTTP ratios are not meaningful", file=sys.stderr)
    tmp = Path(tempfile.mkdtemp(prefix="flexunion-bench-"))
    db = None
    server = None
    try:
        print("starting embedded PostgreSQL and arranging a federation …", file=sys.stderr)
        db = database.create(tmp)
        settings, card, token, officer_tenant = asyncio.run(arrange(db, tmp))

        print("(b) in-process verify …", file=sys.stderr)
        inproc = asyncio.run(in_process(settings, card, officer_tenant, args.rounds,
                                        min(args.seconds, 3)))

        port = free_port()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("FLEXUNION_") and k != "DATABASE_URL"}
        env.update({"DATABASE_URL": db.owner_url, "FLEXUNION_APP_DATABASE_URL": db.app_url,
                    "FLEXUNION_SECRET_KEY": SECRET, "FLEXUNION_ISSUER": ISSUER,
                    "FLEXUNION_LOAD_DEMO": "0", "FLEXUNION_DATA_DIR": str(tmp / "data"),
                    "FLEXUNION_LOG_LEVEL": "INFO"})
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        wait_ready(port, server)
        base = f"http://127.0.0.1:{port}"
        body = json.dumps({"card": card})
        auth = f"Bearer {token}"
        check = httpx.post(f"{base}/v1/cards/verify", content=body,
                           headers={"Authorization": auth, "Content-Type": "application/json"})
        assert check.status_code == 200 and check.json()["valid"], check.text
        assert httpx.get(f"{base}/hello").text == "Hello, world!"

        print(f"(a) HTTP with {tool}: {args.rounds} rounds × 4 targets × {args.seconds:g} s …",
              file=sys.stderr)
        targets = {
            "hello": (f"{base}/hello", None),
            "healthz": (f"{base}/healthz", None),
            "verify": (f"{base}/v1/cards/verify", body),
            "cached": (f"{base}/cached/v1/cards/verify", body),
        }
        for url, payload in targets.values():  # warm-up (and the cached app's caches)
            run_load(tool, url, 2, args.connections, payload, auth, tmp)
        http: dict[str, list[float]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, (url, payload) in targets.items():
                http[name].append(run_load(tool, url, args.seconds, args.connections, payload,
                                           auth, tmp))
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        if db is not None:
            db.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    med = {name: statistics.median(values) for name, values in http.items()}
    hello = med["hello"]

    def line(label: str, name: str, note: str = "") -> tuple[str, str, str]:
        runs = " ".join(f"{x:,.0f}" for x in http[name])
        return (label, f"{med[name]:,.0f} req/s", f"{med[name] / hello:6.1%} of hello   [{runs}]"
                + (f"  {note}" if note else ""))

    rows = [
        (f"(a) HTTP, 1 uvicorn worker, {tool}, loopback", "", ""),
        line("  GET /hello (bare Litestar app)", "hello"),
        line("  GET /healthz (flexunion pipeline, no DB)", "healthz"),
        line("  POST /v1/cards/verify (default)", "verify", "← target ≥ 50 %"),
        line("  POST /v1/cards/verify (holder cached 5 s)", "cached"),
        ("(b) in process, same token bytes", "", ""),
        ("  cryptography Ed25519 verify", f"{inproc['raw']:,.0f} /s", ""),
        ("  CardVerifier.verify, signature checked, holder cached", f"{inproc['cached']:,.0f} /s",
         f"{inproc['cached'] / inproc['raw']:6.1%} of raw   ← target ≥ 80 %"),
        ("  CardVerifier.verify, signature checked, 1 DB read", f"{inproc['uncached']:,.0f} /s",
         f"{inproc['uncached'] / inproc['raw']:6.1%} of raw"),
        ("  CardVerifier.verify, card seen < 60 s ago, holder cached",
         f"{inproc['warm']:,.0f} /s", f"{inproc['warm'] / inproc['raw']:6.1%} of raw"),
        ("  PyJWT jwt.decode (reference)", f"{inproc['pyjwt']:,.0f} /s",
         f"{inproc['pyjwt'] / inproc['raw']:6.1%} of raw"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"flexunion card bench — {os.cpu_count()} CPUs, {args.connections} connections, "
          f"{args.seconds:g} s × {args.rounds} rounds, medians")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>14}  {note}")


if __name__ == "__main__":
    main()
