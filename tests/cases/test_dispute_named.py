"""具名同意: the platform a dispute is addressed to learns who the worker is only while the
worker's recorded consent for that dispute stands — the real name from the member record and
the platform's own rider id — and never before it, after a withdrawal, for another platform
or through the people tables. Real app, real database under row-level security."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import asyncpg
import pytest

from flexunion.db.urls import to_asyncpg
from tests.cases.test_disputes import PARTNER, STAFF, app_case, rows
from tests.security.test_audience_matrix import as_app
from tests.support.bargaining import Partner, partner_client
from tests.support.factories import Federation, bearer, join

ME = "/v1/me/cases"


def key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(8)}


async def test_the_platform_names_the_worker_only_with_the_recorded_consent(
        client, sms, owner, settings, federation: Federation, staff_token) -> None:
    r1 = federation.regions[0]
    s1 = federation.stations[r1][0]
    region = await staff_token(federation, "regional_admin", r1)
    hq = await staff_token(federation, "hq_admin", federation.hq)
    member = await join(client, sms, federation, s1, approver_token=hq, real_name="欧阳娜娜")
    other = await join(client, sms, federation, s1, approver_token=hq)
    cid = await app_case(client, member.token, s1, category="social_insurance")
    opened = await client.post(f"{STAFF}/{cid}/dispute", headers=bearer(region),
                               json={"kind": "social_insurance", "statement": "请补缴社保。",
                                     "partner": "alpha"})
    assert opened.status_code == 201, opened.text
    did = opened.json()["id"]
    alpha = await partner_client(client, owner, federation, "alpha")
    beta = await partner_client(client, owner, federation, "beta")
    consent = f"{ME}/{cid}/dispute/consent"

    async def platform_view() -> dict[str, Any]:
        r = await client.get(f"{PARTNER}/{cid}/dispute", headers=bearer(alpha.token))
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def as_partner(partner: Partner, sql: str) -> list[Any]:
        """What the app role returns to the partner's principal, straight from the database."""
        conn = await asyncpg.connect(to_asyncpg(settings.app_database_url or ""))
        try:
            async with conn.transaction():
                await as_app(conn, str(federation.ids[federation.hq]),
                             f"partner:{partner.client_id}")
                return list(await conn.fetch(sql, uuid.UUID(did)))
        finally:
            await conn.close()

    named_sql = "SELECT * FROM flexunion_dispute_named($1)"
    people_sql = ("SELECT (SELECT count(*) FROM members) + (SELECT count(*) FROM worker_consents)"
                  " + (SELECT count(*) FROM worker_accounts) AS n WHERE $1::uuid IS NOT NULL")

    # Before any consent: masked.
    before = await platform_view()
    assert before["named_as"] is None and "欧阳娜娜" not in str(before)
    assert await as_partner(alpha, named_sql) == []
    mine = await client.get(f"{ME}/{cid}/dispute", headers=bearer(member.token))
    assert mine.status_code == 200 and mine.json()["named"] is False

    # Another worker cannot consent on this dispute (not their case).
    r = await client.post(consent, headers=bearer(other.token) | key(), json={"named": True})
    assert r.status_code == 404, r.text
    bad = await client.post(consent, headers=bearer(member.token) | key(), json={"named": "y"})
    assert bad.status_code in (400, 422), bad.text
    no_key = await client.post(consent, headers=bearer(member.token), json={"named": True})
    assert no_key.status_code == 400, no_key.text
    assert (await platform_view())["named_as"] is None

    # The worker agrees: the platform sees the real name and its own rider id.
    idem = key()
    granted = await client.post(consent, headers=bearer(member.token) | idem,
                                json={"named": True})
    assert granted.status_code == 200, granted.text
    assert granted.json()["named"] is True and granted.json()["named_as"] is None
    again = await client.post(consent, headers=bearer(member.token) | idem,
                              json={"named": True})
    assert again.status_code == 200 and again.json() == granted.json()
    assert (await platform_view())["named_as"] == {"name": "欧阳娜娜",
                                                   "platform_worker_id": "A-1001"}
    # Another platform: no dispute, and the function gives it nothing.
    r = await client.get(f"{PARTNER}/{cid}/dispute", headers=bearer(beta.token))
    assert r.status_code == 404
    # The function answers only the addressee; the people tables stay closed to platforms.
    assert len(await as_partner(alpha, named_sql)) == 1
    assert await as_partner(beta, named_sql) == []
    for partner in (alpha, beta):
        assert [r["n"] for r in await as_partner(partner, people_sql)] == [0]

    # Withdrawn: masked again.
    withdrawn = await client.post(consent, headers=bearer(member.token) | key(),
                                  json={"named": False})
    assert withdrawn.status_code == 200 and withdrawn.json()["named"] is False
    after = await platform_view()
    assert after["named_as"] is None and "欧阳娜娜" not in str(after)
    assert await as_partner(alpha, named_sql) == []

    # Recorded, never overwritten, and audited.
    recorded = await rows(owner, "SELECT granted FROM worker_consents WHERE dispute_id = :d"
                                 " AND purpose = 'dispute_named' ORDER BY created_at", d=did)
    assert [g for (g,) in recorded] == [True, False]
    audited = await rows(owner, "SELECT payload->>'granted' FROM audit_events WHERE action ="
                                " 'worker.consent_recorded' AND payload->>'dispute_id' = :d"
                                " ORDER BY seq", d=did)
    assert [g for (g,) in audited] == ["true", "false"]
    # The general consent list does not show the dispute's.
    listed = await client.get("/v1/me/consents", headers=bearer(member.token))
    assert listed.status_code == 200
    assert "dispute_named" not in listed.text
    # The database refuses another worker's consent row for this dispute.
    conn = await asyncpg.connect(to_asyncpg(settings.app_database_url or ""))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
            async with conn.transaction():
                await as_app(conn, str(federation.ids[federation.hq]),
                             f"worker:{other.worker_id}")
                await conn.execute(
                    "INSERT INTO worker_consents (id, tenant_id, worker_id, purpose, version,"
                    " granted, created_at, dispute_id) VALUES (gen_random_uuid(), $1, $2,"
                    " 'dispute_named', '1', true, now(), $3)",
                    federation.ids[federation.hq], uuid.UUID(other.worker_id), uuid.UUID(did))
    finally:
        await conn.close()
    assert await as_partner(alpha, named_sql) == []
