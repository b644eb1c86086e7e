"""Embedded PostgreSQL (pgserver) for the no-configuration default.

pgserver's bootstrap user is a superuser. It is used here only to create two
ordinary roles and the database: the owner (runs migrations and operator
commands) and the app role (serves requests, subject to row-level security).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from flexunion.db.urls import with_database, with_user

log = logging.getLogger(__name__)

OWNER_ROLE = "flexunion_owner"
DATABASE = "flexunion"


@dataclass(frozen=True, slots=True)
class EmbeddedDatabase:
    server: object
    superuser_url: str
    owner_url: str
    app_url: str

    def stop(self) -> None:
        self.server.cleanup()  # type: ignore[attr-defined]


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def start(data_dir: Path, app_role: str, database: str = DATABASE) -> EmbeddedDatabase:
    import pgserver  # imported lazily: only the embedded default needs it

    pgdata = data_dir / "pg"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    superuser_url = server.get_uri()
    bootstrap_roles(server, app_role, database)
    owner_url = with_database(with_user(superuser_url, OWNER_ROLE, None), database)
    app_url = with_database(with_user(superuser_url, app_role, None), database)
    log.info("embedded postgres ready", extra={"pgdata": str(pgdata)})
    return EmbeddedDatabase(server, superuser_url, owner_url, app_url)


def bootstrap_roles(server: object, app_role: str, database: str) -> None:
    owner, app = _quote_ident(OWNER_ROLE), _quote_ident(app_role)
    psql = server.psql  # type: ignore[attr-defined]
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
