"""A referral tells the worker where to go through the inbox (kind `case_referred`, migration
0039): one notice per referral, Chinese first — the provider, its address and phone, the
booked slot in Beijing time or the hand-over — in the referral's transaction (a refused
booking tells nothing; a cancel adds none); an SMS after the commit only when the worker
opted in, with no place or time in it. Real app, real database under row-level security."""

from __future__ import annotations

from typing import Any

from flexunion.core.clock import BEIJING
from tests.cases.test_closing import INBOX, key, rows
from tests.cases.test_referrals import PROVIDERS, STAFF, next_weekday_at, provider
from tests.support.factories import Federation, bearer, join


async def referred(client: Any, token: str) -> list[dict[str, Any]]:
    page = (await client.get(INBOX, headers=bearer(token), params={"limit": 50})).json()
    return [n for n in page["items"] if n["kind"] == "case_referred"]


async def test_each_referral_tells_the_worker_where_to_go_once(
        client, sms, owner, clock, federation: Federation, staff_token) -> None:
    r1 = federation.regions[0]
    hq = await staff_token(federation, "hq_admin", federation.hq)
    region = await staff_token(federation, "regional_admin", r1)
    member = await join(client, sms, federation, federation.stations[r1][0], approver_token=hq)
    opted = await client.post("/v1/me/consents", headers=bearer(member.token) | key(),
                              json={"purpose": "sms_notice", "version": "2026-11",
                                    "granted": True})
    assert opted.status_code == 201, opted.text
    made = await client.post(STAFF, headers=bearer(region), json={
        "channel": "visit", "category": "wage_arrears", "description": "三个月工资未结。",
        "member_no": member.body["member_no"]})
    assert made.status_code == 201, made.text
    cid, case_no = made.json()["id"], made.json()["case_no"]
    aid, hand = f"{r1}-aid", f"{r1}-hand"
    for data in (provider(aid, [r1], lon=121.47, lat=31.19, address="徐汇区漕溪北路 8 号"),
                 provider(hand, [r1], lon=121.4, lat=31.2, slot_minutes=None,
                          kind="mediation", name_zh="街道调解委员会",
                          name_en="Street mediation committee", phone=None)):
        assert (await client.post(PROVIDERS, headers=bearer(region), json=data)
                ).status_code == 201
    path = f"{STAFF}/{cid}/referrals"
    start = next_weekday_at(clock.now(), 9, 30)
    texts = len(sms.notices)

    booked = await client.post(path, headers=bearer(region), json={
        "provider": aid, "booking": {"start": start.isoformat()}})
    assert booked.status_code == 201, booked.text
    notes = await referred(client, member.token)
    assert len(notes) == 1
    n = notes[0]
    when = start.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    assert n["case_id"] == cid and n["case_no"] == case_no
    assert n["title_zh"].startswith(
        f"诉求 {case_no} 已转介：请于 {when}（北京时间）前往法律援助工作站")
    assert "徐汇区漕溪北路 8 号" in n["title_zh"] and "021-12348" in n["title_zh"]
    assert n["title_en"].startswith(f"Case {case_no} referred: go to Legal aid station")
    assert when in n["title_en"]
    # the SMS says it was referred, after the commit; where and when stay in the app
    sent = sms.notices[texts:]
    assert len(sent) == 1 and case_no in sent[0][1] and "转介" in sent[0][1]
    assert "漕溪北路" not in sent[0][1] and when not in sent[0][1]

    # a refused booking (the slot is taken) rolls back: no notice, no SMS
    taken = await client.post(path, headers=bearer(region), json={
        "provider": aid, "booking": {"start": start.isoformat()}})
    assert taken.status_code == 409 and taken.json()["code"] == "slot_taken"
    assert len(await referred(client, member.token)) == 1
    assert len(sms.notices) == texts + 1

    # a hand-over: its own notice, naming the provider (no phone kept: none shown)
    handed = await client.post(path, headers=bearer(region), json={
        "provider": hand, "handover": {"sent_what": "诉求登记表", "sent_to": "调解员王某",
                                       "sent_at": clock.now().isoformat()}})
    assert handed.status_code == 201, handed.text
    notes = await referred(client, member.token)
    assert len(notes) == 2
    assert notes[0]["title_zh"] == (f"诉求 {case_no} 已转介：已移交街道调解委员会，"
                                    "请前往或致电联系（某路 1 号）")
    # cancelling adds no referral notice; each referral had exactly one
    assert (await client.post(f"{path}/{booked.json()['id']}/cancel", headers=bearer(region),
                              json={"reason": "改期"})).status_code == 200
    assert len(await referred(client, member.token)) == 2
    kept = await rows(owner, "SELECT created_by, sms FROM worker_notifications WHERE"
                             " case_id = :c AND kind = 'case_referred' ORDER BY created_at",
                      c=cid)
    assert [k[1] for k in kept] == ["queued", "queued"]
    assert all(k[0].startswith("regional_admin:") for k in kept)
