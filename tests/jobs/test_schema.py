"""The queue's schema: what the app role may do there (enqueue and work jobs, nothing more),
the schedules declared once and documented, and migration 0014 down and up again."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import asyncpg
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from croniter import croniter

from flexunion.config import Settings
from flexunion.db.migrate import alembic_config, head_revision
from flexunion.db.urls import to_asyncpg, with_database, with_user
from flexunion.jobs.registry import ENTRYPOINTS
from flexunion.jobs.schedule import SCHEDULES
from tests.support.database import APP_ROLE

DOCS = Path(__file__).resolve().parents[2] / "docs" / "jobs.md"
# What a worker and an enqueuer need, per table of the schema `jobs`.
APP_MAY = {
    "pgqueuer": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "pgqueuer_log": {"SELECT", "INSERT", "UPDATE"},
    "pgqueuer_statistics": {"SELECT", "INSERT", "UPDATE"},
    "pgqueuer_schedules": {"SELECT", "INSERT", "UPDATE"},
}


async def test_the_app_role_may_enqueue_and_work_jobs_and_nothing_more(
    settings: Settings,
) -> None:
    assert settings.database_url
    conn = await asyncpg.connect(to_asyncpg(settings.database_url))
    try:
        rows = await conn.fetch(
            "SELECT c.relname, p.privilege_type, pg_get_userbyid(c.relowner) AS owner"
            " FROM pg_class c CROSS JOIN LATERAL (VALUES ('SELECT'), ('INSERT'), ('UPDATE'),"
            " ('DELETE'), ('TRUNCATE'), ('REFERENCES'), ('TRIGGER')) AS p(privilege_type)"
            " WHERE c.relnamespace = 'jobs'::regnamespace AND c.relkind = 'r'"
            " AND has_table_privilege($1, c.oid, p.privilege_type)", settings.app_role)
        owners = {r["owner"] for r in await conn.fetch(
            "SELECT pg_get_userbyid(relowner) AS owner FROM pg_class"
            " WHERE relnamespace = 'jobs'::regnamespace")}
        extensions = await conn.fetch("SELECT extname FROM pg_extension")
    finally:
        await conn.close()
    granted: dict[str, set[str]] = {}
    for row in rows:
        granted.setdefault(row["relname"], set()).add(row["privilege_type"])
    assert granted == APP_MAY
    assert settings.app_role not in owners  # the app role owns nothing there either
    assert [e["extname"] for e in extensions] == ["plpgsql"]  # the queue needs no extension


def test_every_schedule_runs_a_registered_job_and_is_documented() -> None:
    docs = DOCS.read_text()
    assert len({s.name for s in SCHEDULES}) == len(SCHEDULES)
    for schedule in SCHEDULES:
        assert schedule.entrypoint in ENTRYPOINTS, schedule
        assert croniter.is_valid(schedule.cron), schedule
        assert f"`{schedule.name}`" in docs and f"`{schedule.cron}`" in docs, schedule
    for name in ENTRYPOINTS:
        assert f"`{name}`" in docs, name


async def test_migration_0014_goes_down_and_up_again(test_db, settings: Settings) -> None:
    if test_db.server is None:
        pytest.skip("needs the embedded server's superuser to create a database")
    database = f"flexunion_jobs_{secrets.token_hex(4)}"
    superuser = await asyncpg.connect(to_asyncpg(test_db.server.superuser_url))
    try:
        await superuser.execute(f'CREATE DATABASE "{database}" OWNER flexunion_owner')
        url = with_database(test_db.owner_url, database)

        def down_and_up() -> None:
            config = alembic_config(url, APP_ROLE)
            below = ScriptDirectory.from_config(config).get_revision("0014").down_revision
            command.upgrade(config, "head")
            command.downgrade(config, str(below))  # (and whatever came after 0014)
            command.upgrade(config, "head")

        await asyncio.to_thread(down_and_up)
        conn = await asyncpg.connect(to_asyncpg(with_user(url, "flexunion_owner", None)))
        try:
            assert await conn.fetchval("SELECT count(*) FROM jobs.pgqueuer") == 0
            assert await conn.fetchval("SELECT version_num FROM alembic_version") \
                == head_revision()
        finally:
            await conn.close()
    finally:
        await superuser.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await superuser.close()
