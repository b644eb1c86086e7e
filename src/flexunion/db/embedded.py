"""Embedded PostgreSQL (pgserver) for the no-configuration default.

pgserver's bootstrap user is a superuser. It is used here only to create two
ordinary roles and the database: the owner (runs migrations and operator
commands) and the app role (serves requests, subject to row-level security).

Who stops the server: pgserver counts the processes holding it in
`pgdata/.handle_pids.json` and stops the postmaster when the last one lets go
(`cleanup()`, or at interpreter exit). A process that ends without letting go
(killed, or SIGTERM's default action, which runs no exit handlers) stays on
that list for ever, and then no later process ever stops the server: so every
release first forgets the handles of processes that are gone.
"""

from __future__ import annotations

import logging
import os
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from flexunion.db.urls import with_database, with_user

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer

log = logging.getLogger(__name__)

OWNER_ROLE = "flexunion_owner"
DATABASE = "flexunion"
HANDLES = ".handle_pids.json"  # pgserver's list of the processes holding the server


@dataclass(frozen=True, slots=True)
class EmbeddedDatabase:
    server: PostgresServer
    superuser_url: str
    owner_url: str
    app_url: str

    def stop(self) -> None:
        """Let go of the server; the last live process holding it stops the postmaster."""
        release(self.server)


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _import_pgserver() -> None:
    """Import pgserver (lazily: only the embedded default needs it) without its warning that
    XDG_RUNTIME_DIR is unset (common under sudo, ssh or in a container): it then keeps its
    lock file under /tmp, which is fine, and the warning is noise on every command."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", category=UserWarning)
        import pgserver.postgres_server  # noqa: F401


def start(data_dir: Path, app_role: str, database: str = DATABASE) -> EmbeddedDatabase:
    _import_pgserver()
    from pgserver.postgres_server import get_server

    pgdata = (data_dir / "pg").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = get_server(pgdata, cleanup_mode="stop")
    except BaseException:
        _stop_unheld(pgdata)  # it may have started the postmaster before failing
        raise
    try:
        superuser_url = server.get_uri()
        bootstrap_roles(server, app_role, database)
    except BaseException:
        release(server)
        raise
    owner_url = with_database(with_user(superuser_url, OWNER_ROLE, None), database)
    app_url = with_database(with_user(superuser_url, app_role, None), database)
    log.info("embedded postgres ready", extra={"pgdata": str(pgdata)})
    return EmbeddedDatabase(server, superuser_url, owner_url, app_url)


def release(server: PostgresServer) -> None:
    """This process lets go of `server`: pgserver stops the postmaster when no live
    process holds it any more."""
    with type(server)._lock:  # pgserver's inter-process lock around its handle list
        _forget_ended(server.pgdata)
    server.cleanup()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # an exited child its parent has not reaped yet is no holder either
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _forget_ended(pgdata: Path) -> list[int]:
    """Drop the handles of processes that are gone; returns the live ones. Call it under
    pgserver's lock."""
    from pgserver.utils import DiskList

    handles = DiskList(pgdata / HANDLES)
    pids = handles.get()
    live = [pid for pid in pids if pid == os.getpid() or _alive(pid)]
    if live != pids:
        log.info("forgetting the embedded postgres handles of ended processes",
                 extra={"pids": sorted(set(pids) - set(live))})
        handles.put(live)
    return live


def _stop_unheld(pgdata: Path) -> None:
    """`get_server` failed half way: stop the postmaster it may have started, unless
    another live process holds it."""
    from pgserver._commands import POSTGRES_BIN_PATH
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import DiskList

    PostgresServer._instances.pop(pgdata, None)
    with PostgresServer._lock:
        DiskList(pgdata / HANDLES).get_and_remove(os.getpid())
        holders = _forget_ended(pgdata)
        if holders or not (pgdata / "postmaster.pid").exists():
            return
        # pgserver runs the server as the user `pgserver` when started as root.
        user = "pgserver" if os.name == "posix" and os.geteuid() == 0 else None
        done = subprocess.run([str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-w",
                               "-m", "fast", "stop"], user=user, capture_output=True,
                              text=True, timeout=60, check=False)
    log.warning("stopped the embedded postgres after a failed start",
                extra={"pgdata": str(pgdata), "pg_ctl": done.stdout.strip() or done.stderr.strip()})


def bootstrap_roles(server: PostgresServer, app_role: str, database: str) -> None:
    owner, app = _quote_ident(OWNER_ROLE), _quote_ident(app_role)
    psql = server.psql
    psql(
        "DO $$ BEGIN "
        f"IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{OWNER_ROLE}') THEN "
        f"CREATE ROLE {owner} LOGIN NOSUPERUSER NOBYPASSRLS CREATEROLE; END IF; "
        f"IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{app_role}') THEN "
        f"CREATE ROLE {app} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; END IF; "
        "END $$;"
    )
    exists = psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        psql(f"CREATE DATABASE {_quote_ident(database)} OWNER {owner};")
