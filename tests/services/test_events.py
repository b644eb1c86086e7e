"""文体活动: an event's places are a cap that holds under concurrent sign-ups; a region adds
its own entry, offered in its subtree only."""

from __future__ import annotations

import asyncio

from tests.services.conftest import load_services
from tests.support.factories import Federation, bearer, join


async def test_sign_up_cap_holds_under_concurrency(client, owner, federation: Federation, sms,
                                                   staff_token) -> None:
    await load_services(owner, federation)
    regional = await staff_token(federation, "regional_admin", federation.regions[0])
    r = await client.post("/v1/admin/services/events/events", headers=bearer(regional),
                          json={"title_zh": "篮球赛", "title_en": "Basketball", "place": "体育馆",
                                "starts_on": "2027-05-01", "places": 3})
    assert r.status_code == 201, r.text
    event_id = r.json()["id"]
    hq = await staff_token(federation, "hq_admin", federation.hq)
    station = federation.stations[federation.regions[0]][0]
    members = [await join(client, sms, federation, station, approver_token=hq)
               for _ in range(6)]

    async def sign_up(i: int) -> int:
        r = await client.post("/v1/me/service-applications",
                              json={"service": "events", "event_id": event_id},
                              headers=bearer(members[i].token) | {"Idempotency-Key": f"ev{i}"})
        return r.status_code

    codes = await asyncio.gather(*(sign_up(i) for i in range(6)))
    assert sorted(codes) == [201, 201, 201, 409, 409, 409]
    left = (await client.get("/v1/me/services/events/events",
                             headers=bearer(members[0].token))).json()
    assert left[0]["taken"] == 3 and left[0]["left"] == 0
    r = await client.post("/v1/me/service-applications", json={"service": "events"},
                          headers=bearer(members[0].token) | {"Idempotency-Key": "no-event"})
    assert r.status_code == 422 and r.json()["code"] == "service_event_required"


async def test_a_region_extends_the_catalogue_for_its_subtree(client, owner, federation, sms,
                                                              staff_token) -> None:
    await load_services(owner, federation)
    regional = await staff_token(federation, "regional_admin", federation.regions[0])
    body = {"code": "rider-lounge", "title_zh": "骑手驿站预约", "title_en": "Rider lounge",
            "reviewing_unit": "station", "time_limit_days": 2,
            "materials": [{"code": "photo", "label_zh": "照片", "label_en": "Photo",
                           "required": False}]}
    r = await client.post("/v1/admin/services", json=body, headers=bearer(regional))
    assert r.status_code == 200, r.text
    assert r.json()["federation_wide"] is False
    r = await client.post("/v1/admin/services", json=body | {"code": "hardship"},
                          headers=bearer(regional))
    assert r.status_code == 403 and r.json()["code"] == "service_entry_not_yours"
    hq = await staff_token(federation, "hq_admin", federation.hq)
    here = await join(client, sms, federation, federation.stations[federation.regions[0]][0],
                      approver_token=hq)
    there = await join(client, sms, federation, federation.stations[federation.regions[1]][0],
                       approver_token=hq)
    seen = [s["code"] for s in (await client.get("/v1/me/services",
                                                 headers=bearer(here.token))).json()]
    assert "rider-lounge" in seen
    seen = [s["code"] for s in (await client.get("/v1/me/services",
                                                 headers=bearer(there.token))).json()]
    assert "rider-lounge" not in seen
    region_b = await staff_token(federation, "regional_admin", federation.regions[1])
    r = await client.get("/v1/admin/services/rider-lounge", headers=bearer(region_b))
    assert r.status_code == 404
