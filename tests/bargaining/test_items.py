"""Board items for staff: create from reports, list, filter, count, read, edit; merge and
split with their traces; who sees what."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from flexunion.bargaining.board.lifecycle import STATUSES
from flexunion.bargaining.reports.models import ProblemReport
from tests.support.bargaining import DETAILS, partner_client, partner_id, seed_item
from tests.support.factories import bearer, join

ITEMS = "/v1/admin/bargaining/items"


async def seed_report(owner, fed, joined, partner: str = "alpha") -> uuid.UUID:
    """A worker's report written with the owner connection (H1 owns the report API)."""
    station = fed.stations[fed.regions[0]][0]
    report = ProblemReport(
        id=uuid.uuid4(), federation_id=fed.ids[fed.hq], tenant_id=fed.ids[station],
        region_id=fed.ids[fed.regions[0]], member_id=uuid.UUID(joined.member_id),
        worker_id=uuid.UUID(joined.worker_id), topic="commission_rates",
        partner_id=await partner_id(owner, fed, partner), station_code=station, zone_code=None,
        title="抽成太高", body="每单抽成 25%", details={}, created_at=datetime.now(UTC))
    async with owner() as s, s.begin():
        s.add(report)
    return report.id


def item_body(**over) -> dict:
    return {"partner": "alpha", "topic": "commission_rates", "title": "降低抽成比例",
            "summary": "骑手普遍反映抽成过高", "details": DETAILS["commission_rates"]} | over


@pytest.fixture
async def reporter(client, sms, federation, staff_token):
    hq = await staff_token(federation, "hq_admin", federation.hq)
    return await join(client, sms, federation, federation.stations[federation.regions[0]][0],
                      approver_token=hq)


async def test_create_from_reports(client, owner, federation, staff_token, reporter) -> None:
    r1 = federation.regions[0]
    admin = await staff_token(federation, "regional_admin", r1, subject="ops")
    reports = [await seed_report(owner, federation, reporter) for _ in range(2)]
    r = await client.post(ITEMS, json=item_body(report_ids=[str(x) for x in reports],
                                                support_threshold=3), headers=bearer(admin))
    assert r.status_code == 201, r.text
    item = r.json()
    assert item["status"] == "collected" and item["scope"] == r1 and item["partner"] == "alpha"
    assert item["support_threshold"] == 3 and item["created_by"] == "regional_admin:ops"
    assert sorted(s["report_id"] for s in item["sources"]) == sorted(map(str, reports))
    assert {s["via"] for s in item["sources"]} == {"created"}
    timeline = (await client.get(f"{ITEMS}/{item['id']}/timeline", headers=bearer(admin))).json()
    assert [(e["kind"], e["to_status"]) for e in timeline] == [("created", "collected")]
    async with owner() as s:
        audit = (await s.execute(text("SELECT actor FROM audit_events WHERE action ="
                                      " 'agenda.created' AND object_id = :i"),
                                 {"i": item["id"]})).scalar_one()
    assert audit == "regional_admin:ops"
    # Default threshold from settings; HQ may create federation-wide items.
    hq = await staff_token(federation, "hq_admin", federation.hq)
    r = await client.post(ITEMS, json=item_body(scope=federation.hq), headers=bearer(hq))
    assert r.status_code == 201 and r.json()["support_threshold"] == 20
    assert r.json()["scope"] == federation.hq


@pytest.mark.parametrize(("over", "status", "code"), [
    ({"partner": "gamma"}, 422, "unknown_partner"),
    ({"details": {"current_rate_pct": 25}}, 422, "invalid_details"),
    ({"details": {"current_rate_pct": 25, "proposed_rate_pct": 18, "colour": "red"}}, 422,
     "invalid_details"),
    ({"scope": "STATION"}, 422, "invalid_scope"),
    ({"scope": "R2"}, 403, "scope_not_yours"),
    ({"scope": "HQ"}, 403, "scope_not_yours"),
    ({"report_ids": [str(uuid.uuid4())]}, 422, "source_not_found"),
    ({"topic": "wages"}, 422, "validation_failed"),
    ({"title": ""}, 422, "validation_failed"),
    ({"title": "x" * 201}, 422, "validation_failed"),
    ({"created_by": "someone"}, 422, "validation_failed"),
])
async def test_bad_items_are_refused(client, owner, federation, staff_token, over, status,
                                     code) -> None:
    r1, r2 = federation.regions
    codes = {"STATION": federation.stations[r1][0], "R2": r2, "HQ": federation.hq}
    if "scope" in over:
        over = {"scope": codes[over["scope"]]}
    admin = await staff_token(federation, "regional_admin", r1)
    r = await client.post(ITEMS, json=item_body(**over), headers=bearer(admin))
    assert r.status_code == status, r.text
    assert r.json()["code"] == code
    async with owner() as s:
        n = (await s.execute(text("SELECT count(*) FROM agenda_items WHERE tenant_id = ANY(:t)"),
                             {"t": list(federation.ids.values())})).scalar_one()
    assert n == 0


async def test_a_report_of_another_region_is_not_a_source(client, owner, federation,
                                                          staff_token, reporter) -> None:
    report = await seed_report(owner, federation, reporter)  # an r1 report
    other = await staff_token(federation, "regional_admin", federation.regions[1])
    r = await client.post(ITEMS, json=item_body(report_ids=[str(report)]), headers=bearer(other))
    assert r.status_code == 422 and r.json()["code"] == "source_not_found"
    assert r.json()["missing"] == [str(report)]


async def test_list_filters_counts_and_visibility(client, owner, federation, staff_token) -> None:
    r1, r2 = federation.regions
    a = await seed_item(owner, federation, scope=r1, title="派单规则不透明", topic="dispatch_rules")
    b = await seed_item(owner, federation, scope=r1, partner="beta", status="on_agenda")
    c = await seed_item(owner, federation, scope=r2)
    d = await seed_item(owner, federation, scope=federation.hq, status="deferred")
    admin = await staff_token(federation, "regional_admin", r1)

    async def ids(**params) -> list[str]:
        r = await client.get(ITEMS, params=params, headers=bearer(admin))
        assert r.status_code == 200, r.text
        return sorted(i["id"] for i in r.json()["items"])

    assert await ids() == sorted(map(str, (a, b, d)))
    assert await ids(topic="dispatch_rules") == [str(a)]
    assert await ids(partner="beta") == [str(b)]
    assert await ids(status="deferred") == [str(d)]
    assert await ids(region=r1) == sorted(map(str, (a, b)))
    assert await ids(q="派单") == [str(a)]
    assert await ids(region=r2) == []
    # Paging walks every item once.
    seen, cursor = [], None
    while True:
        page = (await client.get(ITEMS, params={"limit": 1} | ({"cursor": cursor} if cursor
                                                               else {}),
                                 headers=bearer(admin))).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(map(str, (a, b, d)))
    counts = (await client.get(f"{ITEMS}/counts", headers=bearer(admin))).json()
    assert [c_["status"] for c_ in counts] == list(STATUSES)
    by = {c_["status"]: c_ for c_ in counts}
    assert by["collected"]["count"] == 1 and by["on_agenda"]["count"] == 1
    assert by["deferred"]["count"] == 1 and by["merged"]["count"] == 0
    assert by["on_agenda"]["label_zh"] == STATUSES["on_agenda"][0]
    counts = (await client.get(f"{ITEMS}/counts", params={"partner": "alpha"},
                               headers=bearer(admin))).json()
    assert sum(x["count"] for x in counts) == 2
    bad = await client.get(ITEMS, params={"partner": "nope"}, headers=bearer(admin))
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_partner"
    bad = await client.get(ITEMS, params={"cursor": "garbage"}, headers=bearer(admin))
    assert bad.status_code == 422
    # r2's officer sees its own and the federation's, never r1's.
    other = await staff_token(federation, "regional_admin", r2)
    assert (await client.get(f"{ITEMS}/{a}", headers=bearer(other))).status_code == 404
    assert (await client.get(f"{ITEMS}/{a}/timeline", headers=bearer(other))).status_code == 404
    got = (await client.get(ITEMS, headers=bearer(other))).json()
    assert sorted(i["id"] for i in got["items"]) == sorted(map(str, (c, d)))
    partner = await partner_client(client, owner, federation)
    for url in (ITEMS, f"{ITEMS}/{b}", f"{ITEMS}/counts"):
        assert (await client.get(url, headers=bearer(partner.token))).status_code in (401, 403)


async def test_edit(client, owner, federation, staff_token) -> None:
    admin = await staff_token(federation, "regional_admin", federation.regions[0])
    item = await seed_item(owner, federation)
    r = await client.patch(f"{ITEMS}/{item}", json={"support_threshold": 7, "summary": "新摘要"},
                           headers=bearer(admin))
    assert r.status_code == 200 and r.json()["support_threshold"] == 7
    r = await client.patch(f"{ITEMS}/{item}", json={"details": {"current_rate_pct": 1}},
                           headers=bearer(admin))
    assert r.status_code == 422 and r.json()["code"] == "invalid_details"
    r = await client.patch(f"{ITEMS}/{item}", json={}, headers=bearer(admin))
    assert r.status_code == 422 and r.json()["code"] == "nothing_to_change"
    done = await seed_item(owner, federation, status="rejected")
    r = await client.patch(f"{ITEMS}/{done}", json={"title": "改"}, headers=bearer(admin))
    assert r.status_code == 409 and r.json()["code"] == "item_closed"


async def test_merge_and_split_keep_the_trace(client, owner, federation, staff_token,
                                              reporter) -> None:
    admin = await staff_token(federation, "regional_admin", federation.regions[0])
    rep = [await seed_report(owner, federation, reporter) for _ in range(3)]

    async def create(report_ids) -> str:
        r = await client.post(ITEMS, json=item_body(report_ids=[str(x) for x in report_ids]),
                              headers=bearer(admin))
        assert r.status_code == 201, r.text
        return r.json()["id"]

    into, other = await create(rep[:1]), await create(rep[1:])
    beta = await seed_item(owner, federation, partner="beta")
    r = await client.post(f"{ITEMS}/merge", json={"into": into, "items": [other, str(beta)],
                                                  "reason": "同一问题"}, headers=bearer(admin))
    assert r.status_code == 422 and r.json()["code"] == "merge_mismatch"
    agenda = await seed_item(owner, federation, status="on_agenda")
    r = await client.post(f"{ITEMS}/merge", json={"into": into, "items": [str(agenda)],
                                                  "reason": "x"}, headers=bearer(admin))
    assert r.status_code == 409 and r.json()["code"] == "item_not_regroupable"
    r = await client.post(f"{ITEMS}/merge", json={"into": into, "items": [into], "reason": "x"},
                          headers=bearer(admin))
    assert r.status_code == 422 and r.json()["code"] == "merge_into_self"
    r = await client.post(f"{ITEMS}/merge", json={"into": into, "items": [other],
                                                  "reason": "同一问题"}, headers=bearer(admin))
    assert r.status_code == 200, r.text
    gone = (await client.get(f"{ITEMS}/{other}", headers=bearer(admin))).json()
    assert gone["status"] == "merged" and gone["merged_into_id"] == into
    assert all(s["moved_to_item_id"] == into for s in gone["sources"])
    kept = (await client.get(f"{ITEMS}/{into}", headers=bearer(admin))).json()
    active = {s["report_id"]: s for s in kept["sources"] if s["moved_to_item_id"] is None}
    assert set(active) == set(map(str, rep))
    assert {active[str(x)]["from_item_id"] for x in rep[1:]} == {other}
    # Split one report off into a new item.
    r = await client.post(f"{ITEMS}/{into}/split", json={"title": "夜间单抽成", "reason": "单列",
                                                         "report_ids": [str(rep[2])]},
                          headers=bearer(admin))
    assert r.status_code == 200, r.text
    new = r.json()["new_item"]
    assert new["status"] == "collected" and new["scope"] == kept["scope"]
    assert [(s["report_id"], s["via"], s["from_item_id"]) for s in new["sources"]] == [
        (str(rep[2]), "split", into)]
    old = {s["report_id"]: s for s in r.json()["item"]["sources"] if s["via"] == "merged"}
    assert old[str(rep[2])]["moved_to_item_id"] == new["id"]
    r = await client.post(f"{ITEMS}/{into}/split", json={"title": "t", "reason": "r",
                                                         "report_ids": [str(rep[2])]},
                          headers=bearer(admin))
    assert r.status_code == 422 and r.json()["code"] == "source_not_on_item"
    kinds = [e["kind"] for e in (await client.get(f"{ITEMS}/{into}/timeline",
                                                  headers=bearer(admin))).json()]
    assert kinds == ["created", "merge", "split"]
    async with owner() as s:
        actions = (await s.execute(text(
            "SELECT action FROM audit_events WHERE object_id = ANY(:i) ORDER BY seq"),
            {"i": [into, other]})).scalars().all()
    assert actions == ["agenda.created", "agenda.created", "agenda.merged", "agenda.split"]
