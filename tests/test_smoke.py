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
