"""问题提报: filing (idempotent, bad input refused with nothing written, members only), the
reporter's own view and trace, and staff views confined to their subtree."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from tests.support.bargaining import seed_item, set_member_status
from tests.support.factories import Federation, Joined, bearer, join, worker_login
from tests.support.geo import HANGZHOU, SHANGHAI, seed_area, square

REPORTS = "/v1/bargaining/reports"
ADMIN_REPORTS = "/v1/admin/bargaining/reports"


def report(**over: Any) -> dict[str, Any]:
    return {"topic": "commission_rates", "partner": "alpha", "title": "抽成过高",
            "body": "每单抽成 25%，高峰期也不降。", "details": {"current_rate_pct": 25.0}} | over


def key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(8)}


async def file(client, token: str, **over: Any):
    return await client.post(REPORTS, json=report(**over), headers=bearer(token) | key())


@pytest.fixture
async def hq(federation: Federation, staff_token) -> str:
    return await staff_token(federation, "hq_admin", federation.hq)


@pytest.fixture
async def zones(owner, federation: Federation) -> dict[str, str]:
    """Delivery zones (before the federation's geo snapshot is first read)."""
    r1, r2 = federation.regions
    await seed_area(owner, federation, r1, "delivery_zone", "z-alpha-1", square(*SHANGHAI),
                    partner="alpha")
    await seed_area(owner, federation, r2, "delivery_zone", "z-beta-2", square(*HANGZHOU),
                    partner="beta")
    return {"alpha": "z-alpha-1", "beta": "z-beta-2"}


async def member(client, sms, fed: Federation, home: str, hq: str) -> Joined:
    return await join(client, sms, fed, home, approver_token=hq)


async def count(owner, sql: str, **params: Any) -> int:
    async with owner() as s:
        return (await s.execute(text(sql), params)).scalar_one()


async def test_report_filed_listed_and_idempotent(client, sms, owner, federation, hq, zones):
    station = federation.stations[federation.regions[0]][0]
    joined = await member(client, sms, federation, station, hq)
    body = report(station_code=station, zone_code=zones["alpha"])
    headers = bearer(joined.token) | key()
    first = await client.post(REPORTS, json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = await client.post(REPORTS, json=body, headers=headers)
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    created = first.json()
    assert created["topic"] == {"code": "commission_rates", "zh": "抽成比例",
                                "en": "Commission rates"}
    assert created["partner"] == "alpha" and created["zone_code"] == zones["alpha"]
    assert created["details"] == {"current_rate_pct": 25.0}
    assert await count(owner, "SELECT count(*) FROM problem_reports WHERE worker_id = :w",
                       w=joined.worker_id) == 1
    assert await count(owner, "SELECT count(*) FROM audit_events WHERE action = 'report.filed'"
                       " AND object_id = :i", i=created["id"]) == 1
    async with owner() as s:
        row = (await s.execute(text("SELECT tenant_id, region_id FROM problem_reports"
                                    " WHERE id = :i"), {"i": created["id"]})).one()
    assert row.tenant_id == federation.ids[station]
    assert row.region_id == federation.ids[federation.regions[0]]

    second = await file(client, joined.token, topic="rest",
                        details={"current_arrangement": "无"})
    assert second.status_code == 201, second.text
    listed = await client.get(REPORTS, params={"limit": 1}, headers=bearer(joined.token))
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert [r["id"] for r in page["items"]] == [second.json()["id"]]  # newest first
    rest = await client.get(REPORTS, params={"cursor": page["next_cursor"]},
                            headers=bearer(joined.token))
    assert [r["id"] for r in rest.json()["items"]] == [created["id"]]
    assert rest.json()["next_cursor"] is None
    detail = await client.get(f"{REPORTS}/{created['id']}", headers=bearer(joined.token))
    assert detail.status_code == 200 and detail.json()["trace"] == []


async def test_region_member_report_belongs_to_its_region(client, sms, owner, federation, hq):
    r2 = federation.regions[1]
    joined = await member(client, sms, federation, r2, hq)
    r = await file(client, joined.token)
    assert r.status_code == 201, r.text
    async with owner() as s:
        row = (await s.execute(text("SELECT tenant_id, region_id FROM problem_reports"
                                    " WHERE id = :i"), {"i": r.json()["id"]})).one()
    assert row.tenant_id == row.region_id == federation.ids[r2]


@pytest.mark.parametrize(("over", "status", "code"), [
    ({"topic": "wages"}, 422, "invalid_topic"),
    ({"details": {"proposed_rate_pct": 150}}, 422, "invalid_details"),
    ({"details": {"rule": "派单"}}, 422, "invalid_details"),  # a dispatch field on commission
    ({"partner": "gamma"}, 422, "unknown_partner"),
    ({"station_code": "nowhere"}, 422, "unknown_station"),
    ({"station_code": "REGION"}, 422, "unknown_station"),  # a region is not a station
    ({"zone_code": "z-beta-2"}, 422, "unknown_zone"),  # beta's zone on an alpha report
    ({"zone_code": "z-none"}, 422, "unknown_zone"),
    ({"title": ""}, 422, "validation_failed"),
    ({"body": "长" * 4001}, 422, "validation_failed"),
    ({"reporter": "someone"}, 422, "validation_failed"),
])
async def test_bad_input_is_refused_and_nothing_written(client, sms, owner, federation, hq,
                                                        zones, over, status, code):
    joined = await member(client, sms, federation, federation.regions[0], hq)
    if over.get("station_code") == "REGION":
        over = over | {"station_code": federation.regions[0]}
    r = await file(client, joined.token, **over)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    if code:
        assert r.json()["code"] == code
    assert await count(owner, "SELECT count(*) FROM problem_reports WHERE worker_id = :w",
                       w=joined.worker_id) == 0


async def test_non_member_and_lapsed_member_are_refused(client, sms, owner, federation, hq):
    token, worker_id = await worker_login(client, sms, federation.hq)
    r = await file(client, token)
    assert r.status_code == 403 and r.json()["code"] == "membership_required", r.text
    joined = await member(client, sms, federation, federation.regions[0], hq)
    assert (await file(client, joined.token)).status_code == 201
    await set_member_status(owner, joined.member_id, "suspended")
    r = await file(client, joined.token)
    assert r.status_code == 403 and r.json()["code"] == "member_not_active", r.text
    assert r.json()["member_status"] == "suspended"
    assert await count(owner, "SELECT count(*) FROM problem_reports WHERE worker_id IN"
                       " (:a, :b)", a=worker_id, b=joined.worker_id) == 1
    # a lapsed member still reads what it reported
    mine = await client.get(REPORTS, headers=bearer(joined.token))
    assert len(mine.json()["items"]) == 1


async def test_another_worker_cannot_read_my_report(client, sms, federation, hq,
                                                    other_federation):
    mine = await member(client, sms, federation, federation.regions[0], hq)
    other = await member(client, sms, federation, federation.regions[0], hq)
    created = (await file(client, mine.token)).json()
    r = await client.get(f"{REPORTS}/{created['id']}", headers=bearer(other.token))
    assert r.status_code == 404 and r.json()["code"] == "report_not_found"
    assert (await client.get(REPORTS, headers=bearer(other.token))).json()["items"] == []
    stranger, _ = await worker_login(client, sms, other_federation.hq)
    assert (await client.get(f"{REPORTS}/{created['id']}",
                             headers=bearer(stranger))).status_code == 404
    missing = await client.get(f"{REPORTS}/{uuid.uuid4()}", headers=bearer(mine.token))
    assert missing.status_code == 404
    # staff tokens cannot use the worker routes, and the reporter cannot use staff routes
    assert (await client.get(REPORTS, headers=bearer(hq))).status_code in (401, 403)
    assert (await client.get(ADMIN_REPORTS, headers=bearer(mine.token))).status_code in (401, 403)


async def _source(owner, fed: Federation, item_id: uuid.UUID, report_id: str, *,
                  moved_to: uuid.UUID | None = None) -> None:
    async with owner() as s, s.begin():
        await s.execute(text(
            "INSERT INTO agenda_item_sources (id, federation_id, tenant_id, item_id, report_id,"
            " moved_to_item_id, via, actor, created_at) VALUES (:id, :f, :t, :item, :r, :m,"
            " 'created', 'test', :now)"),
            {"id": uuid.uuid4(), "f": fed.ids[fed.hq], "t": fed.ids[fed.regions[0]],
             "item": item_id, "r": report_id, "m": moved_to, "now": datetime.now(UTC)})


async def test_trace_follows_merges_to_the_surviving_item(client, sms, owner, federation, hq):
    joined = await member(client, sms, federation, federation.regions[0], hq)
    created = (await file(client, joined.token)).json()
    merged = await seed_item(owner, federation, title="被合并的事项")
    survivor = await seed_item(owner, federation, title="合并后的事项", status="under_review")
    split_away = await seed_item(owner, federation, title="拆走的事项")
    await _source(owner, federation, merged, created["id"])
    await _source(owner, federation, split_away, created["id"], moved_to=survivor)
    async with owner() as s, s.begin():
        await s.execute(text("UPDATE agenda_items SET status = 'merged', merged_into_id = :into"
                             " WHERE id = :id"), {"into": survivor, "id": merged})
    r = await client.get(f"{REPORTS}/{created['id']}", headers=bearer(joined.token))
    assert r.status_code == 200, r.text
    assert r.json()["trace"] == [{
        "item_id": str(survivor), "title": "合并后的事项",
        "status": {"code": "under_review", "zh": "审核中", "en": "Under review"},
        "via_items": [str(merged)]}]


async def test_staff_see_only_their_subtree_reporter_as_member_no(client, sms, owner, federation,
                                                                  hq, staff_token):
    r1, r2 = federation.regions
    s11, s12 = federation.stations[r1]
    joined = await member(client, sms, federation, s11, hq)
    created = (await file(client, joined.token, station_code=s11)).json()
    r1_admin = await staff_token(federation, "regional_admin", r1)
    r2_admin = await staff_token(federation, "regional_admin", r2)
    s12_officer = await staff_token(federation, "station_officer", s12)
    s11_officer = await staff_token(federation, "station_officer", s11)

    async def ids(token: str, **params: Any) -> list[str]:
        r = await client.get(ADMIN_REPORTS, params=params, headers=bearer(token))
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["items"]]

    assert await ids(r2_admin) == []
    assert await ids(s12_officer) == []
    assert await ids(s11_officer) == [created["id"]]
    assert await ids(hq) == [created["id"]]
    listed = (await client.get(ADMIN_REPORTS, headers=bearer(r1_admin))).json()["items"]
    assert [x["id"] for x in listed] == [created["id"]]
    row = listed[0]
    assert row["member_no"] == joined.body["member_no"] and row["member_no"]
    assert row["tenant"] == s11 and row["region"] == r1 and row["grouping"] == "ungrouped"
    assert "member_id" not in row and "worker_id" not in row
    assert joined.worker_id not in str(listed) and joined.member_id not in str(listed)
    # filters
    assert await ids(r1_admin, topic="commission_rates", partner="alpha") == [created["id"]]
    assert await ids(r1_admin, topic="rest") == []
    assert await ids(r1_admin, partner="beta") == []
    assert await ids(r1_admin, status="ungrouped") == [created["id"]]
    assert await ids(r1_admin, status="on_item") == []
    item = await seed_item(owner, federation)
    await _source(owner, federation, item, created["id"])
    assert await ids(r1_admin, status="on_item") == [created["id"]]
    assert await ids(r1_admin, status="ungrouped") == []
    bad = await client.get(ADMIN_REPORTS, params={"status": "lost"}, headers=bearer(r1_admin))
    assert bad.status_code in (400, 422)
