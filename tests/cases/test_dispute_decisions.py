"""算法决定申诉: a 封号/限单 (or 罚款/扣分) dispute gets the platform's reply deadline when it
opens (settings.cases.platform_reply_days working days on the case's calendar); the platform
posts its written reasons through its API, once; the read shows the reply overdue past the
deadline; a union reviewer who did not open the dispute records the outcome after the
reasons. Real app, real database under row-level security."""

from __future__ import annotations

from datetime import datetime

from flexunion.calendars import service as calendars
from tests.cases.test_disputes import PARTNER, STAFF, app_case, key, rows, zh_first
from tests.support.bargaining import partner_client
from tests.support.factories import Federation, bearer, worker_login


async def test_an_algorithmic_decision_needs_the_platforms_reasons_and_a_second_reviewer(
        client, sms, owner, clock, federation: Federation, staff_token) -> None:
    r1 = federation.regions[0]
    s1 = federation.stations[r1][0]
    officer = await staff_token(federation, "station_officer", s1)
    region = await staff_token(federation, "regional_admin", r1)
    alpha = await partner_client(client, owner, federation, "alpha")
    worker, _ = await worker_login(client, sms, federation.hq)
    cid = await app_case(client, worker, s1, category="account_ban")
    url = f"{STAFF}/{cid}/dispute"
    opened = await client.post(url, headers=bearer(officer), json={
        "kind": "deactivation", "statement": "请书面说明封号依据并人工复核。"})
    assert opened.status_code == 201, opened.text
    d = opened.json()["decision"]
    assert d["overdue"] is False and d["reasons"] is None and d["outcome"] is None
    async with owner() as s:
        due = await calendars.deadline_after(s, federation.ids[s1],
                                             datetime.fromisoformat(opened.json()["opened_at"]),
                                             10)
    assert datetime.fromisoformat(d["reply_due_at"]) == due.at

    # no review before the platform's reasons
    early = await client.post(f"{url}/decision", headers=bearer(region),
                              json={"outcome": "reversed", "text": "无依据"})
    assert early.status_code == 409
    zh_first(early.json(), "dispute_reasons_missing")

    # past the deadline the read shows the reply overdue, to staff and to the platform
    clock.advance(days=30)
    late = (await client.get(url, headers=bearer(officer))).json()["decision"]
    assert late["overdue"] is True
    seen = (await client.get(f"{PARTNER}/{cid}/dispute", headers=bearer(alpha.token))).json()
    assert seen["decision"]["overdue"] is True

    # the platform gives its reasons once (idempotent under one key); late ones stay overdue
    reasons = f"{PARTNER}/{cid}/dispute/reasons"
    k = key()
    given = await client.post(reasons, headers=bearer(alpha.token) | k,
                              json={"text": "系统检测到异常接单行为。"})
    assert given.status_code == 200, given.text
    assert given.json()["decision"]["reasons"] == "系统检测到异常接单行为。"
    assert given.json()["decision"]["overdue"] is True
    same = await client.post(reasons, headers=bearer(alpha.token) | k,
                             json={"text": "系统检测到异常接单行为。"})
    assert same.status_code == 200 and same.json() == given.json()
    again = await client.post(reasons, headers=bearer(alpha.token) | key(),
                              json={"text": "补充"})
    assert again.status_code == 409
    zh_first(again.json(), "dispute_reasons_given")

    # the one who opened it does not judge it; another cadre does, once
    own = await client.post(f"{url}/decision", headers=bearer(officer),
                            json={"outcome": "upheld", "text": "维持"})
    assert own.status_code == 409
    zh_first(own.json(), "dispute_reviewer_is_opener")
    decided = await client.post(f"{url}/decision", headers=bearer(region), json={
        "outcome": "compensated", "text": "平台未能举证异常行为，解封并补偿停工损失。"})
    assert decided.status_code == 200, decided.text
    dd = decided.json()["decision"]
    assert dd["outcome"] == {"code": "compensated", "zh": "补偿", "en": "Compensated"}
    assert dd["reviewer"].startswith("regional_admin:")
    twice = await client.post(f"{url}/decision", headers=bearer(region),
                              json={"outcome": "reversed", "text": "再议"})
    assert twice.status_code == 409 and twice.json()["code"] == "dispute_decided"
    # the platform sees the outcome, the reviewer by role only
    seen = (await client.get(f"{PARTNER}/{cid}/dispute", headers=bearer(alpha.token))).json()
    assert seen["decision"]["outcome"]["code"] == "compensated"
    assert seen["decision"]["reviewer"] == "regional_admin"

    audited = await rows(owner, "SELECT action, payload->>'outcome' FROM audit_events WHERE"
                                " object_id = :d AND action IN ('dispute.reasons_given',"
                                " 'dispute.reviewed') ORDER BY seq", d=opened.json()["id"])
    assert audited == [("dispute.reasons_given", None), ("dispute.reviewed", "compensated")]


async def test_other_kinds_take_no_reasons_nor_review(
        client, sms, owner, federation: Federation, staff_token) -> None:
    r1 = federation.regions[0]
    s1 = federation.stations[r1][0]
    region = await staff_token(federation, "regional_admin", r1)
    alpha = await partner_client(client, owner, federation, "alpha")
    worker, _ = await worker_login(client, sms, federation.hq)
    cid = await app_case(client, worker, s1)
    opened = await client.post(f"{STAFF}/{cid}/dispute", headers=bearer(region),
                               json={"kind": "unpaid_pay", "statement": "请结清"})
    assert opened.status_code == 201 and opened.json()["decision"] is None
    r = await client.post(f"{PARTNER}/{cid}/dispute/reasons", headers=bearer(alpha.token)
                          | key(), json={"text": "理由"})
    assert r.status_code == 409
    zh_first(r.json(), "dispute_not_algorithmic")
    r = await client.post(f"{STAFF}/{cid}/dispute/decision", headers=bearer(region),
                          json={"outcome": "upheld", "text": "维持"})
    assert r.status_code == 409 and r.json()["code"] == "dispute_not_algorithmic"
