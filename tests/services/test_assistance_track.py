"""帮扶台账: the track's order and roles, the second person (in the service and in PostgreSQL),
what the worker sees, urgent items first, open_from_event idempotent."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from flexunion.db.engine import apply_scope
from flexunion.db.scope import DbScope
from flexunion.services.assistance import service
from tests.support.assistance import ADMIN, ME, applied, desk
from tests.support.factories import Federation, bearer


async def test_the_steps_go_in_order_each_by_its_role(client, sms, federation: Federation,
                                                     staff_token) -> None:
    d = await desk(client, sms, federation, staff_token)
    case = await applied(client, d)
    url = f"{ADMIN}/cases/{case}"
    # out of order: 会商 before 受理 and 核实
    r = await client.post(f"{url}/decide", headers=bearer(d.region), json={
        "members_present": ["李"], "decision": "approve", "amount_fen": 100000})
    assert r.status_code == 409 and r.json()["code"] == "assistance_step_not_allowed"
    # 受理 is not HQ's
    r = await client.post(f"{url}/accept", headers=bearer(d.hq))
    assert r.status_code == 403 and r.json()["code"] == "assistance_role_not_allowed"
    r = await client.post(f"{url}/accept", headers=bearer(d.officer))
    assert r.status_code == 200 and r.json()["step"] == "accepted", r.text
    # the one who accepted cannot verify
    r = await client.post(f"{url}/verify", headers=bearer(d.officer), json={"note": "看过了"})
    assert r.status_code == 409 and r.json()["code"] == "assistance_same_person"
    r = await client.post(f"{url}/ask", headers=bearer(d.officer),
                          json={"asked_zh": "请补交住院诊断证明"})
    assert r.status_code == 200 and r.json()["asked_zh"] == "请补交住院诊断证明", r.text
    mine = (await client.get(ME, headers=bearer(d.member.token))).json()
    assert mine[0]["asked_zh"] == "请补交住院诊断证明"
    r = await client.post(f"{url}/ask", headers=bearer(d.hq), json={"asked_zh": "x"})
    assert r.status_code == 403
    r = await client.post(f"{url}/verify", headers=bearer(d.second), json={"note": "入户核实"})
    assert r.status_code == 200 and r.json()["step"] == "verified", r.text
    # 会商 is the committee's (the region), not a station officer's
    body = {"members_present": ["李主席", "王委员", "赵委员"], "decision": "approve",
            "note": "家庭确有困难"}
    r = await client.post(f"{url}/decide", headers=bearer(d.officer), json=body)
    assert r.status_code == 403
    r = await client.post(f"{url}/decide", headers=bearer(d.region), json=body)
    assert r.status_code == 422 and r.json()["code"] == "assistance_decision_incomplete"
    r = await client.post(f"{url}/decide", headers=bearer(d.region),
                          json=body | {"amount_fen": 200000})
    assert r.status_code == 200, r.text
    read = r.json()
    assert read["step"] == "approved" and read["approved_fen"] == 200000
    assert read["committee_members"] == ["李主席", "王委员", "赵委员"]
    assert read["details"]["diagnosis"] == "慢性肾病，需透析"  # its handlers read them
    # the worker sees the step and what is asked, never the committee's note
    mine = (await client.get(ME, headers=bearer(d.member.token))).json()
    assert [c["step"] for c in mine] == ["approved"]
    assert "committee_note" not in mine[0] and "details" not in mine[0]
    assert "家庭确有困难" not in str(mine) and "李主席" not in str(mine)
    assert mine[0]["asked_zh"]


async def test_the_database_refuses_a_skipped_step_and_the_same_verifier(
        client, sms, owner, federation: Federation, staff_token) -> None:
    d = await desk(client, sms, federation, staff_token)
    case = await applied(client, d)
    async with owner() as s, s.begin():
        with pytest.raises(DBAPIError, match="not allowed"):
            async with s.begin_nested():
                await s.execute(text("UPDATE assistance_cases SET step = 'approved'"
                                     " WHERE id = :c"), {"c": case})
        await s.execute(text("UPDATE assistance_cases SET step = 'accepted',"
                             " accepted_by = 'station_officer:x' WHERE id = :c"), {"c": case})
        with pytest.raises(IntegrityError):
            async with s.begin_nested():
                await s.execute(text("UPDATE assistance_cases SET step = 'verified',"
                                     " verified_by = 'station_officer:x' WHERE id = :c"),
                                {"c": case})


async def test_a_walk_in_is_accepted_by_whoever_opened_it(client, sms, federation: Federation,
                                                          staff_token) -> None:
    d = await desk(client, sms, federation, staff_token)
    r = await client.post(f"{ADMIN}/cases", headers=bearer(d.officer), json={
        "member_id": d.member.member_id, "kind": "family_emergency", "summary": "家中失火"})
    assert r.status_code == 201, r.text
    assert r.json()["step"] == "accepted" and r.json()["accepted_by"].endswith("officer-zhang")
    r = await client.post(f"{ADMIN}/cases/{r.json()['id']}/verify", headers=bearer(d.officer),
                          json={"note": "x"})
    assert r.json()["code"] == "assistance_same_person"


async def test_urgent_and_overdue_come_first(client, sms, clock, federation: Federation,
                                             staff_token) -> None:
    d = await desk(client, sms, federation, staff_token)
    ordinary = await applied(client, d, summary="普通件一")
    urgent = await applied(client, d, urgent=True, summary="急难件")
    listed = (await client.get(f"{ADMIN}/cases", headers=bearer(d.region))).json()
    order = [c["id"] for c in listed if c["id"] in (ordinary, urgent)]
    assert order == [urgent, ordinary]  # the urgent one overtakes the older ordinary one
    first = listed[0]
    assert first["details"] and "肾" not in str(listed)  # masked in lists
    # a day and a half later the urgent clock (24 h) has run out: it is overdue, still first
    clock.advance(hours=36)
    listed = (await client.get(f"{ADMIN}/cases", headers=bearer(d.region))).json()
    assert listed[0]["id"] == urgent and listed[0]["overdue"] is True
    assert next(c for c in listed if c["id"] == ordinary)["overdue"] is False


async def test_open_from_event_opens_once(owner, client, sms, federation: Federation,
                                          staff_token) -> None:
    d = await desk(client, sms, federation, staff_token)
    region = federation.ids[federation.regions[0]]
    opened = []
    for _ in range(3):
        async with owner() as s, s.begin():
            await apply_scope(s, DbScope(region, "regional_admin:events"))
            case = await service.open_from_event(
                s, member_id=uuid.UUID(d.member.member_id), kind="injury_recovery",
                urgent=True, source="partner-injury", source_ref="alpha:inj-42",
                summary="配送途中摔伤")
            opened.append(case.id)
    assert len(set(opened)) == 1
    async with owner() as s:
        row = (await s.execute(text("SELECT step, source, source_ref, urgent, step_due_at -"
                                    " created_at AS clock FROM assistance_cases WHERE id = :c"),
                               {"c": opened[0]})).one()
    assert (row.step, row.source, row.source_ref, row.urgent) == (
        "applied", "event", "partner-injury:alpha:inj-42", True)
    assert row.clock == timedelta(hours=24)


async def test_an_application_retried_is_one_case_and_only_mine(client, sms,
                                                                federation: Federation,
                                                                staff_token) -> None:
    d = await desk(client, sms, federation, staff_token)
    headers = bearer(d.member.token) | {"Idempotency-Key": "hardship-once"}
    body = {"kind": "injury_recovery", "summary": "工伤后康复期无收入"}
    first = await client.post(ME, headers=headers, json=body)
    again = await client.post(ME, headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert first.json()["id"] == again.json()["id"]
    mine = (await client.get(ME, headers=bearer(d.member.token))).json()
    assert [c["id"] for c in mine] == [first.json()["id"]]
    other = await desk(client, sms, federation, staff_token)
    assert (await client.get(ME, headers=bearer(other.member.token))).json() == []
    # a worker's token does not open the staff routes
    r = await client.post(f"{ADMIN}/cases/{first.json()['id']}/accept",
                          headers=bearer(d.member.token))
    assert r.status_code == 401
