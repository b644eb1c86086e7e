"""分类处置: after sorting a dispute's cause, one resolution path — a settlement needs its
terms, a transfer its addressee — each scheduling a 回访 (next node, due, responsible unit);
a settlement's terms are later checked kept or broken, once; the platform sees the path and
terms, not the union's cause or notes. Real app, real database under row-level security."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flexunion.core.clock import BEIJING
from tests.cases.test_disputes import PARTNER, STAFF, app_case, rows, zh_first
from tests.support.bargaining import partner_client
from tests.support.factories import Federation, bearer, worker_login


async def test_a_settlement_schedules_a_follow_up_and_is_checked_once(
        client, sms, owner, federation: Federation, staff_token) -> None:
    r1 = federation.regions[0]
    s1 = federation.stations[r1][0]
    region = await staff_token(federation, "regional_admin", r1)
    alpha = await partner_client(client, owner, federation, "alpha")
    worker, _ = await worker_login(client, sms, federation.hq)
    cid = await app_case(client, worker, s1)
    url = f"{STAFF}/{cid}/dispute"
    opened = await client.post(url, headers=bearer(region),
                               json={"kind": "unpaid_pay", "statement": "请结清欠付收入。"})
    assert opened.status_code == 201 and opened.json()["resolution"] is None
    due = (date.today() + timedelta(days=20)).isoformat()
    body = {"cause": "execution_deviation", "path": "settlement",
            "text": "站点结算漏算夜班补贴，调解后达成和解。", "next_node": "回访履约情况",
            "next_due_on": due, "responsible_unit": s1}

    # a settlement needs its terms; the follow-up must be ahead and by a known unit
    noterms = await client.post(f"{url}/resolution", headers=bearer(region), json=body)
    assert noterms.status_code == 422
    zh_first(noterms.json(), "settlement_terms_required")
    past = await client.post(f"{url}/resolution", headers=bearer(region), json=body | {
        "terms": "x", "next_due_on": "2020-01-01"})
    assert past.status_code == 422 and past.json()["code"] == "next_due_invalid"
    nowhere = await client.post(f"{url}/resolution", headers=bearer(region), json=body | {
        "terms": "x", "responsible_unit": "no-such-unit"})
    assert nowhere.status_code == 422 and nowhere.json()["code"] == "unknown_unit"
    # nothing to check before a settlement exists
    early = await client.post(f"{url}/resolution/check", headers=bearer(region),
                              json={"kept": "kept", "note": "已补发"})
    assert early.status_code == 409 and early.json()["code"] == "not_a_settlement"

    made = await client.post(f"{url}/resolution", headers=bearer(region), json=body | {
        "terms": "平台于十日内补发 9–11 月夜班补贴。"})
    assert made.status_code == 200, made.text
    res = made.json()["resolution"]
    assert res["path"]["zh"] == "和解协议" and res["cause"]["zh"] == "执行偏差"
    assert res["next_node"] == "回访履约情况" and res["responsible_unit"] == s1
    # due at the end (24:00 Beijing) of the day named
    assert datetime.fromisoformat(res["next_due_at"]) == datetime.combine(
        date.fromisoformat(due) + timedelta(days=1), time(0), BEIJING)
    assert res["kept"] is None
    again = await client.post(f"{url}/resolution", headers=bearer(region), json=body | {
        "path": "explanation"})
    assert again.status_code == 409
    zh_first(again.json(), "dispute_resolved")

    # the platform, a party to the settlement, sees its path and terms, not the union's notes
    seen = (await client.get(f"{PARTNER}/{cid}/dispute", headers=bearer(alpha.token))).json()
    assert seen["resolution"]["terms"] == "平台于十日内补发 9–11 月夜班补贴。"
    assert seen["resolution"]["cause"] is None and seen["resolution"]["text"] is None
    assert seen["resolution"]["next_node"] is None

    broken = await client.post(f"{url}/resolution/check", headers=bearer(region),
                               json={"kept": "broken", "note": "到期仅补发一半"})
    assert broken.status_code == 200, broken.text
    assert broken.json()["resolution"]["kept"] == {"code": "broken", "zh": "未履行",
                                                   "en": "Broken"}
    twice = await client.post(f"{url}/resolution/check", headers=bearer(region),
                              json={"kept": "kept", "note": "改口"})
    assert twice.status_code == 409
    zh_first(twice.json(), "settlement_checked")

    audited = await rows(owner, "SELECT action FROM audit_events WHERE object_id = :d AND"
                                " action IN ('dispute.resolved', 'dispute.settlement_checked')"
                                " ORDER BY seq", d=opened.json()["id"])
    assert [a[0] for a in audited] == ["dispute.resolved", "dispute.settlement_checked"]
    events = await rows(owner, "SELECT details->>'resolution', details->>'next_node' FROM"
                               " case_events WHERE case_id = :c AND kind = 'dispute_step'",
                        c=cid)
    assert ("settlement", "回访履约情况") in events


async def test_a_transfer_names_its_addressee_and_takes_no_settlement_check(
        client, sms, owner, federation: Federation, staff_token) -> None:
    r1 = federation.regions[0]
    s1 = federation.stations[r1][0]
    region = await staff_token(federation, "regional_admin", r1)
    worker, _ = await worker_login(client, sms, federation.hq)
    cid = await app_case(client, worker, s1)
    url = f"{STAFF}/{cid}/dispute"
    assert (await client.post(url, headers=bearer(region), json={
        "kind": "unpaid_pay", "statement": "请结清"})).status_code == 201
    body = {"cause": "system_flaw", "path": "transfer", "text": "平台计酬规则缺陷，转人社部门。",
            "next_node": "回访转办结果",
            "next_due_on": (date.today() + timedelta(days=5)).isoformat(),
            "responsible_unit": r1}
    bare = await client.post(f"{url}/resolution", headers=bearer(region), json=body)
    assert bare.status_code == 422
    zh_first(bare.json(), "transfer_target_required")
    made = await client.post(f"{url}/resolution", headers=bearer(region),
                             json=body | {"transfer_to": "区人力资源和社会保障局"})
    assert made.status_code == 200, made.text
    assert made.json()["resolution"]["transfer_to"] == "区人力资源和社会保障局"
    check = await client.post(f"{url}/resolution/check", headers=bearer(region),
                              json={"kept": "kept", "note": "x"})
    assert check.status_code == 409 and check.json()["code"] == "not_a_settlement"
