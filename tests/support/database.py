"""A fresh, migrated test database: embedded PostgreSQL by default,
or a server from FLEXUNION_TEST_DATABASE_URL (a role that may create roles and databases)."""

from __future__ import annotations

import asyncio
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from flexunion.db import embedded, migrate
from flexunion.db.urls import to_asyncpg, with_database, with_user

APP_ROLE = "flexunion_app"
ROLES_LOCK = 0x666C7578  # pg_advisory_lock key around creating the roles on a shared server


@dataclass
class TestDatabase:
    owner_url: str
    app_url: str
    server: embedded.EmbeddedDatabase | None

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


async def _bootstrap_on_server(superuser_url: str, database: str) -> None:
    conn = await asyncpg.connect(to_asyncpg(superuser_url))
    try:
        # The roles are the server's, shared by every xdist worker's database: one worker at
        # a time checks and creates them (two concurrent CREATE ROLEs of one name: one fails).
        await conn.execute("SELECT pg_advisory_lock($1)", ROLES_LOCK)
        await conn.execute(
            "DO $$ BEGIN "
            f"IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{embedded.OWNER_ROLE}') THEN "
            f"CREATE ROLE {embedded.OWNER_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS CREATEROLE; END IF; "
            f"IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN "
            f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; "
            "END IF; "
            "END $$"
        )
        await conn.execute(f'CREATE DATABASE "{database}" OWNER {embedded.OWNER_ROLE}')
    finally:
        await conn.close()


def create(tmp: Path) -> TestDatabase:
    server_url = os.environ.get("FLEXUNION_TEST_DATABASE_URL")
    database = f"flexunion_test_{secrets.token_hex(4)}"
    if server_url:
        asyncio.run(_bootstrap_on_server(server_url, database))
        base = with_database(server_url, database)
        owner_url = with_user(base, embedded.OWNER_ROLE, None)
        app_url = with_user(base, APP_ROLE, None)
        db = TestDatabase(owner_url, app_url, None)
    else:
        server = embedded.start(tmp, APP_ROLE, database=database)
        db = TestDatabase(server.owner_url, server.app_url, server)
    migrate.upgrade(db.owner_url, APP_ROLE)
    return db
