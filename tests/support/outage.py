"""A PostgreSQL of a test's own, which it may stop and start again under load.

Always embedded (pgserver's binaries, a data dir of its own), also when the
suite runs against FLEXUNION_TEST_DATABASE_URL: stopping the session's server would break
every test after it. `stop()` is `pg_ctl stop -m fast` (every backend is terminated, each
client gets "terminating connection due to administrator command", the socket goes away);
`start()` is `pg_ctl restart`, which reads the options the server last ran with
(postmaster.opts) and so comes back on the same socket directory.

Its data dir is not under pytest's tmp_path: as root, pgserver runs PostgreSQL as the user
`pgserver` and opens the path's prefix to it, but every pytest session that starts on the
machine sets /tmp/pytest-of-<user> back to 0700, and a `pg_ctl` or `initdb` there then
fails with "Permission denied"."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from flexunion.db import embedded, migrate
from tests.support.database import APP_ROLE, TestDatabase


@dataclass
class RestartablePostgres:
    db: TestDatabase
    pgdata: Path

    @property
    def _server(self) -> embedded.EmbeddedDatabase:
        assert self.db.server is not None
        return self.db.server

    @property
    def superuser_url(self) -> str:
        """pgserver's bootstrap superuser (sees every session in pg_stat_activity)."""
        return self._server.superuser_url

    def _pg_ctl(self, *args: str) -> float:
        from pgserver._commands import POSTGRES_BIN_PATH

        user = "pgserver" if os.name == "posix" and os.geteuid() == 0 else None
        began = time.monotonic()
        subprocess.run([str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), "-w", *args],
                       user=user, capture_output=True, text=True, timeout=60, check=True)
        return time.monotonic() - began

    def stop(self) -> float:
        """Fast shutdown; returns the seconds it took."""
        return self._pg_ctl("-m", "fast", "stop")

    def start(self) -> float:
        """Start it again with the options it last ran with; returns the seconds it took."""
        return self._pg_ctl("-l", str(self.pgdata / "restart.log"), "restart")

    def close(self) -> None:
        try:
            if not (self.pgdata / "postmaster.pid").exists():
                self.start()  # let pgserver stop it as it stops every server it started
            self.db.stop()
        finally:
            shutil.rmtree(self.pgdata.parent, ignore_errors=True)


def restartable_postgres() -> RestartablePostgres:
    home = Path(tempfile.mkdtemp(prefix="flexunion-outage-"))
    try:
        server = embedded.start(home, APP_ROLE, database="flexunion_outage")
    except BaseException:
        shutil.rmtree(home, ignore_errors=True)
        raise
    db = TestDatabase(server.owner_url, server.app_url, server)
    try:
        migrate.upgrade(db.owner_url, APP_ROLE)
    except BaseException:
        db.stop()
        shutil.rmtree(home, ignore_errors=True)
        raise
    return RestartablePostgres(db, Path(server.server.pgdata))
