"""Run Alembic migrations as the owner, and check the app role is safe to serve with."""

from __future__ import annotations

import asyncio
from functools import cache
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from flexunion.db.urls import to_asyncpg

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


class UnsafeAppRole(RuntimeError):
    """The app role could bypass row-level security; refusing to serve."""


def alembic_config(owner_url: str, app_role: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = owner_url
    config.attributes["app_role"] = app_role
    return config


@cache
def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused", "unused"))
    head = script.get_current_head()
    assert head is not None
    return head


def upgrade(owner_url: str, app_role: str, app_password: str | None = None) -> None:
    """Alembic's env.py runs its own event loop: call this outside one (or in a thread)."""
    command.upgrade(alembic_config(owner_url, app_role), "head")
    if app_password:
        asyncio.run(_set_password(owner_url, app_role, app_password))


@cache
def known_revisions() -> frozenset[str]:
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused", "unused"))
    return frozenset(rev.revision for rev in script.walk_revisions())


def schema_state(current: str | None) -> str:
    """'current', 'behind' (migrations this code needs are missing) or 'ahead'
    (a newer release migrated; this older code may serve during a rollout or rollback,
    since migrations are written to be backward compatible)."""
    if current == head_revision():
        return "current"
    if current is None or current in known_revisions():
        return "behind"
    return "ahead"


async def upgrade_async(owner_url: str, app_role: str, app_password: str | None = None) -> None:
    await asyncio.to_thread(upgrade, owner_url, app_role, app_password)


async def _set_password(owner_url: str, role: str, password: str) -> None:
    conn = await asyncpg.connect(to_asyncpg(owner_url))
    try:
        quoted = '"' + role.replace('"', '""') + '"'
        literal = await conn.fetchval("SELECT quote_literal($1::text)", password)
        await conn.execute(f"ALTER ROLE {quoted} PASSWORD {literal}")
    finally:
        await conn.close()


async def check_app_role(app_url: str) -> None:
    """Refuse to serve as a role that would make row-level security moot."""
    conn = await asyncpg.connect(to_asyncpg(app_url))
    try:
        row = await conn.fetchrow(
            "SELECT r.rolsuper, r.rolbypassrls,"
            " (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid"
            "   AND c.relnamespace = 'public'::regnamespace) AS owned"
            " FROM pg_roles r WHERE r.rolname = current_user"
        )
    finally:
        await conn.close()
    if row["rolsuper"] or row["rolbypassrls"] or row["owned"]:
        raise UnsafeAppRole(
            "The app's database role is superuser, has BYPASSRLS or owns tables; "
            "connect the app as the dedicated role (FLEXUNION_APP_ROLE) instead."
        )
