"""分层分类: group membership follows the data — a shift with night hours adds
night-heat-outdoor, time passing removes new-registration, a transfer adds cross-city, the
resident ID gives women and older; hardship is marked by the ledger and read only by the home
region; the worker sees the services offered, never the group; the rules file applies
idempotently. Real app, real database under RLS, the real job."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, date, datetime, timedelta

from stdnum.cn import ric

from flexunion.db.engine import bind_scope
from flexunion.db.scope import DbScope
from flexunion.services.groups import files as group_files
from flexunion.services.groups import service as groups
from flexunion.services.groups.rules import retirement_month
from tests.services.conftest import (
    DEMO_GROUPS,
    drain,
    drift,
    load_groups,
    load_services,
    member,
    open_groups,
    push,
)
from tests.services.test_platform_events import shift
from tests.support.bargaining import partner_client
from tests.support.factories import Federation, bearer
from tests.support.geo import seed_area, square

OFFERED = "/v1/me/services/offered"
LIST = "/v1/admin/services/groups"


def resident_id(born: date, female: bool) -> str:
    seq = f"{secrets.randbelow(50) * 2 + (0 if female else 1):03d}"[-3:]
    body = f"310104{born:%Y%m%d}{seq}"
    return body + ric.calc_check_digit(body + "0")


async def test_a_night_shift_event_adds_night_heat_outdoor_and_the_offer_not_the_label(
        client, owner, sms, settings, clock, app_sessions, federation: Federation,
        staff_token) -> None:
    await load_groups(owner, federation)
    await load_services(owner, federation)  # the catalogue names what is offered
    joined, rider = await member(client, sms, federation, staff_token,
                                 id_number=resident_id(date(1995, 5, 1), female=False))
    await drain(owner, app_sessions, settings, clock, federation)  # the approval's job
    assert "night-heat-outdoor" not in await open_groups(owner, joined.member_id)
    alpha = await partner_client(client, owner, federation, "alpha")
    for day in range(3):  # 3 nights of 8 night hours: 24 ≥ 20
        r = await push(client, alpha.token, shift(
            rider, hours=10, night_hours=8,
            day=(datetime.now(UTC).date() - timedelta(days=day)).isoformat()))
        assert r.status_code == 201, r.text
    assert await drain(owner, app_sessions, settings, clock, federation) == 3
    opened = await open_groups(owner, joined.member_id)
    assert opened["night-heat-outdoor"]["night_hours"] == 24.0
    assert opened["night-heat-outdoor"]["window_days"] == 30
    mine = await client.get(OFFERED, headers=bearer(joined.token))
    assert mine.status_code == 200, mine.text
    codes = [s["code"] for s in mine.json()["services"]]
    assert {"health-check", "summer-cool"} <= set(codes)
    assert "night-heat-outdoor" not in mine.text and "夜间" not in mine.text
    home = await staff_token(federation, "regional_admin", federation.regions[0])
    listed = (await client.get(f"{LIST}/night-heat-outdoor/members",
                               params={"place": federation.regions[0], "zone": "z-1"},
                               headers=bearer(home))).json()
    assert [m["member_id"] for m in listed["members"]] == [joined.member_id]
    assert listed["members"][0]["name_masked"].endswith("*")
    csv = await client.get(f"{LIST}/night-heat-outdoor/members.csv", headers=bearer(home))
    assert csv.status_code == 200 and csv.content.startswith("\ufeff".encode())
    assert "张三丰" not in csv.text and joined.body["member_no"] in csv.text
    elsewhere = (await client.get(f"{LIST}/night-heat-outdoor/members",
                                  params={"zone": "z-9"}, headers=bearer(home))).json()
    assert elsewhere["members"] == []


async def test_time_passing_removes_new_registration(
        client, owner, sms, settings, clock, app_sessions, federation: Federation,
        staff_token) -> None:
    await load_groups(owner, federation)
    joined, rider = await member(client, sms, federation, staff_token)
    await drain(owner, app_sessions, settings, clock, federation)
    why = (await open_groups(owner, joined.member_id))["new-registration"]
    assert why["source"] == "member_since" and why["weeks"] == 8
    clock.advance(weeks=7)
    await drift(app_sessions, settings, clock, federation)
    assert "new-registration" in await open_groups(owner, joined.member_id)
    clock.advance(weeks=2)
    await drift(app_sessions, settings, clock, federation)
    assert "new-registration" not in await open_groups(owner, joined.member_id)
    # a platform registration event (today, the clock's) starts the weeks again; the
    # partner's token is issued and checked in real time
    later, offset = clock.now(), clock.offset
    clock.offset = timedelta()
    alpha = await partner_client(client, owner, federation, "alpha")
    r = await push(client, alpha.token, {"kind": "worker_registered", "event_id": "reg-9",
                                         "rider_id": rider, "occurred_at": later.isoformat()})
    assert r.status_code == 201, r.text
    clock.offset = offset
    await drain(owner, app_sessions, settings, clock, federation)
    assert (await open_groups(owner, joined.member_id))["new-registration"]["source"] \
        == "platform"


async def test_a_transfer_adds_cross_city(
        client, owner, sms, settings, clock, app_sessions, federation: Federation,
        staff_token) -> None:
    await load_groups(owner, federation)
    joined, _ = await member(client, sms, federation, staff_token, region=0)
    await drain(owner, app_sessions, settings, clock, federation)
    assert "cross-city" not in await open_groups(owner, joined.member_id)
    hq = await staff_token(federation, "hq_admin", federation.hq)
    moved = await client.post("/v1/me/transfers", json={"to": federation.regions[1]},
                              headers=bearer(joined.token) | {"Idempotency-Key": "mv-1"})
    assert moved.status_code == 201, moved.text
    for step in ("release", "accept"):
        r = await client.post(f"/v1/admin/transfers/{moved.json()['id']}/{step}",
                              headers=bearer(hq))
        assert r.status_code == 200, r.text
    assert await drain(owner, app_sessions, settings, clock, federation) == 1
    why = (await open_groups(owner, joined.member_id))["cross-city"]
    assert len(why["transfers"]) == 1
    new_home = await staff_token(federation, "regional_admin", federation.regions[1])
    listed = (await client.get(f"{LIST}/cross-city/members", headers=bearer(new_home))).json()
    assert [m["member_id"] for m in listed["members"]] == [joined.member_id]


async def test_women_and_older_come_from_the_resident_id(
        client, owner, sms, settings, clock, app_sessions, federation: Federation,
        staff_token) -> None:
    await load_groups(owner, federation)
    older_woman, _ = await member(client, sms, federation, staff_token,
                                  id_number=resident_id(date(1974, 3, 9), female=True))
    young_man, _ = await member(client, sms, federation, staff_token,
                                id_number=resident_id(date(1998, 3, 9), female=False))
    await drain(owner, app_sessions, settings, clock, federation)
    hers = await open_groups(owner, older_woman.member_id)
    assert hers["women"] == {"sex": "F", "rule_revision": 1}
    assert hers["older"]["retirement_month"] == "2024-03"  # born before 1975: 50
    assert {"women", "older"}.isdisjoint(await open_groups(owner, young_man.member_id))


def test_the_retirement_ages_follow_the_2025_reform() -> None:
    assert retirement_month("M", date(1964, 12, 1)) == date(2024, 12, 1)  # 60
    assert retirement_month("M", date(1965, 1, 1)) == date(2025, 2, 1)  # 60 + 1 month
    assert retirement_month("M", date(1980, 1, 1)) == date(2043, 1, 1)  # 63
    assert retirement_month("F", date(1975, 1, 1)) == date(2025, 2, 1)  # 50 + 1 month
    assert retirement_month("F", date(1990, 6, 1)) == date(2045, 6, 1)  # 55


async def test_hardship_is_marked_by_the_ledger_and_read_only_by_the_home_region(
        client, owner, sms, settings, clock, app_sessions, federation: Federation,
        staff_token) -> None:
    await load_groups(owner, federation)
    await load_services(owner, federation)
    at = federation.stations[federation.regions[0]][0]
    joined, _ = await member(client, sms, federation, staff_token, region=0, at=at)
    region = federation.ids[federation.regions[0]]
    until = datetime.now(UTC) + timedelta(days=90)
    async with app_sessions() as s:
        bind_scope(s, lambda: DbScope(region, "regional_admin:ledger"))
        async with s.begin():
            row = await groups.mark_hardship(s, uuid.UUID(joined.member_id),
                                             source="assistance:case-1", until=until)
            again = await groups.mark_hardship(s, uuid.UUID(joined.member_id),
                                               source="assistance:case-2", until=until)
    assert again.id == row.id and again.why == {"sources": ["assistance:case-1",
                                                            "assistance:case-2"]}
    home = await staff_token(federation, "regional_admin", federation.regions[0])
    station = await staff_token(federation, "station_officer", at)
    hq = await staff_token(federation, "hq_admin", federation.hq)
    other = await staff_token(federation, "regional_admin", federation.regions[1])
    for token, expected in ((home, [joined.member_id]), (station, [joined.member_id]),
                            (hq, []), (other, [])):
        listed = (await client.get(f"{LIST}/hardship/members", headers=bearer(token))).json()
        assert [m["member_id"] for m in listed["members"]] == expected
    alpha = await partner_client(client, owner, federation, "alpha")
    assert (await client.get(f"{LIST}/hardship/members",
                             headers=bearer(alpha.token))).status_code in (401, 403)
    mine = await client.get(OFFERED, headers=bearer(joined.token))
    assert "winter-warm" in [s["code"] for s in mine.json()["services"]]
    assert "困难" not in mine.text and "group" not in mine.text
    # the drift run keeps the mark until it expires, then closes it
    await drift(app_sessions, settings, clock, federation)
    assert "hardship" in await open_groups(owner, joined.member_id)
    clock.advance(days=91)
    await drift(app_sessions, settings, clock, federation)
    assert "hardship" not in await open_groups(owner, joined.member_id)


async def test_the_rules_file_applies_idempotently_and_is_checked(
        owner, federation: Federation, tmp_path) -> None:
    first = await load_groups(owner, federation)
    assert sorted(first) == sorted(f"create:{c}" for c in (
        "new-registration", "night-heat-outdoor", "women", "cross-city", "hardship", "older"))
    assert all(n.startswith("unchanged:") for n in await load_groups(owner, federation))
    changed = tmp_path / group_files.FILE_NAME
    changed.write_text(DEMO_GROUPS.read_text(encoding="utf-8").replace(
        "{weeks: 8}", "{weeks: 6}"), encoding="utf-8")
    assert "update:new-registration" in await load_groups(owner, federation, changed)
    bad = tmp_path / "bad" / group_files.FILE_NAME
    bad.parent.mkdir()
    bad.write_text("groups:\n  - {code: older, parameters: {years_before_retirement: 99},"
                   " offers: []}\n", encoding="utf-8")
    try:
        group_files.load(bad)
    except group_files.GroupsFileError as exc:
        assert "years_before_retirement" in str(exc)
    else:
        raise AssertionError("a bad parameter must be refused")


async def test_shifts_in_zones_of_two_regions_add_cross_city(
        client, owner, sms, settings, clock, app_sessions, federation: Federation,
        staff_token) -> None:
    await load_groups(owner, federation)
    r1, r2 = federation.regions
    await seed_area(owner, federation, r1, "delivery_zone", "zone-a",
                    square(121.40, 31.10, 121.45, 31.15), partner="alpha")
    await seed_area(owner, federation, r2, "delivery_zone", "zone-b",
                    square(120.10, 30.20, 120.15, 30.25), partner="alpha")
    joined, rider = await member(client, sms, federation, staff_token, region=0)
    alpha = await partner_client(client, owner, federation, "alpha")
    assert (await push(client, alpha.token, shift(rider, zone_code="zone-a"))).status_code == 201
    await drain(owner, app_sessions, settings, clock, federation)
    assert "cross-city" not in await open_groups(owner, joined.member_id)
    assert (await push(client, alpha.token, shift(rider, zone_code="zone-b"))).status_code == 201
    await drain(owner, app_sessions, settings, clock, federation)
    assert (await open_groups(owner, joined.member_id))["cross-city"]["regions"] == [r1, r2]


async def test_the_list_pages_by_cursor_and_the_csv_holds_every_page(
        client, owner, sms, app_sessions, federation: Federation, staff_token) -> None:
    await load_groups(owner, federation)
    region = federation.ids[federation.regions[0]]
    joined = [(await member(client, sms, federation, staff_token, region=0))[0]
              for _ in range(3)]
    until = datetime.now(UTC) + timedelta(days=30)
    async with app_sessions() as s:
        bind_scope(s, lambda: DbScope(region, "regional_admin:ledger"))
        async with s.begin():
            for j in joined:
                await groups.mark_hardship(s, uuid.UUID(j.member_id), source="assistance:x",
                                           until=until)
    home = await staff_token(federation, "regional_admin", federation.regions[0])
    first = (await client.get(f"{LIST}/hardship/members", params={"limit": 2},
                              headers=bearer(home))).json()
    assert len(first["members"]) == 2 and first["next_cursor"]
    second = (await client.get(f"{LIST}/hardship/members",
                               params={"limit": 2, "cursor": first["next_cursor"]},
                               headers=bearer(home))).json()
    assert len(second["members"]) == 1 and second["next_cursor"] is None
    seen = [m["member_id"] for m in first["members"] + second["members"]]
    assert sorted(seen) == sorted(j.member_id for j in joined)
    r = await client.get(f"{LIST}/hardship/members", params={"cursor": "not-ours"},
                         headers=bearer(home))
    assert r.status_code == 422 and r.json()["code"] == "cursor_invalid"
    csv = await client.get(f"{LIST}/hardship/members.csv", headers=bearer(home))
    assert all(j.body["member_no"] in csv.text for j in joined)
