"""需求清单: intake from every channel, the handling steps and who may see a case — against
the real app and database, crossing row-level security from every side."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy import text

from tests.support.bargaining import partner_client, seed_item
from tests.support.factories import Federation, bearer, join, worker_login

ME, STAFF, PARTNER = "/v1/me/cases", "/v1/cases", "/v1/partner/cases"


def key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(8)}


def demand(**over: Any) -> dict[str, Any]:
    return {"category": "commission", "description": "抽成从 18% 涨到 25%，没有通知。",
            "tags": ["night_shift"]} | over


async def rows(owner, sql: str, **params: Any) -> list[Any]:
    async with owner() as s:
        return list((await s.execute(text(sql), params)).all())


async def test_worker_files_idempotently_sees_only_own_and_is_offered_a_merge(
        client, sms, owner, federation: Federation):
    station = federation.stations[federation.regions[0]][0]
    token, worker = await worker_login(client, sms, federation.hq)
    headers = bearer(token) | key()
    first = await client.post(ME, json=demand(station=station), headers=headers)
    assert first.status_code == 201, first.text
    again = await client.post(ME, json=demand(station=station), headers=headers)
    assert again.json() == first.json()
    body = first.json()
    assert body["work_tenant"] == station and body["channel"]["zh"] == "App 提交"
    assert body["category"] == {"code": "commission", "zh": "抽成", "en": "Commission"}
    assert body["partner"] == "alpha" and body["duplicate_of"] == []
    assert body["worker"]["is_member"] is False
    assert len(await rows(owner, "SELECT 1 FROM cases WHERE worker_id = :w", w=worker)) == 1
    # a second open case of the same category: filed, and the first offered for 并单
    second = await client.post(ME, json=demand(station=station), headers=bearer(token) | key())
    assert second.status_code == 201 and second.json()["duplicate_of"] == [body["id"]]
    # another worker sees neither
    other, _ = await worker_login(client, sms, federation.hq)
    assert (await client.get(f"{ME}/{body['id']}", headers=bearer(other))).status_code == 404
    assert (await client.get(ME, headers=bearer(other))).json()["items"] == []
    mine = await client.get(ME, headers=bearer(token))
    assert {c["id"] for c in mine.json()["items"]} == {body["id"], second.json()["id"]}
    # bad input: 422 and nothing written
    bad = await client.post(ME, json=demand(), headers=bearer(token) | key())
    assert bad.status_code == 422 and bad.json()["code"] == "work_place_required"
    assert len(await rows(owner, "SELECT 1 FROM cases WHERE worker_id = :w", w=worker)) == 2


async def test_walk_in_is_seen_by_its_union_and_above_never_by_a_sibling(
        client, sms, owner, federation: Federation, staff_token):
    r1, r2 = federation.regions
    station = federation.stations[r1][0]
    hq = await staff_token(federation, "hq_admin", federation.hq)
    member = await join(client, sms, federation, station, approver_token=hq)
    officer = await staff_token(federation, "station_officer", station)
    made = await client.post(STAFF, headers=bearer(officer), json=demand(
        channel="station", member_no=member.body["member_no"], contact_phone="13912345678"))
    assert made.status_code == 201, made.text
    case = made.json()
    assert case["work_tenant"] == station and case["worker"]["is_member"] is True
    assert case["worker"]["member_no"] == member.body["member_no"]
    assert case["worker"]["phone_masked"] == "139****5678"
    for code, seen in ((station, 200), (r1, 200), (federation.hq, 200), (r2, 404),
                       (federation.stations[r1][1], 404)):
        role = {"hq": "hq_admin"}.get(code.rsplit("-", 1)[-1], "regional_admin"
                                      if code in federation.regions else "station_officer")
        token = await staff_token(federation, role, code)
        assert (await client.get(f"{STAFF}/{case['id']}", headers=bearer(token))
                ).status_code == seen, code
    # the worker sees the case entered for them
    assert (await client.get(f"{ME}/{case['id']}", headers=bearer(member.token))
            ).status_code == 200
    stored = await rows(owner, "SELECT contact::text FROM cases WHERE id = :i", i=case["id"])
    assert "13912345678" not in stored[0][0]


async def test_steps_assign_accept_return_reassign_route_answer(
        client, sms, owner, federation: Federation, staff_token):
    r1 = federation.regions[0]
    s1, s2 = federation.stations[r1]
    region = await staff_token(federation, "regional_admin", r1)
    made = await client.post(STAFF, headers=bearer(region),
                             json=demand(channel="visit", station=s1, contact_name="李四"))
    case = made.json()
    cid = case["id"]
    alpha = await partner_client(client, owner, federation, "alpha")
    # the partner sees nothing before it is addressed
    assert (await client.get(f"{PARTNER}/{cid}", headers=bearer(alpha.token))).status_code == 404
    assigned = await client.post(f"{STAFF}/{cid}/assign", headers=bearer(region), json={
        "lead": s1, "assisting": [{"partner": "alpha", "feedback_days": 2,
                                   "evidence_required": ["抽成规则变更通知"]}]})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["status"]["code"] == "assigned"
    seen = await client.get(f"{PARTNER}/{cid}", headers=bearer(alpha.token))
    assert seen.status_code == 200 and seen.json()["worker"] == {"is_member": False}
    assert seen.json()["events"] == []
    listed = await client.get(PARTNER, headers=bearer(alpha.token))
    assert [c["id"] for c in listed.json()["items"]] == [cid]
    once = bearer(alpha.token) | {"Idempotency-Key": "feedback-1"}
    fb = await client.post(f"{PARTNER}/{cid}/feedback", headers=once,
                           json={"text": "规则调整已于 11 月公示。"})
    assert fb.status_code == 200, fb.text
    again = await client.post(f"{PARTNER}/{cid}/feedback", headers=once,
                              json={"text": "规则调整已于 11 月公示。"})
    assert again.status_code == 200 and again.json() == fb.json()  # replayed, not a second one
    other_station = await staff_token(federation, "station_officer", s2)
    assert (await client.post(f"{STAFF}/{cid}/accept", headers=bearer(other_station))
            ).status_code == 404
    lead = await staff_token(federation, "station_officer", s1)
    no_reason = await client.post(f"{STAFF}/{cid}/return", headers=bearer(lead), json={})
    assert no_reason.status_code == 422
    back = await client.post(f"{STAFF}/{cid}/return", headers=bearer(lead),
                             json={"reason": "不属本站职责"})
    assert back.status_code == 200 and back.json()["status"]["code"] == "returned"
    # returned: the partner no longer sees it; accepting again is not a step from here
    assert (await client.get(f"{PARTNER}/{cid}", headers=bearer(alpha.token))).status_code == 404
    wrong = await client.post(f"{STAFF}/{cid}/accept", headers=bearer(region))
    assert wrong.status_code == 409 and wrong.json()["code"] == "invalid_case_step"
    again = await client.post(f"{STAFF}/{cid}/assign", headers=bearer(region), json={"lead": s2})
    assert again.status_code == 200
    # the second station sees it now, while assigned
    assert (await client.get(f"{STAFF}/{cid}", headers=bearer(other_station))).status_code == 200
    moved = await client.post(f"{STAFF}/{cid}/reassign", headers=bearer(region),
                              json={"lead": r1, "reason": "需区域协调"})
    assert moved.status_code == 200
    assert (await client.get(f"{STAFF}/{cid}", headers=bearer(other_station))).status_code == 404
    ok = await client.post(f"{STAFF}/{cid}/accept", headers=bearer(region))
    assert ok.status_code == 200 and ok.json()["status"]["code"] == "accepted"
    early = await client.post(f"{STAFF}/{cid}/answer", headers=bearer(region),
                              json={"text": "已答复"})
    assert early.status_code == 409 and early.json()["code"] == "route_required"
    routed = await client.post(f"{STAFF}/{cid}/route", headers=bearer(region),
                               json={"route": "coordinate", "reason": "需与平台协调"})
    assert routed.status_code == 200
    assert routed.json()["route"]["zh"] == "限期协调"
    assert routed.json()["route_details"]["working_days"] == 3
    done = await client.post(f"{STAFF}/{cid}/answer", headers=bearer(region),
                             json={"text": "平台同意恢复 18%。"})
    assert done.status_code == 200 and done.json()["status"]["code"] == "answered"
    kinds = [e["kind"] for e in done.json()["events"]]
    assert kinds == ["intake", "assign", "feedback", "return", "assign", "reassign", "accept",
                     "route", "answer"]
    assert [e["reason"] for e in done.json()["events"]][3] == "不属本站职责"
    audited = await rows(owner, "SELECT action FROM audit_events WHERE object_id = :i"
                         " ORDER BY seq", i=cid)
    assert [a for (a,) in audited] == [
        "case.received", "case.assigned", "case.feedback", "case.returned", "case.assigned",
        "case.reassigned", "case.accepted", "case.routed", "case.answered"]


async def test_bargaining_route_links_the_agenda_item_and_policy_route_cites_the_library(
        client, owner, federation: Federation, staff_token):
    r1 = federation.regions[0]
    region = await staff_token(federation, "regional_admin", r1)
    hq = await staff_token(federation, "hq_admin", federation.hq)
    item = await seed_item(owner, federation, scope=r1)
    cid = (await client.post(STAFF, headers=bearer(region),
                             json=demand(channel="visit"))).json()["id"]
    linked = await client.post(f"{STAFF}/{cid}/route", headers=bearer(region), json={
        "route": "bargaining", "reason": "共性问题", "agenda_item_id": str(item)})
    assert linked.status_code == 200, linked.text
    assert linked.json()["agenda_item"]["status"] == {"code": "collected", "zh": "已收集",
                                                      "en": "Collected"}
    timeline = await rows(owner, "SELECT kind FROM agenda_item_events WHERE item_id = :i",
                          i=item)
    assert ("case_linked",) in timeline
    # 政策释明 needs a policy the HQ keeps; regions cannot add one
    policy = {"code": "sh-2025-12", "title_zh": "新就业形态劳动者权益保障办法",
              "title_en": "Rights of workers in new forms of employment", "source": "沪人社 12 号",
              "body": "平台调整抽成须提前公示。"}
    assert (await client.post(f"{STAFF}/policies", headers=bearer(region), json=policy)
            ).status_code == 403
    assert (await client.post(f"{STAFF}/policies", headers=bearer(hq), json=policy)
            ).status_code == 201
    cid2 = (await client.post(STAFF, headers=bearer(region),
                              json=demand(channel="visit"))).json()["id"]
    missing = await client.post(f"{STAFF}/{cid2}/route", headers=bearer(region),
                                json={"route": "policy", "reason": "政策问题", "policy": "nope"})
    assert missing.status_code == 422 and missing.json()["code"] == "unknown_policy"
    cited = await client.post(f"{STAFF}/{cid2}/route", headers=bearer(region), json={
        "route": "policy", "reason": "政策问题", "policy": "sh-2025-12"})
    assert cited.json()["route_details"]["policy"]["source"] == "沪人社 12 号"


async def test_hotline_orders_are_idempotent_by_order_number(
        client, owner, federation: Federation, staff_token):
    station = federation.stations[federation.regions[0]][0]
    hq = await staff_token(federation, "hq_admin", federation.hq)
    hotline = await partner_client(client, owner, federation, "beta")
    order = demand(order_no="12351-0001", station=station, contact_phone="13800001111")
    refused = await client.post(f"{PARTNER}/hotline-orders", headers=bearer(hotline.token),
                                json=order)
    assert refused.status_code == 404 and refused.json()["code"] == "hotline_platform_unknown"
    assert (await client.post(f"{STAFF}/hotline-platforms", headers=bearer(hq),
                              json={"partner": "beta"})).status_code == 204
    first = await client.post(f"{PARTNER}/hotline-orders", headers=bearer(hotline.token),
                              json=order)
    assert first.status_code == 201, first.text
    again = await client.post(f"{PARTNER}/hotline-orders", headers=bearer(hotline.token),
                              json=order)
    assert again.json()["id"] == first.json()["id"]
    clash = await client.post(f"{PARTNER}/hotline-orders", headers=bearer(hotline.token),
                              json=order | {"description": "另一件事"})
    assert clash.status_code == 409 and clash.json()["code"] == "hotline_order_conflict"
    assert len(await rows(owner, "SELECT 1 FROM cases WHERE external_ref = '12351-0001'"
                          " AND federation_id = :f", f=federation.ids[federation.hq])) == 1
    assert first.json()["channel"]["code"] == "hotline_platform"


async def test_anonymous_suggestion_stores_no_sender_and_is_followed_by_pickup_code(
        client, owner, federation: Federation, staff_token):
    station = federation.stations[federation.regions[0]][0]
    hq = await staff_token(federation, "hq_admin", federation.hq)
    qr = await client.get(f"{STAFF}/suggestion-links/{station}", headers=bearer(hq))
    assert qr.status_code == 200 and qr.text.startswith("<svg")
    posted = await client.post(f"/v1/suggestions/{station}",
                               json={"category": "housing_commute",
                                     "description": "驿站夜里不开门。"})
    assert posted.status_code == 201, posted.text
    code = posted.json()["pickup_code"]
    stored = await rows(owner, "SELECT id, worker_id, member_id, contact::text, created_by"
                        " FROM cases WHERE case_no = :n", n=posted.json()["case_no"])
    cid, worker_id, member_id, contact, created_by = stored[0]
    assert (worker_id, member_id, contact, created_by) == (None, None, "{}", "anonymous")
    seen = await client.get(f"{STAFF}/{cid}", headers=bearer(hq))
    assert seen.status_code == 200 and seen.json()["worker"] is None
    followed = await client.post("/v1/suggestions/follow", json={"pickup_code": code})
    assert followed.status_code == 200
    assert followed.json()["status"]["code"] == "received"
    wrong = await client.post("/v1/suggestions/follow", json={"pickup_code": "AAAA-BBBB"})
    assert wrong.status_code == 404
    unknown = await client.post(f"/v1/suggestions/{uuid.uuid4().hex[:8]}",
                                json={"category": "childcare", "description": "x"})
    assert unknown.status_code == 404
