"""Bad input gets a clear 4xx problem+json with a stable code, never a 500, nothing half-written."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import func, select

from flexunion.consent.models import WorkerConsent
from tests.support.factories import Federation, bearer, worker_login


def assert_problem(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["type"] == f"urn:flexunion:problem:{code}"
    assert body["title"] and body["title_en"]
    assert body["request_id"] == r.headers["x-request-id"]
    return body


@pytest.fixture
async def worker(client, sms, federation: Federation) -> tuple[str, str]:
    return await worker_login(client, sms, federation.hq)


async def count_consents(owner, worker_id: str) -> int:
    async with owner() as s:
        return await s.scalar(select(func.count()).select_from(WorkerConsent)
                              .where(WorkerConsent.worker_id == uuid.UUID(worker_id)))


@pytest.mark.parametrize(("body", "status", "code"), [
    (b"{not json", 400, "malformed_request"),
    (b"[]", 422, "validation_failed"),
    (b"{}", 422, "validation_failed"),
    (b'{"purpose": "privacy_policy", "version": "1", "granted": "yes"}', 422, "validation_failed"),
    (b'{"purpose": "sell", "version": "1", "granted": true}', 422, "validation_failed"),
    (b'{"purpose": "privacy_policy", "version": "bad version!", "granted": true}', 422,
     "validation_failed"),
    (b'{"purpose": "privacy_policy", "version": "1", "granted": true, "tenant_id": "x"}', 422,
     "validation_failed"),
    (b'{"purpose": "privacy_policy", "version": "\\u0000", "granted": true}', 422,
     "validation_failed"),
])
async def test_bad_bodies(client, worker, owner, body: bytes, status: int, code: str) -> None:
    token, worker_id = worker
    r = await client.post("/v1/me/consents", content=body, headers=bearer(token) | {
        "Idempotency-Key": str(uuid.uuid4()), "content-type": "application/json"})
    problem = assert_problem(r, status, code)
    if code == "validation_failed":
        assert problem["errors"] or problem.get("detail")
    assert await count_consents(owner, worker_id) == 0


async def test_tenant_cannot_be_chosen_in_a_body(client, worker) -> None:
    """Tenant identity comes from the token only: a tenant field is an unknown field."""
    token, _ = worker
    r = await client.post("/v1/me/consents", headers=bearer(token) | {"Idempotency-Key": "t"},
                          json={"purpose": "privacy_policy", "version": "1", "granted": True,
                                "tenant": "other"})
    assert_problem(r, 422, "validation_failed")


async def test_body_size_limit(client, worker, owner, settings) -> None:
    token, worker_id = worker
    huge = b'{"purpose": "privacy_policy", "version": "1", "granted": true, "pad": "' + \
        b"x" * (settings.api.request_max_body_bytes + 10) + b'"}'
    r = await client.post("/v1/me/consents", content=huge, headers=bearer(token) | {
        "Idempotency-Key": "big", "content-type": "application/json"})
    assert_problem(r, 413, "payload_too_large")
    r = await client.post("/v1/auth/otp", content=huge,
                          headers={"content-type": "application/json"})
    assert_problem(r, 413, "payload_too_large")
    assert await count_consents(owner, worker_id) == 0


async def test_routing_errors(client) -> None:
    assert_problem(await client.get("/v1/nothing-here"), 404, "not_found")
    assert_problem(await client.delete("/healthz"), 405, "method_not_allowed")


async def test_bad_query_parameters(client, federation: Federation, staff_token) -> None:
    token = await staff_token(federation, "hq_admin", federation.hq)
    h = bearer(token)
    assert_problem(await client.get("/v1/admin/tenants", headers=h, params={"cursor": "%%%"}), 422,
                   "cursor_invalid")
    assert_problem(await client.get("/v1/admin/tenants", headers=h, params={"cursor": "WzEsMl0"}),
                   422, "cursor_invalid")
    for params in ({"kind": "castle"}, {"limit": "many"}):
        assert_problem(await client.get("/v1/admin/tenants", headers=h, params=params), 422,
                       "validation_failed")
    assert_problem(await client.get("/v1/admin/tenants/NOT_A_CODE", headers=h), 422,
                   "validation_failed")


async def test_page_size_is_clamped(client, federation: Federation, staff_token) -> None:
    h = bearer(await staff_token(federation, "hq_admin", federation.hq))
    one = await client.get("/v1/admin/tenants", headers=h, params={"limit": 0})
    assert len(one.json()["items"]) == 1 and one.json()["next_cursor"]
    most = await client.get("/v1/admin/tenants", headers=h, params={"limit": 10**9})
    assert most.status_code == 200
    assert len(most.json()["items"]) == len(federation.all_codes())
    negative = await client.get("/v1/admin/tenants", headers=h, params={"limit": -5})
    assert len(negative.json()["items"]) == 1


async def test_wrong_role_is_403(client, worker, federation: Federation, staff_token) -> None:
    station = federation.stations[federation.regions[0]][0]
    token = await staff_token(federation, "station_officer", station)
    assert_problem(await client.get("/v1/admin/audit", headers=bearer(token)), 403, "forbidden")


async def test_request_id_is_echoed_or_made(client) -> None:
    mine = await client.get("/healthz", headers={"X-Request-ID": "abcdef1234567890"})
    assert mine.headers["x-request-id"] == "abcdef1234567890"
    junk = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith junk"})
    assert junk.headers["x-request-id"] != "bad id\twith junk"
    assert len(junk.headers["x-request-id"]) == 32


async def test_openapi_document_is_served_and_covers_every_route(client) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    assert doc["info"]["title"].startswith("flexunion")
    paths = set(doc["paths"])
    for path in ("/v1/me/consents", "/v1/admin/tenants", "/v1/auth/otp", "/healthz",
                 "/.well-known/jwks.json"):
        assert path in paths
    consent = doc["paths"]["/v1/me/consents"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header"
               for p in consent["parameters"])
