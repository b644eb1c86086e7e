"""Visibility follows the tree: own rows and the subtree's, never a sibling's or another
federation's; a foreign id answers 404, exactly like a missing one."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from flexunion.config import Settings
from flexunion.db.urls import to_asyncpg
from tests.support.factories import Federation, bearer


async def visible_codes(client: httpx.AsyncClient, token: str) -> set[str]:
    codes: set[str] = set()
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        r = await client.get("/v1/admin/tenants", headers=bearer(token), params=params)
        assert r.status_code == 200, r.text
        codes |= {t["code"] for t in r.json()["items"]}
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return codes


async def test_hq_sees_its_whole_federation_and_nothing_else(
    client: httpx.AsyncClient, federation: Federation, other_federation: Federation, staff_token
) -> None:
    token = await staff_token(federation, "hq_admin", federation.hq)
    assert await visible_codes(client, token) == set(federation.all_codes())


async def test_region_sees_itself_and_its_stations_only(
    client: httpx.AsyncClient, federation: Federation, staff_token
) -> None:
    region, sibling = federation.regions
    token = await staff_token(federation, "regional_admin", region)
    assert await visible_codes(client, token) == {region, *federation.stations[region]}
    for code in (sibling, *federation.stations[sibling], federation.hq):
        r = await client.get(f"/v1/admin/tenants/{code}", headers=bearer(token))
        assert r.status_code == 404, code
        assert r.json()["code"] == "tenant_not_found"


async def test_station_sees_only_itself(
    client: httpx.AsyncClient, federation: Federation, staff_token
) -> None:
    region = federation.regions[0]
    station, neighbour = federation.stations[region]
    token = await staff_token(federation, "station_officer", station)
    assert await visible_codes(client, token) == {station}
    r = await client.get(f"/v1/admin/tenants/{neighbour}", headers=bearer(token))
    assert r.status_code == 404


async def test_another_federation_sees_nothing_and_foreign_equals_missing(
    client: httpx.AsyncClient, federation: Federation, other_federation: Federation, staff_token
) -> None:
    token = await staff_token(other_federation, "hq_admin", other_federation.hq)
    assert not set(federation.all_codes()) & await visible_codes(client, token)
    foreign = await client.get(f"/v1/admin/tenants/{federation.regions[0]}", headers=bearer(token))
    missing = await client.get("/v1/admin/tenants/no-such-tenant-here", headers=bearer(token))
    assert foreign.status_code == missing.status_code == 404
    strip = lambda b: {k: v for k, v in b.items()  # noqa: E731
                       if k not in ("detail", "detail_en", "instance", "request_id")}
    assert strip(foreign.json()) == strip(missing.json())


async def test_partners_list_is_federation_wide_but_not_cross_federation(
    client: httpx.AsyncClient, federation: Federation, other_federation: Federation, staff_token
) -> None:
    region_token = await staff_token(federation, "regional_admin", federation.regions[0])
    r = await client.get("/v1/admin/partners", headers=bearer(region_token))
    assert r.status_code == 200
    ids = {p["id"] for p in r.json()}
    assert {p["code"] for p in r.json()} == {"alpha", "beta"}
    other = await client.get("/v1/admin/partners",
                             headers=bearer(await staff_token(other_federation, "hq_admin",
                                                              other_federation.hq)))
    assert not ids & {p["id"] for p in other.json()}


@pytest.fixture
async def app_conn(settings: Settings):
    """A raw connection as the app role: what PostgreSQL itself allows, no Python in between."""
    assert settings.app_database_url
    conn = await asyncpg.connect(to_asyncpg(settings.app_database_url))
    yield conn
    await conn.close()


async def scoped(conn: asyncpg.Connection, tenant_id: object, principal: str = "test") -> None:
    await conn.execute(
        "SELECT set_config('flexunion.tenant_id', $1, true),"
        " set_config('flexunion.principal', $2, true)",
        str(tenant_id) if tenant_id else "", principal,
    )


async def test_postgres_itself_limits_the_app_role(app_conn, federation: Federation) -> None:
    region, sibling = federation.regions
    async with app_conn.transaction():
        await scoped(app_conn, federation.ids[region])
        rows = await app_conn.fetch("SELECT code FROM tenants")  # no WHERE at all
        assert {r["code"] for r in rows} == {region, *federation.stations[region]}
        # A write aimed at the sibling touches nothing.
        status = await app_conn.execute(
            "UPDATE tenants SET name_en = 'hijacked' WHERE id = $1", federation.ids[sibling])
        assert status == "UPDATE 0"
    async with app_conn.transaction():
        await scoped(app_conn, None)  # no scope set: nothing is visible (fails closed)
        assert await app_conn.fetchval("SELECT count(*) FROM tenants") == 0


async def test_scope_does_not_leak_across_transactions(app_conn, federation: Federation) -> None:
    async with app_conn.transaction():
        await scoped(app_conn, federation.ids[federation.hq])
        assert (await app_conn.fetchval("SELECT count(*) FROM tenants")
                == len(federation.all_codes()))
    # Same pooled connection, next transaction: the scope is gone (set_config(..., true)).
    assert (await app_conn.fetchval("SELECT current_setting('flexunion.tenant_id', true)")
            in ("", None))
    assert await app_conn.fetchval("SELECT count(*) FROM tenants") == 0


async def test_app_role_cannot_insert_tenants_or_move_rows_out_of_scope(
    app_conn, federation: Federation, other_federation: Federation
) -> None:
    async with app_conn.transaction():
        await scoped(app_conn, federation.ids[federation.hq])
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app_conn.execute(
                "INSERT INTO tenants (id, federation_id, parent_id, kind, code, name_zh, name_en)"
                " VALUES (gen_random_uuid(), $1, $1, 'regional', 'sneaky', 'x', 'x')",
                federation.ids[federation.hq])
    async with app_conn.transaction():
        await scoped(app_conn, federation.ids[federation.hq])
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            # parent_id is not an updatable column for the app role
            await app_conn.execute("UPDATE tenants SET parent_id = $1 WHERE id = $2",
                                   other_federation.ids[other_federation.hq],
                                   federation.ids[federation.regions[0]])
