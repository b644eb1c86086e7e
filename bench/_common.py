"""Helpers shared by the HTTP benchmarks: the load tool (wrk, or an httpx fallback in a
separate process), ports, readiness, and a federation with one active member arranged
through the real services on a fresh embedded PostgreSQL (tests/support/database)."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (str(ROOT / "src"), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

SECRET = "flexunion-bench-secret-not-for-production"
ISSUER = "http://bench.flexunion.test"


def load_tool(wanted: str = "auto") -> str:
    tool = wanted if wanted != "auto" else ("wrk" if shutil.which("wrk") else "httpx")
    if tool == "httpx":
        print("wrk not found (apt-get install -y wrk): using the httpx load generator, which "
              "saturates first; the HTTP ratios are not meaningful", file=sys.stderr)
    return tool


def loadgen(url: str, seconds: float, connections: int, body: str | None,
            auth: str | None) -> dict[str, float]:
    """The fallback load generator (run in its own process, like wrk)."""
    import httpx

    async def main() -> dict[str, float]:
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
        return {"requests": count, "errors": errors, "seconds": elapsed}

    return asyncio.run(main())


def run_load(tool: str, url: str, seconds: float, connections: int, *, body: str | None = None,
             auth: str | None = None, workdir: Path | None = None) -> float:
    """Requests per second; raises if any answer was not 2xx."""
    if tool == "wrk":
        args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s"]
        if body is not None or auth is not None:
            assert workdir is not None
            script = workdir / f"wrk-{uuid.uuid4().hex}.lua"
            lines = []
            if body is not None:
                lines += ['wrk.method = "POST"', f"wrk.body = {json.dumps(body)}",
                          'wrk.headers["Content-Type"] = "application/json"']
            if auth is not None:
                lines.append(f'wrk.headers["Authorization"] = {json.dumps(auth)}')
            script.write_text("\n".join(lines) + "\n")
            args += ["-s", str(script)]
        out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if bad:
            raise RuntimeError(f"{url}: {bad.group(1)} non-2xx answers\n{out}")
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    code = (f"import json, sys; sys.path.insert(0, {str(ROOT / 'bench')!r}); "
            "from _common import loadgen; print(json.dumps(loadgen(*json.loads(sys.argv[1]))))")
    spec = json.dumps([url, seconds, connections, body, auth])
    result = json.loads(subprocess.run([sys.executable, "-c", code, spec], capture_output=True,
                                       text=True, check=True).stdout)
    if result["errors"]:
        raise RuntimeError(f"{url}: {result['errors']} error answers")
    return float(result["requests"] / result["seconds"])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (Linux /proc): divided by the
    requests served in a window, server CPU per request, steadier than req/s on a shared box."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, proc: subprocess.Popen[Any], timeout: float = 60,
               path: str = "/readyz") -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited")
        try:
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not become ready")


def start_server(script: str, env: dict[str, str], *args: str, path: str = "/readyz",
                 timeout: float = 60, stderr: Any = subprocess.DEVNULL,
                 ) -> tuple[subprocess.Popen[bytes], int]:
    """`python script --serve PORT *args` in its own process group, once `path` answers."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, script, "--serve", str(port), *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
    try:
        wait_ready(port, proc, timeout=timeout, path=path)
    except BaseException:
        stop_server(proc)
        raise
    return proc, port


def stop_server(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM to its process group, SIGKILL if it has not left within 20 s."""
    import os
    import signal

    if proc is None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def server_env(db: Any, tmp: Path) -> dict[str, str]:
    """The environment of a bench server process: only the bench's own database."""
    import os

    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FLEXUNION_") and k != "DATABASE_URL"}
    env.update({"DATABASE_URL": db.owner_url, "FLEXUNION_APP_DATABASE_URL": db.app_url,
                "FLEXUNION_SECRET_KEY": SECRET, "FLEXUNION_ISSUER": ISSUER,
                "FLEXUNION_LOAD_DEMO": "0", "FLEXUNION_DATA_DIR": str(tmp / "data"),
                "FLEXUNION_LOG_LEVEL": "INFO"})
    return env


@dataclass
class Arranged:
    settings: Any
    card: str  # the member's card (a JWS)
    officer_token: str  # a station officer of another region
    officer_tenant: uuid.UUID
    worker_token: str  # the member's own worker token


async def arrange(db: Any, tmp: Path) -> Arranged:
    """A federation, one active member (through the real services), its card, a station
    officer's token from another region and the member's own worker token."""
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
        tokens = TokenService(settings, keys, clock)
        officer_tenant = ids["bench-r2-s1"]
        officer, _ = await tokens.issue(
            role=Role.STATION_OFFICER, subject="bench-officer", tenant_id=officer_tenant,
            tenant_code="bench-r2-s1", ttl_seconds=3600)
        worker_token, _ = await tokens.issue(
            role=Role.WORKER, subject=str(worker.id), tenant_id=ids["bench-hq"],
            tenant_code="bench-hq", ttl_seconds=3600)
        return Arranged(settings, card, officer, officer_tenant, worker_token)
    finally:
        await owner_engine.dispose()
        await app_engine.dispose()
