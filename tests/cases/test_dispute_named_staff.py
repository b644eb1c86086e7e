"""具名同意 as staff see it: the union's officers who see a dispute read whether the worker agreed
to be named to the platform, and when the latest choice was recorded — through the owner's
function, never the consent rows; a sibling region gets 404 and nothing from the function;
platforms still see only `named_as`, and the staff function answers them nothing. Real app,
real database under row-level security."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from flexunion.db.urls import to_asyncpg
from tests.cases.test_disputes import PARTNER, STAFF, app_case, key
from tests.security.test_audience_matrix import as_app
from tests.support.bargaining import partner_client
from tests.support.factories import Federation, bearer, join

ME = "/v1/me/cases"
FN = "SELECT named, at FROM flexunion_dispute_named_staff($1)"


async def test_staff_in_scope_see_whether_the_worker_agreed_to_be_named(
        client, sms, owner, settings, clock, federation: Federation, staff_token) -> None:
    r1, r2 = federation.regions[0], federation.regions[1]
    s1 = federation.stations[r1][0]
    region = await staff_token(federation, "regional_admin", r1)
    station = await staff_token(federation, "station_officer", s1)
    sibling = await staff_token(federation, "regional_admin", r2)
    hq = await staff_token(federation, "hq_admin", federation.hq)
    member = await join(client, sms, federation, s1, approver_token=hq, real_name="欧阳娜娜")
    cid = await app_case(client, member.token, s1, category="social_insurance")
    opened = await client.post(f"{STAFF}/{cid}/dispute", headers=bearer(region),
                               json={"kind": "social_insurance", "statement": "请补缴社保。",
                                     "partner": "alpha"})
    assert opened.status_code == 201, opened.text
    did = opened.json()["id"]
    # Before any choice: not named, no time; the worker's own field stays theirs.
    assert opened.json()["named_consent"] == {"named": False, "at": None}
    assert opened.json()["named"] is None and opened.json()["named_as"] is None
    alpha = await partner_client(client, owner, federation, "alpha")

    async def staff_view(token: str) -> dict[str, Any]:
        r = await client.get(f"{STAFF}/{cid}/dispute", headers=bearer(token))
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def through_fn(tenant: str, principal: str) -> list[Any]:
        conn = await asyncpg.connect(to_asyncpg(settings.app_database_url or ""))
        try:
            async with conn.transaction():
                await as_app(conn, str(federation.ids[tenant]), principal)
                return [tuple(r) for r in await conn.fetch(FN, uuid.UUID(did))]
        finally:
            await conn.close()

    consent = f"{ME}/{cid}/dispute/consent"
    clock.advance(minutes=5)
    granted = await client.post(consent, headers=bearer(member.token) | key(),
                                json={"named": True})
    assert granted.status_code == 200, granted.text
    for token in (region, station, hq):
        seen = await staff_view(token)
        assert seen["named_consent"]["named"] is True, seen
        assert set(seen["named_consent"]) == {"named", "at"}
        # the boolean and the time, nothing of the person or the consent row
        assert "欧阳娜娜" not in str(seen) and seen["named_as"] is None
    granted_at = datetime.fromisoformat((await staff_view(region))["named_consent"]["at"])

    clock.advance(minutes=5)
    withdrawn = await client.post(consent, headers=bearer(member.token) | key(),
                                  json={"named": False})
    assert withdrawn.status_code == 200, withdrawn.text
    after = await staff_view(station)
    assert after["named_consent"]["named"] is False
    assert datetime.fromisoformat(after["named_consent"]["at"]) > granted_at

    # A sibling region: 404, and the function gives it no row.
    r = await client.get(f"{STAFF}/{cid}/dispute", headers=bearer(sibling))
    assert r.status_code == 404
    assert await through_fn(r2, f"regional_admin:{uuid.uuid4()}") == []
    # In scope, the function answers the boolean and the time only.
    rows = await through_fn(r1, f"regional_admin:{uuid.uuid4()}")
    assert len(rows) == 1 and rows[0][0] is False and rows[0][1] is not None
    # Not staff: the platform, the worker, the 12351 operator, a job — no row.
    assert await through_fn(federation.hq, f"partner:{alpha.client_id}") == []
    assert await through_fn(federation.hq, f"worker:{member.worker_id}") == []
    assert await through_fn(r1, f"hotline_operator:{uuid.uuid4()}") == []
    assert await through_fn(federation.hq, "system:jobs:sla") == []

    # The platform still sees only named_as (null now) and no staff field.
    seen = await client.get(f"{PARTNER}/{cid}/dispute", headers=bearer(alpha.token))
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert body["named_as"] is None
    assert body["named_consent"] is None
    # The worker's own read keeps `named`, not the staff field.
    mine = (await client.get(f"{ME}/{cid}/dispute", headers=bearer(member.token))).json()
    assert mine["named"] is False and mine["named_consent"] is None
