"""系统衔接: a partner pushes events through its machine API; each event is stored once
whatever the retries; an unknown rider is stored unmatched; a partner reads only its own
events; staff read the events of members homed in their subtree; weather warnings load once
and are read in scope. Real app, real database under RLS."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from tests.services.conftest import EVENTS, member, push
from tests.support.bargaining import partner_client
from tests.support.factories import Federation, bearer


def shift(rider: str, event_id: str | None = None, **over: Any) -> dict[str, Any]:
    return {"kind": "shift_worked", "event_id": event_id or secrets.token_hex(6),
            "rider_id": rider, "occurred_at": datetime.now(UTC).isoformat(),
            "day": datetime.now(UTC).date().isoformat(), "hours": 10, "night_hours": 6,
            "heat_hours": 0, "zone_code": "z-1"} | over


async def count(owner: Any, sql: str, **params: Any) -> int:
    async with owner() as s:
        return int((await s.execute(text(sql), params)).scalar_one())


async def test_an_event_retried_ten_times_stores_one_event_and_one_signal(
        client, owner, sms, federation: Federation, staff_token) -> None:
    joined, rider = await member(client, sms, federation, staff_token)
    alpha = await partner_client(client, owner, federation, "alpha")
    event = shift(rider, "shift-2026-12-07-1")
    outcomes = []
    for _ in range(10):  # ten retries, each with a fresh Idempotency-Key
        r = await push(client, alpha.token, event)
        assert r.status_code == 201, r.text
        outcomes.append(r.json()["events"][0]["status"])
    assert outcomes == ["stored"] + ["duplicate"] * 9
    again = await push(client, alpha.token, event, key="same-key")
    replay = await push(client, alpha.token, event, key="same-key")
    assert replay.json() == again.json()  # the same key replays the first answer
    assert await count(owner, "SELECT count(*) FROM platform_events WHERE member_id = :m",
                       m=joined.member_id) == 1
    assert await count(owner, "SELECT count(*) FROM work_signals WHERE member_id = :m",
                       m=joined.member_id) == 1
    body = r.json()
    assert "member" not in str(body) and "matched" not in str(body)  # no word of membership


async def test_unknown_riders_are_stored_unmatched_and_bad_shifts_refused(
        client, owner, federation: Federation, staff_token) -> None:
    alpha = await partner_client(client, owner, federation, "alpha")
    r = await push(client, alpha.token, shift("nobody-77"),
                   {"kind": "worker_registered", "event_id": "reg-1", "rider_id": "nobody-77",
                    "occurred_at": datetime.now(UTC).isoformat()})
    assert r.status_code == 201 and r.json()["stored"] == 2, r.text
    hq = await staff_token(federation, "hq_admin", federation.hq)
    seen = (await client.get("/v1/admin/services/events", headers=bearer(hq))).json()
    assert {e["event_id"] for e in seen} >= {"reg-1"}
    assert all(e["member_id"] is None for e in seen)
    assert await count(owner, "SELECT count(*) FROM work_signals s JOIN platform_events e"
                              " ON e.id = s.event_ref WHERE e.rider_id = 'nobody-77'") == 0
    bad = await push(client, alpha.token, shift("nobody-77", night_hours=12))
    assert bad.status_code == 422 and bad.json()["code"] == "shift_hours_invalid", bad.text
    twice = await push(client, alpha.token, shift("x", "dup"), shift("y", "dup"))
    assert twice.status_code == 422 and twice.json()["code"] == "event_id_repeated"
    wrong = await push(client, alpha.token, {"kind": "moon_landing", "event_id": "m",
                                             "rider_id": "x", "occurred_at": "2026-01-01"})
    assert wrong.status_code in (400, 422), wrong.text


async def test_a_partner_reads_only_its_own_events_and_staff_only_their_subtree(
        client, owner, sms, federation: Federation, staff_token) -> None:
    joined, rider = await member(client, sms, federation, staff_token, region=0)
    alpha = await partner_client(client, owner, federation, "alpha")
    beta = await partner_client(client, owner, federation, "beta")
    assert (await push(client, alpha.token, shift(rider, "alpha-only"))).status_code == 201
    mine = (await client.get(EVENTS, headers=bearer(alpha.token))).json()
    assert [e["event_id"] for e in mine] == ["alpha-only"]
    theirs = await client.get(EVENTS, headers=bearer(beta.token))
    assert theirs.status_code == 200 and theirs.json() == []
    # beta pushing the same event id is beta's own event, not a duplicate of alpha's
    assert (await push(client, beta.token, shift(rider, "alpha-only"))).json()["stored"] == 1
    async with owner() as s:
        beta_row = (await s.execute(text(
            "SELECT member_id FROM platform_events e JOIN platform_partners p"
            " ON p.id = e.partner_id WHERE p.code = 'beta' AND e.event_id = 'alpha-only'"
            " AND e.federation_id = :f"), {"f": federation.ids[federation.hq]})).scalar_one()
    assert beta_row is None  # the member's link names alpha, not beta
    home = await staff_token(federation, "regional_admin", federation.regions[0])
    other = await staff_token(federation, "regional_admin", federation.regions[1])
    seen = (await client.get("/v1/admin/services/events", headers=bearer(home))).json()
    assert [e["member_id"] for e in seen] == [joined.member_id]
    assert (await client.get("/v1/admin/services/events", headers=bearer(other))).json() == []
    worker = await client.get("/v1/admin/services/events", headers=bearer(joined.token))
    assert worker.status_code in (401, 403)


async def test_weather_warnings_load_once_and_are_read_in_scope(
        client, owner, federation: Federation, staff_token) -> None:
    r0, r1 = federation.regions
    admin = await staff_token(federation, "regional_admin", r0)
    now = datetime.now(UTC)
    body = {"warnings": [{
        "source_ref": "SH-2026-HEAT-07", "kind": "heat", "level": "orange",
        "title_zh": "高温橙色预警", "area_codes": [r0],
        "polygon": {"type": "Polygon", "coordinates": [[[121.4, 31.1], [121.5, 31.1],
                                                         [121.5, 31.2], [121.4, 31.1]]]},
        "valid_from": now.isoformat(), "valid_to": (now + timedelta(hours=12)).isoformat()}]}
    first = await client.post("/v1/admin/services/weather-warnings", json=body,
                              headers=bearer(admin))
    assert first.status_code == 201 and first.json() == {"created": 1, "unchanged": 0}, first.text
    second = await client.post("/v1/admin/services/weather-warnings", json=body,
                               headers=bearer(admin))
    assert second.json() == {"created": 0, "unchanged": 1}
    station = await staff_token(federation, "station_officer", federation.stations[r0][0])
    seen = (await client.get("/v1/admin/services/weather-warnings",
                             headers=bearer(station))).json()
    assert [w["kind_zh"] for w in seen] == ["高温预警"]
    other = await staff_token(federation, "regional_admin", r1)
    assert (await client.get("/v1/admin/services/weather-warnings",
                             headers=bearer(other))).json() == []
    bad = body["warnings"][0] | {"source_ref": "bad", "valid_to": now.isoformat()}
    refused = await client.post("/v1/admin/services/weather-warnings",
                                json={"warnings": [bad]}, headers=bearer(admin))
    assert refused.status_code == 422 and refused.json()["code"] == "warning_invalid"
