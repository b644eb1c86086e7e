"""协商轮次: recording a round (positions, promises), what it does to the items, and the
promises that fall due (Beijing date)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.core.clock import BEIJING
from tests.support.bargaining import seed_item
from tests.support.factories import Federation, bearer

Owner = async_sessionmaker[AsyncSession]


def round_body(items: list[Any], *, partner: str = "alpha", promises: list[dict] | None = None,
               **over: Any) -> dict[str, Any]:
    return {
        "partner": partner, "held_on": "2026-11-20", "location": "区域工会会议室",
        "parties": [{"side": "union", "name": "李主席", "role": "区域工会主席"},
                    {"side": "platform", "name": "王经理", "role": "劳动关系部"}],
        "minutes": "双方就抽成比例交换意见。", "next_steps": "平台两周内提供数据",
        "items": [{"item_id": str(i), "union_position": "降至 18%",
                   "platform_position": "维持 25%"} for i in items],
        "promises": promises or [],
    } | over


async def statuses(owner: Owner, ids: list[uuid.UUID]) -> dict[str, str]:
    async with owner() as s:
        rows = await s.execute(text("SELECT id::text, status FROM agenda_items WHERE id = ANY(:i)"),
                               {"i": ids})
        return dict(rows.all())


async def count(owner: Owner, sql: str, **params: Any) -> int:
    async with owner() as s:
        return (await s.execute(text(sql), params)).scalar_one()


async def test_round_moves_agenda_items_into_negotiation(
    client: httpx.AsyncClient, owner: Owner, federation: Federation, staff_token,
) -> None:
    r1 = federation.regions[0]
    admin = await staff_token(federation, "regional_admin", r1, subject="ops")
    fresh = await seed_item(owner, federation, status="on_agenda")
    going = await seed_item(owner, federation, status="in_negotiation")
    body = round_body([fresh, going], promises=[
        {"item_id": str(fresh), "description": "近三个月工资总额", "due_on": "2026-12-05"}])
    r = await client.post("/v1/admin/bargaining/rounds", json=body, headers=bearer(admin))
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["partner"] == "alpha" and got["scope"] == r1
    assert {p["side"] for p in got["parties"]} == {"union", "platform"}
    assert len(got["promises"]) == 1 and got["promises"][0]["delivered"] is False
    assert {i["item_id"]: i["status"] for i in got["items"]} == {
        str(fresh): "in_negotiation", str(going): "in_negotiation"}

    assert await statuses(owner, [fresh, going]) == {str(fresh): "in_negotiation",
                                                     str(going): "in_negotiation"}
    async with owner() as s:
        events = (await s.execute(text(
            "SELECT item_id::text, kind, actor, reason, from_status, to_status"
            " FROM agenda_item_events WHERE item_id = ANY(:i) ORDER BY created_at, kind"),
            {"i": [fresh, going]})).all()
        audits = (await s.execute(text(
            "SELECT action, actor FROM audit_events WHERE object_id = ANY(:i)"),
            {"i": [str(fresh), got["id"]]})).all()
    moved = [e for e in events if e.kind == "transition"]
    assert [(e.item_id, e.from_status, e.to_status) for e in moved] == [
        (str(fresh), "on_agenda", "in_negotiation")]
    assert moved[0].reason.startswith("第 1 轮协商 Round 1 held on 2026-11-20")
    assert sorted(e.item_id for e in events if e.kind == "round") == sorted(
        [str(fresh), str(going)])
    assert {e.actor for e in events} == {"regional_admin:ops"}
    assert sorted(a.action for a in audits) == ["agenda.transition", "negotiation.round_recorded"]

    # the second round is round 2 for the item, and the item needs no transition
    again = await client.post("/v1/admin/bargaining/rounds", json=round_body([fresh]),
                              headers=bearer(admin))
    assert again.status_code == 201, again.text
    assert await count(owner, "SELECT count(*) FROM agenda_item_events WHERE item_id = :i"
                       " AND kind = 'round' AND reason LIKE '第 2 轮%'", i=fresh) == 1

    listed = await client.get("/v1/admin/bargaining/rounds", params={"item_id": str(fresh)},
                              headers=bearer(admin))
    assert listed.status_code == 200, listed.text
    assert [x["id"] for x in listed.json()["items"]] == [again.json()["id"], got["id"]]
    one = await client.get(f"/v1/admin/bargaining/rounds/{got['id']}", headers=bearer(admin))
    assert one.status_code == 200 and one.json()["minutes"] == "双方就抽成比例交换意见。"


async def test_round_refusals_write_nothing(
    client: httpx.AsyncClient, owner: Owner, federation: Federation, staff_token,
) -> None:
    hq = await staff_token(federation, "hq_admin", federation.hq)
    alpha = await seed_item(owner, federation, status="on_agenda")
    beta = await seed_item(owner, federation, status="on_agenda", partner="beta")
    hq_item = await seed_item(owner, federation, status="on_agenda", scope=federation.hq)
    collected = await seed_item(owner, federation, status="collected")
    before = await count(owner, "SELECT count(*) FROM negotiation_rounds WHERE tenant_id = ANY(:t)",
                         t=list(federation.ids.values()))

    cases = [
        (round_body([alpha, beta]), 422, "partner_mismatch"),
        (round_body([alpha, hq_item]), 422, "mixed_scope"),
        (round_body([alpha, collected]), 409, "item_not_negotiable"),
        (round_body([alpha], partner="nope"), 422, "unknown_partner"),
        (round_body([alpha]) | {"parties": [{"side": "union", "name": "李"},
                                             {"side": "union", "name": "张"}]}, 422,
         "parties_incomplete"),
        (round_body([alpha, alpha]), 422, "duplicate_item"),
        (round_body([alpha], promises=[{"item_id": str(beta), "description": "数据",
                                        "due_on": "2026-12-01"}]), 422,
         "promise_item_not_in_round"),
        (round_body([uuid.uuid4()]), 404, "agenda_item_not_found"),
        (round_body([alpha]) | {"items": []}, 400, None),
        (round_body([alpha], surprise=1), 400, None),
    ]
    for body, status, code in cases:
        r = await client.post("/v1/admin/bargaining/rounds", json=body, headers=bearer(hq))
        assert r.status_code in ((status,) if status != 400 else (400, 422)), (code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        if code:
            assert r.json()["code"] == code, r.text
    assert await count(owner, "SELECT count(*) FROM negotiation_rounds WHERE tenant_id = ANY(:t)",
                       t=list(federation.ids.values())) == before
    assert await statuses(owner, [alpha, beta, hq_item, collected]) == {
        str(alpha): "on_agenda", str(beta): "on_agenda", str(hq_item): "on_agenda",
        str(collected): "collected"}
    assert await count(owner, "SELECT count(*) FROM agenda_item_events WHERE item_id = ANY(:i)",
                       i=[alpha, beta, hq_item, collected]) == 0


async def test_other_region_staff_cannot_see_or_negotiate(
    client: httpx.AsyncClient, owner: Owner, federation: Federation, staff_token,
) -> None:
    r1, r2 = federation.regions
    own = await staff_token(federation, "regional_admin", r1)
    other = await staff_token(federation, "regional_admin", r2)
    item = await seed_item(owner, federation, status="on_agenda")
    r = await client.post("/v1/admin/bargaining/rounds", json=round_body([item]),
                          headers=bearer(other))
    assert r.status_code == 404 and r.json()["code"] == "agenda_item_not_found"
    held = await client.post("/v1/admin/bargaining/rounds", json=round_body([item]),
                             headers=bearer(own))
    assert held.status_code == 201, held.text
    seen = await client.get(f"/v1/admin/bargaining/rounds/{held.json()['id']}",
                            headers=bearer(other))
    assert seen.status_code == 404 and seen.json()["code"] == "round_not_found"
    listed = await client.get("/v1/admin/bargaining/rounds", headers=bearer(other))
    assert held.json()["id"] not in [x["id"] for x in listed.json()["items"]]
    # a regional admin sees the federation-wide board but may not negotiate for the HQ
    hq_item = await seed_item(owner, federation, status="on_agenda", scope=federation.hq)
    r = await client.post("/v1/admin/bargaining/rounds", json=round_body([hq_item]),
                          headers=bearer(own))
    assert r.status_code == 403 and r.json()["code"] == "outside_subtree"
    assert await statuses(owner, [hq_item]) == {str(hq_item): "on_agenda"}


async def test_overdue_promises_follow_the_beijing_date(
    client: httpx.AsyncClient, owner: Owner, federation: Federation, staff_token, clock,
) -> None:
    admin = await staff_token(federation, "regional_admin", federation.regions[0])
    item = await seed_item(owner, federation, status="on_agenda")
    today = datetime.now(BEIJING).date()
    due_today = {"item_id": str(item), "description": "今天到期", "due_on": today.isoformat()}
    due_past = {"item_id": str(item), "description": "昨天到期",
                "due_on": (today - timedelta(days=1)).isoformat()}
    held = await client.post("/v1/admin/bargaining/rounds", headers=bearer(admin),
                             json=round_body([item], promises=[due_today, due_past]))
    assert held.status_code == 201, held.text

    async def overdue() -> list[str]:
        r = await client.get("/v1/admin/bargaining/promises",
                             params={"overdue": "true", "item_id": str(item)},
                             headers=bearer(admin))
        assert r.status_code == 200, r.text
        assert all(p["overdue"] for p in r.json()["items"])
        return [p["description"] for p in r.json()["items"]]

    assert await overdue() == ["昨天到期"]
    everything = await client.get("/v1/admin/bargaining/promises", params={"item_id": str(item)},
                                  headers=bearer(admin))
    assert [p["description"] for p in everything.json()["items"]] == ["昨天到期", "今天到期"]
    # the next Beijing day: today's promise is overdue too
    midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), BEIJING)
    clock.offset = midnight - datetime.now(BEIJING) + timedelta(minutes=1)
    assert await overdue() == ["昨天到期", "今天到期"]
    # paging
    first = await client.get("/v1/admin/bargaining/promises",
                             params={"item_id": str(item), "limit": 1}, headers=bearer(admin))
    page = first.json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    second = await client.get("/v1/admin/bargaining/promises", headers=bearer(admin),
                              params={"item_id": str(item), "cursor": page["next_cursor"]})
    assert [p["description"] for p in second.json()["items"]] == ["今天到期"]
    bad = await client.get("/v1/admin/bargaining/promises", params={"cursor": "!!"},
                           headers=bearer(admin))
    assert bad.status_code == 422 and bad.json()["code"] == "cursor_invalid"
    assert date.fromisoformat(due_past["due_on"]) < today
