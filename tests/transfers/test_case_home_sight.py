"""会员所属工会只读 (issue 15, migration 0045): a member homed in one region who works in another
files a case there; the work region handles it, the home region reads it (the case, its
timeline, clocks and dispute) and may take no step; a third region sees nothing, over HTTP
and in the database under its own principal. The sight is made at intake in every channel
naming the member, and a completed transfer gives the new home the open cases that stay."""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any

import asyncpg
import httpx
from sqlalchemy import text

from flexunion.config import Settings
from flexunion.db.urls import to_asyncpg
from tests.support.bargaining import partner_client
from tests.support.factories import bearer
from tests.transfers.conftest import Staff
from tests.transfers.test_cases_follow import app_sessions, post, read, run
from tests.transfers.test_workflow import act, ask, member_at

__all__ = ["app_sessions"]  # the fixture, shared with the follow tests

CASES = "/v1/cases"
DEMAND = {"category": "commission", "description": "抽成上调未公示。"}


async def file_in_app(client: httpx.AsyncClient, token: str, station: str) -> dict[str, Any]:
    r = await client.post("/v1/me/cases", json=DEMAND | {"station": station},
                          headers=bearer(token) | {"Idempotency-Key": secrets.token_hex(8)})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def sights(owner, case_id: str) -> list[tuple[str, str]]:
    async with owner() as s:
        rows = (await s.execute(text(
            "SELECT t.code, x.reason FROM case_sight x JOIN tenants t ON t.id = x.tenant_id"
            " WHERE x.case_id = :c ORDER BY t.code"), {"c": case_id})).all()
    return [(code, reason) for code, reason in rows]


async def rows_seen(settings: Settings, tenant: uuid.UUID, principal: str,
                    case_id: str) -> dict[str, int]:
    """What the app role returns under `principal` with `tenant`'s scope, per table."""
    conn = await asyncpg.connect(to_asyncpg(settings.app_database_url or ""))
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('flexunion.tenant_id', $1, true),"
                               " set_config('flexunion.principal', $2, true)",
                               str(tenant), principal)
            cid = uuid.UUID(case_id)
            return {t: await conn.fetchval(f"SELECT count(*) FROM {t} WHERE {col} = $1", cid)
                    for t, col in (("cases", "id"), ("case_events", "case_id"),
                                   ("case_clocks", "case_id"), ("case_sight", "case_id"),
                                   ("case_disputes", "case_id"))}
    finally:
        await conn.close()


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node] + [n for child in node.get("Plans", []) for n in _nodes(child)]


async def sight_plan(settings: Settings, tenant: uuid.UUID, principal: str) -> list[str]:
    """How the ledger's page reads `flexunion_case_sight()` under `principal`: the parent
    relationship of every plan node that calls it."""
    conn = await asyncpg.connect(to_asyncpg(settings.app_database_url or ""))
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('flexunion.tenant_id', $1, true),"
                               " set_config('flexunion.principal', $2, true)",
                               str(tenant), principal)
            plan = json.loads(await conn.fetchval(
                "EXPLAIN (VERBOSE, FORMAT JSON) SELECT id FROM cases"
                " ORDER BY created_at DESC, id DESC LIMIT 50"))
    finally:
        await conn.close()
    return [n.get("Parent Relationship", "") for n in _nodes(plan[0]["Plan"])
            if "flexunion_case_sight" in json.dumps(n.get("Output", []))]


async def test_the_home_region_reads_a_case_handled_where_the_member_works(
        client, sms, staff: Staff, owner, settings) -> None:
    fed = staff.fed
    ra, rb, rc = fed.regions
    home, work = fed.stations[ra][0], fed.stations[rb][0]
    worker = await member_at(client, sms, staff, home)
    case = await file_in_app(client, worker.token, work)
    cid = case["id"]
    assert case["work_tenant"] == work
    assert await sights(owner, cid) == [(home, "home")]

    # B handles it: assigned, accepted, a dispute opened with a rung and a request.
    b_region, b_station = staff.region[rb], staff.station[work]
    await post(client, b_region, f"/{cid}/assign", {"lead": work})
    await post(client, b_station, f"/{cid}/accept")
    url = f"/{cid}/dispute"
    await post(client, b_station, url, {"kind": "unpaid_pay", "statement": "请结算欠付的收入。",
                                        "partner": "alpha"}, expect=201)
    await post(client, b_station, f"{url}/steps", {"step": "reminder", "reason": "提示"})
    await post(client, b_station, f"{url}/requests", {"slot": "payroll", "days": 5})
    handled = (await read(client, b_station, cid)).json()
    assert handled["sight"] is None and handled["allowed_steps"]

    # A's regional admin and A's station officer read the case, its timeline, its clocks and
    # its dispute — read only, and they are told why.
    for token in (staff.region[ra], staff.station[home]):
        seen = await read(client, token, cid)
        assert seen.status_code == 200, seen.text
        body = seen.json()
        assert body["sight"]["code"] == "home" and "会员所属工会" in body["sight"]["zh"]
        assert [e["kind"] for e in body["events"]] == [e["kind"] for e in handled["events"]]
        assert [c["metric"]["code"] for c in body["clocks"]] == [
            c["metric"]["code"] for c in handled["clocks"]]
        d = await client.get(f"{CASES}{url}", headers=bearer(token))
        assert d.status_code == 200, d.text
        assert len(d.json()["steps"]) == 1 and len(d.json()["requests"]) == 1
        # every step is 404, as for a move's origin
        for path, step in ((f"/{cid}/assign", {"lead": home}), (f"/{cid}/accept", {}),
                           (f"/{cid}/return", {"reason": "不归我们办"}),
                           (f"/{cid}/route", {"route": "instant", "reason": "当场答复"}),
                           (f"/{cid}/answer", {"text": "已答复"}),
                           (f"{url}/steps", {"step": "consultation", "reason": "会商",
                                             "minutes": "纪要", "evidence_waiver": "待补"}),
                           (f"{url}/requests", {"slot": "attendance", "days": 3})):
            r = await client.post(f"{CASES}{path}", json=step, headers=bearer(token))
            assert r.status_code == 404, (path, r.status_code, r.text)
    # HQ handles it as its own subtree's (no sight needed).
    assert (await read(client, staff.hq, cid)).json()["sight"] is None

    # A third region: 404 over HTTP, and no row under its principal in the database; A's
    # principal reads the same tables (the check can fail).
    assert (await read(client, staff.region[rc], cid)).status_code == 404
    assert (await client.get(f"{CASES}{url}",
                             headers=bearer(staff.region[rc]))).status_code == 404
    third = await rows_seen(settings, fed.ids[rc], "regional_admin:tester", cid)
    assert third == {t: 0 for t in third}, third
    mine = await rows_seen(settings, fed.ids[ra], "regional_admin:tester", cid)
    assert all(mine[t] > 0 for t in ("cases", "case_events", "case_clocks", "case_sight",
                                     "case_disputes")), mine

    # The sight is still computed once per statement (an InitPlan), not per row.
    assert await sight_plan(settings, fed.ids[ra], "regional_admin:tester") == ["InitPlan"]

    # The worker's own read is what it was: the case where they work, no sight.
    own = await client.get(f"/v1/me/cases/{cid}", headers=bearer(worker.token))
    assert own.status_code == 200, own.text
    assert own.json()["work_tenant"] == work and own.json()["sight"] is None
    assert own.json()["status"]["code"] == "accepted"


async def test_every_intake_channel_naming_the_member_gives_the_home_its_sight(
        client, sms, staff: Staff, owner) -> None:
    fed = staff.fed
    ra, rb, _ = fed.regions
    home, sibling = fed.stations[ra]
    work = fed.stations[rb][1]
    worker = await member_at(client, sms, staff, home)
    number = worker.body["member_no"]
    walk_in = DEMAND | {"channel": "station", "member_no": number}
    # HQ enters a walk-in at B's station; A's region enters one at A's other station.
    by_hq = await post(client, staff.hq, "", walk_in | {"station": work}, expect=201)
    by_region = await post(client, staff.region[ra], "", walk_in | {"station": sibling},
                           expect=201)
    # A 12351 platform's work order naming the member, placed in region B.
    hq = staff.hq
    hotline = await partner_client(client, owner, fed, "beta")
    assert (await client.post(f"{CASES}/hotline-platforms", headers=bearer(hq),
                              json={"partner": "beta"})).status_code == 204
    order = await client.post("/v1/partner/cases/hotline-orders", headers=bearer(hotline.token),
                              json=DEMAND | {"order_no": "12351-H1", "station": work,
                                             "member_no": number})
    assert order.status_code == 201, order.text
    for made in (by_hq, by_region, order.json()):
        assert await sights(owner, made["id"]) == [(home, "home")], made["work_tenant"]
    # Not needed where the home (or above it) handles: at the home, at its region, and a case
    # naming no member.
    at_home = await post(client, staff.station[home], "", walk_in, expect=201)
    at_region = await post(client, staff.region[ra], "", walk_in | {"station": home},
                           expect=201)
    anonymous = await post(client, staff.hq, "", DEMAND | {"channel": "station",
                                                           "station": work}, expect=201)
    for made in (at_home, at_region, anonymous):
        assert await sights(owner, made["id"]) == []
    # B's own station cannot name a member it does not see (its subtree): the worker files
    # in the app, or HQ enters it (above).
    r = await client.post(CASES, json=walk_in | {"station": work},
                          headers=bearer(staff.station[work]))
    assert r.status_code == 422 and r.json()["code"] == "unknown_member", r.text
    # The sibling station reads the one its region took there, and nothing else of A's.
    seen = await read(client, staff.station[home], by_region["id"])
    assert seen.status_code == 200 and seen.json()["sight"]["code"] == "home"
    assert (await read(client, staff.station[sibling], by_hq["id"])).status_code == 404


async def test_a_completed_transfer_gives_the_new_home_the_open_cases_that_stay(
        client, sms, staff: Staff, owner, settings, app_sessions) -> None:
    fed = staff.fed
    ra, rb, rc = fed.regions
    home, work, new_home = fed.stations[ra][0], fed.stations[rb][0], fed.stations[rc][0]
    worker = await member_at(client, sms, staff, home)
    open_case = await file_in_app(client, worker.token, work)
    done = await file_in_app(client, worker.token, work)
    b = staff.region[rb]
    await post(client, b, f"/{done['id']}/route", {"route": "instant", "reason": "当场答复"})
    await post(client, b, f"/{done['id']}/answer", {"text": "已答复"})

    tid = (await ask(client, worker, new_home)).json()["id"]
    assert (await act(client, staff.station[home], tid, "release")).status_code == 200
    assert (await act(client, staff.region[rc], tid, "accept")).status_code == 200
    assert await run(app_sessions, settings, staff) == 0  # nothing handled at the old home

    # The open case stays where the worker works; the new home reads it, the old keeps its
    # sight; the answered one gives the new home nothing (as no answered case moves).
    assert await sights(owner, open_case["id"]) == sorted([(home, "home"), (new_home, "home")])
    assert await sights(owner, done["id"]) == [(home, "home")]
    seen = await read(client, staff.region[rc], open_case["id"])
    assert seen.status_code == 200 and seen.json()["sight"]["code"] == "home"
    assert (await read(client, staff.region[rc], done["id"])).status_code == 404
    assert (await read(client, staff.station[home], done["id"])).status_code == 200
    r = await client.post(f"{CASES}/{open_case['id']}/assign", json={"lead": new_home},
                          headers=bearer(staff.region[rc]))
    assert r.status_code == 404, r.text

    # Audited once; a redelivered event makes no second row nor a second audit entry.
    async def audits() -> int:
        async with owner() as s:
            return int(await s.scalar(text(
                "SELECT count(*) FROM audit_events WHERE action = 'case.home_sight'"
                " AND object_id = :c"), {"c": open_case["id"]}) or 0)

    assert await audits() == 1
    async with owner() as s, s.begin():
        await s.execute(text("UPDATE domain_events SET processed_at = NULL"
                             " WHERE kind = 'member.transferred'"))
    assert await run(app_sessions, settings, staff) == 0
    assert await audits() == 1
    assert len(await sights(owner, open_case["id"])) == 2


async def test_only_the_follow_job_records_a_new_homes_sight(
        client, sms, staff: Staff, settings) -> None:
    fed = staff.fed
    ra, rb, _ = fed.regions
    worker = await member_at(client, sms, staff, fed.stations[ra][0])
    cid = (await file_in_app(client, worker.token, fed.stations[rb][0]))["id"]
    conn = await asyncpg.connect(to_asyncpg(settings.app_database_url or ""))
    try:
        for principal in ("hq_admin:tester", f"worker:{worker.worker_id}"):
            async with conn.transaction():
                await conn.execute("SELECT set_config('flexunion.tenant_id', $1, true),"
                                   " set_config('flexunion.principal', $2, true)",
                                   str(fed.ids[fed.hq]), principal)
                try:
                    await conn.fetchval("SELECT flexunion_case_home_sight($1)", uuid.UUID(cid))
                except asyncpg.InsufficientPrivilegeError:
                    pass
                else:
                    raise AssertionError(f"{principal} recorded a sight")
        with_note = await conn.fetchval(
            "SELECT has_function_privilege(current_user, 'flexunion_case_home_note(uuid)',"
            " 'EXECUTE')")
        assert with_note is False
        try:
            async with conn.transaction():
                await conn.execute("INSERT INTO case_sight (id, federation_id, tenant_id,"
                                   " case_id, reason, moved_at, moved_by) VALUES"
                                   " (gen_random_uuid(), $1, $1, $2, 'home', now(), 'x')",
                                   fed.ids[fed.hq], uuid.UUID(cid))
        except asyncpg.InsufficientPrivilegeError:
            pass
        else:
            raise AssertionError("the app role wrote a sight row")
    finally:
        await conn.close()
