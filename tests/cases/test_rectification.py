"""季度整改清单: recurring groups of a quarter, items made from them with their steps, the
partner's view, the CSV, and the quarterly carry-over job — against the real app, the real
database under row-level security and the real job runner."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.cases.rectification.quarters import Quarter
from flexunion.config import Settings
from flexunion.core.clock import BEIJING, FixedClock
from flexunion.db.engine import make_engine, make_sessionmaker
from flexunion.jobs import service as jobs
from flexunion.jobs.schedule import by_name
from tests.jobs.conftest import body
from tests.support.bargaining import partner_client
from tests.support.factories import Federation, bearer, join

STAFF, RECT = "/v1/cases", "/v1/cases/rectification"
PARTNER_RECT = "/v1/partner/cases/rectification"


def key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(8)}


@pytest.fixture
async def app_sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    assert settings.app_database_url
    engine = make_engine(settings.app_database_url, pool_size=2, max_overflow=2)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def rows(owner, sql: str, **params: Any) -> list[Any]:
    async with owner() as s:
        return list((await s.execute(text(sql), params)).all())


async def visit(client, token: str, station: str, category: str = "wage_arrears",
                member_no: str | None = None) -> str:
    made = await client.post(STAFF, headers=bearer(token), json={
        "channel": "visit", "category": category, "description": "工资拖欠。",
        "station": station} | ({"member_no": member_no} if member_no else {}))
    assert made.status_code == 201, made.text
    return made.json()["id"]


async def closed_and_rated(client, token: str, worker: str, cid: str, rating: str) -> None:
    for path, data in (("route", {"route": "instant", "reason": "当场答复"}),
                       ("answer", {"text": "已结清。"}),
                       ("follow-up", {"outcome": "resolved", "worker_informed": True,
                                      "worker_accepts": True})):
        r = await client.post(f"{STAFF}/{cid}/{path}", headers=bearer(token), json=data)
        assert r.status_code == 200, r.text
    r = await client.post(f"/v1/me/cases/{cid}/rating", headers=bearer(worker) | key(),
                          json={"rating": rating})
    assert r.status_code == 201, r.text


def test_quarters_are_beijing_time() -> None:
    q4 = Quarter.parse("2026Q4")
    assert q4.start == datetime(2026, 10, 1, tzinfo=BEIJING)
    assert q4.end == datetime(2027, 1, 1, tzinfo=BEIJING)
    assert q4.previous().code == "2026Q3" and q4.next().code == "2027Q1"
    # 16:30 UTC on 31 Dec is already 1 Jan in Beijing
    assert Quarter.of(datetime(2026, 12, 31, 16, 30, tzinfo=UTC)).code == "2027Q1"
    assert Quarter.of(datetime(2026, 12, 31, 15, 59, tzinfo=UTC)).code == "2026Q4"
    assert by_name("rectification-carry-over").cron == "5 0 1 1,4,7,10 *"


async def test_recurring_groups_items_partner_csv_and_carry_over(
        client, sms, owner, clock, settings, app_sessions, federation: Federation,
        staff_token):
    r1, r2 = federation.regions
    s1, s2 = federation.stations[r1]  # s1's platform is alpha, s2's beta
    hq = await staff_token(federation, "hq_admin", federation.hq)
    region = await staff_token(federation, "regional_admin", r1)
    member = await join(client, sms, federation, s1, approver_token=hq)
    number = member.body["member_no"]
    now = clock.now()
    assert Quarter.of(now).code == "2026Q4", "the test's quarters assume December 2026"
    quarter, last = "2026Q4", "2026Q3"
    # 2026Q3: two wage cases at s1, one closed and rated 不满意
    clock.advance(days=-75)
    assert Quarter.of(clock.now()).code == last
    old = await visit(client, region, s1, member_no=number)
    await visit(client, region, s1)
    await closed_and_rated(client, region, member.token, old, "dissatisfied")
    clock.advance(days=75)
    # 2026Q4: three at s1 (the member twice, one anonymous suggestion), one rated 满意,
    # one reopened; and a single commission case at s2
    first = await visit(client, region, s1, member_no=number)
    second = await visit(client, region, s1, member_no=number)
    anon = await client.post(f"/v1/suggestions/{s1}", json={
        "category": "wage_arrears", "description": "站里普遍拖欠工资。"})
    assert anon.status_code == 201, anon.text
    await closed_and_rated(client, region, member.token, first, "satisfied")
    await closed_and_rated(client, region, member.token, second, "basically_satisfied")
    reopened = await client.post(f"/v1/me/cases/{second}/reopen",
                                 headers=bearer(member.token) | key(), json={"reason": "没到账"})
    assert reopened.status_code == 200, reopened.text
    await visit(client, region, s2, category="commission")

    got = await client.get(f"{RECT}/groups", params={"quarter": quarter},
                           headers=bearer(region))
    assert got.status_code == 200, got.text
    groups = {(g["category"]["code"], g["dimension"]["code"], g["place"]): g
              for g in got.json()}
    assert set(groups) == {("wage_arrears", "tenant", s1), ("wage_arrears", "partner", "alpha")}
    g = groups[("wage_arrears", "tenant", s1)]
    assert (g["cases"], g["workers"], g["anonymous"], g["open"], g["closed"],
            g["reopened"]) == (3, 1, 1, 2, 1, 1)
    assert g["satisfaction"] == {"satisfied": 1, "basically_satisfied": 1, "dissatisfied": 0,
                                 "rated": 2, "satisfied_rate": 1.0}
    assert g["previous_quarter_cases"] == 2 and g["recurring"] is True
    assert g["why"] == ["cases_in_quarter", "consecutive_quarters"]
    assert g["item_id"] is None and g["place_name"] == "站点1-1"
    every = await client.get(f"{RECT}/groups", params={"quarter": quarter, "all": "true"},
                             headers=bearer(region))
    assert ("commission", "tenant", s2) in {(x["category"]["code"], x["dimension"]["code"],
                                            x["place"]) for x in every.json()}
    # another region's admin sees no group of this one
    other = await staff_token(federation, "regional_admin", r2)
    assert (await client.get(f"{RECT}/groups", params={"quarter": quarter, "all": "true"},
                             headers=bearer(other))).json() == []
    bad = await client.get(f"{RECT}/groups", params={"quarter": "2026Q5"},
                           headers=bearer(region))
    assert 400 <= bad.status_code < 500

    # 立项 from the station group: every case of the group linked, the trend up
    item = {"quarter": quarter, "category": "wage_arrears", "dimension": "tenant",
            "place": s1, "owner": {"tenant": s1}, "problem": "站点反复拖欠工资",
            "measure": "约谈站长，按月公示工资发放", "next_node": "站点提交发放台账",
            "next_due_on": "2027-01-15"}
    made = await client.post(f"{RECT}/items", headers=bearer(region), json=item)
    assert made.status_code == 201, made.text
    it = made.json()
    assert it["status"]["code"] == "open" and it["owner"]["code"] == s1
    assert len(it["cases"]) == 3 and it["list_of"] == r1
    assert it["trend"]["this_quarter"]["satisfied_rate"] == 1.0
    assert it["trend"]["last_quarter"]["satisfied_rate"] == 0.0
    assert it["trend"]["direction"] == "up"
    assert [h["kind"]["code"] for h in it["history"]] == ["created"]
    again = await client.post(f"{RECT}/items", headers=bearer(region), json=item)
    assert again.status_code == 409 and again.json()["code"] == "rectification_item_exists"
    for over, code in (({"owner": {"tenant": s1, "partner": "alpha"}}, "owner_required"),
                       ({"owner": {"tenant": "nowhere"}}, "unknown_unit"),
                       ({"place": "nowhere"}, "unknown_place"),
                       ({"category": "childcare"}, "group_empty"),
                       ({"next_due_on": "2027-02-30"}, "next_due_invalid")):
        r = await client.post(f"{RECT}/items", headers=bearer(region), json=item | over)
        assert r.status_code == 422 and r.json()["code"] == code, (over, r.text)
    assert len(await rows(owner, "SELECT 1 FROM rectification_items WHERE tenant_id = :t",
                          t=federation.ids[r1])) == 1
    groups_now = (await client.get(f"{RECT}/groups", params={"quarter": quarter},
                                   headers=bearer(region))).json()
    assert {x["item_id"] for x in groups_now if x["dimension"]["code"] == "tenant"} == {it["id"]}

    # the platform group, owned by alpha: alpha reads it without cases or trend; beta cannot
    owned = await client.post(f"{RECT}/items", headers=bearer(region), json=item | {
        "dimension": "partner", "place": "alpha", "owner": {"partner": "alpha"},
        "cases": [first]})
    assert owned.status_code == 201, owned.text
    alpha = await partner_client(client, owner, federation, "alpha")
    beta = await partner_client(client, owner, federation, "beta")
    seen = (await client.get(f"{PARTNER_RECT}/items", headers=bearer(alpha.token))).json()
    assert [x["id"] for x in seen] == [owned.json()["id"]]
    assert seen[0]["cases"] is None and seen[0]["trend"] is None
    assert seen[0]["history"][0]["actor"] == "regional_admin"
    assert (await client.get(f"{PARTNER_RECT}/items", headers=bearer(beta.token))).json() == []
    assert (await client.get(f"{PARTNER_RECT}/items/{it['id']}",
                             headers=bearer(alpha.token))).status_code == 404
    # another region: the item does not exist
    assert (await client.get(f"{RECT}/items/{it['id']}", headers=bearer(other))
            ).status_code == 404

    # 推进, then link and unlink a case (the commission case), history in order
    moved = await client.post(f"{RECT}/items/{it['id']}/progress", headers=bearer(region),
                              json={"note": "已约谈", "next_node": "复查发放台账",
                                    "next_due_on": "2027-02-10"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"]["code"] == "in_progress"
    assert moved.json()["next_node"] == "复查发放台账"
    commission = next(x for x in every.json() if x["category"]["code"] == "commission")
    assert commission["cases"] == 1
    nope = await client.post(f"{RECT}/items/{it['id']}/cases", headers=bearer(region),
                             json={"add": ["00000000-0000-4000-8000-000000000000"]})
    assert nope.status_code == 422 and nope.json()["code"] == "unknown_case"
    unlinked = await client.post(f"{RECT}/items/{it['id']}/cases", headers=bearer(region),
                                 json={"remove": [second]})
    assert unlinked.status_code == 200 and len(unlinked.json()["cases"]) == 2
    # the owned item is finished: no step after 完成
    done = await client.post(f"{RECT}/items/{owned.json()['id']}/progress",
                             headers=bearer(region), json={"note": "平台已整改",
                                                           "status": "done"})
    assert done.status_code == 200 and done.json()["status"]["code"] == "done"
    late = await client.post(f"{RECT}/items/{owned.json()['id']}/progress",
                             headers=bearer(region), json={"note": "再推进"})
    assert late.status_code == 409 and late.json()["code"] == "rectification_item_closed"

    # the CSV: BOM, Chinese headers, one row per item
    csv = await client.get(f"{RECT}/export", params={"quarter": quarter},
                           headers=bearer(region))
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith(b"\xef\xbb\xbf")
    lines = csv.content.decode("utf-8-sig").strip().split("\r\n")
    assert lines[0].startswith("季度,整改项编号,问题类别") and len(lines) == 3
    assert "整改中" in lines[1] + lines[2] and "上升" in lines[1] + lines[2]

    # the carry-over job on 1 Jan 2027 (Beijing): the open item moves, the done one stays
    new_year = FixedClock(datetime(2027, 1, 1, 0, 5, tzinfo=UTC))
    fed = body(federation.ids[federation.hq])
    assert await jobs.run("rectification-carry-over", fed, sessions=app_sessions,
                          settings=settings, clock=new_year) == 1
    assert await jobs.run("rectification-carry-over", fed, sessions=app_sessions,
                          settings=settings, clock=new_year) == 0  # idempotent
    old_item = (await client.get(f"{RECT}/items/{it['id']}", headers=bearer(region))).json()
    assert old_item["status"]["code"] == "carried_over" and old_item["carried_to"]
    carried = (await client.get(f"{RECT}/items", params={"quarter": "2027Q1"},
                                headers=bearer(region))).json()
    assert len(carried) == 1 and carried[0]["id"] == old_item["carried_to"]
    assert carried[0]["carried_from"] == it["id"] and carried[0]["status"]["code"] == \
        "in_progress"
    assert carried[0]["next_node"] == "复查发放台账" and len(carried[0]["cases"]) == 2
    history = [(h["quarter"], h["kind"]["code"]) for h in carried[0]["history"]]
    assert history[:3] == [(quarter, "created"), (quarter, "progress"),
                           (quarter, "cases_unlinked")]
    assert set(history[3:]) == {("2027Q1", "carried_in"), (quarter, "carried_over")}
    audited = [a for (a,) in await rows(
        owner, "SELECT action FROM audit_events WHERE object_type = 'rectification_item'"
        " AND actor = 'system:jobs:rectification-carry-over'")]
    assert audited == ["rectification.carried_over"]
    # HQ sees the region's list too
    assert len((await client.get(f"{RECT}/items", params={"quarter": quarter},
                                 headers=bearer(hq))).json()) == 2
