"""责任方报告: the owner of a rectification item carries it — the platform partner through
its machine API (idempotent), a station's officer (or a union above the owner) through the
staff API and the console's item page. A report never closes the item (完成 is the union's)
and shows in the history the union reads. Real app, real database under row-level security."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from flexunion.db.urls import to_asyncpg
from tests.cases.test_rectification import PARTNER_RECT, RECT, visit
from tests.security.test_audience_matrix import as_app
from tests.support.bargaining import partner_client
from tests.support.console import csrf_of, signed_in
from tests.support.factories import Federation, bearer


def key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(8)}


async def _items(client: Any, region: str, station: str) -> tuple[dict[str, Any], ...]:
    """Two items of region's list on one wage case at `station`: alpha owns one, the
    station the other."""
    case = await visit(client, region, station)
    base = {"quarter": "2026Q4", "category": "wage_arrears", "problem": "反复拖欠工资",
            "measure": "按月公示工资发放", "next_node": "提交发放台账",
            "next_due_on": "2027-01-15", "cases": [case]}
    made = []
    for extra in ({"dimension": "partner", "place": "alpha", "owner": {"partner": "alpha"}},
                  {"dimension": "tenant", "place": station, "owner": {"tenant": station}}):
        r = await client.post(f"{RECT}/items", headers=bearer(region), json=base | extra)
        assert r.status_code == 201, r.text
        made.append(r.json())
    return tuple(made)


async def _steps(owner: Any, item_id: str) -> list[Any]:
    async with owner() as s:
        return list((await s.execute(text(
            "SELECT kind, actor, note, details FROM rectification_steps WHERE item_id = :i"
            " ORDER BY at, id"), {"i": item_id})).all())


async def test_the_owning_platform_reports_through_its_api(
        client, owner, clock, federation: Federation, staff_token) -> None:
    r1 = federation.regions[0]
    s1 = federation.stations[r1][0]
    region = await staff_token(federation, "regional_admin", r1)
    mine, station_item = await _items(client, region, s1)
    alpha = await partner_client(client, owner, federation, "alpha")
    beta = await partner_client(client, owner, federation, "beta")
    url = f"{PARTNER_RECT}/items/{mine['id']}/progress"
    report = {"note": "已调整结算周期", "next_node": "平台提交结算记录",
              "next_due_on": "2027-01-31"}

    # a partner write: the Idempotency-Key is required
    bare = await client.post(url, headers=bearer(alpha.token), json=report)
    assert bare.status_code == 400 and bare.json()["code"] == "idempotency_key_required"
    once = key()
    r = await client.post(url, headers=bearer(alpha.token) | once, json=report)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["status"]["code"] == "in_progress"
    # the proposal is the step's; the item's next node stays the union's
    assert got["next_node"] == "提交发放台账" and got["next_due_on"] == "2027-01-15"
    assert got["cases"] is None and got["trend"] is None  # no worker data
    last = got["history"][-1]
    assert last["kind"] == {"code": "owner_report", "zh": "责任方报告", "en": "Owner's report"}
    assert last["note"] == "已调整结算周期" and last["actor"] == "partner"
    assert last["details"] == {"proposed_next_node": "平台提交结算记录",
                               "proposed_next_due_on": "2027-01-31", "status": "in_progress"}
    # the retry replays the answer: one step only
    again = await client.post(url, headers=bearer(alpha.token) | once, json=report)
    assert again.status_code == 200 and again.headers.get("idempotent-replayed") == "true"
    assert again.json() == got
    assert [s.kind for s in await _steps(owner, mine["id"])] == ["created", "owner_report"]
    # a second report keeps it in progress
    r = await client.post(url, headers=bearer(alpha.token) | key(), json={"note": "第二次"})
    assert r.status_code == 200 and r.json()["status"]["code"] == "in_progress"
    assert r.json()["history"][-1]["details"] == {}

    # not its item: another platform's, or a station's
    for token, item in ((beta.token, mine), (alpha.token, station_item)):
        nope = await client.post(f"{PARTNER_RECT}/items/{item['id']}/progress",
                                 headers=bearer(token) | key(), json=report)
        assert nope.status_code == 404, nope.text
        assert nope.json()["code"] == "rectification_item_not_found"
    bad = await client.post(url, headers=bearer(alpha.token) | key(),
                            json={"note": "x", "next_due_on": "2027-02-30"})
    assert bad.status_code == 422 and bad.json()["code"] == "next_due_invalid"
    empty = await client.post(url, headers=bearer(alpha.token) | key(), json={"note": ""})
    assert empty.status_code == 422

    # the union sees the report in the item's history, with the author
    seen = (await client.get(f"{RECT}/items/{mine['id']}", headers=bearer(region))).json()
    kinds = [h["kind"]["code"] for h in seen["history"]]
    assert kinds == ["created", "owner_report", "owner_report"]
    assert seen["history"][1]["actor"].startswith("partner:")
    assert seen["status"]["code"] == "in_progress"
    audited = await _rows(owner, "SELECT count(*) FROM audit_events WHERE object_id = :i"
                          " AND action = 'rectification.owner_report'", i=mine["id"])
    assert audited == [(2,)]

    # the union finishes it; the owner can report no more
    done = await client.post(f"{RECT}/items/{mine['id']}/progress", headers=bearer(region),
                             json={"note": "已核实", "status": "done"})
    assert done.status_code == 200, done.text
    late = await client.post(url, headers=bearer(alpha.token) | key(), json=report)
    assert late.status_code == 409 and late.json()["code"] == "rectification_item_closed"
    # a station's item is still open (the partner's reports touched nothing else)
    other = (await client.get(f"{RECT}/items/{station_item['id']}", headers=bearer(region)))
    assert other.json()["status"]["code"] == "open"


async def _rows(owner: Any, sql: str, **params: Any) -> list[Any]:
    async with owner() as s:
        return [tuple(r) for r in (await s.execute(text(sql), params)).all()]


async def test_a_station_officer_reads_and_reports_on_its_stations_items(
        client, owner, federation: Federation, staff_token) -> None:
    r1, r2 = federation.regions
    s1, s2 = federation.stations[r1]
    region = await staff_token(federation, "regional_admin", r1)
    partners_item, mine = await _items(client, region, s1)
    officer = await staff_token(federation, "station_officer", s1)
    stranger = await staff_token(federation, "station_officer", s2)
    far = await staff_token(federation, "regional_admin", r2)

    owned = await client.get(f"{RECT}/owned", headers=bearer(officer))
    assert owned.status_code == 200, owned.text
    assert [i["id"] for i in owned.json()] == [mine["id"]]
    assert owned.json()[0]["trend"] is None
    one = await client.get(f"{RECT}/items/{mine['id']}", headers=bearer(officer))
    assert one.status_code == 200 and one.json()["trend"] is None
    assert len(one.json()["cases"]) == 1  # its own station's case
    # the partner's item, another station's officer, another region: no such item
    assert (await client.get(f"{RECT}/items/{partners_item['id']}",
                             headers=bearer(officer))).status_code == 404
    for token in (stranger, far):
        assert (await client.get(f"{RECT}/items/{mine['id']}",
                                 headers=bearer(token))).status_code == 404
        r = await client.post(f"{RECT}/items/{mine['id']}/report", headers=bearer(token),
                              json={"note": "不是我的"})
        assert r.status_code == 404 and r.json()["code"] == "rectification_item_not_found"
    assert (await client.get(f"{RECT}/owned", headers=bearer(stranger))).json() == []
    # the union's own steps and list stay the admins'
    for method, path, body in (("post", f"/items/{mine['id']}/progress", {"note": "x"}),
                               ("get", "/items?quarter=2026Q4", None)):
        r = await client.request(method.upper(), f"{RECT}{path}", headers=bearer(officer),
                                 json=body)
        assert r.status_code == 403, r.text

    r = await client.post(f"{RECT}/items/{mine['id']}/report", headers=bearer(officer),
                          json={"note": "站长已约谈", "next_due_on": "2027-01-20"})
    assert r.status_code == 200, r.text
    assert r.json()["status"]["code"] == "in_progress" and r.json()["trend"] is None
    assert r.json()["next_due_on"] == "2027-01-15"
    history = (await client.get(f"{RECT}/items/{mine['id']}", headers=bearer(region))).json()
    last = history["history"][-1]
    assert last["kind"]["code"] == "owner_report" and last["note"] == "站长已约谈"
    assert last["actor"].startswith("station_officer:")
    assert history["trend"] is not None  # the union's view keeps the trend

    # the region above the station reports the same way; on the platform's item it is not
    # the owner
    up = await client.post(f"{RECT}/items/{mine['id']}/report", headers=bearer(region),
                           json={"note": "区工会督导"})
    assert up.status_code == 200, up.text
    refused = await client.post(f"{RECT}/items/{partners_item['id']}/report",
                                headers=bearer(region), json={"note": "代报"})
    assert refused.status_code == 403 and refused.json()["code"] == "rectification_not_owner"
    assert [s.kind for s in await _steps(owner, partners_item["id"])] == ["created"]


async def test_the_database_keeps_an_owner_to_its_report(
        client, owner, settings, federation: Federation, staff_token) -> None:
    """Row-level security (migration 0026) and a trigger (0043) under the service: the
    owner's staff may append an owner_report as itself and move the item to in_progress,
    nothing more — not rewrite the problem, the measure, the due date or the owner; another
    station's officer, nothing."""
    r1 = federation.regions[0]
    s1, s2 = federation.stations[r1]
    region = await staff_token(federation, "regional_admin", r1)
    _, mine = await _items(client, region, s1)
    step = ("INSERT INTO rectification_steps (id, federation_id, tenant_id, item_id, kind, at,"
            " actor, details) SELECT gen_random_uuid(), federation_id, tenant_id, id, $2, now(),"
            " $3, '{}' FROM rectification_items WHERE id = $1")
    me = f"station_officer:{uuid.uuid4()}"
    app = await asyncpg.connect(to_asyncpg(settings.app_database_url or ""))

    async def run(station: str, principal: str, sql: str, *args: Any) -> str:
        async with app.transaction():
            await as_app(app, str(federation.ids[station]), principal)
            return str(await app.execute(sql, *args))

    try:
        for kind, actor in (("done", me), ("progress", me), ("owner_report", "hq_admin:x")):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
                await run(s1, me, step, uuid.UUID(mine["id"]), kind, actor)
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="only its writers"):
            await run(s1, me, "UPDATE rectification_items SET status = 'done', done_at = now()"
                      " WHERE id = $1", uuid.UUID(mine["id"]))  # the trigger, before RLS
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
            await run(s1, me, "UPDATE rectification_items SET status = 'done'"
                      " WHERE id = $1", uuid.UUID(mine["id"]))
        # another station's officer sees no such item: nothing to write
        stranger = f"station_officer:{uuid.uuid4()}"
        assert await run(s2, stranger, step, uuid.UUID(mine["id"]), "owner_report",
                         stranger) == "INSERT 0 0"
        assert await run(s2, stranger, "UPDATE rectification_items SET status = 'in_progress'"
                         " WHERE id = $1", uuid.UUID(mine["id"])) == "UPDATE 0"
        # the owner's own report and its one status change
        assert await run(s1, me, step, uuid.UUID(mine["id"]), "owner_report",
                         me) == "INSERT 0 1"
        assert await run(s1, me, "UPDATE rectification_items SET status = 'in_progress'"
                         " WHERE id = $1", uuid.UUID(mine["id"])) == "UPDATE 1"
        # …and nothing else of the item: the policy lets the owner's row through, the
        # trigger (0043) keeps the columns only its writers edit
        for column, value in (("problem", "'无问题'"), ("next_due_on", "'2030-01-01'"),
                              ("owner_tenant_id", "NULL"), ("measure", "measure || '。'")):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="only its writers"):
                await run(s1, me, f"UPDATE rectification_items SET {column} = {value}"
                          " WHERE id = $1", uuid.UUID(mine["id"]))
        # the region that writes the list still edits it
        assert await run(r1, f"regional_admin:{uuid.uuid4()}",
                         "UPDATE rectification_items SET next_due_on = '2027-02-01'"
                         " WHERE id = $1", uuid.UUID(mine["id"])) == "UPDATE 1"
    finally:
        await app.close()


async def test_the_owner_reports_on_the_consoles_item_page(
        client, live, owner, federation: Federation, staff_token) -> None:
    r1 = federation.regions[0]
    s1, s2 = federation.stations[r1]
    region = await staff_token(federation, "regional_admin", r1)
    partners_item, mine = await _items(client, region, s1)
    page_of = f"/console/cases/rectification/items/{mine['id']}"
    async with signed_in(live.url, owner, s1, "station_officer") as c:
        ledger = await c.get("/console/cases")
        assert 'data-testid="owned-items"' in ledger.text
        owned = await c.get("/console/cases/rectification/owned")
        assert owned.status_code == 200
        assert page_of in owned.text and partners_item["id"] not in owned.text
        page = await c.get(page_of)
        assert page.status_code == 200 and 'data-testid="report-form"' in page.text
        # without the CSRF token: refused, nothing written
        forged = await c.post(f"{page_of}/report", data={"note": "伪造"})
        assert forged.status_code == 403
        refused = await c.post(f"{page_of}/report", data={
            "_csrf": csrf_of(page.text), "note": "", "next_due_on": "2027-02-30"})
        assert refused.status_code == 422
        assert 'id="note-error"' in refused.text
        bad_day = await c.post(f"{page_of}/report", data={
            "_csrf": csrf_of(page.text), "note": "已约谈", "next_due_on": "2027-02-30"})
        assert bad_day.status_code == 422 and 'id="next_due_on-error"' in bad_day.text
        sent = await c.post(f"{page_of}/report", data={
            "_csrf": csrf_of(page.text), "note": "站长已约谈，台账本周交",
            "next_node": "交发放台账", "next_due_on": "2027-01-20"})
        assert sent.status_code == 303, sent.text
        assert sent.headers["location"] == f"{page_of}?done=report"
        after = await c.get(sent.headers["location"])
        assert "站长已约谈，台账本周交" in after.text and "交发放台账" in after.text
        assert 'data-testid="done"' in after.text and "整改中" in after.text
        # the platform's item is not the station's to see; the union's list is not its page
        assert (await c.get(f"/console/cases/rectification/items/{partners_item['id']}")
                ).status_code == 404
        assert (await c.get("/console/cases/rectification")).status_code == 404
    async with signed_in(live.url, owner, s2, "station_officer") as c:
        assert (await c.get(page_of)).status_code == 404
    # the region keeping the list sees the report; on the platform's item, no form
    async with signed_in(live.url, owner, r1, "regional_admin") as c:
        page = await c.get(page_of)
        assert "站长已约谈，台账本周交" in page.text and 'data-kind="owner_report"' in page.text
        theirs = await c.get(f"/console/cases/rectification/items/{partners_item['id']}")
        assert theirs.status_code == 200 and 'data-testid="report-form"' not in theirs.text
        listed = await c.get("/console/cases/rectification?quarter=2026Q4")
        assert page_of in listed.text
    steps = await _steps(owner, mine["id"])
    assert [s.kind for s in steps] == ["created", "owner_report"]
    assert steps[-1].details == {"proposed_next_node": "交发放台账",
                                 "proposed_next_due_on": "2027-01-20",
                                 "status": "in_progress"}
