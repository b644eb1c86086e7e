"""月度复盘: per unit and group of the caller's subtree — reach and participation from the
applications, repeated demands from the demand ledger, unfinished and overdue items, against
the partners' shifts and the registrations/deregistrations — with the units ranked where
money and visits should go next; CSV; another region sees none of it; a bad month is 422.
Real app, real database under RLS, the real group job."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from flexunion.core.clock import BEIJING
from tests.services.conftest import drain, load_groups, load_services, member, push
from tests.services.test_platform_events import shift
from tests.support.bargaining import partner_client
from tests.support.factories import Federation, bearer

REVIEW = "/v1/admin/services/review"


def _key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(8)}


def _unit(read: dict, code: str) -> dict:
    return next(u for u in read["units"] if u["code"] == code)


def _group(unit: dict, code: str) -> dict:
    return next(g for g in unit["groups"] if g["code"] == code)


async def test_the_month_review_counts_reach_demands_and_backlog_against_the_shifts(
        client, owner, sms, settings, clock, app_sessions, federation: Federation,
        staff_token) -> None:
    await load_groups(owner, federation)
    await load_services(owner, federation)
    region = federation.regions[0]
    s0, s1 = federation.stations[region]
    a, rider_a = await member(client, sms, federation, staff_token, at=s0)
    _b, rider_b = await member(client, sms, federation, staff_token, at=s1)
    alpha = await partner_client(client, owner, federation, "alpha")
    today = datetime.now(UTC)
    r = await push(client, alpha.token,
                   shift(rider_a, hours=10, night_hours=8, heat_hours=2),
                   shift(rider_b, hours=6, night_hours=0, zone_code="z-2"),
                   {"kind": "worker_registered", "event_id": "reg-a", "rider_id": rider_a,
                    "occurred_at": today.isoformat()},
                   {"kind": "worker_deregistered", "event_id": "dereg-b", "rider_id": rider_b,
                    "occurred_at": today.isoformat(), "reason": "left"})
    assert r.status_code == 201, r.text
    await drain(owner, app_sessions, settings, clock, federation)
    # a applies (health-check, reviewed by the station) and files one demand twice
    r = await client.post("/v1/me/service-applications", json={"service": "health-check"},
                          headers=bearer(a.token) | _key())
    assert r.status_code == 201, r.text
    for _ in range(2):
        r = await client.post("/v1/me/cases", headers=bearer(a.token) | _key(), json={
            "category": "commission", "station": s0,
            "description": "抽成从 18% 涨到 25%，没有通知。"})
        assert r.status_code == 201, r.text
    admin = await staff_token(federation, "regional_admin", region)  # issued in real time
    month = today.astimezone(BEIJING).strftime("%Y-%m")
    clock.advance(days=12)  # past the 5 working days: the application is overdue
    got = await client.get(REVIEW, params={"month": month}, headers=bearer(admin))
    assert got.status_code == 200, got.text
    read = got.json()
    assert read["place"] == region and read["month"] == month
    top = _unit(read, region)
    new = _group(top, "new-registration")
    assert new["members"] == 2 and new["reached"] == 1 and new["participated"] == 1
    assert new["reach_rate"] == 0.5 and new["participation_rate"] == 0.5
    assert new["repeated_demands"] == 1
    night = _group(top, "night-heat-outdoor")
    assert night["members"] == 0  # 8 night hours are below the 20 of the rule
    assert top["workload"] == {"active_members": 2, "active_days": 2, "hours": 16.0,
                               "night_hours": 8.0, "heat_hours": 2.0}
    assert top["turnover"] == {"registered": 1, "deregistered": 1, "net": 0}
    assert top["repeated"] == {"pairs": 1, "cases": 2}
    assert _group(_unit(read, s1), "new-registration")["reached"] == 0
    assert _unit(read, s1)["turnover"]["deregistered"] == 1
    assert "repeated_demands" in {a["code"] for a in _unit(read, s0)["attention"]}
    assert read["next_steps"][0]["unit"] == s0 and read["next_steps"][0]["priority"] >= 2
    # the station's window holds the application, overdue now (the month of the moved clock:
    # unfinished counts what is open at its end, filed before it)
    later = clock.now().astimezone(BEIJING).strftime("%Y-%m")
    now = (await client.get(REVIEW, params={"month": later}, headers=bearer(admin))).json()
    station = _unit(now, s0)
    assert station["unfinished"]["applications_open"] == 1
    assert station["unfinished"]["applications_overdue"] == 1
    assert _group(_unit(now, region), "new-registration")["overdue_items"] == 1
    assert "overdue" in {a["code"] for a in station["attention"]}
    assert now["next_steps"][0]["unit"] == s0 and now["next_steps"][0]["priority"] >= 3
    assert {z["zone"] for z in read["zones"]} == {"z-1", "z-2"}
    assert not any("尚未计入" in n for n in read["notes"])  # the triggers' offers count too
    # one station's view is its own
    mine = (await client.get(REVIEW, params={"month": month, "place": s1},
                             headers=bearer(admin))).json()
    assert [u["code"] for u in mine["units"]] == [s1]
    # CSV: UTF-8 with BOM, one row per unit and group, no names
    csv = await client.get(f"{REVIEW}/export.csv", params={"month": month},
                           headers=bearer(admin))
    assert csv.status_code == 200 and csv.content.startswith("\ufeff".encode())
    assert f"{month},{s0}," in csv.text and "new-registration" in csv.text
    assert a.body["member_no"] not in csv.text


async def test_another_region_sees_nothing_and_a_bad_month_is_refused(
        client, owner, sms, settings, clock, app_sessions, federation: Federation,
        staff_token) -> None:
    await load_groups(owner, federation)
    await member(client, sms, federation, staff_token, region=0)
    await drain(owner, app_sessions, settings, clock, federation)
    other = await staff_token(federation, "regional_admin", federation.regions[1])
    read = (await client.get(REVIEW, headers=bearer(other))).json()
    assert {u["code"] for u in read["units"]} == {federation.regions[1],
                                                  *federation.stations[federation.regions[1]]}
    assert all(g["members"] == 0 for u in read["units"] for g in u["groups"])
    r = await client.get(REVIEW, params={"place": federation.regions[0]},
                         headers=bearer(other))
    assert r.status_code == 404 and r.json()["code"] == "tenant_not_found"
    r = await client.get(REVIEW, params={"month": "2026-13"}, headers=bearer(other))
    assert r.status_code == 422 and r.json()["code"] == "review_month_invalid"
    hq = await staff_token(federation, "hq_admin", federation.hq)
    whole = (await client.get(REVIEW, headers=bearer(hq))).json()
    assert _group(_unit(whole, federation.regions[0]), "new-registration")["members"] == 1
    assert "hardship" in {g["code"] for g in _unit(whole, federation.hq)["groups"]}
    alpha = await partner_client(client, owner, federation, "alpha")
    r = await client.get(REVIEW, headers=bearer(alpha.token))
    assert r.status_code in (401, 403)
