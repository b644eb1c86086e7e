"""回访复核 closes the loop: follow-up in three states, satisfaction once per closing, reopening
within the window; the worker's inbox and SMS notices (only when opted in, only after
commit) — against the real app and database."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import text

from tests.support.factories import Federation, bearer, join

ME, STAFF, INBOX = "/v1/me/cases", "/v1/cases", "/v1/me/notifications"


def key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(8)}


async def rows(owner, sql: str, **params: Any) -> list[Any]:
    async with owner() as s:
        return list((await s.execute(text(sql), params)).all())


async def answered_case(client, region: str, token: str, member_no: str) -> str:
    made = await client.post(STAFF, headers=bearer(token), json={
        "channel": "visit", "category": "wage_arrears", "description": "三个月工资未结。",
        "member_no": member_no})
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    for path, body in (("route", {"route": "instant", "reason": "当场答复"}),
                       ("answer", {"text": "已联系站点，本周结清。"})):
        r = await client.post(f"{STAFF}/{cid}/{path}", headers=bearer(token), json=body)
        assert r.status_code == 200, r.text
    return cid


async def test_follow_up_states_rating_reopen_and_inbox(
        client, sms, owner, clock, federation: Federation, staff_token):
    r1, r2 = federation.regions
    station = federation.stations[r1][0]
    hq = await staff_token(federation, "hq_admin", federation.hq)
    member = await join(client, sms, federation, station, approver_token=hq)
    stranger = await join(client, sms, federation, station)
    region = await staff_token(federation, "regional_admin", r1)
    cid = await answered_case(client, r1, region, member.body["member_no"])
    # 阶段推进 needs a next node, due date and responsible unit; and does not close
    bare = await client.post(f"{STAFF}/{cid}/follow-up", headers=bearer(region), json={
        "outcome": "in_progress", "worker_informed": True, "worker_accepts": False})
    assert bare.status_code == 422 and bare.json()["code"] == "next_node_required"
    staged = await client.post(f"{STAFF}/{cid}/follow-up", headers=bearer(region), json={
        "outcome": "in_progress", "worker_informed": True, "worker_accepts": False,
        "next_node": "站点补发欠薪", "next_due_on": "2099-01-05", "responsible_unit": station,
        "new_problem": {"category": "social_insurance", "description": "社保也未缴。"}})
    assert staged.status_code == 200, staged.text
    body = staged.json()
    assert body["status"]["code"] == "followed_up"
    assert body["closing"]["next_unit"] == station and body["closing"]["closings"] == 0
    new_id = body["followups"][0]["new_case_id"]
    linked = await client.get(f"{STAFF}/{new_id}", headers=bearer(region))
    assert linked.json()["channel"]["code"] == "followup"
    assert linked.json()["closing"]["source_case_id"] == cid
    # the worker cannot rate or reopen an open case
    early = await client.post(f"{ME}/{cid}/rating", headers=bearer(member.token) | key(),
                              json={"rating": "satisfied"})
    assert early.status_code == 409 and early.json()["code"] == "case_not_closed"
    # another region's staff may not follow up: the case does not exist for them
    other = await staff_token(federation, "regional_admin", r2)
    assert (await client.post(f"{STAFF}/{cid}/follow-up", headers=bearer(other), json={
        "outcome": "resolved", "worker_informed": True, "worker_accepts": True})
            ).status_code == 404
    closed = await client.post(f"{STAFF}/{cid}/follow-up", headers=bearer(region), json={
        "outcome": "resolved", "worker_informed": True, "worker_accepts": True})
    assert closed.status_code == 200 and closed.json()["status"]["code"] == "closed"
    assert closed.json()["closing"]["closings"] == 1
    assert closed.json()["closing"]["reopen_until"] is not None
    # satisfaction once per closing; a retried key answers the same
    headers = bearer(member.token) | key()
    rated = await client.post(f"{ME}/{cid}/rating", headers=headers,
                              json={"rating": "basically_satisfied"})
    assert rated.status_code == 201, rated.text
    assert (await client.post(f"{ME}/{cid}/rating", headers=headers,
                              json={"rating": "basically_satisfied"})).json() == rated.json()
    twice = await client.post(f"{ME}/{cid}/rating", headers=bearer(member.token) | key(),
                              json={"rating": "dissatisfied"})
    assert twice.status_code == 409 and twice.json()["code"] == "already_rated"
    # reopen within the window, back to handling; past it, refused
    reopened = await client.post(f"{ME}/{cid}/reopen", headers=bearer(member.token) | key(),
                                 json={"reason": "钱没到账"})
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["status"]["code"] == "reopened"
    again = await client.post(f"{STAFF}/{cid}/answer", headers=bearer(region),
                              json={"text": "已到账，请查收。"})
    assert again.status_code == 200
    await client.post(f"{STAFF}/{cid}/follow-up", headers=bearer(region), json={
        "outcome": "resolved", "worker_informed": True, "worker_accepts": True})
    assert (await client.post(f"{ME}/{cid}/rating", headers=bearer(member.token) | key(),
                              json={"rating": "satisfied"})).status_code == 201
    clock.advance(days=16)
    late = await client.post(f"{ME}/{cid}/reopen", headers=bearer(member.token) | key(),
                             json={"reason": "又没了"})
    assert late.status_code == 409 and late.json()["code"] == "reopen_window_passed"
    kinds = [k for (k,) in await rows(owner, "SELECT kind FROM case_events WHERE case_id = :c"
                                      " ORDER BY at, id", c=cid)]
    assert kinds == ["intake", "route", "answer", "follow_up", "close", "rate", "reopen",
                     "answer", "close", "rate"]
    audited = [a for (a,) in await rows(owner, "SELECT action FROM audit_events"
                                        " WHERE object_id = :c ORDER BY seq", c=cid)]
    assert audited.count("case.closed") == 2 and "case.reopened" in audited
    assert audited.count("case.rated") == 2
    # the inbox: one row per status change, newest first, only the worker's own
    inbox = await client.get(INBOX, params={"limit": 3}, headers=bearer(member.token))
    assert inbox.status_code == 200, inbox.text
    page = inbox.json()
    statuses = [n["status"] for n in page["items"]]
    assert statuses == ["closed", "answered", "reopened"]
    rest = await client.get(INBOX, params={"limit": 50, "cursor": page["next_cursor"]},
                            headers=bearer(member.token))
    every = statuses + [n["status"] for n in rest.json()["items"]]
    mine = [n for n in page["items"] + rest.json()["items"] if n["case_id"] == cid]
    assert [n["status"] for n in mine][::-1] == [
        "received", "answered", "followed_up", "closed", "reopened", "answered", "closed"]
    assert "received" in every  # and the linked new case's intake
    nothing = await client.get(INBOX, headers=bearer(stranger.token))
    assert nothing.status_code == 200 and nothing.json()["items"] == []
    note = page["items"][0]["id"]
    assert (await client.post(f"{INBOX}/{note}/read", headers=bearer(other) | key())
            ).status_code in (401, 403)
    read = await client.post(f"{INBOX}/{note}/read", headers=bearer(member.token) | key())
    assert read.status_code == 200 and read.json()["read_at"] is not None
    unread = await client.get(INBOX, params={"unread": "true", "limit": 50},
                              headers=bearer(member.token))
    assert note not in [n["id"] for n in unread.json()["items"]]
    # staff cannot read the inbox rows they wrote (RLS): only the owner sees them
    assert not sms.notices or all("三个月" not in t for _, t in sms.notices)


async def test_sms_only_when_opted_in_and_only_after_commit(
        client, sms, owner, federation: Federation, staff_token):
    r1 = federation.regions[0]
    station = federation.stations[r1][0]
    hq = await staff_token(federation, "hq_admin", federation.hq)
    region = await staff_token(federation, "regional_admin", r1)
    quiet = await join(client, sms, federation, station, approver_token=hq)
    keen = await join(client, sms, federation, station, approver_token=hq)
    opted = await client.post("/v1/me/consents", headers=bearer(keen.token) | key(),
                              json={"purpose": "sms_notice", "version": "2026-11",
                                    "granted": True})
    assert opted.status_code == 201, opted.text
    phone = dict(await rows(owner, "SELECT w.id::text, w.phone_masked FROM worker_accounts w"
                             " WHERE w.id = :w", w=keen.worker_id))
    before = len(sms.notices)
    cid = await answered_case(client, r1, region, keen.body["member_no"])
    await answered_case(client, r1, region, quiet.body["member_no"])
    sent = sms.notices[before:]
    # the keen worker: intake (已受理) and answer (已答复); the quiet one: none
    assert [t.split("：")[-1].split("。")[0] for _, t in sent] == ["已受理", "已答复"]
    assert all(p[-4:] == phone[keen.worker_id][-4:] for p, _ in sent)
    queued = await rows(owner, "SELECT sms FROM worker_notifications WHERE case_id = :c"
                        " ORDER BY created_at", c=cid)
    assert [q for (q,) in queued] == ["queued", "queued"]
    # a step that fails (bad unit) rolls back: no notification row, no SMS
    count = len(sms.notices)
    bad = await client.post(f"{STAFF}/{cid}/follow-up", headers=bearer(region), json={
        "outcome": "hard", "worker_informed": True, "worker_accepts": False,
        "next_node": "x", "next_due_on": "2099-01-01", "responsible_unit": "nope"})
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_unit"
    assert len(sms.notices) == count
    # withdrawn: no more SMS, the inbox still gets the row
    await client.post("/v1/me/consents", headers=bearer(keen.token) | key(),
                      json={"purpose": "sms_notice", "version": "2026-11", "granted": False})
    ok = await client.post(f"{STAFF}/{cid}/follow-up", headers=bearer(region), json={
        "outcome": "resolved", "worker_informed": True, "worker_accepts": True})
    assert ok.status_code == 200
    assert len(sms.notices) == count
    assert len(await rows(owner, "SELECT 1 FROM worker_notifications WHERE case_id = :c",
                          c=cid)) == 3


async def test_returned_and_open_lists(client, owner, federation: Federation, staff_token):
    r1 = federation.regions[0]
    s1, s2 = federation.stations[r1]
    region = await staff_token(federation, "regional_admin", r1)
    made = []
    for i in range(3):
        r = await client.post(STAFF, headers=bearer(region), json={
            "channel": "visit", "station": s1, "category": "dispatch", "description": f"派单 {i}"})
        made.append(r.json()["id"])
    lead = await staff_token(federation, "station_officer", s1)
    for cid in made[:2]:
        assert (await client.post(f"{STAFF}/{cid}/assign", headers=bearer(region),
                                  json={"lead": s1})).status_code == 200
    back = await client.post(f"{STAFF}/{made[0]}/return", headers=bearer(lead),
                             json={"reason": "非本站"})
    assert back.status_code == 200
    returned = await client.get(f"{STAFF}/returned", headers=bearer(region))
    assert returned.status_code == 200, returned.text
    assert [(r["id"], r["return_reason"]) for r in returned.json()["items"]] == [
        (made[0], "非本站")]
    opened = await client.get(f"{STAFF}/open", params={"limit": 2}, headers=bearer(region))
    assert opened.status_code == 200, opened.text
    first = opened.json()
    assert [r["id"] for r in first["items"]] == [made[2], made[1]]
    assert first["items"][1]["handling_unit"] == s1 and first["items"][0]["handling_unit"] == s1
    nxt = await client.get(f"{STAFF}/open", params={"limit": 2, "cursor": first["next_cursor"]},
                           headers=bearer(region))
    assert made[0] in [r["id"] for r in nxt.json()["items"]]
    by_unit = await client.get(f"{STAFF}/open", params={"unit": s1, "status": "assigned"},
                               headers=bearer(region))
    assert [r["id"] for r in by_unit.json()["items"]] == [made[1]]
    unknown = await client.get(f"{STAFF}/open", params={"unit": "nope"}, headers=bearer(region))
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_unit"
    sibling = await staff_token(federation, "station_officer", s2)
    assert (await client.get(f"{STAFF}/open", headers=bearer(sibling))).json()["items"] == []
