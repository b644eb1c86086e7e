from __future__ import annotations

import httpx

from tests.support.factories import Federation, bearer


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


async def test_hq_lists_its_federation(client: httpx.AsyncClient, federation: Federation,
                                       staff_token) -> None:
    token = await staff_token(federation, "hq_admin", federation.hq)
    r = await client.get("/v1/admin/tenants", headers=bearer(token), params={"limit": 100})
    assert r.status_code == 200, r.text
    assert {t["code"] for t in r.json()["items"]} == set(federation.all_codes())


async def test_readiness_follows_the_schema(client: httpx.AsyncClient, owner) -> None:
    """Behind (a migration this code needs is missing) → 503; ahead (a newer release
    migrated, this pod is the old one during a rollout or rollback) → still ready."""
    from sqlalchemy import text

    from flexunion.db.migrate import head_revision

    async def set_version(value: str) -> None:
        async with owner() as s, s.begin():
            await s.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": value})

    try:
        await set_version("9999_newer_release")
        ahead = await client.get("/readyz")
        assert ahead.status_code == 200 and ahead.json()["schema_state"] == "ahead"
        async with owner() as s, s.begin():
            await s.execute(text("DELETE FROM alembic_version"))
        behind = await client.get("/readyz")
        assert behind.status_code == 503 and behind.json()["code"] == "schema_outdated"
    finally:
        async with owner() as s, s.begin():
            await s.execute(text("DELETE FROM alembic_version"))
            await s.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": head_revision()})
    assert (await client.get("/readyz")).json()["schema_state"] == "current"
