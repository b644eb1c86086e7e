"""扫码识别会员 (issue 15, "Referral at the place of work"; migration 0048): a station officer
of region B takes a walk-in from a member homed in region A by the card the member presents.
The card is verified by the cards service; the member it names is linked, their home reads the
case (`home_sight`, 0045) and the worker reads it in the app. A forged, expired, revoked,
suspended or another federation's card is 422 with the verdict's own reason, nothing written."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from flexunion.config import Settings
from flexunion.db.urls import to_asyncpg
from tests.cards.conftest import card, member, parts, set_status
from tests.support.factories import Federation, Joined, bearer
from tests.transfers.conftest import Staff
from tests.transfers.test_case_home_sight import sights
from tests.transfers.test_cases_follow import read
from tests.transfers.test_workflow import member_at

CASES = "/v1/cases"
WALK_IN = {"channel": "station", "category": "commission", "description": "抽成上调未公示。"}


async def enter(client: httpx.AsyncClient, token: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post(CASES, json=WALK_IN | body, headers=bearer(token))


async def written(owner, fed: Federation) -> dict[str, int]:
    """What the ledger holds for the federation: cases, their events and sights, audit rows."""
    async with owner() as s:
        return {
            table: int(await s.scalar(text(
                f"SELECT count(*) FROM {table} WHERE federation_id = :f"),
                {"f": fed.ids[fed.hq]}) or 0)
            for table in ("cases", "case_events", "case_sight", "worker_notifications")
        } | {"audit": int(await s.scalar(text(
            "SELECT count(*) FROM audit_events WHERE action = 'case.received'")) or 0)}


def refused(r: httpx.Response, code: str, status: str | None = None) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    body = dict(r.json())
    assert body["code"] == code, body
    assert body["card_reason"] == code.removeprefix("card_")
    assert body["detail"] and body["detail_en"] and body["reason_zh"]
    assert body.get("member_status") == status, body
    return body


async def test_a_b_station_officer_links_an_a_homed_member_by_card(
        client, sms, staff: Staff, owner) -> None:
    fed = staff.fed
    ra, rb, rc = fed.regions
    home, work = fed.stations[ra][0], fed.stations[rb][0]
    worker: Joined = await member_at(client, sms, staff, home)
    number = worker.body["member_no"]
    token = (await card(client, worker))["token"]
    officer = staff.station[work]
    # By number alone B's station names nobody (A's member is outside its subtree) …
    r = await enter(client, officer, {"member_no": number})
    assert r.status_code == 422 and r.json()["code"] == "unknown_member", r.text
    # … by the card the worker presents it does.
    r = await enter(client, officer, {"card": token})
    assert r.status_code == 201, r.text
    case = r.json()
    cid = case["id"]
    assert case["work_tenant"] == work
    # The officer learns what the card check shows: the masked name (no number it cannot see).
    assert case["worker"] == {"is_member": True, "name_masked": "张**"}, case["worker"]
    assert await sights(owner, cid) == [(home, "home")]
    async with owner() as s:
        row = (await s.execute(text(
            "SELECT c.member_id::text, c.worker_id::text, c.contact, e.details"
            " FROM cases c JOIN case_events e ON e.case_id = c.id AND e.kind = 'intake'"
            " WHERE c.id = :c"), {"c": cid})).one()
        audit = await s.scalar(text(
            "SELECT payload FROM audit_events WHERE action = 'case.received'"
            " AND object_id = :c"), {"c": cid})
    assert (row[0], row[1]) == (worker.member_id, worker.worker_id)
    assert row[2] == {"name_masked": "张**", "home": home}
    assert row[3]["member_by"] == "card" and audit["member_by"] == "card"

    # A's region and A's station read it (会员所属工会), with the member's number; read only.
    for reader in (staff.region[ra], staff.station[home]):
        seen = await read(client, reader, cid)
        assert seen.status_code == 200, seen.text
        assert seen.json()["sight"]["code"] == "home"
        assert seen.json()["worker"]["member_no"] == number
    r = await client.post(f"{CASES}/{cid}/accept", json={}, headers=bearer(staff.region[ra]))
    assert r.status_code == 404, r.text
    # B handles it; a third region sees nothing; the worker reads it in the app, and was told.
    handled = (await read(client, staff.region[rb], cid)).json()
    assert handled["sight"] is None and handled["allowed_steps"]
    assert (await read(client, staff.region[rc], cid)).status_code == 404
    own = await client.get(f"/v1/me/cases/{cid}", headers=bearer(worker.token))
    assert own.status_code == 200 and own.json()["work_tenant"] == work, own.text
    inbox = await client.get("/v1/me/notifications", headers=bearer(worker.token))
    assert inbox.status_code == 200 and any(
        n.get("case_id") == cid for n in inbox.json()["items"]), inbox.text

    # The number besides the card must be the card's; B's regional union may take one too.
    r = await enter(client, officer, {"card": token, "member_no": number})
    assert r.status_code == 201, r.text
    r = await enter(client, officer, {"card": token, "member_no": "000000000000"})
    assert r.status_code == 422 and r.json()["code"] == "card_member_mismatch", r.text
    r = await enter(client, staff.region[rb], {"card": token, "station": fed.stations[rb][1],
                                                "channel": "visit"})
    assert r.status_code == 201, r.text
    assert await sights(owner, r.json()["id"]) == [(home, "home")]


async def test_forged_expired_revoked_and_foreign_cards_are_refused_and_nothing_written(
        client, sms, staff: Staff, owner, clock, other_federation: Federation,
        staff_token) -> None:
    fed = staff.fed
    ra, rb, _ = fed.regions
    home, work = fed.stations[ra][0], fed.stations[rb][0]
    officer = staff.station[work]
    worker = await member_at(client, sms, staff, home)
    clock.advance(days=-31)
    expired = (await card(client, worker))["token"]
    clock.offset = type(clock.offset)()
    token = (await card(client, worker))["token"]
    header, claims = parts(token)
    forged = jwt.encode(claims | {"name": "李**"}, Ed25519PrivateKey.generate(),
                        algorithm="EdDSA", headers={"kid": header["kid"], "typ": header["typ"]})
    foreign = (await card(client, await member(client, sms, other_federation, staff_token)))
    before = await written(owner, fed)

    refused(await enter(client, officer, {"card": forged}), "card_bad_signature")
    refused(await enter(client, officer, {"card": expired}), "card_expired")
    refused(await enter(client, officer, {"card": foreign["token"]}), "card_other_federation")
    refused(await enter(client, officer, {"card": "not-a-card"}), "card_malformed")
    access = await client.post("/v1/cards/verify", json={"card": officer},
                               headers=bearer(officer))  # an access token is no card
    assert access.json()["reason"] == "wrong_type"
    refused(await enter(client, officer, {"card": officer}), "card_wrong_type")
    # The holder's status now decides: suspended, then the same card replayed after the
    # member left (revoked).
    a_admin = staff.region[ra]
    await set_status(client, fed, staff_token, worker, "suspended", admin=a_admin)
    refused(await enter(client, officer, {"card": token}), "card_suspended", "suspended")
    await set_status(client, fed, staff_token, worker, "left", admin=a_admin)
    refused(await enter(client, officer, {"card": token}), "card_revoked", "left")
    # A 12351 operator does not check cards (nor does POST /v1/cards/verify serve one).
    hotline = await staff_token(fed, "hotline_operator", rb)
    r = await enter(client, hotline, {"card": token, "channel": "hotline"})
    assert r.status_code == 403 and r.json()["code"] == "card_check_not_allowed", r.text
    assert await written(owner, fed) == before


async def test_only_card_checking_staff_of_the_federation_get_the_worker_of_a_card(
        client, sms, staff: Staff, settings: Settings, other_federation: Federation) -> None:
    """flexunion_card_member (0048) answers HQ, regional admins and station officers of the
    member's own federation, and nobody else: not a partner, a provider, a 12351 operator, a
    worker, a job, nor staff of another federation."""
    fed = staff.fed
    ra, rb, _ = fed.regions
    worker = await member_at(client, sms, staff, fed.stations[ra][0])
    station = fed.ids[fed.stations[rb][0]]
    conn = await asyncpg.connect(to_asyncpg(settings.app_database_url or ""))
    try:
        async def ask(tenant: uuid.UUID, principal: str) -> Any:
            async with conn.transaction():
                await conn.execute("SELECT set_config('flexunion.tenant_id', $1, true),"
                                   " set_config('flexunion.principal', $2, true)",
                                   str(tenant), principal)
                return await conn.fetchrow("SELECT worker_id, status FROM"
                                           " flexunion_card_member($1, $2)",
                                           fed.ids[fed.hq], uuid.UUID(worker.member_id))

        for tenant, principal in ((station, "station_officer:x"),
                                  (fed.ids[rb], "regional_admin:x"),
                                  (fed.ids[fed.hq], "hq_admin:x")):
            row = await ask(tenant, principal)
            assert row is not None and str(row["worker_id"]) == worker.worker_id, principal
            assert row["status"] == "active"
        for tenant, principal in ((station, "partner:x"), (station, "provider:x"),
                                  (fed.ids[rb], "hotline_operator:x"),
                                  (fed.ids[fed.hq], f"worker:{worker.worker_id}"),
                                  (fed.ids[fed.hq], "system:jobs:sla-sweep"),
                                  (other_federation.ids[other_federation.hq], "hq_admin:x")):
            assert await ask(tenant, principal) is None, principal
    finally:
        await conn.close()
