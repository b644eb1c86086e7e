"""What became of a referral reaches the worker's inbox (migration 0044): a provider's
acceptance, decline (with its reason) and closing (with its outcome), and the union's
cancellation — once per event, Chinese first, in the event's transaction; an SMS after the
commit when the worker opted in, with the case number only. A provider's `received` tells
nothing, and a receipt retried with the same Idempotency-Key tells once. The provider writes
the row without seeing the case or its worker. Real app, real database under row-level
security."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import asyncpg

from flexunion.config import Settings
from flexunion.db.urls import to_asyncpg
from tests.cases.test_closing import INBOX, key, rows
from tests.cases.test_provider_desk import DESK, Calls, arrange, provider_token
from tests.cases.test_referrals import PROVIDERS, STAFF
from tests.support.factories import Federation, bearer

KINDS = ("referral_accepted", "referral_declined", "referral_closed", "referral_cancelled")


async def updates(client: Any, token: str) -> list[dict[str, Any]]:
    """The worker's referral notices after the referral itself, oldest first."""
    page = (await client.get(INBOX, headers=bearer(token), params={"limit": 50})).json()
    return [n for n in reversed(page["items"]) if n["kind"] in KINDS]


async def _client_token(call: Calls, client: Any, region: str, code: str) -> str:
    made = await call("post", f"{PROVIDERS}/{code}/clients", region, json={"name": "回执系统"})
    assert made.status_code == 201, made.text
    return await provider_token(client, made.json()["client"]["client_id"],
                                made.json()["client_secret"])


async def test_receipts_and_a_cancellation_each_tell_the_worker_once(
        client, sms, owner, clock, federation: Federation, staff_token) -> None:
    call = Calls(client)
    a = await arrange(call, client, sms, clock, federation, staff_token)
    member = a["member"]
    opted = await client.post("/v1/me/consents", headers=bearer(member.token) | key(),
                              json={"purpose": "sms_notice", "version": "2026-11",
                                    "granted": True})
    assert opted.status_code == 201, opted.text
    aid = await _client_token(call, client, a["region"], a["aid"])
    med = await _client_token(call, client, a["region"], a["med"])
    booked, case_no = a["booked"]["id"], a["cases"][0]["case_no"]
    texts = len(sms.notices)

    async def receipt(token: str, rid: str, body: dict[str, Any], idem: str) -> Any:
        return await client.post(f"{DESK}/referrals/{rid}/receipt", json=body,
                                 headers=bearer(token) | {"Idempotency-Key": idem})

    # 已接收 alone: nothing for the worker (they already know where to go)
    r = await receipt(aid, booked, {"status": "received"}, secrets.token_hex(8))
    assert r.status_code == 201, r.text
    assert await updates(client, member.token) == [] and len(sms.notices) == texts

    # 已受理, sent twice with one Idempotency-Key: one notice, one SMS
    idem = secrets.token_hex(8)
    first = await receipt(aid, booked, {"status": "accepted", "note": "请带身份证"}, idem)
    again = await receipt(aid, booked, {"status": "accepted", "note": "请带身份证"}, idem)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert first.json() == again.json()
    notes = await updates(client, member.token)
    assert [n["kind"] for n in notes] == ["referral_accepted"]
    assert notes[0]["case_no"] == case_no and notes[0]["case_id"] == a["cases"][0]["id"]
    assert notes[0]["title_zh"] == f"诉求 {case_no}：法律援助工作站已受理转介"
    assert notes[0]["title_en"] == f"Case {case_no}: Legal aid station accepted the referral"
    sent = sms.notices[texts:]
    assert len(sent) == 1 and case_no in sent[0][1] and "新进展" in sent[0][1]
    assert "法律援助" not in sent[0][1]
    # the same step with a new key is refused and tells nothing
    refused = await receipt(aid, booked, {"status": "accepted"}, secrets.token_hex(8))
    assert (refused.status_code, refused.json()["code"]) == (409, "receipt_step_not_allowed")
    assert len(await updates(client, member.token)) == 1

    # 已办结 with its outcome
    closed = await receipt(aid, booked, {"status": "closed",
                                         "outcome": "达成调解协议，平台补发工资"},
                           secrets.token_hex(8))
    assert closed.status_code == 201, closed.text
    notes = await updates(client, member.token)
    assert [n["kind"] for n in notes] == ["referral_accepted", "referral_closed"]
    assert notes[1]["title_zh"] == (f"诉求 {case_no}：法律援助工作站已办结，"
                                    "结果：达成调解协议，平台补发工资")

    # 不予受理 with its reason (the mediator, the second case)
    other = a["handed"][1]["id"]
    declined = await receipt(med, other, {"status": "declined",
                                          "reason": "不属本会受理范围"}, secrets.token_hex(8))
    assert declined.status_code == 201, declined.text
    notes = await updates(client, member.token)
    assert notes[-1]["kind"] == "referral_declined"
    assert notes[-1]["case_no"] == a["cases"][1]["case_no"]
    assert notes[-1]["title_zh"].endswith("不予受理转介，理由：不属本会受理范围")
    assert notes[-1]["title_en"].endswith("declined the referral: 不属本会受理范围")

    # the union cancels the first case's hand-over: one notice with the reason, once
    cancel = f"{STAFF}/{a['cases'][0]['id']}/referrals/{a['handed'][0]['id']}/cancel"
    assert (await call("post", cancel, a["region"], json={"reason": "工人已自行和解"})
            ).status_code == 200
    twice = await call("post", cancel, a["region"], json={"reason": "再次"})
    assert (twice.status_code, twice.json()["code"]) == (409, "referral_cancelled")
    notes = await updates(client, member.token)
    assert [n["kind"] for n in notes].count("referral_cancelled") == 1
    assert notes[-1]["title_zh"].endswith("已取消，原因：工人已自行和解")
    assert len(sms.notices) == texts + 4  # accepted, closed, declined, cancelled
    assert all("新进展" in t for _, t in sms.notices[texts:])

    kept = await rows(owner, "SELECT kind, created_by, sms FROM worker_notifications"
                             " WHERE worker_id = :w AND kind = ANY(:k) ORDER BY created_at",
                      w=member.worker_id, k=list(KINDS))
    assert [k[0] for k in kept] == ["referral_accepted", "referral_closed",
                                    "referral_declined", "referral_cancelled"]
    assert all(k[2] == "queued" for k in kept)
    assert [k[1].split(":")[0] for k in kept] == ["provider"] * 3 + ["regional_admin"]


async def test_a_case_without_a_worker_tells_nobody_and_no_sms_without_consent(
        client, sms, owner, clock, federation: Federation, staff_token) -> None:
    """The notice's SQL names no one when the case has no worker; a worker who did not opt in
    gets the inbox row and no SMS."""
    call = Calls(client)
    a = await arrange(call, client, sms, clock, federation, staff_token)
    anonymous = await call("post", STAFF, a["region"], json={
        "channel": "visit", "category": "wage_arrears", "description": "路人反映欠薪。"})
    assert anonymous.status_code == 201, anonymous.text
    handed = await call("post", f"{STAFF}/{anonymous.json()['id']}/referrals", a["region"],
                        json={"provider": a["med"], "handover": {
                            "sent_what": "登记表", "sent_to": "调解员",
                            "sent_at": clock.now().isoformat()}})
    assert handed.status_code == 201, handed.text
    med = await _client_token(call, client, a["region"], a["med"])
    texts = len(sms.notices)
    for rid in (handed.json()["id"], a["handed"][1]["id"]):
        r = await client.post(f"{DESK}/referrals/{rid}/receipt", json={"status": "accepted"},
                              headers=bearer(med) | key())
        assert r.status_code == 201, r.text
    kept = await rows(owner, "SELECT case_id, sms FROM worker_notifications"
                             " WHERE kind = 'referral_accepted' AND case_id = ANY(:c)",
                      c=[anonymous.json()["id"], a["cases"][1]["id"]])
    assert [(str(k[0]), k[1]) for k in kept] == [(a["cases"][1]["id"], "none")]
    assert len(sms.notices) == texts


async def test_the_notice_function_writes_once_and_only_for_the_callers_own_receipt(
        client, sms, owner, clock, federation: Federation, staff_token,
        settings: Settings) -> None:
    """In the database, as the providers' principals: `flexunion_receipt_notice` writes
    nothing a second time for a receipt, nothing for another provider's receipt or for
    another principal's call, nothing for a `received`; the writer reads no inbox row."""
    call = Calls(client)
    a = await arrange(call, client, sms, clock, federation, staff_token)
    tokens, principals = {}, {}
    for code in (a["aid"], a["med"]):
        made = await call("post", f"{PROVIDERS}/{code}/clients", a["region"], json={"name": "x"})
        principals[code] = "provider:" + made.json()["client"]["client_id"]
        tokens[code] = await provider_token(client, made.json()["client"]["client_id"],
                                            made.json()["client_secret"])
    for code, rid, status in ((a["aid"], a["booked"]["id"], "received"),
                              (a["med"], a["handed"][0]["id"], "accepted")):
        r = await client.post(f"{DESK}/referrals/{rid}/receipt", json={"status": status},
                              headers=bearer(tokens[code]) | key())
        assert r.status_code == 201, r.text
    assert settings.database_url and settings.app_database_url
    owner_conn = await asyncpg.connect(to_asyncpg(settings.database_url))
    app = await asyncpg.connect(to_asyncpg(settings.app_database_url))
    try:
        receipts = {r["status"]: r["id"] for r in await owner_conn.fetch(
            "SELECT id, status FROM referral_receipts WHERE referral_id = ANY($1::uuid[])",
            [a["booked"]["id"], a["handed"][0]["id"]])}
        before = await owner_conn.fetchval("SELECT count(*) FROM worker_notifications")
        for principal, receipt in ((principals[a["med"]], receipts["accepted"]),  # again
                                   (principals[a["aid"]], receipts["accepted"]),  # not its own
                                   (principals[a["aid"]], receipts["received"]),  # received
                                   (f"regional_admin:{uuid.uuid4()}", receipts["accepted"])):
            async with app.transaction():
                await app.execute("SELECT set_config('flexunion.principal', $1, true)",
                                  principal)
                assert await app.fetchval("SELECT flexunion_receipt_notice($1, 'x', 'y')",
                                          receipt) is None, (principal, receipt)
                assert await app.fetchval("SELECT count(*) FROM worker_notifications") == 0
        assert await owner_conn.fetchval("SELECT count(*) FROM worker_notifications") == before
        assert await owner_conn.fetchval(
            "SELECT count(*) FROM worker_notifications WHERE kind = 'referral_accepted'"
            " AND case_id = $1", uuid.UUID(a["cases"][0]["id"])) == 1
    finally:
        await app.close()
        await owner_conn.close()
