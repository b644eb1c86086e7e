"""A dispute's resolution schedules the case's own 回访 (cases/followup/service.py `schedule`,
in the resolution's transaction): on an answered case it is a 阶段推进 follow-up — status
跟进中, the case's next node and unit, a 回访 record, the worker told — and the open list (在办件,
filter 跟进中) shows it with its due date; on a case still being handled the next node is
set and the status left to the handling. Real app, real database under row-level security."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flexunion.core.clock import BEIJING
from tests.cases.test_closing import INBOX, answered_case
from tests.cases.test_disputes import STAFF, app_case, rows
from tests.support.factories import Federation, bearer, join, worker_login


def body(unit: str, days: int = 20) -> dict[str, object]:
    return {"cause": "individual", "path": "mediation", "text": "内部调解：站点补发夜班补贴。",
            "next_node": "回访补发到账情况", "next_due_on":
            (date.today() + timedelta(days=days)).isoformat(), "responsible_unit": unit}


def end_of(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day) + timedelta(days=1), time(0), BEIJING)


async def test_a_resolution_on_an_answered_case_puts_it_in_follow_up_on_the_lists(
        client, sms, owner, federation: Federation, staff_token) -> None:
    r1, r2 = federation.regions
    station = federation.stations[r1][0]
    hq = await staff_token(federation, "hq_admin", federation.hq)
    region = await staff_token(federation, "regional_admin", r1)
    member = await join(client, sms, federation, station, approver_token=hq)
    cid = await answered_case(client, r1, region, member.body["member_no"])
    opened = await client.post(f"{STAFF}/{cid}/dispute", headers=bearer(region),
                               json={"kind": "unpaid_pay", "statement": "请结清欠付收入。",
                                     "partner": "alpha"})
    assert opened.status_code == 201, opened.text
    sent = body(station) | {"worker_informed": True, "worker_accepts": True}
    made = await client.post(f"{STAFF}/{cid}/dispute/resolution", headers=bearer(region),
                             json=sent)
    assert made.status_code == 200, made.text
    due = end_of(str(sent["next_due_on"]))

    case = (await client.get(f"{STAFF}/{cid}", headers=bearer(region))).json()
    assert case["status"]["code"] == "followed_up"
    assert datetime.fromisoformat(case["closing"]["next_due_at"]) == due
    assert case["closing"]["next_unit"] == station
    f = case["followups"][-1]
    assert (f["outcome"]["code"], f["next_node"], f["worker_informed"],
            f["worker_accepts"]) == ("in_progress", "回访补发到账情况", True, True)
    kinds = [e["kind"] for e in case["events"]]
    assert kinds[-2:] == ["follow_up", "dispute_step"]
    step = case["events"][-1]["details"]
    assert step["case_followup"] == "followed_up"
    assert case["events"][-2]["details"]["dispute_id"] == opened.json()["id"]
    # 在办件, filtered by 跟进中: the case with its node's due date; not the sibling region's
    listed = (await client.get(f"{STAFF}/open", headers=bearer(region),
                               params={"status": "followed_up", "limit": 100})).json()
    row = next(i for i in listed["items"] if i["id"] == cid)
    assert datetime.fromisoformat(row["next_due_at"]) == due
    assert row["status"]["zh"] == "跟进中"
    sibling = await staff_token(federation, "regional_admin", r2)
    other = (await client.get(f"{STAFF}/open", headers=bearer(sibling),
                              params={"status": "followed_up", "limit": 100})).json()
    assert cid not in [i["id"] for i in other["items"]]
    # audited as the case's follow-up, and the worker told of 跟进中
    audited = await rows(owner, "SELECT action FROM audit_events WHERE object_id IN (:c, :d)"
                                " AND action IN ('case.followed_up', 'dispute.resolved')"
                                " ORDER BY seq", c=cid, d=opened.json()["id"])
    assert [a[0] for a in audited] == ["case.followed_up", "dispute.resolved"]
    inbox = (await client.get(INBOX, headers=bearer(member.token), params={"limit": 5})).json()
    assert any(n["case_id"] == cid and n["status"] == "followed_up"
               and "跟进中" in n["title_zh"] for n in inbox["items"]), inbox
    # the case's own 回访复核 later closes it and clears the node, as for any follow-up
    closed = await client.post(f"{STAFF}/{cid}/follow-up", headers=bearer(region), json={
        "outcome": "resolved", "worker_informed": True, "worker_accepts": True})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"]["code"] == "closed"
    assert closed.json()["closing"]["next_due_at"] is None


async def test_a_resolution_on_a_case_in_handling_sets_its_next_node_only(
        client, sms, owner, federation: Federation, staff_token) -> None:
    r1 = federation.regions[0]
    s1 = federation.stations[r1][0]
    region = await staff_token(federation, "regional_admin", r1)
    worker, _ = await worker_login(client, sms, federation.hq)
    cid = await app_case(client, worker, s1)
    assert (await client.post(f"{STAFF}/{cid}/dispute", headers=bearer(region), json={
        "kind": "unpaid_pay", "statement": "请结清"})).status_code == 201
    sent = body(r1, days=5)
    made = await client.post(f"{STAFF}/{cid}/dispute/resolution", headers=bearer(region),
                             json=sent)
    assert made.status_code == 200, made.text
    case = (await client.get(f"{STAFF}/{cid}", headers=bearer(region))).json()
    assert case["status"]["code"] == "received"  # the handling goes on
    assert datetime.fromisoformat(case["closing"]["next_due_at"]) == end_of(
        str(sent["next_due_on"]))
    assert case["closing"]["next_unit"] == r1
    assert case["followups"] == []
    assert case["events"][-1]["details"]["case_followup"] == "scheduled"
    listed = (await client.get(f"{STAFF}/open", headers=bearer(region),
                               params={"limit": 100})).json()
    row = next(i for i in listed["items"] if i["id"] == cid)
    assert datetime.fromisoformat(row["next_due_at"]) == end_of(str(sent["next_due_on"]))
