"""Idempotency-Key on mobile writes: retries never create a second record."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import func, select

from flexunion.consent.models import WorkerConsent
from flexunion.core.idempotency import fingerprint
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


def form(boundary: bytes, data: bytes, *, name: bytes = b"a.png", tail: bytes = b"") -> bytes:
    return (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="'
            + name + b'"\r\nContent-Type: image/png\r\n\r\n' + data + b"\r\n--" + boundary
            + b"--\r\n" + tail)


def multipart(boundary: bytes) -> bytes:
    return b"multipart/form-data; boundary=" + boundary


def test_a_form_is_fingerprinted_by_its_parts_unless_its_split_is_not_plain() -> None:
    """The upload retry itself is walked over HTTP in tests/cases/test_intake_paths.py."""
    def fp(body: bytes, content_type: bytes) -> str:
        return fingerprint("POST", "/v1/me/cases/x/attachments", b"", body, content_type)

    one = fp(form(b"AAA", b"\x89PNG"), multipart(b"AAA"))
    assert fp(form(b"BBBB", b"\x89PNG"), multipart(b'"BBBB"')) == one  # another boundary
    assert fp(form(b"BBBB", b"\x89PNG"), b"Multipart/Form-Data;boundary=BBBB") == one
    for other in (form(b"BBBB", b"\x89PNH"), form(b"BBBB", b"\x89PNG", name=b"b.png"),
                  form(b"BBBB", b"\x89PNG", tail=b"epilogue")):
        assert fp(other, multipart(b"BBBB")) != one
    # not plainly a form: the exact bytes decide (a boundary inside a part, two boundaries,
    # bare LF line ends, another type, no close delimiter)
    odd = [(form(b"AAA", b"x--AAAy"), multipart(b"AAA")),
           (form(b"AAA", b"\x89PNG"), multipart(b"AAA; boundary=AAA")),
           (form(b"AAA", b"\x89PNG").replace(b"\r\n", b"\n"), multipart(b"AAA")),
           (form(b"AAA", b"\x89PNG"), b"multipart/mixed; boundary=AAA"),
           (form(b"AAA", b"\x89PNG")[:-4], multipart(b"AAA"))]
    for body, content_type in odd:
        assert fp(body, content_type) == fp(body, b""), (body, content_type)
    # JSON as before: the parsed value, whatever the Content-Type says
    assert fp(b'{"a": 1, "b": 2}', b"application/json") == fp(b'{"b":2,"a":1}', b"")
    assert fp(b'{"a": 1}', multipart(b"AAA")) == fp(b'{"a":1}', b"")
