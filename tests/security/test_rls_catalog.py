"""Row-level security is on, forced and policed on every tenant table, and the app role
cannot get around it. These fail if RLS is switched off on any table."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from flexunion.auth.partners.service import create_partner_client
from flexunion.config import Settings
from flexunion.db.urls import to_asyncpg
from tests.security.seeds import GLOBAL_TABLES, seed_every_table, where_mine
from tests.support.factories import Federation, worker_login

# Tables the app role may DELETE from, each with its reason and the policy that confines it.
APP_MAY_DELETE = {
    "service_areas": "an admin withdraws an area its subtree owns (subtree_delete)",
    "station_duties": "a day's roster is replaced by the station's officers (subtree_delete)",
    "location_checkins": "a worker erases their own check-ins, e.g. withdrawing consent"
                         " (self_delete)",
    "agenda_supports": "a member withdraws their own support for an agenda item (self_delete)",
    "agreement_clauses": "an admin takes a clause out of a draft version's annex; a clause in"
                         " force or superseded is signed and stays (contracts_delete)",
    "review_signals": "a re-run of a week replaces the region's unjudged signals that no longer"
                      " cross their threshold (writer_delete; a judged signal stays)",
    "assistance_details": "the assistance-purge job deletes a closed case's special-category"
                          " details after the retention period (purge_delete; 0053)",
}

CATALOG_PROBLEMS = ("""
WITH t AS (
  SELECT c.oid, c.relname, c.relrowsecurity, c.relforcerowsecurity
    FROM pg_class c
   WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
     AND c.relname <> ALL($2::text[])
), app AS (SELECT oid FROM pg_roles WHERE rolname = $1)
SELECT relname, 'rls not enabled' AS problem FROM t WHERE NOT relrowsecurity
UNION ALL
SELECT relname, 'rls not forced' FROM t WHERE NOT relforcerowsecurity
UNION ALL
SELECT relname, 'no policy for the app role' FROM t
 WHERE NOT EXISTS (SELECT 1 FROM pg_policy p, app
                    WHERE p.polrelid = t.oid AND (app.oid = ANY (p.polroles)"""
""" OR 0 = ANY (p.polroles)))
UNION ALL
SELECT t.relname, 'app policy ' || p.polname || ' lets every row through' FROM t
  JOIN pg_policy p ON p.polrelid = t.oid, app
 WHERE (app.oid = ANY (p.polroles) OR 0 = ANY (p.polroles))
   AND (pg_get_expr(p.polqual, p.polrelid) = 'true'
        OR pg_get_expr(p.polwithcheck, p.polrelid) = 'true')
ORDER BY 1
""")


@pytest.fixture
async def owner_conn(settings: Settings):
    assert settings.database_url
    conn = await asyncpg.connect(to_asyncpg(settings.database_url))
    yield conn
    await conn.close()


async def catalog_problems(conn: asyncpg.Connection, app_role: str) -> list[tuple[str, str]]:
    rows = await conn.fetch(CATALOG_PROBLEMS, app_role, list(GLOBAL_TABLES))
    return [(r["relname"], r["problem"]) for r in rows]


async def test_every_tenant_table_has_rls_enabled_forced_and_policed(
    owner_conn: asyncpg.Connection, settings: Settings
) -> None:
    assert await catalog_problems(owner_conn, settings.app_role) == []


async def test_the_catalog_check_catches_rls_switched_off(
    owner_conn: asyncpg.Connection, settings: Settings
) -> None:
    """The check above is not vacuous: switching RLS off on any one table trips it."""
    tables = [r["relname"] for r in await owner_conn.fetch(
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        " AND relkind = 'r' AND relname <> ALL($1::text[])", list(GLOBAL_TABLES))]
    assert len(tables) >= 9
    for table in tables:
        for statement, problem in (("DISABLE ROW LEVEL SECURITY", "rls not enabled"),
                                   ("NO FORCE ROW LEVEL SECURITY", "rls not forced")):
            tx = owner_conn.transaction()
            await tx.start()
            try:
                await owner_conn.execute(f'ALTER TABLE "{table}" {statement}')
                assert (table, problem) in await catalog_problems(owner_conn, settings.app_role)
            finally:
                await tx.rollback()


async def test_global_tables_give_the_app_role_nothing_to_write(
    owner_conn: asyncpg.Connection, settings: Settings
) -> None:
    for table in GLOBAL_TABLES:
        for privilege in ("INSERT", "UPDATE", "DELETE", "TRUNCATE"):
            assert not await owner_conn.fetchval(
                "SELECT has_table_privilege($1, $2, $3)", settings.app_role, table, privilege
            ), (table, privilege)


async def test_app_role_cannot_bypass_rls(owner_conn: asyncpg.Connection,
                                          settings: Settings) -> None:
    role = await owner_conn.fetchrow(
        "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles"
        " WHERE rolname = $1",
        settings.app_role)
    assert role is not None
    assert not any(role.values())
    owned = await owner_conn.fetchval(
        "SELECT count(*) FROM pg_class"
        " WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = $1)",
        settings.app_role)
    assert owned == 0
    owner = await owner_conn.fetchval("SELECT current_user")
    assert not await owner_conn.fetchval(
        "SELECT pg_has_role($1, $2, 'MEMBER')", settings.app_role, owner)
    # No table in the schema is owned by the app role, and the app role deletes only where a
    # policy confines it (the catalog test refuses `true` policies).
    deletable = await owner_conn.fetch(
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
        " AND has_table_privilege($1, oid, 'DELETE')", settings.app_role)
    assert {r["relname"] for r in deletable} == set(APP_MAY_DELETE)


async def test_app_role_is_refused_at_startup_when_unsafe(settings: Settings) -> None:
    from flexunion.db.migrate import UnsafeAppRole, check_app_role

    assert settings.database_url
    await check_app_role(settings.app_database_url or "")  # the real app role passes
    with pytest.raises(UnsafeAppRole):
        await check_app_role(settings.database_url)  # the owner owns tables: refused


async def test_no_tenant_table_leaks_to_another_federation(
    client: httpx.AsyncClient, owner, sms, federation: Federation, other_federation: Federation,
    settings: Settings, owner_conn: asyncpg.Connection, staff_token,
) -> None:
    """Put rows of `federation` into every tenant table, then look from `other_federation`
    (and from a worker of it) as the app role with no WHERE clause: nothing must show.
    A new table without seed data here fails the test, so it cannot be forgotten."""
    seeded = await seed_every_table(client, owner, sms, federation, owner_conn, staff_token)
    tables, fed_ids, worker_id = seeded.tables, seeded.fed_ids, seeded.worker_id

    # Tables the app role may not even read need no look from the other side.
    readable = [t for t in tables if await owner_conn.fetchval(
        "SELECT has_table_privilege($1, $2, 'SELECT')", settings.app_role, t)]
    other_worker_token, other_worker = await worker_login(client, sms, other_federation.hq)
    assert other_worker_token
    async with owner() as s, s.begin():  # a platform's machine client of the other federation
        other_client, _ = await create_partner_client(s, tenant_code=other_federation.hq,
                                                      partner_code="alpha", name="spy")
    app = await asyncpg.connect(to_asyncpg(settings.app_database_url or ""))
    try:
        for tenant, principal in (
            (other_federation.ids[other_federation.hq], "hq_admin:spy"),
            (None, f"worker:{other_worker}"),
            (other_federation.ids[other_federation.hq], f"partner:{other_client}"),
            (other_federation.ids[other_federation.hq], "system:spy"),  # e.g. the SLA sweep
        ):
            for table in readable:
                async with app.transaction():
                    await app.execute(
                        "SELECT set_config('flexunion.tenant_id', $1, true),"
                        " set_config('flexunion.principal', $2, true)",
                        str(tenant) if tenant else "", principal)
                    seen = await app.fetchval(
                        f'SELECT count(*) FROM "{table}" WHERE {where_mine(table)}', fed_ids,
                        worker_id)
                    assert seen == 0, (table, principal)
    finally:
        await app.close()
