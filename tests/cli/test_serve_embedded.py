"""The README's first command: `flexunion serve` with no DATABASE_URL starts an embedded
PostgreSQL in a fresh data dir, migrates it, loads tenants/demo and serves; a second start
reuses it without loading the demo again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

SCRIPT = Path(sys.executable).with_name("flexunion")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    return subprocess.Popen([str(SCRIPT), "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_ready(proc: subprocess.Popen[str], url: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError("serve did not become ready in 90 s")


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


def test_serve_without_configuration(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FLEXUNION_") and k != "DATABASE_URL"}
    env |= {"FLEXUNION_DATA_DIR": str(tmp_path / "data"), "FLEXUNION_ISSUER": "http://127.0.0.1"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start(env, port)
    try:
        wait_ready(proc, url)
        token = subprocess.run(
            [str(SCRIPT), "token", "issue", "--role", "hq_admin", "--tenant", "demo-hq",
             "--subject", "readme"], env=env, capture_output=True, text=True, timeout=60,
            check=True).stdout.strip()
        listed = httpx.get(f"{url}/v1/admin/tenants", params={"limit": 100},
                           headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert listed.status_code == 200, listed.text
        kinds = [t["kind"] for t in listed.json()["items"]]
        assert kinds.count("hq") == 1 and kinds.count("regional") == 2 and kinds.count("station") >= 3
        cities = {t["city"] for t in listed.json()["items"] if t["kind"] == "regional"}
        assert cities == {"上海市", "杭州市"}
    finally:
        first_log = stop(proc)
    assert "loaded demo federation" in first_log
    assert (tmp_path / "data" / "pg").is_dir() and (tmp_path / "data" / "secret.key").is_file()

    proc = start(env, port)  # a restart reuses the database and does not reload the demo
    try:
        wait_ready(proc, url)
    finally:
        second_log = stop(proc)
    assert "loaded demo federation" not in second_log
