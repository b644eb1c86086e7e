"""A server process that a test may SIGKILL and start again many times a minute.

`flexunion serve` costs seconds to start on 2 busy cores, nearly all of it before it
listens: importing the app and `create_app()` (which builds the OpenAPI document). So a
parent process does that once, as `serve --no-migrate` does it (settings from the
environment, `create_app`), and forks a child per start, as gunicorn's `--preload` forks
its workers: the child runs uvicorn with serve's configuration, and with it the app's
lifespan (the role check, the pools, the geo listener), in a process of its own. It dies
as a killed server dies: no exit handler, no lifespan shutdown, its sockets closed by the
kernel, its transactions left for PostgreSQL to roll back.

The parent says `ready` once the app is built, then reads one command a line on stdin and
answers one line on stdout: `spawn <port> <log file>` → the child's pid; `reap <pid>` → its
wait status once it has ended. At EOF it kills (SIGKILL, by pid) the children it still has
and exits."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RestartableServer:
    """`start()` forks a fresh server on the same port and waits for /readyz; `kill()`
    sends SIGKILL and waits until the process is gone. `starts` holds each start's
    seconds from the fork to the first ready answer."""

    def __init__(self, env: dict[str, str], log: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.pid: int | None = None
        self.starts: list[float] = []
        self._parent = subprocess.Popen(
            [sys.executable, "-m", "tests.support.restartable"], cwd=ROOT, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self._began = time.monotonic()
        self.prepared: float | None = None  # seconds the parent took to import and build

    def _prepared(self) -> None:
        """Wait for the parent's `ready` (it prepares while the test arranges its data)."""
        if self.prepared is not None:
            return
        assert self._parent.stdout
        if self._parent.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the fork server did not start (exit {self._parent.wait()})")
        self.prepared = time.monotonic() - self._began

    def _ask(self, line: str) -> str:
        assert self._parent.stdin and self._parent.stdout
        self._parent.stdin.write(line + "\n")
        answer = self._parent.stdout.readline()
        if not answer:
            raise RuntimeError(f"the fork server ended (exit {self._parent.wait()}); "
                               f"see {self.log}")
        return answer.strip()

    def start(self, timeout: float = 30) -> float:
        self._prepared()
        began = time.monotonic()
        self.pid = int(self._ask(f"spawn {self.port} {self.log}"))
        deadline = began + timeout
        with httpx.Client(timeout=2) as client:
            while True:
                try:
                    if client.get(f"{self.url}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or not _alive(self.pid):
                    raise AssertionError("the server did not become ready; log:\n"
                                         + self.log.read_text()[-4000:])
                time.sleep(0.01)
        took = time.monotonic() - began
        self.starts.append(took)
        return took

    def kill(self) -> None:
        """SIGKILL, and wait until the process has ended."""
        if self.pid is None:
            return
        os.kill(self.pid, signal.SIGKILL)
        self._ask(f"reap {self.pid}")
        self.pid = None

    def close(self) -> None:
        self.kill()
        if self._parent.stdin:
            self._parent.stdin.close()
        try:
            self._parent.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._parent.kill()
            self._parent.wait()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _child(app: Any, port: int, log: str) -> None:
    """The forked server, its output to `log`. Never returns."""
    code = 1
    try:
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        import uvicorn

        # As `flexunion serve` configures it.
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_config=None, proxy_headers=False,
                                               server_header=False))
        server.run()
        code = 0 if server.started else 3
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _serve_forks() -> None:
    import uvicorn  # noqa: F401  (imported once, not per start)

    from flexunion.app import create_app
    from flexunion.config import load_settings
    from flexunion.core import logs

    settings = load_settings()
    logs.configure(settings.log_level, quiet_setup=True)
    app = create_app(settings)  # never started here: each child runs its lifespan
    print("ready", flush=True)
    children: set[int] = set()
    for line in sys.stdin:
        command, *args = line.split()
        if command == "spawn":
            pid = os.fork()
            if pid == 0:
                _child(app, int(args[0]), args[1])
            children.add(pid)
            print(pid, flush=True)
        elif command == "reap":
            pid = int(args[0])
            _, status = os.waitpid(pid, 0)
            children.discard(pid)
            print(status, flush=True)
    for pid in children:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


if __name__ == "__main__":
    _serve_forks()
