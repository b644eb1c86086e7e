"""驿站 admin API: create, read, change, list, deactivate; who may touch which station;
every bad input refused with a stable code and nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from flexunion.geo.stations.hours import DAYS
from tests.support.factories import Federation, bearer, worker_login
from tests.support.geo import seed_point

BASE = "/v1/admin/geo/stations"
ALL_DAY = {d: [["00:00", "24:00"]] for d in DAYS}


def station(code: str, lon: float = 121.45, lat: float = 31.20, **over: Any) -> dict[str, Any]:
    return {"code": code, "name_zh": "徐汇骑手驿站", "name_en": "Xuhui rider station",
            "address": "上海市徐汇区漕溪北路 1 号", "location": {"lon": lon, "lat": lat},
            "amenities": ["drinking_water", "charging"], "opening_hours": ALL_DAY,
            "shift_changes": ["06:00", "14:00", "22:00"]} | over


async def test_create_read_change_and_list(client, federation: Federation, staff_token,
                                           owner) -> None:
    r1 = federation.regions[0]
    admin = await staff_token(federation, "regional_admin", r1)
    body = station("xh-1", amenities=["toilet", "drinking_water", "toilet", "counselling"],
                   opening_hours={"mon": [["13:00", "18:00"], ["07:00", "12:00"]],
                                  "sat": [["22:00", "02:00"]]},
                   shift_changes=["22:00", "06:00", "14:00"], phone="021-6400 1234")
    made = await client.post(BASE, json=body, headers=bearer(admin))
    assert made.status_code == 201, made.text
    got = made.json()
    assert got["tenant"] == r1 and got["active"] is True
    assert [a["code"] for a in got["amenities"]] == ["drinking_water", "toilet", "counselling"]
    assert got["amenities"][0] == {"code": "drinking_water", "name_zh": "饮水",
                                   "name_en": "Drinking water"}
    assert got["opening_hours"]["mon"] == [["07:00", "12:00"], ["13:00", "18:00"]]
    assert got["opening_hours"]["sat"] == [["22:00", "24:00"]]
    assert got["opening_hours"]["sun"] == [["00:00", "02:00"]]
    assert got["shift_changes"] == ["06:00", "14:00", "22:00"]
    assert got["slots"][2] == {"shift_no": 2, "starts": "22:00", "ends": "06:00"}
    assert got["phone"] == "+862164001234"
    assert got["location"] == {"lon": 121.45, "lat": 31.2, "crs": "wgs84"}
    assert (await client.get(f"{BASE}/xh-1", headers=bearer(admin))).json() == got

    changed = await client.patch(f"{BASE}/xh-1", headers=bearer(admin),
                                 json={"name_zh": "徐汇驿站", "amenities": ["rest"], "phone": None})
    assert changed.status_code == 200, changed.text
    after = changed.json()
    assert after["name_zh"] == "徐汇驿站" and after["phone"] is None
    assert [a["code"] for a in after["amenities"]] == ["rest"]
    assert after["name_en"] == got["name_en"] and after["opening_hours"] == got["opening_hours"]
    assert after["updated_at"] >= got["updated_at"]
    assert (await client.patch(f"{BASE}/xh-1", json={}, headers=bearer(admin))).status_code == 200

    for code in ("xh-2", "xh-3"):
        assert (await client.post(BASE, json=station(code), headers=bearer(admin))).status_code \
            == 201
    first = (await client.get(BASE, params={"limit": 2}, headers=bearer(admin))).json()
    assert [s["code"] for s in first["items"]] == ["xh-1", "xh-2"]
    rest = (await client.get(BASE, params={"limit": 2, "cursor": first["next_cursor"]},
                             headers=bearer(admin))).json()
    assert [s["code"] for s in rest["items"]] == ["xh-3"] and rest["next_cursor"] is None
    bad = await client.get(BASE, params={"cursor": "nonsense!"}, headers=bearer(admin))
    assert bad.status_code == 422 and bad.json()["code"] == "cursor_invalid"
    async with owner() as s:
        actions = (await s.execute(text(
            "SELECT action FROM audit_events WHERE object_type = 'station' AND object_id = 'xh-1'"
            " ORDER BY seq"))).scalars().all()
    assert actions == ["station.created", "station.updated"]


async def test_subtree_owns_stations_and_others_get_404(
    client, federation: Federation, other_federation: Federation, staff_token, owner,
) -> None:
    r1, r2 = federation.regions
    s1, s2 = federation.stations[r1]
    hq = await staff_token(federation, "hq_admin", federation.hq)
    made = await client.post(BASE, json=station("rest-a", tenant=s1), headers=bearer(hq))
    assert made.status_code == 201, made.text
    assert made.json()["tenant"] == s1
    await seed_point(owner, federation, r1, "rest-r1", 121.46, 31.21)

    officer = await staff_token(federation, "station_officer", s1)
    neighbour = await staff_token(federation, "station_officer", s2)
    region1 = await staff_token(federation, "regional_admin", r1)
    region2 = await staff_token(federation, "regional_admin", r2)
    stranger = await staff_token(other_federation, "hq_admin", other_federation.hq)
    for token, status in ((officer, 200), (region1, 200), (hq, 200), (neighbour, 404),
                          (region2, 404), (stranger, 404)):
        got = await client.get(f"{BASE}/rest-a", headers=bearer(token))
        assert got.status_code == status, (token, got.text)
        if status == 404:
            assert got.json()["code"] == "station_not_found"
            for call in (client.patch(f"{BASE}/rest-a", json={"name_zh": "x"},
                                      headers=bearer(token)),
                         client.post(f"{BASE}/rest-a/deactivate", headers=bearer(token)),
                         client.put(f"{BASE}/rest-a/roster", headers=bearer(token),
                                    json={"date": "2026-03-07", "duties": []}),
                         client.post(f"{BASE}/rest-a/checks", headers=bearer(token),
                                     json={"restocked": True, "cleaned": True,
                                           "equipment": "ok"})):
                answer = await call
                assert answer.status_code == 404, answer.text
    # The officer keeps its own station's points only, not its region's.
    assert (await client.get(f"{BASE}/rest-r1", headers=bearer(officer))).status_code == 404
    listed = (await client.get(BASE, headers=bearer(officer))).json()["items"]
    assert [s["code"] for s in listed] == ["rest-a"]
    assert (await client.get(BASE, headers=bearer(region2))).json()["items"] == []
    by_tenant = (await client.get(BASE, params={"tenant": r1}, headers=bearer(hq))).json()
    assert sorted(s["code"] for s in by_tenant["items"]) == ["rest-a", "rest-r1"]
    by_station = (await client.get(BASE, params={"tenant": s1}, headers=bearer(hq))).json()
    assert [s["code"] for s in by_station["items"]] == ["rest-a"]
    hidden = await client.get(BASE, params={"tenant": r1}, headers=bearer(region2))
    assert hidden.status_code == 404 and hidden.json()["code"] == "tenant_not_found"
    # Writes land in my subtree only: naming a tenant outside it is refused.
    for token, tenant in ((officer, r1), (region2, s1), (stranger, r1)):
        refused = await client.post(BASE, json=station("rest-x", tenant=tenant),
                                    headers=bearer(token))
        assert refused.status_code == 422 and refused.json()["code"] == "station_tenant_invalid"
    # An officer creates in its own station; the rename lands nowhere else.
    own = await client.post(BASE, json=station("rest-b"), headers=bearer(officer))
    assert own.status_code == 201 and own.json()["tenant"] == s1
    assert (await client.patch(f"{BASE}/rest-r1", json={"name_zh": "x"},
                               headers=bearer(officer))).status_code == 404
    async with owner() as s:
        name = (await s.execute(text("SELECT name_zh FROM service_points WHERE code = 'rest-r1'"
                                     " AND tenant_id = :t"), {"t": federation.ids[r1]})).scalar()
    assert name == "驿站rest-r1"


async def test_workers_and_partners_cannot_use_the_admin_api(client, sms, federation,
                                                             staff_token) -> None:
    token, _ = await worker_login(client, sms, federation.hq)
    refused = await client.post(BASE, json=station("w-1"), headers=bearer(token))
    assert refused.status_code == 401 and refused.json()["code"] == "token_wrong_audience"
    partner = await staff_token(federation, "partner", federation.regions[0])
    refused = await client.get(BASE, headers=bearer(partner))
    assert refused.status_code == 401


BAD_CREATES = [
    ("unknown amenity", {"amenities": ["drinking_water", "sauna"]}, "amenity_unknown"),
    ("hour 25", {"opening_hours": {"mon": [["25:00", "26:00"]]}}, "opening_hours_invalid"),
    ("overlapping", {"opening_hours": {"mon": [["07:00", "12:00"], ["11:00", "14:00"]]}},
     "opening_hours_invalid"),
    ("unknown day", {"opening_hours": {"moon": [["07:00", "12:00"]]}}, "opening_hours_invalid"),
    ("never open", {"opening_hours": {}}, "opening_hours_invalid"),
    ("hours not a list", {"opening_hours": {"mon": "07:00-22:00"}}, "validation_failed"),
    ("no shift changes", {"shift_changes": []}, "shift_changes_invalid"),
    ("shift change twice", {"shift_changes": ["06:00", "06:00"]}, "shift_changes_invalid"),
    ("shift change 24:00", {"shift_changes": ["24:00"]}, "shift_changes_invalid"),
    ("longitude 200", {"location": {"lon": 200.0, "lat": 31.2}}, "coordinate_out_of_range"),
    ("lat/lon swapped", {"location": {"lon": 31.2, "lat": 121.45}}, "coordinate_out_of_range"),
    ("unknown crs", {"location": {"lon": 121.45, "lat": 31.2, "crs": "epsg3857"}},
     "validation_failed"),
    ("location missing lat", {"location": {"lon": 121.45}}, "validation_failed"),
    ("code with capitals", {"code": "Bad Code"}, "validation_failed"),
    ("reserved code", {"code": "nearby"}, "station_code_reserved"),
    ("phone", {"phone": "12"}, "validation_failed"),
    ("phone unreadable", {"phone": "not a phone"}, "phone_invalid"),
    ("phone invalid", {"phone": "021-123"}, "phone_invalid"),
    ("unknown field", {"tenant_id": "00000000-0000-0000-0000-000000000000"},
     "validation_failed"),
    ("empty name", {"name_zh": ""}, "validation_failed"),
]


@pytest.mark.parametrize(("case", "over", "code"), BAD_CREATES, ids=[c[0] for c in BAD_CREATES])
async def test_bad_station_input_is_refused_and_nothing_written(
    client, federation: Federation, staff_token, case: str, over: dict, code: str,
) -> None:
    admin = await staff_token(federation, "regional_admin", federation.regions[0])
    body = station("bad-1") | over
    refused = await client.post(BASE, json=body, headers=bearer(admin))
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == code and refused.headers["content-type"].startswith(
        "application/problem+json")
    assert problem.get("detail"), case
    assert (await client.get(BASE, headers=bearer(admin))).json()["items"] == []
    # The same fields are refused the same way on a change, and the station stays as it was.
    assert (await client.post(BASE, json=station("good-1"), headers=bearer(admin))).status_code \
        == 201
    patch = {k: v for k, v in over.items() if k not in ("code",)}
    if patch and code not in ("station_code_reserved",):
        changed = await client.patch(f"{BASE}/good-1", json=patch, headers=bearer(admin))
        assert changed.status_code == 422 and changed.json()["code"] == code, changed.text
        kept = (await client.get(f"{BASE}/good-1", headers=bearer(admin))).json()
        assert kept["opening_hours"]["mon"] == [["00:00", "24:00"]]
        assert kept["location"]["lon"] == 121.45 and kept["phone"] is None


async def test_codes_are_unique_within_a_federation(
    client, federation: Federation, other_federation: Federation, staff_token,
) -> None:
    r1, r2 = federation.regions
    a1 = await staff_token(federation, "regional_admin", r1)
    a2 = await staff_token(federation, "regional_admin", r2)
    other = await staff_token(other_federation, "hq_admin", other_federation.hq)
    assert (await client.post(BASE, json=station("dup"), headers=bearer(a1))).status_code == 201
    taken = await client.post(BASE, json=station("dup"), headers=bearer(a2))
    assert taken.status_code == 409 and taken.json()["code"] == "station_code_taken"
    assert (await client.post(BASE, json=station("dup"), headers=bearer(other))).status_code \
        == 201


async def test_deactivate_and_reactivate(client, federation: Federation, staff_token,
                                         owner) -> None:
    admin = await staff_token(federation, "regional_admin", federation.regions[0])
    await client.post(BASE, json=station("off-1"), headers=bearer(admin))
    await client.post(BASE, json=station("on-1"), headers=bearer(admin))
    off = await client.post(f"{BASE}/off-1/deactivate", headers=bearer(admin))
    assert off.status_code == 200 and off.json()["active"] is False
    again = await client.post(f"{BASE}/off-1/deactivate", headers=bearer(admin))
    assert again.status_code == 200 and again.json()["active"] is False
    active = (await client.get(BASE, params={"active": "true"}, headers=bearer(admin))).json()
    assert [s["code"] for s in active["items"]] == ["on-1"]
    inactive = (await client.get(BASE, params={"active": "false"}, headers=bearer(admin))).json()
    assert [s["code"] for s in inactive["items"]] == ["off-1"]
    back = await client.post(f"{BASE}/off-1/reactivate", headers=bearer(admin))
    assert back.json()["active"] is True
    async with owner() as s:
        actions = (await s.execute(text(
            "SELECT action FROM audit_events WHERE object_type = 'station' AND object_id = 'off-1'"
            " AND tenant_id = :t ORDER BY seq"), {"t": federation.ids[federation.regions[0]]})
        ).scalars().all()
    assert actions == ["station.created", "station.deactivated", "station.reactivated"]
