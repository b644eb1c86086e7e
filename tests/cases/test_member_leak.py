"""A platform partner whose client is anchored at HQ carries the HQ's tenant scope: it must
still see no member row (the members policy's tenant arm is staff's, migration 0015)."""

from __future__ import annotations

import asyncpg

from flexunion.config import Settings
from flexunion.db.urls import to_asyncpg
from tests.support.bargaining import partner_client
from tests.support.factories import Federation, bearer, join


async def test_partner_anchored_at_hq_reads_no_member(
        client, sms, owner, federation: Federation, staff_token, settings: Settings):
    station = federation.stations[federation.regions[0]][0]
    hq = await staff_token(federation, "hq_admin", federation.hq)
    member = await join(client, sms, federation, station, approver_token=hq)
    alpha = await partner_client(client, owner, federation, "alpha")
    app = await asyncpg.connect(to_asyncpg(settings.app_database_url or ""))
    try:
        async with app.transaction():
            client_id = alpha.client_id
            await app.execute("SELECT set_config('flexunion.tenant_id', $1, true),"
                              " set_config('flexunion.principal', $2, true)",
                              str(federation.ids[federation.hq]), f"partner:{client_id}")
            seen = await app.fetchval("SELECT count(*) FROM members WHERE member_no = $1",
                                      member.body["member_no"])
            homes = await app.fetchval("SELECT count(*) FROM member_homes WHERE member_id = $1",
                                       member.member_id)
        async with app.transaction():  # the same scope as HQ staff sees the member
            await app.execute("SELECT set_config('flexunion.tenant_id', $1, true),"
                              " set_config('flexunion.principal', 'hq_admin:x', true)",
                              str(federation.ids[federation.hq]))
            staff = await app.fetchval("SELECT count(*) FROM members WHERE member_no = $1",
                                       member.body["member_no"])
    finally:
        await app.close()
    assert staff == 1
    assert (seen, homes) == (0, 0)
    # over HTTP: a hotline order naming a member number learns nothing of the member from a
    # platform that is not a registered 12351 platform (404 before any lookup)
    order = {"order_no": "L-1", "station": station, "category": "commission",
             "description": "x", "member_no": member.body["member_no"]}
    r = await client.post("/v1/partner/cases/hotline-orders", headers=bearer(alpha.token),
                          json=order)
    assert r.status_code == 404
