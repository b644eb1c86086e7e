"""The README's first command: `flexunion serve` with no DATABASE_URL starts an embedded
PostgreSQL in a fresh data dir, migrates it, loads tenants/demo and serves; a second start
reuses it without loading the demo again.

Stopping it (SIGTERM, or SIGINT as Ctrl-C sends) exits 0 and stops the embedded PostgreSQL
with it, also when the start fails half way. Every test here is a real process and a real
signal; they share one data dir, since each embedded start costs seconds."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

# One worker runs the module (pytest-xdist, --dist loadgroup): one data dir, one embedded
# PostgreSQL, started once.
pytestmark = pytest.mark.xdist_group("serve-embedded")

SCRIPT = Path(sys.executable).with_name("flexunion")
STOPS_WITHIN = 30  # seconds from the signal to the end of the process
POSTGRES_GONE_WITHIN = 10  # seconds from then to the postmaster's end


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


def stop(proc: subprocess.Popen[str], sig: signal.Signals = signal.SIGINT) -> str:
    proc.send_signal(sig)
    try:
        out, _ = proc.communicate(timeout=STOPS_WITHIN)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError(
            f"serve did not stop within {STOPS_WITHIN} s of {sig.name}:\n{out}") from None
    return out


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (no init reaping in a container) has ended
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def postmaster_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().splitlines()[0])


def assert_postgres_gone(pgdata: Path, pid: int, log: str) -> None:
    deadline = time.monotonic() + POSTGRES_GONE_WITHIN
    while (pgdata / "postmaster.pid").exists() or alive(pid):
        assert time.monotonic() < deadline, (
            f"the embedded PostgreSQL (pid {pid}) outlived serve by {POSTGRES_GONE_WITHIN} s:\n"
            + log)
        time.sleep(0.1)


@dataclass
class Home:
    env: dict[str, str]
    data: Path

    @property
    def pgdata(self) -> Path:
        return self.data / "pg"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    """An empty data dir for the whole module; the first start creates it."""
    from flexunion.db import embedded

    data = tmp_path_factory.mktemp("serve") / "data"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FLEXUNION_") and k != "DATABASE_URL"}
    env |= {"FLEXUNION_DATA_DIR": str(data), "FLEXUNION_ISSUER": "http://127.0.0.1"}
    yield Home(env, data)
    embedded._stop_unheld(data / "pg")  # after a failed test: no PostgreSQL left behind


def test_serve_without_configuration(home: Home) -> None:
    env, tmp_data = home.env, home.data
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start(env, port)
    try:
        wait_ready(proc, url)
        issued = subprocess.run(
            [str(SCRIPT), "token", "issue", "--role", "hq_admin", "--tenant", "demo-hq",
             "--subject", "readme"], env=env, capture_output=True, text=True, timeout=60,
            check=True)
        # Quiet at the default log level: the token, and no log of the embedded server.
        assert issued.stderr == "", issued.stderr
        token = issued.stdout.strip()
        assert issued.stdout == token + "\n"
        listed = httpx.get(f"{url}/v1/admin/tenants", params={"limit": 100},
                           headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert listed.status_code == 200, listed.text
        kinds = [t["kind"] for t in listed.json()["items"]]
        assert (kinds.count("hq") == 1 and kinds.count("regional") == 2
                and kinds.count("station") >= 3)
        cities = {t["city"] for t in listed.json()["items"] if t["kind"] == "regional"}
        assert cities == {"上海市", "杭州市"}
        postmaster = postmaster_pid(home.pgdata)
    finally:
        first_log = stop(proc, signal.SIGTERM)
    assert "loaded demo federation" in first_log
    assert (tmp_data / "pg").is_dir() and (tmp_data / "secret.key").is_file()
    assert proc.returncode == 0, first_log
    assert_postgres_gone(home.pgdata, postmaster, first_log)

    proc = start(env, port)  # a restart reuses the database and does not reload the demo
    try:
        wait_ready(proc, url)
        postmaster = postmaster_pid(home.pgdata)
    finally:
        second_log = stop(proc, signal.SIGINT)
    assert "loaded demo federation" not in second_log
    assert proc.returncode == 0, second_log
    assert_postgres_gone(home.pgdata, postmaster, second_log)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_starting_stops_postgres_too(home: Home, sig: signal.Signals) -> None:
    """The signal comes as soon as the embedded server is up (while serve still starts
    it, migrates or builds the app): serve finishes what cannot be cut, then stops."""
    proc = start(home.env, free_port())
    deadline = time.monotonic() + 60
    while not (home.pgdata / "postmaster.pid").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0]
        time.sleep(0.02)
    while True:
        try:
            postmaster = postmaster_pid(home.pgdata)
            break
        except (FileNotFoundError, IndexError, ValueError):  # being written
            time.sleep(0.02)
    log = stop(proc, sig)
    assert proc.returncode == 0, log
    assert_postgres_gone(home.pgdata, postmaster, log)


def test_a_failed_start_stops_postgres_even_with_a_stale_handle(home: Home) -> None:
    """uvicorn cannot bind the port after the database is up and migrated: serve exits
    non-zero and the database stops. A handle left by a process that ended without
    letting go (killed) does not keep it running."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    home.pgdata.mkdir(parents=True, exist_ok=True)
    (home.pgdata / ".handle_pids.json").write_text(f"[{gone.pid}]")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proc = start(home.env, taken.getsockname()[1])
        deadline = time.monotonic() + 60
        while not (home.pgdata / "postmaster.pid").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0]
            time.sleep(0.05)
        postmaster = postmaster_pid(home.pgdata)
        try:
            log, _ = proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            log = stop(proc, signal.SIGTERM)
            raise AssertionError(
                "serve kept running on a port it could not bind:\n" + log) from None
    assert proc.returncode != 0, log
    assert "address already in use" in log
    assert_postgres_gone(home.pgdata, postmaster, log)
    assert (home.pgdata / ".handle_pids.json").read_text().strip() == "[]"


def test_a_start_that_fails_inside_pgserver_stops_what_it_started(
        home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    """pgserver starts the postmaster, then fails before handing over the server: the
    postmaster it started does not stay behind (in this process, no signal)."""
    from pgserver.postgres_server import PostgresServer

    from flexunion.db import embedded

    started = PostgresServer.ensure_postgres_running

    def then_fail(self: PostgresServer) -> None:
        started(self)
        raise RuntimeError("failed after starting the postmaster")

    monkeypatch.setattr(PostgresServer, "ensure_postgres_running", then_fail)
    home.data.mkdir(parents=True, exist_ok=True)
    with pytest.raises(RuntimeError, match="after starting"):
        embedded.start(home.data, "flexunion_app")
    deadline = time.monotonic() + POSTGRES_GONE_WITHIN
    while (home.pgdata / "postmaster.pid").exists():
        assert time.monotonic() < deadline, "the postmaster pgserver started is still running"
        time.sleep(0.1)
    assert str(os.getpid()) not in (home.pgdata / ".handle_pids.json").read_text()


def readme_walkthrough() -> str:
    """The README's "Then" block, exactly as a user pastes it."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    then = readme[readme.index("## Then"):readme.index("## Commands")]
    return then.split("```sh\n", 1)[1].split("```", 1)[0]


def test_the_readme_walkthrough_works_pasted_in_order(home: Home) -> None:
    """Every command the README shows, in order, against a fresh `serve` with the demo
    federation: logins, consents, joining, the card, a transfer, geo, the agenda board and
    a ballot, the files and the audit chain. Only the port and the script's path differ."""
    root = Path(__file__).resolve().parents[2]
    port = free_port()
    script = readme_walkthrough()
    assert "API=http://127.0.0.1:8000\n" in script
    script = script.replace("API=http://127.0.0.1:8000", f"API=http://127.0.0.1:{port}")
    script = script.replace(".venv/bin/flexunion", str(SCRIPT))
    proc = start(home.env, port)
    try:
        wait_ready(proc, f"http://127.0.0.1:{port}")
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=home.env,
                              cwd=root, capture_output=True, text=True, timeout=300)
    finally:
        log = stop(proc, signal.SIGTERM)
    assert done.returncode == 0, done.stdout + done.stderr + log[-4000:]
    out = done.stdout
    for seen in ("demo-hq", "张*", "有效会员卡", "转出方已同意", "已完成", "杭州市西湖区",
                 "'adcode': '310104'", "under_review", "已达成一致", "passed", "ratified",
                 "audit chain intact"):
        assert seen in out, (seen, out)
