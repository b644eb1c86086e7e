"""机构端 (migration 0041): a region's admin makes a machine client for its legal-aid station;
the station takes a token (OAuth2 client credentials), reads only the referrals made to it —
another provider's is a 404, every other API refuses its token, and the database under its
principal shows no other row — and records its receipts (Idempotency-Key), which the union's
staff see on the case's referrals and timeline. Against the real app and database, every
answer held to the OpenAPI document."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
from sqlalchemy import text

from flexunion.config import AUDIENCE_PROVIDER, Settings
from flexunion.db.urls import to_asyncpg
from tests.cases.test_intake_paths import undocumented
from tests.cases.test_referrals import PROVIDERS, STAFF, next_weekday_at, provider
from tests.security.seeds import tenant_tables
from tests.support.factories import Federation, bearer, join

DESK = "/v1/provider"


class Calls:
    """Each answer kept, for the OpenAPI check; `headers` replace the bearer header."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.answers: list[tuple[str, str, httpx.Response]] = []

    async def __call__(self, method: str, path: str, token: str, *,
                       headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        r = await self.client.request(method.upper(), path, headers=headers or bearer(token),
                                      **kw)
        self.answers.append((method, path.split("?")[0], r))
        return r


async def provider_token(client: httpx.AsyncClient, client_id: str, secret: str) -> str:
    r = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(client_id, secret))
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


async def arrange(call: Calls, client: httpx.AsyncClient, sms: Any, clock: Any,
                  fed: Federation, staff_token: Any) -> dict[str, Any]:
    """Two providers of region 1 (a legal-aid station with slots, a mediator without), a case
    booked with the first and handed over to the second, a second case handed to the second."""
    r1, _ = fed.regions
    hq = await staff_token(fed, "hq_admin", fed.hq)
    region = await staff_token(fed, "regional_admin", r1)
    member = await join(client, sms, fed, fed.stations[r1][0], approver_token=hq)
    aid, med = f"{r1}-aid", f"{r1}-med"
    for data in (provider(aid, [r1], lon=121.47, lat=31.19),
                 provider(med, [r1], lon=121.4, lat=31.2, slot_minutes=None, kind="mediation")):
        assert (await call("post", PROVIDERS, region, json=data)).status_code == 201
    cases = []
    for category in ("wage_arrears", "social_insurance"):
        made = await call("post", STAFF, region, json={
            "channel": "visit", "category": category,
            "description": "工资三个月未结，联系人电话在登记表。",
            "member_no": member.body["member_no"], "contact_phone": "13700001111"})
        assert made.status_code == 201, made.text
        cases.append(made.json())
    start = next_weekday_at(clock.now(), 9, 30)
    booked = await call("post", f"{STAFF}/{cases[0]['id']}/referrals", region, json={
        "provider": aid, "booking": {"start": start.isoformat()}, "note": "带工资条原件"})
    assert booked.status_code == 201, booked.text
    handed = []
    for case in cases:
        r = await call("post", f"{STAFF}/{case['id']}/referrals", region, json={
            "provider": med, "handover": {"sent_what": "诉求登记表（张三，13700001111）",
                                          "sent_to": "调解员王某",
                                          "sent_at": clock.now().isoformat()}})
        assert r.status_code == 201, r.text
        handed.append(r.json())
    return {"hq": hq, "region": region, "member": member, "aid": aid, "med": med,
            "cases": cases, "booked": booked.json(), "handed": handed}


async def test_a_provider_reads_only_its_referrals_and_its_receipts_reach_the_staff(
        client, sms, owner, clock, federation: Federation, staff_token,
        settings: Settings) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    call = Calls(client)
    r1, r2 = federation.regions
    a = await arrange(call, client, sms, clock, federation, staff_token)
    clients = f"{PROVIDERS}/{a['aid']}/clients"
    # only HQ and the provider's own region make its clients
    officer = await staff_token(federation, "station_officer", federation.stations[r1][0])
    sibling = await staff_token(federation, "regional_admin", r2)
    for token, code in ((officer, "providers_admin_only"),
                        (sibling, "provider_outside_subtree")):
        r = await call("post", clients, token, json={"name": "援助站系统"})
        assert (r.status_code, r.json()["code"]) == (403, code), r.text
    assert (await call("post", f"{PROVIDERS}/nope/clients", a["region"],
                       json={"name": "x"})).json()["code"] == "provider_not_found"
    made = await call("post", clients, a["region"], json={"name": "援助站系统"})
    assert made.status_code == 201, made.text
    cid, secret = made.json()["client"]["client_id"], made.json()["client_secret"]
    listed = await call("get", clients, a["hq"])
    assert [c["client_id"] for c in listed.json()] == [cid]
    assert "client_secret" not in listed.json()[0]
    assert (await call("get", clients, sibling)).status_code == 403
    # the token: client credentials, for the provider audience only
    wrong = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                              auth=(cid, secret + "x"))
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_client"
    token = await provider_token(client, cid, secret)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["aud"], claims["role"], claims["sub"]) == (AUDIENCE_PROVIDER, "provider", cid)
    me = await call("get", f"{DESK}/me", token)
    assert me.status_code == 200 and me.json()["provider"] == a["aid"], me.text
    # the referrals made to it, and nothing of the case beyond its number and kind
    mine = await call("get", f"{DESK}/referrals?limit=1", token)
    assert mine.status_code == 200, mine.text
    page = mine.json()
    assert page["next_cursor"] is None and len(page["items"]) == 1
    seen = page["items"][0]
    booked = a["booked"]
    assert seen["id"] == booked["id"] and seen["case_no"] == a["cases"][0]["case_no"]
    assert seen["case_category"]["code"] == "wage_arrears" and seen["dispute_kind"] is None
    assert (seen["mode"]["code"], seen["note"]) == ("booking", "带工资条原件")
    assert datetime.fromisoformat(seen["slot_start"]) == \
        datetime.fromisoformat(booked["slot_start"])
    assert seen["slot_start"].endswith("+08:00")  # Beijing time, as its hours are kept
    body = mine.text
    for secret_of_the_case in ("13700001111", "工资三个月未结", a["member"].body["member_no"],
                               a["cases"][0]["id"]):
        assert secret_of_the_case not in body, secret_of_the_case
    assert "created_by" not in seen and "case_id" not in seen
    # another provider's referral, and one that does not exist: the same 404
    for rid in (a["handed"][0]["id"], str(uuid.uuid4())):
        r = await call("get", f"{DESK}/referrals/{rid}", token)
        assert (r.status_code, r.json()["code"]) == (404, "referral_not_found"), r.text
        r = await call("post", f"{DESK}/referrals/{rid}/receipt", token, json={
            "status": "received"}, headers=bearer(token) | {"Idempotency-Key": f"k-{rid}"})
        assert r.status_code == 404, r.text
    # every other API refuses its token before reading anything
    cid_case = a["cases"][0]["id"]
    for path in ("/v1/cases", f"/v1/cases/{cid_case}", f"/v1/cases/{cid_case}/referrals",
                 f"/v1/cases/{cid_case}/dispute", "/v1/admin/members", "/v1/admin/tenants",
                 "/v1/me", f"/v1/me/cases/{cid_case}", "/v1/partner/me", "/v1/partner/cases",
                 PROVIDERS, clients):
        r = await client.get(path, headers=bearer(token))
        assert (r.status_code, r.json()["code"]) == (401, "token_wrong_audience"), (path, r.text)
    # ...and a partner's or staff token is not a provider's
    for other in (a["region"],):
        r = await call("get", f"{DESK}/referrals", other)
        assert (r.status_code, r.json()["code"]) == (401, "token_wrong_audience")

    # receipts: an Idempotency-Key is required, a retry replays, steps follow their table
    receipt = f"{DESK}/referrals/{booked['id']}/receipt"
    r = await call("post", receipt, token, json={"status": "received"})
    assert (r.status_code, r.json()["code"]) == (400, "idempotency_key_required"), r.text
    key = {"Idempotency-Key": "receipt-1"}
    first, retry = await asyncio.gather(*(
        client.post(receipt, headers=bearer(token) | key, json={"status": "received"})
        for _ in range(2)))
    statuses = sorted((first.status_code, retry.status_code))
    assert statuses in ([201, 201], [201, 409]), (first.text, retry.text)
    again = await call("post", receipt, token, json={"status": "received"},
                       headers=bearer(token) | key)
    assert again.status_code == 201 and len(again.json()["receipts"]) == 1, again.text
    for data, status, code in (
            ({"status": "received"}, 409, "receipt_step_not_allowed"),
            ({"status": "declined"}, 422, "receipt_reason_required"),
            ({"status": "accepted", "reason": "x"}, 422, "receipt_field_not_allowed"),
            ({"status": "closed", "outcome": "调解成功"}, 409, "receipt_step_not_allowed")):
        r = await call("post", receipt, token, json=data,
                       headers=bearer(token) | {"Idempotency-Key": f"bad-{code}-{status}"})
        assert (r.status_code, r.json()["code"]) == (status, code), (data, r.text)
    accepted = await call("post", receipt, token, json={"status": "accepted", "note": "已排期"},
                          headers=bearer(token) | {"Idempotency-Key": "receipt-2"})
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["provider_status"]["code"] == "accepted"
    r = await call("post", receipt, token, json={"status": "closed"},
                   headers=bearer(token) | {"Idempotency-Key": "receipt-3a"})
    assert r.json()["code"] == "receipt_outcome_required"
    closed = await call("post", receipt, token,
                        json={"status": "closed", "outcome": "已指派律师，代理仲裁申请"},
                        headers=bearer(token) | {"Idempotency-Key": "receipt-3"})
    assert closed.status_code == 201, closed.text
    assert [x["status"]["code"] for x in closed.json()["receipts"]] == [
        "received", "accepted", "closed"]
    r = await call("post", receipt, token, json={"status": "declined", "reason": "x"},
                   headers=bearer(token) | {"Idempotency-Key": "receipt-4"})
    assert r.json()["code"] == "receipt_step_not_allowed"
    # the union's staff see them on the case's referrals and on its timeline
    staff = await call("get", f"{STAFF}/{cid_case}/referrals", a["region"])
    ours = next(x for x in staff.json() if x["id"] == booked["id"])
    assert ours["provider_status"]["code"] == "closed"
    assert ours["receipts"][-1]["outcome"] == "已指派律师，代理仲裁申请"
    case = await call("get", f"{STAFF}/{cid_case}", a["region"])
    timeline = [e for e in case.json()["events"] if e["kind"] == "referral_receipt"]
    assert [(e["details"]["status"], e["actor_kind"]) for e in timeline] == [
        ("received", "provider"), ("accepted", "provider"), ("closed", "provider")]
    assert timeline[-1]["reason"] == "已指派律师，代理仲裁申请"
    async with owner() as s:
        actions = (await s.execute(text(
            "SELECT payload->>'status' FROM audit_events WHERE action = 'case.referral.receipt'"
            " AND object_id = :c ORDER BY seq"), {"c": cid_case})).scalars().all()
        count = await s.scalar(text("SELECT count(*) FROM referral_receipts"
                                    " WHERE referral_id = :r"), {"r": booked["id"]})
    assert actions == ["received", "accepted", "closed"] and count == 3
    assert undocumented(document, call.answers) == []


async def test_the_database_under_a_providers_principal_shows_only_its_own_rows(
        client, sms, owner, clock, federation: Federation, staff_token,
        settings: Settings) -> None:
    """Every table, no WHERE clause: the mediator's client sees its two referrals, its own
    entry and client, and none of the federation's other rows; its writes elsewhere fail."""
    call = Calls(client)
    a = await arrange(call, client, sms, clock, federation, staff_token)
    made = await call("post", f"{PROVIDERS}/{a['med']}/clients", a["hq"], json={"name": "调解"})
    cid = made.json()["client"]["client_id"]
    token = await provider_token(client, cid, made.json()["client_secret"])
    # two referrals to it, one a page: newest first, then the cursor to the next
    first = (await call("get", f"{DESK}/referrals?limit=1", token)).json()
    assert first["next_cursor"] is not None and len(first["items"]) == 1
    second = (await call("get", f"{DESK}/referrals", token,
                         params={"limit": 1, "cursor": first["next_cursor"]})).json()
    assert second["next_cursor"] is None
    assert [x["id"] for x in first["items"] + second["items"]] == [
        a["handed"][1]["id"], a["handed"][0]["id"]]
    assert (await call("get", f"{DESK}/referrals?cursor=nonsense", token)).json()["code"] == \
        "cursor_invalid"
    r = await call("post", f"{DESK}/referrals/{a['handed'][0]['id']}/receipt", token,
                   json={"status": "declined", "reason": "不属本会调解范围"},
                   headers=bearer(token) | {"Idempotency-Key": "d-1"})
    assert r.status_code == 201, r.text
    # two receipts of one referral at once (other keys): one wins, the other is refused
    path = f"{DESK}/referrals/{a['handed'][1]['id']}/receipt"
    both = await asyncio.gather(*(
        client.post(path, headers=bearer(token) | {"Idempotency-Key": f"race-{i}"}, json=data)
        for i, data in enumerate(({"status": "accepted"},
                                  {"status": "declined", "reason": "人手不足"}))))
    assert sorted(r.status_code for r in both) == [201, 409], [r.text for r in both]
    assert {r.json()["code"] for r in both if r.status_code == 409} <= {
        "receipt_conflict", "receipt_step_not_allowed"}
    assert settings.database_url and settings.app_database_url
    owner_conn = await asyncpg.connect(to_asyncpg(settings.database_url))
    app = await asyncpg.connect(to_asyncpg(settings.app_database_url))
    try:
        provider_id = await owner_conn.fetchval(
            "SELECT provider_id FROM referral_provider_clients WHERE client_id = $1", cid)
        tables = await tenant_tables(owner_conn)
        seen: dict[str, int] = {}
        for tenant in ("", str(federation.ids[federation.hq])):
            async with app.transaction():
                await app.execute("SELECT set_config('flexunion.tenant_id', $1, true),"
                                  " set_config('flexunion.principal', $2, true)",
                                  tenant, f"provider:{cid}")
                for table in tables:
                    if await owner_conn.fetchval(
                            "SELECT has_table_privilege($1, $2, 'SELECT')", settings.app_role,
                            table):
                        n = await app.fetchval(f'SELECT count(*) FROM "{table}"')
                        if n:
                            seen[table] = n
                assert await app.fetchval("SELECT count(*) FROM case_referrals"
                                          " WHERE provider_id <> $1", provider_id) == 0
                assert await app.fetchval("SELECT flexunion_federation()") is None
                assert await app.fetchval("SELECT flexunion_tenant_scope()") == []
                # writes outside its own receipts: nothing touched, or refused by policy
                for sql in ("UPDATE case_referrals SET status = status",
                            "UPDATE referral_provider_clients SET disabled = disabled",
                            "UPDATE cases SET status = status"):
                    assert (await app.execute(sql)).split()[-1] == "0", sql
            # a receipt for the aid station's referral, as the mediator: refused by policy
            booked = await owner_conn.fetchrow(
                "SELECT federation_id, tenant_id, id, case_id, provider_id FROM case_referrals"
                " WHERE id = $1", uuid.UUID(a["booked"]["id"]))
            for claimed in (provider_id, booked["provider_id"]):
                async with app.transaction():
                    await app.execute("SELECT set_config('flexunion.principal', $1, true)",
                                      f"provider:{cid}")
                    with pytest.raises(asyncpg.InsufficientPrivilegeError,
                                       match="row-level security"):
                        await app.execute(
                            "INSERT INTO referral_receipts (id, federation_id, tenant_id,"
                            " referral_id, case_id, provider_id, seq, status, recorded_by,"
                            " recorded_at) VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, 1,"
                            " 'received', $6, now())", booked["federation_id"],
                            booked["tenant_id"], booked["id"], booked["case_id"], claimed,
                            f"provider:{cid}")
    finally:
        await app.close()
        await owner_conn.close()
    assert set(seen) <= {"case_referrals", "referral_providers", "referral_provider_clients",
                         "referral_receipts", "idempotency_keys"}, seen
    assert (seen["case_referrals"], seen["referral_providers"],
            seen["referral_provider_clients"], seen["referral_receipts"]) == (2, 1, 1, 2)


async def test_a_disabled_or_rotated_client_is_refused_and_a_cancelled_referral_takes_no_receipt(
        client, sms, owner, clock, federation: Federation, staff_token) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    call = Calls(client)
    a = await arrange(call, client, sms, clock, federation, staff_token)
    base = f"{PROVIDERS}/{a['aid']}/clients"
    made = (await call("post", base, a["region"], json={"name": "援助站"})).json()
    cid, row = made["client"]["client_id"], made["client"]["id"]
    token = await provider_token(client, cid, made["client_secret"])
    # cancelled by the union: no receipt
    cancel = f"{STAFF}/{a['cases'][0]['id']}/referrals/{a['booked']['id']}/cancel"
    assert (await call("post", cancel, a["region"], json={"reason": "改期"})).status_code == 200
    r = await call("post", f"{DESK}/referrals/{a['booked']['id']}/receipt", token,
                   json={"status": "received"}, headers=bearer(token) | {"Idempotency-Key": "c"})
    assert (r.status_code, r.json()["code"]) == (409, "referral_cancelled"), r.text
    shown = await call("get", f"{DESK}/referrals/{a['booked']['id']}", token)
    assert shown.json()["status"]["code"] == "cancelled" and "cancel_reason" not in shown.json()
    # rotating: the old secret stops at once, the new one works
    rotated = await call("post", f"{base}/{row}/rotate", a["region"])
    assert rotated.status_code == 200, rotated.text
    old = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                            auth=(cid, made["client_secret"]))
    assert old.status_code == 401
    token = await provider_token(client, cid, rotated.json()["client_secret"])
    # disabling: no new token, and the one it holds is refused
    disabled = await call("post", f"{base}/{row}/disable", a["hq"])
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    again = await call("post", f"{base}/{row}/disable", a["hq"])
    assert (again.status_code, again.json()["code"]) == (409, "client_disabled")
    assert (await call("post", f"{base}/{row}/rotate", a["hq"])).json()["code"] == \
        "client_disabled"
    assert (await call("post", f"{base}/{uuid.uuid4()}/rotate", a["hq"])).json()["code"] == \
        "provider_client_not_found"
    for path in (f"{DESK}/referrals", f"{DESK}/me"):
        r = await call("get", path, token)
        assert (r.status_code, r.json()["code"]) == (401, "client_disabled"), r.text
    refused = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                                auth=(cid, rotated.json()["client_secret"]))
    assert refused.status_code == 401 and refused.json()["code"] == "invalid_client"
    async with owner() as s:
        actions = set((await s.execute(text(
            "SELECT action FROM audit_events WHERE object_type = 'referral_provider_client'"
            " AND object_id = :r"), {"r": row})).scalars().all())
    assert {"provider_client.created", "provider_client.secret_rotated",
            "provider_client.disabled", "auth.provider_token"} <= actions
    assert undocumented(document, call.answers) == []
