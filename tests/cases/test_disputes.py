"""争议处置: a case becomes a dispute with a kind; its evidence is fixed first (the kind's
checklist, filled by the worker's, a cadre's and the platform's files, each with its sha256);
the ladder 提示 → 会商 → 发函 → 整改复核 → 衔接 takes one step at a time and goes past 提示
only with the required evidence or a recorded reason; the platform answers through its
machine API and never learns who the worker is. Real app, real database under row-level
security, crossing from a sibling region."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text

from flexunion.calendars import service as calendars
from flexunion.db.urls import to_asyncpg
from tests.security.test_audience_matrix import as_app
from tests.support.bargaining import partner_client
from tests.support.factories import Federation, bearer, join, worker_login

ME, STAFF, PARTNER = "/v1/me/cases", "/v1/cases", "/v1/partner/cases"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 32


def key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(8)}


async def rows(owner: Any, sql: str, **params: Any) -> list[Any]:
    async with owner() as s:
        return list((await s.execute(text(sql), params)).all())


async def app_case(client: Any, token: str, station: str,
                   category: str = "wage_arrears") -> str:
    made = await client.post(ME, headers=bearer(token) | key(), json={
        "category": category, "description": "三个月的跑单收入没有结算。", "station": station})
    assert made.status_code == 201, made.text
    return made.json()["id"]


async def upload(client: Any, token: str, cid: str, data: bytes, *, worker: bool) -> str:
    url = f"{ME if worker else STAFF}/{cid}/attachments"
    r = await client.post(url, headers=bearer(token) | (key() if worker else {}),
                          files={"file": ("记录.png", data, "image/png")})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def zh_first(problem: dict[str, Any], code: str) -> None:
    assert problem["code"] == code, problem
    assert any("\u4e00" <= c <= "\u9fff" for c in problem["detail"]), problem
    assert problem["detail_en"] and problem["detail_en"].isascii(), problem


async def test_the_ladder_goes_one_step_at_a_time_on_fixed_evidence(
        client, sms, owner, federation: Federation, staff_token) -> None:
    r1 = federation.regions[0]
    s1 = federation.stations[r1][0]
    region = await staff_token(federation, "regional_admin", r1)
    worker, _ = await worker_login(client, sms, federation.hq)
    cid = await app_case(client, worker, s1)
    url = f"{STAFF}/{cid}/dispute"

    # a worker's app case of a fitting category may be opened as a dispute; a kind that
    # does not fit its category is refused
    wrong = await client.post(url, headers=bearer(region),
                              json={"kind": "social_insurance", "statement": "未参保"})
    assert wrong.status_code == 422
    zh_first(wrong.json(), "dispute_kind_mismatch")
    opened = await client.post(url, headers=bearer(region), json={
        "kind": "unpaid_pay", "statement": "请于三个工作日内核对并结清 9–11 月跑单收入。"})
    assert opened.status_code == 201, opened.text
    d = opened.json()
    assert d["kind"] == {"code": "unpaid_pay", "zh": "欠薪", "en": "Unpaid pay"}
    assert d["partner"] == "alpha" and d["step"] is None
    assert d["next_step"]["code"] == "reminder"
    assert d["missing"] == ["attendance", "payroll"]
    assert [(s["slot"]["code"], s["required"]) for s in d["checklist"]] == [
        ("attendance", True), ("payroll", True), ("contract", False),
        ("platform_notice", False)]
    again = await client.post(url, headers=bearer(region),
                              json={"kind": "unpaid_pay", "statement": "再开一次"})
    assert again.status_code == 409 and again.json()["code"] == "dispute_exists"

    steps = f"{url}/steps"
    # no skipping: the first step is 提示
    skip = await client.post(steps, headers=bearer(region),
                             json={"step": "consultation", "reason": "直接会商",
                                   "minutes": "纪要"})
    assert skip.status_code == 409
    zh_first(skip.json(), "dispute_step_skipped")
    assert skip.json()["expected"] == "reminder"
    r = await client.post(steps, headers=bearer(region),
                          json={"step": "reminder", "reason": "电话提示平台站长"})
    assert r.status_code == 200 and r.json()["step"]["zh"] == "提示", r.text
    # past 提示 the required evidence must be fixed (or a reason recorded)
    bare = await client.post(steps, headers=bearer(region),
                             json={"step": "consultation", "reason": "约谈",
                                   "minutes": "双方到会"})
    assert bare.status_code == 409
    zh_first(bare.json(), "dispute_evidence_missing")
    assert bare.json()["missing"] == ["attendance", "payroll"]
    assert "考勤/接单记录" in bare.json()["detail"]
    # nor jump two steps ahead
    far = await client.post(steps, headers=bearer(region),
                            json={"step": "letter", "reason": "发函", "letter": "函"})
    assert far.status_code == 409 and far.json()["code"] == "dispute_step_skipped"

    # the worker's own upload fills 工资表
    payroll = PNG + b"payroll"
    att = await upload(client, worker, cid, payroll, worker=True)
    bad_slot = await client.post(f"{url}/evidence", headers=bearer(region),
                                 json={"slot": "medical", "attachment_id": att})
    assert bad_slot.status_code == 422 and bad_slot.json()["code"] == "slot_not_in_checklist"
    filed = await client.post(f"{url}/evidence", headers=bearer(region),
                              json={"slot": "payroll", "attachment_id": att})
    assert filed.status_code == 200, filed.text
    item = filed.json()["checklist"][1]["items"][0]
    assert item["sha256"] == hashlib.sha256(payroll).hexdigest()
    assert item["supplier"]["code"] == "worker" and filed.json()["missing"] == ["attendance"]
    twice = await client.post(f"{url}/evidence", headers=bearer(region),
                              json={"slot": "payroll", "attachment_id": att})
    assert twice.status_code == 409 and twice.json()["code"] == "evidence_already_linked"

    # 接单记录 is the platform's: a request with a working-day deadline
    asked = await client.post(f"{url}/requests", headers=bearer(region),
                              json={"slot": "attendance", "days": 3, "note": "9–11 月接单记录"})
    assert asked.status_code == 200, asked.text
    req = asked.json()["requests"][0]
    assert req["fulfilled_at"] is None and req["overdue"] is False
    # due at the end of the 3rd working day on the case's (the station's) calendar
    async with owner() as s:
        due = await calendars.deadline_after(s, federation.ids[s1],
                                             datetime.fromisoformat(req["requested_at"]), 3)
    assert datetime.fromisoformat(req["due_at"]) == due.at

    alpha = await partner_client(client, owner, federation, "alpha")
    records = PNG + b"orders"
    send = f"{PARTNER}/{cid}/dispute/requests/{req['id']}/evidence"
    # one multipart body sent twice under one key (the key covers the exact bytes)
    form = httpx.Request("post", send, files={"file": ("orders.png", records, "image/png")})
    body, once = form.read(), key() | {"content-type": form.headers["content-type"]}
    sent = await client.post(send, headers=bearer(alpha.token) | once, content=body)
    assert sent.status_code == 200, sent.text
    assert sent.json()["requests"][0]["sha256"] == hashlib.sha256(records).hexdigest()
    replay = await client.post(send, headers=bearer(alpha.token) | once, content=body)
    assert replay.status_code == 200 and replay.json() == sent.json()
    assert replay.headers.get("Idempotent-Replayed") == "true"
    more = await client.post(send, headers=bearer(alpha.token) | key(),
                             files={"file": ("orders.png", records, "image/png")})
    assert more.status_code == 409 and more.json()["code"] == "dispute_request_fulfilled"
    assert len(await rows(owner, "SELECT 1 FROM case_attachments WHERE case_id = :c"
                                 " AND uploaded_by LIKE 'partner:%'", c=cid)) == 1

    seen = (await client.get(url, headers=bearer(region))).json()
    attendance = seen["checklist"][0]
    assert attendance["filled"] and attendance["items"][0]["supplier"]["code"] == "partner"
    assert attendance["items"][0]["sha256"] == hashlib.sha256(records).hexdigest()
    assert seen["missing"] == []
    # the partner's file is one of the case's attachments
    listed = (await client.get(f"{STAFF}/{cid}/attachments", headers=bearer(region))).json()
    assert {a["sha256"] for a in listed} == {hashlib.sha256(payroll).hexdigest(),
                                             hashlib.sha256(records).hexdigest()}

    # 会商 needs its minutes
    nomin = await client.post(steps, headers=bearer(region),
                              json={"step": "consultation", "reason": "约谈"})
    assert nomin.status_code == 422
    zh_first(nomin.json(), "minutes_required")
    met = await client.post(steps, headers=bearer(region), json={
        "step": "consultation", "reason": "约谈平台区域经理", "minutes": "平台承认结算系统延迟"})
    assert met.status_code == 200, met.text
    consultation = met.json()["steps"][1]
    assert consultation["details"] == {"minutes": "平台承认结算系统延迟"}

    # the partner sees the step and answers it, once (idempotent)
    view = (await client.get(f"{PARTNER}/{cid}/dispute", headers=bearer(alpha.token))).json()
    assert [s["step"]["code"] for s in view["steps"]] == ["reminder", "consultation"]
    assert {s["actor"] for s in view["steps"]} == {"regional_admin"}
    answer = f"{PARTNER}/{cid}/dispute/steps/{consultation['id']}/reply"
    k = key()
    ans = await client.post(answer, headers=bearer(alpha.token) | k,
                            json={"text": "将于 12 月 15 日前补发。"})
    assert ans.status_code == 200, ans.text
    assert ans.json()["steps"][1]["reply"]["text"] == "将于 12 月 15 日前补发。"
    same = await client.post(answer, headers=bearer(alpha.token) | k,
                             json={"text": "将于 12 月 15 日前补发。"})
    assert same.status_code == 200 and same.json() == ans.json()
    dup = await client.post(answer, headers=bearer(alpha.token) | key(), json={"text": "再答"})
    assert dup.status_code == 409 and dup.json()["code"] == "dispute_step_answered"
    bare_key = await client.post(answer, headers=bearer(alpha.token), json={"text": "x"})
    assert bare_key.status_code == 400

    # 发函 → 整改复核 (not corrected) → 衔接, with the referral record
    for body in ({"step": "letter", "reason": "逾期未补发", "letter": "关于结清欠付收入的函"},
                 {"step": "review", "reason": "到期复核", "corrected": False}):
        r = await client.post(steps, headers=bearer(region), json=body)
        assert r.status_code == 200, r.text
    noref = await client.post(steps, headers=bearer(region),
                              json={"step": "handover", "reason": "拒不改正"})
    assert noref.status_code == 422 and noref.json()["code"] == "referral_required"
    handed = await client.post(steps, headers=bearer(region), json={
        "step": "handover", "reason": "拒不改正，移交劳动监察",
        "referral": {"to": "labour_inspection", "to_name": "区劳动保障监察大队",
                     "sent": ["发函原件", "会商纪要"]}})
    assert handed.status_code == 200, handed.text
    ref = handed.json()["referral"]
    assert ref["to"]["zh"] == "劳动监察"
    assert {s.get("sha256") for s in ref["sent"]} >= {hashlib.sha256(payroll).hexdigest(),
                                                      hashlib.sha256(records).hexdigest()}
    assert {"document": "会商纪要"} in ref["sent"]
    ended = await client.post(steps, headers=bearer(region),
                              json={"step": "reminder", "reason": "再来"})
    assert ended.status_code == 409 and ended.json()["code"] == "dispute_ladder_ended"
    # the partner sees the hand-over and its kind, not the referral
    view = (await client.get(f"{PARTNER}/{cid}/dispute", headers=bearer(alpha.token))).json()
    assert view["referral"] is None and view["steps"][-1]["details"] == {
        "to": "labour_inspection"}

    # each step: a row by its actor and an audit entry with the reason; the case's timeline
    made = await rows(owner, "SELECT s.step, s.actor, s.reason FROM dispute_steps s JOIN"
                             " case_disputes d ON d.id = s.dispute_id WHERE d.case_id = :c"
                             " ORDER BY s.at, s.id", c=cid)
    assert [m.step for m in made] == ["reminder", "consultation", "letter", "review",
                                      "handover"]
    assert all(m.actor.startswith("regional_admin:") for m in made)
    audited = await rows(owner, "SELECT action, payload->>'reason' FROM audit_events WHERE"
                                " object_id = :d AND action LIKE 'dispute.%' ORDER BY seq",
                         d=d["id"])
    assert [a[0] for a in audited] == [
        "dispute.opened", "dispute.reminder", "dispute.evidence_linked",
        "dispute.evidence_requested", "dispute.evidence_supplied", "dispute.consultation",
        "dispute.replied", "dispute.letter", "dispute.review", "dispute.handover"]
    assert audited[-1][1] == "拒不改正，移交劳动监察"
    events = await rows(owner, "SELECT kind FROM case_events WHERE case_id = :c"
                               " AND kind LIKE 'dispute%'", c=cid)
    assert len(events) == 6
    # the worker reads the dispute on their own case
    mine = await client.get(f"{ME}/{cid}/dispute", headers=bearer(worker))
    assert mine.status_code == 200 and mine.json()["step"]["code"] == "handover"


async def test_a_recorded_reason_lets_the_ladder_go_on_without_the_evidence(
        client, owner, federation: Federation, staff_token) -> None:
    r1 = federation.regions[0]
    s1 = federation.stations[r1][0]
    officer = await staff_token(federation, "station_officer", s1)
    made = await client.post(STAFF, headers=bearer(officer), json={
        "channel": "visit", "category": "account_ban", "description": "无故封号。",
        "station": s1, "contact_name": "王小明", "contact_phone": "13912345678"})
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    url = f"{STAFF}/{cid}/dispute"
    r = await client.post(url, headers=bearer(officer),
                          json={"kind": "deactivation", "statement": "请说明封号依据。"})
    assert r.status_code == 201, r.text
    steps = f"{url}/steps"
    assert (await client.post(steps, headers=bearer(officer),
                              json={"step": "reminder", "reason": "提示"})).status_code == 200
    waived = await client.post(steps, headers=bearer(officer), json={
        "step": "consultation", "reason": "约谈", "minutes": "平台拒绝提供通知",
        "evidence_waiver": "平台拒不提供封号通知，骑手手机已被收回"})
    assert waived.status_code == 200, waived.text
    body = waived.json()
    assert body["evidence_waiver"] == "平台拒不提供封号通知，骑手手机已被收回"
    assert body["steps"][1]["details"]["missing"] == ["platform_notice", "attendance"]
    # a cadre's upload fills a slot later (supplier: cadre); the other slot stays missing
    notice = PNG + b"notice"
    att = await upload(client, officer, cid, notice, worker=False)
    filed = await client.post(f"{url}/evidence", headers=bearer(officer),
                              json={"slot": "platform_notice", "attachment_id": att})
    assert filed.status_code == 200, filed.text
    item = filed.json()["checklist"][0]["items"][0]
    assert item["supplier"] == {"code": "cadre", "zh": "工会干部", "en": "Union cadre"}
    assert item["sha256"] == hashlib.sha256(notice).hexdigest()
    assert filed.json()["missing"] == ["attendance"]
    stranger = await client.post(f"{url}/evidence", headers=bearer(officer), json={
        "slot": "attendance", "attachment_id": str(uuid.uuid4())})
    assert stranger.status_code == 422 and stranger.json()["code"] == "unknown_attachment"
    # the reason stands for the later steps
    r = await client.post(steps, headers=bearer(officer),
                          json={"step": "letter", "reason": "发函", "letter": "函"})
    assert r.status_code == 200, r.text
    # a corrected review leaves nothing to hand over
    r = await client.post(steps, headers=bearer(officer),
                          json={"step": "review", "reason": "复核", "corrected": True})
    assert r.status_code == 200, r.text
    r = await client.post(steps, headers=bearer(officer), json={
        "step": "handover", "reason": "移交", "referral": {
            "to": "arbitration", "to_name": "区劳动争议仲裁委员会"}})
    assert r.status_code == 409 and r.json()["code"] == "dispute_corrected"
    audited = await rows(owner, "SELECT payload->>'evidence_waiver' FROM audit_events"
                                " WHERE action = 'dispute.consultation' AND object_id = :d",
                         d=body["id"])
    assert audited == [("平台拒不提供封号通知，骑手手机已被收回",)]


async def test_the_partner_never_sees_the_worker_and_a_sibling_region_sees_nothing(
        client, sms, owner, settings, federation: Federation, staff_token) -> None:
    r1, r2 = federation.regions[0], federation.regions[1]
    s1 = federation.stations[r1][0]
    region = await staff_token(federation, "regional_admin", r1)
    sibling = await staff_token(federation, "regional_admin", r2)
    hq = await staff_token(federation, "hq_admin", federation.hq)
    member = await join(client, sms, federation, s1, approver_token=hq)
    cid = await app_case(client, member.token, s1, category="social_insurance")
    url = f"{STAFF}/{cid}/dispute"
    # the sibling region cannot open it (the case is not there for it)
    r = await client.post(url, headers=bearer(sibling),
                          json={"kind": "social_insurance", "statement": "未参保"})
    assert r.status_code == 404 and r.json()["code"] == "case_not_found"
    opened = await client.post(url, headers=bearer(region),
                               json={"kind": "social_insurance", "statement": "请补缴社保。"})
    assert opened.status_code == 201, opened.text
    did = uuid.UUID(opened.json()["id"])
    asked = await client.post(f"{url}/requests", headers=bearer(region),
                              json={"slot": "insurance", "days": 5})
    assert asked.status_code == 200
    await client.post(f"{url}/steps", headers=bearer(region),
                      json={"step": "reminder", "reason": "提示"})

    # the sibling region: nothing, by the API and in the database
    for method, path, body in (("GET", url, None),
                               ("POST", f"{url}/steps", {"step": "consultation",
                                                         "reason": "x", "minutes": "y"}),
                               ("POST", f"{url}/requests", {"slot": "insurance", "days": 1})):
        r = await client.request(method, path, headers=bearer(sibling), json=body)
        assert r.status_code == 404, (path, r.text)
    assert (await client.get(url, headers=bearer(hq))).status_code == 200
    officer = await staff_token(federation, "station_officer", s1)
    assert (await client.get(url, headers=bearer(officer))).status_code == 200
    # a unit assigned the case (the lead, another station) handles the case, not its dispute
    s2 = federation.stations[r1][1]
    assigned = await client.post(f"{STAFF}/{cid}/assign", headers=bearer(region),
                                 json={"lead": s2})
    assert assigned.status_code == 200, assigned.text
    lead = await staff_token(federation, "station_officer", s2)
    assert (await client.get(f"{STAFF}/{cid}", headers=bearer(lead))).status_code == 200
    r = await client.post(f"{url}/steps", headers=bearer(lead),
                          json={"step": "consultation", "reason": "x", "minutes": "y"})
    assert r.status_code == 403
    zh_first(r.json(), "dispute_not_yours")
    r = await client.get(url, headers=bearer(lead))
    assert r.status_code == 404 and r.json()["code"] == "dispute_not_found"

    alpha = await partner_client(client, owner, federation, "alpha")
    beta = await partner_client(client, owner, federation, "beta")
    seen = await client.get(f"{PARTNER}/{cid}/dispute", headers=bearer(alpha.token))
    assert seen.status_code == 200, seen.text
    body = seen.json()
    raw = seen.text
    for secret in (member.worker_id, member.member_id, str(member.body.get("member_no")),
                   cid, "worker"):
        assert secret not in raw, secret
    assert body["case_id"] is None and body["checklist"] is None and body["missing"] is None
    assert body["case_no"] and body["statement"] == "请补缴社保。"
    assert [r["slot"]["code"] for r in body["requests"]] == ["insurance"]
    # another platform: no such dispute; the case itself stays closed to alpha
    other = await client.get(f"{PARTNER}/{cid}/dispute", headers=bearer(beta.token))
    assert other.status_code == 404 and other.json()["code"] == "dispute_not_found"
    assert (await client.get(f"{PARTNER}/{cid}", headers=bearer(alpha.token))).status_code == 404
    step_id = body["steps"][0]["id"]
    nope = await client.post(f"{PARTNER}/{cid}/dispute/steps/{step_id}/reply",
                             headers=bearer(beta.token) | key(), json={"text": "不是我"})
    assert nope.status_code == 404 and nope.json()["code"] == "dispute_not_found"
    req_id = body["requests"][0]["id"]
    nope = await client.post(f"{PARTNER}/{cid}/dispute/requests/{req_id}/evidence",
                             headers=bearer(beta.token) | key(),
                             files={"file": ("x.png", PNG, "image/png")})
    assert nope.status_code == 404 and nope.json()["code"] == "dispute_not_found"

    conn = await asyncpg.connect(to_asyncpg(settings.app_database_url or ""))
    try:
        hq_id = federation.ids[federation.hq]
        for principal, tenant, expect in ((f"regional_admin:{r2}", federation.ids[r2], 0),
                                          (f"regional_admin:{r1}", federation.ids[r1], 1),
                                          (f"partner:{alpha.client_id}", hq_id, 1),
                                          (f"partner:{beta.client_id}", hq_id, 0),
                                          (f"worker:{member.worker_id}", hq_id, 1)):
            async with conn.transaction():
                await as_app(conn, str(tenant), principal)
                got = await conn.fetchval("SELECT count(*) FROM case_disputes WHERE id = $1",
                                          did)
                steps = await conn.fetchval(
                    "SELECT count(*) FROM dispute_steps WHERE dispute_id = $1", did)
                assert (got, steps) == (expect, expect), principal
        # the platform and the worker read the dispute; neither moves its ladder
        for principal in (f"partner:{alpha.client_id}", f"worker:{member.worker_id}"):
            async with conn.transaction():
                await as_app(conn, str(hq_id), principal)
                assert await conn.execute("UPDATE case_disputes SET step = 'handover'"
                                          " WHERE id = $1", did) == "UPDATE 0"
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
                async with conn.transaction():
                    await as_app(conn, str(hq_id), principal)
                    await conn.execute(
                        "INSERT INTO dispute_steps (id, federation_id, tenant_id, dispute_id,"
                        " step, at, actor, reason, details) SELECT gen_random_uuid(),"
                        " federation_id, tenant_id, id, 'consultation', now(), $2, 'x', '{}'"
                        " FROM case_disputes WHERE id = $1", did, principal)
    finally:
        await conn.close()
