"""Idempotency-Key on mobile writes: retries never create a second record."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import func, select

from flexunion.consent.models import WorkerConsent
from tests.support.factories import Federation, bearer, worker_login

CONSENT = {"purpose": "location_checkin", "version": "2026-11", "granted": True}


async def consent_rows(owner, worker_id: str) -> int:
    async with owner() as s:
        return await s.scalar(select(func.count()).select_from(WorkerConsent)
                              .where(WorkerConsent.worker_id == uuid.UUID(worker_id)))


async def test_fifty_concurrent_retries_make_one_row(
    client: httpx.AsyncClient, sms, federation: Federation, owner
) -> None:
    token, worker = await worker_login(client, sms, federation.hq)
    headers = bearer(token) | {"Idempotency-Key": f"retry-{uuid.uuid4()}"}

    async def attempt() -> httpx.Response:
        return await client.post("/v1/me/consents", headers=headers, json=CONSENT)

    answers = await asyncio.gather(*(attempt() for _ in range(50)))
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {201, 409}, statuses
    created = [a for a in answers if a.status_code == 201]
    assert created, statuses
    assert len({a.json()["id"] for a in created}) == 1  # every success is the same record
    for busy in (a for a in answers if a.status_code == 409):
        assert busy.json()["code"] == "idempotency_in_flight"
        assert busy.headers["retry-after"] == "1"
    assert await consent_rows(owner, worker) == 1
    # After the dust settles every retry replays the stored answer, byte for byte.
    replay = await attempt()
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == created[0].content
    assert await consent_rows(owner, worker) == 1


async def test_same_key_other_body_is_422_and_writes_nothing(
    client: httpx.AsyncClient, sms, federation: Federation, owner
) -> None:
    token, worker = await worker_login(client, sms, federation.hq)
    headers = bearer(token) | {"Idempotency-Key": "k-1"}
    assert (await client.post("/v1/me/consents", headers=headers, json=CONSENT)).status_code == 201
    other = await client.post("/v1/me/consents", headers=headers, json=CONSENT | {"granted": False})
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    # Same JSON, other whitespace and key order: the same request.
    same = await client.post("/v1/me/consents",
                             headers=headers | {"content-type": "application/json"},
                             content=b'{ "version":"2026-11", "granted":true,'
                                     b'  "purpose":"location_checkin"}')
    assert same.status_code == 201 and same.headers.get("idempotent-replayed") == "true"
    assert await consent_rows(owner, worker) == 1


async def test_keys_belong_to_their_caller(
    client: httpx.AsyncClient, sms, federation: Federation, owner
) -> None:
    alice, alice_id = await worker_login(client, sms, federation.hq)
    bob, bob_id = await worker_login(client, sms, federation.hq)
    key = {"Idempotency-Key": "shared-key"}
    a = await client.post("/v1/me/consents", headers=bearer(alice) | key, json=CONSENT)
    b = await client.post("/v1/me/consents", headers=bearer(bob) | key, json=CONSENT)
    assert a.status_code == b.status_code == 201
    assert "idempotent-replayed" not in b.headers
    assert a.json()["id"] != b.json()["id"]
    assert await consent_rows(owner, alice_id) == 1
    assert await consent_rows(owner, bob_id) == 1


async def test_missing_or_bad_key_is_refused_before_any_write(
    client: httpx.AsyncClient, sms, federation: Federation, owner
) -> None:
    token, worker = await worker_login(client, sms, federation.hq)
    missing = await client.post("/v1/me/consents", headers=bearer(token), json=CONSENT)
    assert missing.status_code == 400 and missing.json()["code"] == "idempotency_key_required"
    for bad in ("x" * 256, "with space", "中文键"):
        r = await client.post("/v1/me/consents",
                              headers=[("Authorization", f"Bearer {token}".encode()),
                                       ("Idempotency-Key", bad.encode())],
                              json=CONSENT)
        assert r.status_code == 400, bad
        assert r.json()["code"] == "idempotency_key_invalid"
    assert await consent_rows(owner, worker) == 0


async def test_a_failed_request_leaves_the_key_free(
    client: httpx.AsyncClient, sms, federation: Federation, owner
) -> None:
    token, worker = await worker_login(client, sms, federation.hq)
    headers = bearer(token) | {"Idempotency-Key": "fix-and-retry"}
    bad = await client.post("/v1/me/consents", headers=headers,
                            json=CONSENT | {"purpose": "selling_data"})
    assert bad.status_code == 422
    assert await consent_rows(owner, worker) == 0
    good = await client.post("/v1/me/consents", headers=headers, json=CONSENT)
    assert good.status_code == 201
    assert await consent_rows(owner, worker) == 1
