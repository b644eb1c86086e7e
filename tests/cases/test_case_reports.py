"""集体协商 as a report: a member's case is filed as a problem report (问题提报) for the
worker, where they work; the worker reads it among their own reports; a representative's
proposal takes it onto the board and the case shows the item's progress. Refusals write
nothing. Against the real app and database."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import asyncpg
from sqlalchemy import text

from flexunion.config import Settings
from flexunion.db.urls import to_asyncpg
from tests.support.bargaining import DETAILS
from tests.support.factories import Federation, bearer, join

ME, STAFF = "/v1/me/cases", "/v1/cases"
MY_REPORTS = "/v1/bargaining/reports"
REPS, PROPOSALS = "/v1/admin/bargaining/representatives", "/v1/bargaining/rep/proposals"
ITEMS = "/v1/admin/bargaining/items"


def key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(8)}


def demand(**over: Any) -> dict[str, Any]:
    return {"category": "commission", "description": "抽成从 18% 涨到 25%，没有通知。",
            "tags": []} | over


async def one(owner, sql: str, **params: Any) -> Any:
    async with owner() as s:
        return (await s.execute(text(sql), params)).one()


async def test_a_members_case_becomes_a_report_where_they_work_and_shows_the_item(
        client, sms, owner, federation: Federation, staff_token):
    r1, r2 = federation.regions
    s11, s21 = federation.stations[r1][0], federation.stations[r2][0]
    hq = await staff_token(federation, "hq_admin", federation.hq)
    region = await staff_token(federation, "regional_admin", r1, subject="ops")
    # a member at home in region 2 who works at a station of region 1
    worker = await join(client, sms, federation, s21, approver_token=hq)
    made = await client.post(ME, json=demand(station=s11), headers=bearer(worker.token) | key())
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    routed = await client.post(f"{STAFF}/{cid}/route", headers=bearer(region), json={
        "route": "bargaining", "reason": "平台共性问题",
        "report": {"topic": "commission_rates", "details": {"current_rate_pct": 25.0}}})
    assert routed.status_code == 200, routed.text
    case = routed.json()
    report_id = case["route_details"]["report_id"]
    assert case["report"]["id"] == report_id and case["report"]["items"] == []
    assert case["report"]["topic"] == {"code": "commission_rates", "zh": "抽成比例",
                                       "en": "Commission rates"}
    assert case["report"]["title"] == f"抽成（诉求 {case['case_no']}）"
    row = await one(owner, "SELECT tenant_id, region_id, member_id, worker_id, station_code,"
                    " source_case_id, filed_by, body FROM problem_reports WHERE id = :i",
                    i=report_id)
    assert (row.tenant_id, row.region_id) == (federation.ids[s11], federation.ids[r1])
    assert str(row.member_id) == worker.member_id and str(row.worker_id) == worker.worker_id
    assert row.station_code == s11 and str(row.source_case_id) == cid
    assert row.filed_by == "regional_admin:ops" and row.body == demand()["description"]
    audited = await one(owner, "SELECT count(*) FROM audit_events WHERE action ="
                        " 'report.filed_from_case' AND object_id = :i", i=report_id)
    assert audited[0] == 1
    # the worker reads it as their own report
    mine = await client.get(MY_REPORTS, headers=bearer(worker.token))
    assert [r["id"] for r in mine.json()["items"]] == [report_id]
    assert (await client.get(f"{MY_REPORTS}/{report_id}", headers=bearer(worker.token))
            ).status_code == 200
    seen = await client.get(f"{ME}/{cid}", headers=bearer(worker.token))
    assert seen.json()["report"]["id"] == report_id
    # filed once per case
    again = await client.post(f"{STAFF}/{cid}/route", headers=bearer(region), json={
        "route": "bargaining", "reason": "再提报", "report": {"topic": "commission_rates"}})
    assert again.status_code == 409 and again.json()["code"] == "case_already_reported"

    # a station representative of region 1 groups it into a proposal, taken onto the board
    rep = await join(client, sms, federation, s11, approver_token=hq)
    designated = await client.post(REPS, headers=bearer(region), json={
        "member_no": rep.body["member_no"], "kind": "station", "ref_code": s11})
    assert designated.status_code == 201, designated.text
    proposal = await client.post(PROPOSALS, headers=bearer(rep.token) | key(), json={
        "representative_id": designated.json()["id"], "topic": "commission_rates",
        "partner": "alpha", "title": "降低抽成", "body": "骑手反映抽成过高",
        "report_ids": [report_id]})
    assert proposal.status_code == 201, proposal.text
    item = await client.post(ITEMS, headers=bearer(region), json={
        "partner": "alpha", "topic": "commission_rates", "title": "降低抽成比例",
        "summary": "骑手普遍反映抽成过高", "details": DETAILS["commission_rates"],
        "proposal_ids": [proposal.json()["id"]]})
    assert item.status_code == 201, item.text
    read = (await client.get(f"{STAFF}/{cid}", headers=bearer(region))).json()
    assert read["report"]["items"] == [{"id": item.json()["id"], "title": "降低抽成比例",
                                        "status": {"code": "collected", "zh": "已收集",
                                                   "en": "Collected"}}]


async def test_refusals_write_nothing(client, sms, owner, federation: Federation, staff_token):
    r1 = federation.regions[0]
    s11 = federation.stations[r1][0]
    region = await staff_token(federation, "regional_admin", r1)
    hq = await staff_token(federation, "hq_admin", federation.hq)
    officer = await staff_token(federation, "station_officer", s11)
    member = await join(client, sms, federation, s11, approver_token=hq)
    walk_in = await client.post(STAFF, headers=bearer(officer), json=demand(
        channel="station", member_no=member.body["member_no"], partner="alpha"))
    assert walk_in.status_code == 201, walk_in.text
    no_platform = await client.post(STAFF, headers=bearer(officer), json=demand(
        channel="station", member_no=member.body["member_no"], category="hardship_aid"))
    assert no_platform.status_code == 201 and no_platform.json()["partner"] is None
    visit = await client.post(STAFF, headers=bearer(region), json=demand(channel="visit"))
    assert visit.status_code == 201, visit.text
    report = {"topic": "commission_rates"}
    cases = {"walk_in": walk_in.json(), "visit": visit.json(),
             "no_platform": no_platform.json()}
    attempts = [
        ("walk_in", {"report": report, "agenda_item_id": "00000000-0000-0000-0000-000000000001"},
         422, "bargaining_target_ambiguous"),
        ("walk_in", {}, 422, "agenda_item_required"),
        ("walk_in", {"report": {"topic": "commission_rates",
                                "details": {"current_rate_pct": "many"}}},
         422, "invalid_details"),
        ("walk_in", {"report": {"topic": "nope"}}, 422, "validation_failed"),
        ("visit", {"report": report}, 409, "case_worker_not_member"),
        ("no_platform", {"report": report}, 422, "case_partner_required"),
    ]
    for which, extra, status, code in attempts:
        r = await client.post(f"{STAFF}/{cases[which]['id']}/route", headers=bearer(region),
                              json={"route": "bargaining", "reason": "试一试"} | extra)
        assert r.status_code == status, (which, extra, r.text)
        if code:
            assert r.json()["code"] == code, r.text
            assert r.json()["title"] and r.json()["detail"], r.text
    for c in cases.values():
        counts = await one(owner, "SELECT (SELECT count(*) FROM problem_reports"
                           " WHERE source_case_id = :c), (SELECT count(*) FROM case_events"
                           " WHERE case_id = :c AND kind = 'route'),"
                           " (SELECT status FROM cases WHERE id = :c)", c=c["id"])
        assert tuple(counts) == (0, 0, "received")
    assert (await one(owner, "SELECT count(*) FROM problem_reports WHERE worker_id = :w",
                      w=member.worker_id))[0] == 0


async def test_rls_staff_file_only_from_a_case_they_see_and_workers_never_as_a_case(
        client, sms, owner, federation: Federation, staff_token, settings: Settings):
    """0028: `case_staff_insert` needs staff of the report's tenant, as themselves, from a
    visible case with the report's worker, member, partner and tenant; `member_insert` no
    longer lets a worker set `source_case_id`."""
    r1, r2 = federation.regions
    s11 = federation.stations[r1][0]
    hq = await staff_token(federation, "hq_admin", federation.hq)
    worker = await join(client, sms, federation, s11, approver_token=hq)
    cid = (await client.post(ME, json=demand(station=s11),
                             headers=bearer(worker.token) | key())).json()["id"]
    alpha = (await one(owner, "SELECT partner_id FROM cases WHERE id = :c", c=cid))[0]

    async def insert(tenant: str, principal: str, *, case_id: str | None = cid,
                     filed_by: str | None = None, at: str = s11) -> bool:
        conn = await asyncpg.connect(to_asyncpg(settings.app_database_url or ""))
        try:
            tx = conn.transaction()
            await tx.start()
            await conn.execute("SELECT set_config('flexunion.tenant_id', $1, true),"
                               " set_config('flexunion.principal', $2, true)",
                               str(federation.ids[tenant]), principal)
            try:
                await conn.execute(
                    "INSERT INTO problem_reports (id, federation_id, tenant_id, region_id,"
                    " member_id, worker_id, topic, partner_id, title, body, details, created_at,"
                    " source_case_id, filed_by) VALUES (gen_random_uuid(), $1, $2, $3, $4, $5,"
                    " 'rest', $6, 't', 'b', '{}', now(), $7, $8)",
                    federation.ids[federation.hq], federation.ids[at], federation.ids[r1],
                    uuid.UUID(worker.member_id), uuid.UUID(worker.worker_id), alpha,
                    uuid.UUID(case_id) if case_id else None, filed_by)
                return True
            except asyncpg.InsufficientPrivilegeError:
                return False
            finally:
                await tx.rollback()
        finally:
            await conn.close()

    assert await insert(r1, "regional_admin:a", filed_by="regional_admin:a")
    assert not await insert(r1, "regional_admin:a", filed_by="regional_admin:b")
    assert not await insert(r2, "regional_admin:z", filed_by="regional_admin:z")
    assert not await insert(r1, "regional_admin:a", filed_by="regional_admin:a", at=r1)
    assert not await insert(r1, "regional_admin:a", case_id=None, filed_by="regional_admin:a")
    me = f"worker:{worker.worker_id}"
    assert await insert(s11, me, case_id=None)
    assert not await insert(s11, me)
