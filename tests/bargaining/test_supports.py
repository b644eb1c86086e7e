"""附议: one support per member whatever the retries and concurrency; the threshold moves an
item to review exactly once; only active members within reach; the members' board."""

from __future__ import annotations

import asyncio
import secrets

from sqlalchemy import text

from tests.support.bargaining import seed_item, set_member_status
from tests.support.factories import bearer, join, worker_login


def _key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(8)}


async def _rows(owner, item) -> tuple[int, int, str, int]:
    async with owner() as s:
        row = (await s.execute(text(
            "SELECT (SELECT count(*) FROM agenda_supports WHERE item_id = i.id) AS n,"
            " i.support_count, i.status, (SELECT count(*) FROM agenda_item_events e"
            "  WHERE e.item_id = i.id AND e.actor = 'system:support-threshold') AS moves"
            " FROM agenda_items i WHERE i.id = :i"), {"i": item})).one()
    return row.n, row.support_count, row.status, row.moves


async def _member(client, sms, fed, staff_token, region: int = 0):
    hq = await staff_token(fed, "hq_admin", fed.hq)
    return await join(client, sms, fed, fed.stations[fed.regions[region]][0], approver_token=hq)


async def test_one_support_per_member_under_retries(client, sms, owner, federation,
                                                    staff_token) -> None:
    item = await seed_item(owner, federation)
    m = await _member(client, sms, federation, staff_token)
    url = f"/v1/bargaining/items/{item}/support"
    same = {"Idempotency-Key": "support-once"}
    bodies = [(await client.put(url, headers=bearer(m.token) | same)) for _ in range(3)]
    assert {r.status_code for r in bodies} == {200}
    assert {r.text for r in bodies} == {bodies[0].text}
    assert bodies[0].json()["supported"] is True and bodies[0].json()["support_count"] == 1
    for _ in range(3):  # new keys: already supporting gives the same answer
        r = await client.put(url, headers=bearer(m.token) | _key())
        assert r.status_code == 200 and r.json()["support_count"] == 1
    results = await asyncio.gather(*[client.put(url, headers=bearer(m.token) | _key())
                                     for _ in range(50)])
    assert {r.status_code for r in results} == {200}, {r.text for r in results}
    assert {r.json()["support_count"] for r in results} == {1}
    assert await _rows(owner, item) == (1, 1, "collected", 0)
    other = await _member(client, sms, federation, staff_token)
    r = await client.put(url, headers=bearer(other.token) | _key())
    assert r.json()["support_count"] == 2
    assert await _rows(owner, item) == (2, 2, "collected", 0)
    # Withdrawing takes one away; the board shows my flag.
    r = await client.delete(url, headers=bearer(m.token) | _key())
    assert r.status_code == 200 and r.json() == {**r.json(), "supported": False, "support_count": 1}
    got = (await client.get(f"/v1/bargaining/items/{item}", headers=bearer(other.token))).json()
    assert got["my_support"] is True and got["support_count"] == 1
    got = (await client.get(f"/v1/bargaining/items/{item}", headers=bearer(m.token))).json()
    assert got["my_support"] is False


async def test_threshold_reached_exactly_once_concurrently(client, sms, owner, federation,
                                                           staff_token) -> None:
    item = await seed_item(owner, federation, threshold=5)
    members = [await _member(client, sms, federation, staff_token) for _ in range(8)]
    url = f"/v1/bargaining/items/{item}/support"
    results = await asyncio.gather(*[client.put(url, headers=bearer(m.token) | _key())
                                     for m in members])
    assert {r.status_code for r in results} == {200}, [r.text for r in results]
    assert await _rows(owner, item) == (8, 8, "under_review", 1)
    async with owner() as s:
        audits = (await s.execute(text(
            "SELECT count(*) FROM audit_events WHERE action = 'agenda.transition'"
            " AND object_id = :i"), {"i": str(item)})).scalar_one()
    assert audits == 1
    timeline = (await client.get(f"/v1/bargaining/items/{item}/timeline",
                                 headers=bearer(members[0].token))).json()
    assert [(e["from_status"], e["to_status"], e["actor"]) for e in timeline] == [
        ("collected", "under_review", "system:support-threshold")]


async def test_who_may_support(client, sms, owner, federation, staff_token) -> None:
    item = await seed_item(owner, federation)  # scoped to r1
    url = f"/v1/bargaining/items/{item}/support"
    token, _ = await worker_login(client, sms, federation.hq)
    r = await client.put(url, headers=bearer(token) | _key())
    assert r.status_code == 403 and r.json()["code"] == "membership_required"
    lapsed = await _member(client, sms, federation, staff_token)
    await set_member_status(owner, lapsed.member_id, "suspended")
    r = await client.put(url, headers=bearer(lapsed.token) | _key())
    assert r.status_code == 403 and r.json()["code"] == "member_not_active"
    elsewhere = await _member(client, sms, federation, staff_token, region=1)
    r = await client.put(url, headers=bearer(elsewhere.token) | _key())
    assert r.status_code == 404
    assert (await client.get(f"/v1/bargaining/items/{item}",
                             headers=bearer(elsewhere.token))).status_code == 404
    assert await _rows(owner, item) == (0, 0, "collected", 0)
    closed = await seed_item(owner, federation, status="rejected")
    ok = await _member(client, sms, federation, staff_token)
    r = await client.put(f"/v1/bargaining/items/{closed}/support",
                         headers=bearer(ok.token) | _key())
    assert r.status_code == 409 and r.json()["code"] == "support_closed"
    r = await client.put(url, headers=bearer(ok.token))  # no Idempotency-Key
    assert r.status_code in (400, 422, 428)
    assert await _rows(owner, item) == (0, 0, "collected", 0)


async def test_members_board(client, sms, owner, federation, staff_token) -> None:
    r1, r2 = federation.regions
    mine = await seed_item(owner, federation, scope=r1, title="r1 事项")
    fed_wide = await seed_item(owner, federation, scope=federation.hq, topic="rest",
                               status="on_agenda")
    theirs = await seed_item(owner, federation, scope=r2)
    m = await _member(client, sms, federation, staff_token)
    page = (await client.get("/v1/bargaining/items", headers=bearer(m.token))).json()
    ids = {i["id"] for i in page["items"]}
    assert ids == {str(mine), str(fed_wide)} and str(theirs) not in ids
    page = (await client.get("/v1/bargaining/items", params={"topic": "rest"},
                             headers=bearer(m.token))).json()
    assert [i["id"] for i in page["items"]] == [str(fed_wide)]
    page = (await client.get("/v1/bargaining/items", params={"status": "collected", "limit": 1},
                             headers=bearer(m.token))).json()
    assert [i["id"] for i in page["items"]] == [str(mine)] and page["next_cursor"] is None
    # Staff-only timeline entries stay with the union.
    admin = await staff_token(federation, "regional_admin", r1)
    r = await client.patch(f"/v1/admin/bargaining/items/{mine}", json={"title": "新标题"},
                           headers=bearer(admin))
    assert r.status_code == 200, r.text
    staff_view = (await client.get(f"/v1/admin/bargaining/items/{mine}/timeline",
                                   headers=bearer(admin))).json()
    assert [e["kind"] for e in staff_view] == ["edited"]
    assert (await client.get(f"/v1/bargaining/items/{mine}/timeline",
                             headers=bearer(m.token))).json() == []
    # Lapsing closes the board.
    await set_member_status(owner, m.member_id, "suspended")
    page = (await client.get("/v1/bargaining/items", headers=bearer(m.token))).json()
    assert page["items"] == []
