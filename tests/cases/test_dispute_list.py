"""争议 list (GET /v1/disputes): the disputes in my sight, newest opened first, by kind, by rung
and by what the platform still owes past its deadline (written reasons, requested evidence),
cursor-paged; a sibling region sees none of them, a platform or worker is refused. Real app,
real database under row-level security."""

from __future__ import annotations

from typing import Any

from tests.cases.test_disputes import STAFF, app_case
from tests.support.bargaining import partner_client
from tests.support.factories import Federation, bearer, worker_login

LIST = "/v1/disputes"


async def test_the_dispute_list_filters_pages_and_stays_in_sight(
        client, sms, owner, clock, federation: Federation, staff_token) -> None:
    r1, r2 = federation.regions[0], federation.regions[1]
    s1 = federation.stations[r1][0]
    region = await staff_token(federation, "regional_admin", r1)
    station = await staff_token(federation, "station_officer", s1)
    sibling = await staff_token(federation, "regional_admin", r2)
    worker, _ = await worker_login(client, sms, federation.hq)
    alpha = await partner_client(client, owner, federation, "alpha")

    async def dispute(category: str, kind: str) -> str:
        cid = await app_case(client, worker, s1, category=category)
        r = await client.post(f"{STAFF}/{cid}/dispute", headers=bearer(region),
                              json={"kind": kind, "statement": "请核查。", "partner": "alpha"})
        assert r.status_code == 201, r.text
        clock.advance(minutes=1)
        return cid

    pay = await dispute("wage_arrears", "unpaid_pay")
    ban = await dispute("account_ban", "deactivation")
    ins = await dispute("social_insurance", "social_insurance")
    # 提示 on the pay dispute; an evidence request to the platform on the insurance one
    r = await client.post(f"{STAFF}/{pay}/dispute/steps", headers=bearer(region),
                          json={"step": "reminder", "reason": "先行提示"})
    assert r.status_code == 200, r.text
    r = await client.post(f"{STAFF}/{ins}/dispute/requests", headers=bearer(region),
                          json={"slot": "insurance", "days": 30})
    assert r.status_code == 200, r.text

    async def listed(token: str, **params: Any) -> dict[str, Any]:
        r = await client.get(LIST, headers=bearer(token), params=params)
        assert r.status_code == 200, r.text
        return dict(r.json())

    everything = await listed(region)
    assert [i["case_id"] for i in everything["items"]] == [ins, ban, pay]  # newest first
    assert everything["next_cursor"] is None
    first = everything["items"][0]
    assert first["kind"]["zh"] == "欠保" and first["partner"] == "alpha"
    assert first["handling_unit"] == s1 and first["requests_open"] == 1
    assert (await listed(station))["items"] == everything["items"]
    assert [i["case_id"] for i in (await listed(region, kind="deactivation"))["items"]] == [ban]
    assert [i["case_id"] for i in (await listed(region, step="reminder"))["items"]] == [pay]
    assert [i["case_id"] for i in (await listed(region, step="none"))["items"]] == [ins, ban]
    # nothing is owed past a deadline yet
    assert (await listed(region, overdue="true"))["items"] == []
    banned = (await listed(region, kind="deactivation"))["items"][0]
    assert banned["reply_due_at"] is not None and banned["reply_overdue"] is False

    # 11 working days on (past the 10-day reply deadline, not the 30-day request): the ban
    clock.advance(days=20)
    late = (await listed(region, overdue="true"))["items"]
    assert [i["case_id"] for i in late] == [ban] and late[0]["reply_overdue"] is True
    # 60 days on, the insurance request is overdue too
    clock.advance(days=40)
    late = (await listed(region, overdue="true"))["items"]
    assert [i["case_id"] for i in late] == [ins, ban]
    assert late[0]["requests_overdue"] == 1
    # reasons given (late): the reply is no longer owed
    given = await client.post(f"/v1/partner/cases/{ban}/dispute/reasons",
                              headers=bearer(alpha.token) | {"Idempotency-Key": "k-ban-1"},
                              json={"text": "系统判定异常。"})
    assert given.status_code == 200, given.text
    assert [i["case_id"] for i in (await listed(region, overdue="true"))["items"]] == [ins]

    # paged by cursor, one at a time, every dispute once
    seen, cursor = [], None
    while True:
        page = await listed(region, limit=1, **({"cursor": cursor} if cursor else {}))
        seen += [i["case_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [ins, ban, pay]
    bad = await client.get(LIST, headers=bearer(region), params={"cursor": "nope"})
    assert bad.status_code == 422 and bad.json()["code"] == "cursor_invalid"
    wrong = await client.get(LIST, headers=bearer(region), params={"step": "done"})
    assert wrong.status_code in (400, 422)

    # a sibling region sees none; a platform and a worker are refused
    assert (await listed(sibling))["items"] == []
    for token in (alpha.token, worker):  # another audience's token
        refused = await client.get(LIST, headers=bearer(token))
        assert refused.status_code == 401, refused.text
        assert refused.json()["code"] == "token_wrong_audience"
