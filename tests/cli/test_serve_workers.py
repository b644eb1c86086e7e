"""`flexunion serve --workers N`: N worker processes answer on one socket, each able to
serve alone; a stop signal ends them and then the embedded PostgreSQL (exit status 0)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.test_serve_embedded import (
    SCRIPT,
    alive,
    assert_postgres_gone,
    free_port,
    postmaster_pid,
    stop,
    wait_ready,
)


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def workers_of(pid: int) -> list[int]:
    """uvicorn's worker processes (multiprocessing spawns them; its resource tracker is not
    one)."""
    found = []
    for child in children(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            found.append(child)
    return found


@pytest.fixture
def data(tmp_path: Path) -> Iterator[Path]:
    from flexunion.db import embedded

    yield tmp_path / "data"
    embedded._stop_unheld(tmp_path / "data" / "pg")  # after a failed test


def test_serve_with_two_workers_serves_from_both(data: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FLEXUNION_") and k != "DATABASE_URL"}
    env |= {"FLEXUNION_DATA_DIR": str(data), "FLEXUNION_ISSUER": "http://127.0.0.1",
            "FLEXUNION_DB_POOL_SIZE": "2", "FLEXUNION_DB_MAX_OVERFLOW": "1"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([str(SCRIPT), "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        wait_ready(proc, url)
        deadline = time.monotonic() + 60
        while len(workers := workers_of(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(workers) == 2, workers
        for paused in workers:
            other = next(w for w in workers if w != paused)
            os.kill(paused, signal.SIGSTOP)
            try:
                before = cpu_ticks(other)
                for _ in range(40):  # a new connection each: any process may accept it
                    # (generous: the other may still be starting; it accepts once it is up)
                    answer = httpx.get(f"{url}/readyz", timeout=60,
                                       headers={"Connection": "close"})
                    assert answer.status_code == 200, answer.text
                    assert answer.json()["status"] == "ready"
                assert cpu_ticks(other) > before  # it was the other one that answered
            finally:
                os.kill(paused, signal.SIGCONT)
        postmaster = postmaster_pid(data / "pg")
    finally:
        log = stop(proc, signal.SIGTERM)
    assert proc.returncode == 0, log
    assert "with 2 worker processes" in log, log
    assert "flexunion stopped (SIGTERM)" in log, log
    assert not any(alive(w) for w in workers), log
    assert_postgres_gone(data / "pg", postmaster, log)


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])
