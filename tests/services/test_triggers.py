"""系统衔接 triggers: each action kind end to end (event in → the job → action row → inbox item
/ station notice / assistance case); an event re-sent ten times and the job re-run make one
action and one message; a rule version applies from its effective day; a region's rules never
fire for a member of another region; actions are read in scope, the partner reads only the
invitations for its own riders. Real app, real database under RLS, the real job."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import text

from flexunion.jobs import service as jobs
from flexunion.services.triggers import files as trigger_files
from flexunion.services.triggers.rules import Rule
from tests.services.conftest import member, push
from tests.services.test_platform_events import count, shift
from tests.support.bargaining import partner_client
from tests.support.factories import Federation, bearer

DEMO_TRIGGERS = Path(__file__).parents[2] / "tenants" / "demo" / trigger_files.FILE_NAME
ACTIONS = "/v1/admin/services/triggers/actions"
INBOX = "/v1/me/notifications"


def rules(*specs: dict[str, Any]) -> list[Rule]:
    return msgspec.convert(list(specs), list[Rule])


HQ_RULES = rules(
    {"code": "new-rider-invite", "event": "worker_registered", "actions": [{"do": "invite_join"}]},
    {"code": "night-health", "event": "shift_worked",
     "when": [{"field": "night_hours", "op": ">=", "value": 4}],
     "actions": [{"do": "offer_service", "service": "health-check"}]},
    {"code": "heat-cool", "event": "weather_warning",
     "when": [{"field": "kind", "op": "==", "value": "heat"},
              {"field": "level", "op": ">=", "value": "orange"}],
     "actions": [{"do": "station_notice"}]},
    {"code": "injury", "event": "injury_reported", "actions": [{"do": "assistance_case"}]})


async def load(owner: Any, fed: Federation, *sets: trigger_files.RuleSetSpec) -> list[str]:
    notes: list[str] = []
    async with owner() as s, s.begin():
        await trigger_files.plan(s, trigger_files.TriggersFile(list(sets)), fed.ids[fed.hq],
                                 True, lambda a, _k, code, _f: notes.append(f"{a}:{code}"))
    return notes


def hq_set(version: int = 1, day: date = date(2026, 1, 1),
           body: list[Rule] | None = None) -> trigger_files.RuleSetSpec:
    return trigger_files.RuleSetSpec("hq", version, day, body or HQ_RULES)


async def run_triggers(owner: Any, app_sessions: Any, settings: Any, clock: Any,
                       fed: Federation, *, times: int = 1) -> int:
    """Run the queued `service-triggers` jobs of `fed` (each `times` times, as a retried
    worker would), then remove them."""
    async with owner() as s, s.begin():
        rows = (await s.execute(text(
            "DELETE FROM jobs.pgqueuer WHERE entrypoint = 'service-triggers'"
            " AND convert_from(payload, 'UTF8')::jsonb->>'federation_id' = :f"
            " RETURNING payload"), {"f": str(fed.ids[fed.hq])})).all()
    for _ in range(times):
        for (payload,) in rows:
            await jobs.run("service-triggers", payload, sessions=app_sessions,
                           settings=settings, clock=clock)
    return len(rows)


async def inbox(client: Any, token: str, kind: str) -> list[dict[str, Any]]:
    r = await client.get(INBOX, headers=bearer(token))
    assert r.status_code == 200, r.text
    return [n for n in r.json()["items"] if n["kind"] == kind]


def injury(rider: str, event_id: str, severity: str = "serious") -> dict[str, Any]:
    return {"kind": "injury_reported", "event_id": event_id, "rider_id": rider,
            "occurred_at": datetime.now(UTC).isoformat(),
            "occurred_on": datetime.now(UTC).date().isoformat(), "severity": severity,
            "zone_code": "z-1"}


async def test_a_night_shift_offers_a_health_check_once_however_often_it_is_resent(
        client, owner, sms, federation: Federation, staff_token, app_sessions, settings,
        clock) -> None:
    await load(owner, federation, hq_set())
    joined, rider = await member(client, sms, federation, staff_token)
    alpha = await partner_client(client, owner, federation, "alpha")
    event = shift(rider, "night-1", night_hours=6)
    for _ in range(10):  # re-sent ten times under ten keys
        assert (await push(client, alpha.token, event)).status_code == 201
    assert await run_triggers(owner, app_sessions, settings, clock, federation, times=3) == 1
    offers = await inbox(client, joined.token, "service_offer")
    assert len(offers) == 1 and offers[0]["case_no"] == "health-check", offers
    assert offers[0]["trigger_action_id"]
    assert await count(owner, "SELECT count(*) FROM trigger_actions WHERE member_id = :m",
                       m=joined.member_id) == 1
    # a short night does not qualify
    await push(client, alpha.token, shift(rider, "night-2", night_hours=2))
    await run_triggers(owner, app_sessions, settings, clock, federation)
    assert len(await inbox(client, joined.token, "service_offer")) == 1
    home = await staff_token(federation, "regional_admin", federation.regions[0])
    seen = (await client.get(ACTIONS, headers=bearer(home))).json()
    assert [(a["action"], a["rule_code"], a["delivery"]) for a in seen] == [
        ("offer_service", "night-health", "inbox")]
    other = await staff_token(federation, "regional_admin", federation.regions[1])
    assert (await client.get(ACTIONS, headers=bearer(other))).json() == []


async def test_an_injury_opens_one_assistance_case_and_a_legal_note(
        client, owner, sms, federation: Federation, staff_token, app_sessions, settings,
        clock) -> None:
    await load(owner, federation, hq_set())
    joined, rider = await member(client, sms, federation, staff_token)
    alpha = await partner_client(client, owner, federation, "alpha")
    for _ in range(10):
        await push(client, alpha.token, injury(rider, "inj-1"))
    await run_triggers(owner, app_sessions, settings, clock, federation, times=2)
    notes = await inbox(client, joined.token, "legal_information")
    assert len(notes) == 1 and "工伤" in notes[0]["title_zh"]
    assert await count(owner, "SELECT count(*) FROM assistance_cases WHERE member_id = :m"
                              " AND source = 'event' AND urgent", m=joined.member_id) == 1
    home = await staff_token(federation, "regional_admin", federation.regions[0])
    seen = (await client.get(ACTIONS, headers=bearer(home),
                             params={"action": "assistance_case"})).json()
    assert len(seen) == 1 and seen[0]["assistance_case_id"]
    r = await client.get(f"/v1/admin/assistance/cases/{seen[0]['assistance_case_id']}",
                         headers=bearer(home))
    assert r.status_code == 200 and r.json()["step"] == "applied", r.text


async def test_a_new_rider_who_is_not_a_member_is_invited_through_the_partner(
        client, owner, sms, federation: Federation, staff_token, app_sessions, settings,
        clock) -> None:
    await load(owner, federation, hq_set())
    alpha = await partner_client(client, owner, federation, "alpha")
    beta = await partner_client(client, owner, federation, "beta")
    reg = {"kind": "worker_registered", "event_id": "reg-new", "rider_id": "new-rider-9",
           "occurred_at": datetime.now(UTC).isoformat()}
    for _ in range(3):
        await push(client, alpha.token, reg)
    await run_triggers(owner, app_sessions, settings, clock, federation, times=2)
    mine = (await client.get("/v1/partner/services/invitations",
                             headers=bearer(alpha.token))).json()
    assert [i["rider_id"] for i in mine] == ["new-rider-9"], mine
    theirs = await client.get("/v1/partner/services/invitations", headers=bearer(beta.token))
    assert theirs.status_code == 200 and theirs.json() == []
    hq = await staff_token(federation, "hq_admin", federation.hq)
    seen = (await client.get(ACTIONS, headers=bearer(hq), params={"action": "invite_join"}))
    assert [a["delivery"] for a in seen.json()] == ["partner_relay"]
    # a member's registration invites nobody: they are a member already
    joined, rider = await member(client, sms, federation, staff_token)
    await push(client, alpha.token, reg | {"event_id": "reg-member", "rider_id": rider})
    await run_triggers(owner, app_sessions, settings, clock, federation)
    assert await inbox(client, joined.token, "join_invitation") == []
    assert await count(owner, "SELECT count(*) FROM trigger_actions WHERE member_id = :m",
                       m=joined.member_id) == 0


async def test_a_heat_warning_tells_the_stations_of_its_area_once(
        client, owner, federation: Federation, staff_token, app_sessions, settings,
        clock) -> None:
    await load(owner, federation, hq_set())
    r0 = federation.regions[0]
    admin = await staff_token(federation, "regional_admin", r0)
    now = datetime.now(UTC)
    body = {"warnings": [{
        "source_ref": "HEAT-1", "kind": "heat", "level": "red", "title_zh": "高温红色预警",
        "area_codes": [r0], "valid_from": now.isoformat(),
        "valid_to": (now + timedelta(hours=12)).isoformat()}, {
        "source_ref": "HEAT-2", "kind": "heat", "level": "blue", "title_zh": "高温蓝色预警",
        "area_codes": [r0], "valid_from": now.isoformat(),
        "valid_to": (now + timedelta(hours=12)).isoformat()}]}
    for _ in range(2):
        r = await client.post("/v1/admin/services/weather-warnings", json=body,
                              headers=bearer(admin))
        assert r.status_code == 201, r.text
    await run_triggers(owner, app_sessions, settings, clock, federation, times=2)
    stations = federation.stations[r0]
    for code in stations:
        officer = await staff_token(federation, "station_officer", code)
        seen = (await client.get(ACTIONS, headers=bearer(officer))).json()
        assert [(a["action"], a["station_id"]) for a in seen] == [
            ("station_notice", str(federation.ids[code]))], seen
        assert "送清凉" in seen[0]["title_zh"] and "高温红色预警" in seen[0]["title_zh"]
    other = await staff_token(federation, "station_officer",
                              federation.stations[federation.regions[1]][0])
    assert (await client.get(ACTIONS, headers=bearer(other))).json() == []


async def test_a_rule_version_applies_from_its_day_and_a_region_only_to_its_members(
        client, owner, sms, federation: Federation, staff_token, app_sessions, settings,
        clock) -> None:
    r0 = federation.regions[0]
    strict = rules({"code": "night-health", "event": "shift_worked",
                    "when": [{"field": "night_hours", "op": ">=", "value": 8}],
                    "actions": [{"do": "offer_service", "service": "health-check"}]})
    loose = rules({"code": "region-a-night", "event": "shift_worked",
                   "when": [{"field": "night_hours", "op": ">=", "value": 2}],
                   "actions": [{"do": "offer_service", "service": "health-check"}]})
    notes = await load(owner, federation, hq_set(),
                       hq_set(2, date(2026, 6, 1), strict),
                       trigger_files.RuleSetSpec(r0, 1, date(2026, 9, 1), loose))
    assert notes == ["create:hq@1", "create:hq@2", f"create:{r0}@1"]
    again = await load(owner, federation, hq_set(), hq_set(2, date(2026, 6, 1), strict),
                       trigger_files.RuleSetSpec(r0, 1, date(2026, 9, 1), loose))
    assert again == ["unchanged:hq@1", "unchanged:hq@2", f"unchanged:{r0}@1"]
    a, rider_a = await member(client, sms, federation, staff_token, region=0)
    b, rider_b = await member(client, sms, federation, staff_token, region=1)
    alpha = await partner_client(client, owner, federation, "alpha")

    def at(day: str, rider: str, hours: int) -> dict[str, Any]:
        return shift(rider, secrets.token_hex(5), occurred_at=f"{day}T23:00:00+08:00", day=day,
                     night_hours=hours)

    await push(client, alpha.token, at("2026-05-10", rider_b, 5),  # HQ v1 (>= 4): offered
               at("2026-07-10", rider_b, 5))                      # HQ v2 (>= 8): not
    await run_triggers(owner, app_sessions, settings, clock, federation)
    assert await count(owner, "SELECT count(*) FROM trigger_actions WHERE member_id = :m"
                              " AND rule_version = 1", m=b.member_id) == 1
    assert await count(owner, "SELECT count(*) FROM trigger_actions WHERE member_id = :m",
                       m=b.member_id) == 1
    await push(client, alpha.token, at("2026-10-10", rider_a, 3),  # region A's (>= 2): offered
               at("2026-10-11", rider_b, 3))                      # region B: HQ v2: not
    await run_triggers(owner, app_sessions, settings, clock, federation)
    assert await count(owner, "SELECT count(*) FROM trigger_actions WHERE member_id = :m"
                              " AND rule_code = 'region-a-night'", m=a.member_id) == 1
    assert await count(owner, "SELECT count(*) FROM trigger_actions WHERE member_id = :m"
                              " AND rule_code = 'region-a-night'", m=b.member_id) == 0
    assert await count(owner, "SELECT count(*) FROM trigger_actions WHERE member_id = :m",
                       m=b.member_id) == 1


async def test_regional_admins_save_a_new_version_and_keep_the_old(
        client, owner, federation: Federation, staff_token, clock) -> None:
    await load(owner, federation, hq_set())
    r0 = federation.regions[0]
    admin = await staff_token(federation, "regional_admin", r0)
    today = clock.now().astimezone(UTC).date() + timedelta(days=1)
    body = {"effective_from": today.isoformat(), "rules": [
        {"code": "night", "event": "shift_worked",
         "when": [{"field": "night_hours", "op": ">=", "value": 3}],
         "actions": [{"do": "offer_service", "service": "health-check"}]}]}
    for version in (1, 2):
        r = await client.post("/v1/admin/services/triggers/rules", json=body,
                              headers=bearer(admin))
        assert r.status_code == 201, r.text
        assert r.json()["version"] == version and r.json()["unit"] == r0
    listed = (await client.get("/v1/admin/services/triggers/rules", headers=bearer(admin))).json()
    assert [(s["unit"], s["version"]) for s in listed if s["unit"] == r0] == [(r0, 2), (r0, 1)]
    assert any(s["unit"] == federation.hq and s["in_effect"] for s in listed)
    bad = body | {"rules": [{"code": "x", "event": "shift_worked",
                             "when": [{"field": "salary", "op": ">=", "value": 1}],
                             "actions": [{"do": "offer_service", "service": "health-check"}]}]}
    r = await client.post("/v1/admin/services/triggers/rules", json=bad, headers=bearer(admin))
    assert r.status_code == 422 and r.json()["code"] == "trigger_rules_invalid", r.text
    past = body | {"effective_from": "2020-01-01"}
    r = await client.post("/v1/admin/services/triggers/rules", json=past, headers=bearer(admin))
    assert r.status_code == 422 and r.json()["code"] == "trigger_effective_past"
    station = await staff_token(federation, "station_officer", federation.stations[r0][0])
    r = await client.post("/v1/admin/services/triggers/rules", json=body,
                          headers=bearer(station))
    assert r.status_code == 403, r.text


async def test_the_demo_file_applies_idempotently(owner, federation: Federation) -> None:
    spec = trigger_files.load(DEMO_TRIGGERS)
    assert {s.unit for s in spec.rule_sets} == {"hq", "sh-xuhui"}
    hq_only = trigger_files.TriggersFile([s for s in spec.rule_sets if s.unit == "hq"])
    notes: list[str] = []
    for _ in range(2):
        async with owner() as s, s.begin():
            await trigger_files.plan(s, hq_only, federation.ids[federation.hq], True,
                                     lambda a, _k, c, _f: notes.append(f"{a}:{c}"))
    assert notes == ["create:hq@1", "unchanged:hq@1"]


async def test_two_runs_of_the_same_job_at_once_make_one_action(
        client, owner, sms, federation: Federation, staff_token, app_sessions, settings,
        clock) -> None:
    """A job picked up twice (a worker thought dead and its retry) races on the unique
    constraint: one action, one inbox row."""
    await load(owner, federation, hq_set())
    joined, rider = await member(client, sms, federation, staff_token)
    alpha = await partner_client(client, owner, federation, "alpha")
    await push(client, alpha.token, shift(rider, "race-1", night_hours=7))
    async with owner() as s, s.begin():
        rows = (await s.execute(text(
            "DELETE FROM jobs.pgqueuer WHERE entrypoint = 'service-triggers'"
            " AND convert_from(payload, 'UTF8')::jsonb->>'federation_id' = :f"
            " RETURNING payload"), {"f": str(federation.ids[federation.hq])})).all()
    assert len(rows) == 1
    await asyncio.gather(*(jobs.run("service-triggers", rows[0][0], sessions=app_sessions,
                                    settings=settings, clock=clock) for _ in range(2)))
    assert len(await inbox(client, joined.token, "service_offer")) == 1
    assert await count(owner, "SELECT count(*) FROM trigger_actions WHERE member_id = :m",
                       m=joined.member_id) == 1
