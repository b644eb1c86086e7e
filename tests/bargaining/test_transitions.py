"""The agenda item's lifecycle: every step the table does not allow is refused (409, status
unchanged, nothing on the timeline), by the API and by the database trigger; `ratified`
only through a ballot; allowed steps land on the timeline and in the audit trail."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from flexunion.bargaining.board.lifecycle import ALLOWED, REGROUPABLE, STATUSES
from tests.support.bargaining import partner_client, seed_item
from tests.support.factories import bearer

INVALID = [(a, b) for a in STATUSES for b in STATUSES if b not in ALLOWED[a]]


async def _seed(owner, fed, status: str):
    """seed_item, and for `merged` a real merge target (the check wants merged_into_id)."""
    if status != "merged":
        return await seed_item(owner, fed, status=status)
    into = await seed_item(owner, fed)
    item = await seed_item(owner, fed)
    async with owner() as s, s.begin():
        await s.execute(text("UPDATE agenda_items SET status = 'merged', merged_into_id = :m"
                             " WHERE id = :i"), {"m": into, "i": item})
    return item


async def _state(owner, item_id) -> tuple[str, int]:
    async with owner() as s:
        status = (await s.execute(text("SELECT status FROM agenda_items WHERE id = :i"),
                                  {"i": item_id})).scalar_one()
        events = (await s.execute(text("SELECT count(*) FROM agenda_item_events"
                                       " WHERE item_id = :i"), {"i": item_id})).scalar_one()
    return status, events


def test_the_invalid_set_is_what_we_think() -> None:
    assert len(INVALID) == len(STATUSES) ** 2 - sum(len(v) for v in ALLOWED.values())
    assert ("agreed", "ratified") not in INVALID and ("collected", "on_agenda") in INVALID


def test_the_trigger_holds_the_same_table() -> None:
    """Migration 0005's frozen copy (PAIRS) is ALLOWED plus the merge steps (never a
    transition: only a merge ends an item `merged`)."""
    path = Path(__file__).parents[2] / "migrations" / "versions" / "0005_bargaining.py"
    spec = importlib.util.spec_from_file_location("migration_0005", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    allowed = {(a, b) for a, nxt in ALLOWED.items() for b in nxt}
    assert set(migration.PAIRS) == allowed | {(s, "merged") for s in REGROUPABLE}


async def test_every_invalid_transition_is_refused(client, owner, federation, staff_token) -> None:
    admin = await staff_token(federation, "regional_admin", federation.regions[0])
    items = {s: await _seed(owner, federation, s) for s in STATUSES}
    for source, target in INVALID:
        r = await client.post(f"/v1/admin/bargaining/items/{items[source]}/transitions",
                              json={"to": target, "reason": "试一下 try"}, headers=bearer(admin))
        assert r.status_code == 409, (source, target, r.text)
        expected = "ballot_required" if target == "ratified" else "invalid_transition"
        assert r.json()["code"] == expected, (source, target)
        assert await _state(owner, items[source]) == (source, 0), (source, target)


async def test_ratified_needs_a_ballot_even_from_agreed(client, owner, federation,
                                                       staff_token) -> None:
    admin = await staff_token(federation, "regional_admin", federation.regions[0])
    for status in ("agreed", "partially_agreed"):
        item = await seed_item(owner, federation, status=status)
        r = await client.post(f"/v1/admin/bargaining/items/{item}/transitions",
                              json={"to": "ratified", "reason": "跳过表决"}, headers=bearer(admin))
        assert r.status_code == 409 and r.json()["code"] == "ballot_required"
        assert await _state(owner, item) == (status, 0)


@pytest.mark.parametrize(("source", "target"), [("collected", "on_agenda"),
                                                ("rejected", "collected"),
                                                ("in_negotiation", "in_force"),
                                                ("agreed", "ratified"),
                                                ("under_review", "merged")])
async def test_the_database_refuses_too(owner, federation, source, target) -> None:
    """Writing behind the API's back (the owner connection) hits the trigger. merged is allowed
    from under_review by the trigger, but only together with merged_into_id (check)."""
    item = await seed_item(owner, federation, status=source)
    with pytest.raises(DBAPIError):
        async with owner() as s, s.begin():
            await s.execute(text("UPDATE agenda_items SET status = :t WHERE id = :i"),
                            {"t": target, "i": item})
    assert (await _state(owner, item))[0] == source


async def test_allowed_steps_are_recorded(client, owner, federation, staff_token) -> None:
    admin = await staff_token(federation, "regional_admin", federation.regions[0], subject="ops")
    item = await seed_item(owner, federation)
    path = ["under_review", "on_agenda", "in_negotiation", "partially_agreed", "in_negotiation",
            "deferred", "on_agenda"]
    for target in path:
        r = await client.post(f"/v1/admin/bargaining/items/{item}/transitions",
                              json={"to": target, "reason": f"理由 {target}"},
                              headers=bearer(admin))
        assert r.status_code == 200, r.text
        assert r.json()["status"] == target and r.json()["status_zh"] == STATUSES[target][0]
    timeline = (await client.get(f"/v1/admin/bargaining/items/{item}/timeline",
                                 headers=bearer(admin))).json()
    assert [e["to_status"] for e in timeline] == path
    assert [e["from_status"] for e in timeline] == ["collected", *path[:-1]]
    assert {e["actor"] for e in timeline} == {"regional_admin:ops"}
    assert timeline[0]["reason"] == "理由 under_review"
    async with owner() as s:
        audits = (await s.execute(text(
            "SELECT payload FROM audit_events WHERE action = 'agenda.transition'"
            " AND object_id = :i ORDER BY seq"), {"i": str(item)})).scalars().all()
    assert [a["to"] for a in audits] == path


@pytest.mark.parametrize("body", [{"to": "under_review"}, {"to": "under_review", "reason": ""},
                                  {"to": "under_review", "reason": "x" * 2001},
                                  {"to": "nowhere", "reason": "r"},
                                  {"to": "under_review", "reason": "r", "actor": "x"}])
async def test_bad_transition_bodies(client, owner, federation, staff_token, body) -> None:
    admin = await staff_token(federation, "regional_admin", federation.regions[0])
    item = await seed_item(owner, federation)
    r = await client.post(f"/v1/admin/bargaining/items/{item}/transitions", json=body,
                          headers=bearer(admin))
    assert r.status_code in (400, 422), r.text
    assert await _state(owner, item) == ("collected", 0)


async def test_who_may_move_an_item(client, owner, federation, staff_token) -> None:
    r1, r2 = federation.regions
    item = await seed_item(owner, federation, scope=r1)
    hq_item = await seed_item(owner, federation, scope=federation.hq)
    body = {"to": "under_review", "reason": "审核"}
    other = await staff_token(federation, "regional_admin", r2)
    r = await client.post(f"/v1/admin/bargaining/items/{item}/transitions", json=body,
                          headers=bearer(other))
    assert r.status_code == 404
    # A regional officer reads the federation-wide board but cannot move its items.
    mine = await staff_token(federation, "regional_admin", r1)
    assert (await client.get(f"/v1/admin/bargaining/items/{hq_item}",
                             headers=bearer(mine))).status_code == 200
    r = await client.post(f"/v1/admin/bargaining/items/{hq_item}/transitions", json=body,
                          headers=bearer(mine))
    assert r.status_code == 404
    partner = await partner_client(client, owner, federation)
    r = await client.post(f"/v1/admin/bargaining/items/{item}/transitions", json=body,
                          headers=bearer(partner.token))
    assert r.status_code in (401, 403)
    assert await _state(owner, item) == ("collected", 0)
    assert await _state(owner, hq_item) == ("collected", 0)
    hq = await staff_token(federation, "hq_admin", federation.hq)
    r = await client.post(f"/v1/admin/bargaining/items/{hq_item}/transitions", json=body,
                          headers=bearer(hq))
    assert r.status_code == 200 and r.json()["status"] == "under_review"
