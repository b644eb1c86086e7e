"""调解与法律援助衔接: a region keeps its providers (a sibling region may not), the nearest ones
to a GCJ-02 point on the demo's real areas, a case referred by booking a slot (once, even
two at once) or by a hand-over, cancelled, and seen by the worker with where to go — against
the real app and database, every answer held to the OpenAPI document."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from flexunion.core.clock import BEIJING
from flexunion.provisioning.service import (
    FederationFileError,
    apply_directory,
    plan_directory,
)
from tests.cases.test_intake_paths import XIHU, XUHUI_EAST, gcj02, undocumented
from tests.cases.test_intake_paths import demo as demo_federation
from tests.support.factories import Federation, bearer, join, worker_login

ME, STAFF, PROVIDERS = "/v1/me/cases", "/v1/cases", "/v1/cases/referral-providers"
HOURS = {d: [["09:00", "12:00"], ["13:00", "17:00"]] for d in ("mon", "tue", "wed", "thu",
                                                               "fri")}
demo = demo_federation


def provider(code: str, serves: list[str], *, lon: float, lat: float, crs: str = "wgs84",
             **over: Any) -> dict[str, Any]:
    return {"code": code, "kind": "legal_aid", "name_zh": "法律援助工作站",
            "name_en": "Legal aid station", "address": "某路 1 号",
            "location": {"lon": lon, "lat": lat, "crs": crs}, "serves": serves,
            "opening_hours": HOURS, "phone": "021-12348", "slot_minutes": 30} | over


def next_weekday_at(now: datetime, hh: int, mm: int) -> datetime:
    day = (now.astimezone(BEIJING) + timedelta(days=2)).date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=BEIJING)


class Calls:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client, self.answers = client, []  # type: ignore[var-annotated]

    async def __call__(self, method: str, path: str, token: str, **kw: Any) -> httpx.Response:
        r = await self.client.request(method.upper(), path, headers=bearer(token), **kw)
        self.answers.append((method, path.split("?")[0], r))
        return r


async def test_regions_keep_their_providers_and_workers_find_the_nearest(
        client, sms, demo: Federation, staff_token):
    document = (await client.get("/schema/openapi.json")).json()
    call = Calls(client)
    xuhui, xihu = demo.regions
    hq = await staff_token(demo, "hq_admin", demo.hq)
    sh = await staff_token(demo, "regional_admin", xuhui)
    hz = await staff_token(demo, "regional_admin", xihu)
    officer = await staff_token(demo, "station_officer", demo.stations[xuhui][0])
    sh_code, hz_code = f"{xuhui}-aid", f"{xihu}-med"
    # a regional admin adds its own region's provider, located by GCJ-02 (Amap) numbers
    glon, glat = gcj02(*XUHUI_EAST)
    made = await call("post", PROVIDERS, sh, json=provider(
        sh_code, [xuhui], lon=glon, lat=glat, crs="gcj02"))
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["region"] == xuhui and body["serves"] == [xuhui]
    assert abs(body["location"]["lon"] - XUHUI_EAST[0]) < 1e-6  # stored and shown in WGS-84
    assert abs(body["location"]["lat"] - XUHUI_EAST[1]) < 1e-6
    # ...but not for a sibling region, nor serving a tenant outside its own region
    for data, code in ((provider("x1", [xihu], lon=120.1, lat=30.2, region=xihu),
                        "provider_outside_subtree"),
                       (provider("x2", [xihu], lon=121.4, lat=31.2), "served_tenant_unknown"),
                       (provider("x3", [xuhui], lon=121.4, lat=31.2,
                                 opening_hours={"mon": [["18:00", "09:00x"]]}),
                        "opening_hours_invalid"),
                       (provider(sh_code, [xuhui], lon=121.4, lat=31.2), "provider_code_taken")):
        r = await call("post", PROVIDERS, sh, json=data)
        assert r.json()["code"] == code, (code, r.text)
    denied = await call("post", PROVIDERS, officer, json=provider("x4", [xuhui], lon=1, lat=1))
    assert denied.status_code == 403 and denied.json()["code"] == "providers_admin_only"
    # HQ adds one for the other region; the sibling may not change the Shanghai one
    other = await call("post", PROVIDERS, hq, json=provider(
        hz_code, [xihu], lon=XIHU[0], lat=XIHU[1], region=xihu, kind="mediation",
        slot_minutes=None))
    assert other.status_code == 201, other.text
    refused = await call("patch", f"{PROVIDERS}/{sh_code}", hz, json={"phone": "110"})
    assert refused.status_code == 403 and refused.json()["code"] == "provider_outside_subtree"
    changed = await call("patch", f"{PROVIDERS}/{sh_code}", sh, json={"phone": "021-1"})
    assert changed.status_code == 200 and changed.json()["phone"] == "021-1"
    missing = await call("patch", f"{PROVIDERS}/nope", sh, json={"phone": "021-1"})
    assert missing.status_code == 404
    # the demo's shipped providers (tenants/demo/referral-providers.yaml) are there too
    shipped = {f"{xuhui}-legal-aid", f"{xuhui}-mediation", f"{xihu}-legal-aid"}
    listed = await call("get", f"{PROVIDERS}?region={xihu}", sh)
    assert [p["code"] for p in listed.json()] == [f"{xihu}-legal-aid", hz_code]
    # the worker, at a GCJ-02 point in 徐汇: the provider standing there first, serving here
    worker, _ = await worker_login(client, sms, demo.hq)
    near = await call("get", f"/v1/me/referrals/nearest?lon={glon}&lat={glat}&crs=gcj02"
                             "&limit=10", worker)
    assert near.status_code == 200, near.text
    found = near.json()
    assert found["jurisdiction"] is not None
    codes = [p["provider"]["code"] for p in found["providers"]]
    assert set(codes) == shipped | {sh_code, hz_code} and codes[0] == sh_code
    first = found["providers"][0]
    assert first["distance_m"] < 1.0 and first["serves_here"] is True
    metres = [p["distance_m"] for p in found["providers"]]
    assert metres == sorted(metres)
    for p in found["providers"]:
        in_xihu = p["provider"]["region"] == xihu
        assert p["serves_here"] is not in_xihu, p
        assert (p["distance_m"] > 100_000) is in_xihu  # Shanghai to Hangzhou
    # the map point comes back in the system asked for
    assert abs(first["provider"]["location"]["lon"] - glon) < 1e-6
    only = await call("get", f"/v1/me/referrals/nearest?lon={glon}&lat={glat}&crs=gcj02"
                             "&kind=mediation", worker)
    assert [p["provider"]["code"] for p in only.json()["providers"]] == [
        f"{xuhui}-mediation", hz_code]
    one = await call("get", f"/v1/me/referrals/nearest?lon={glon}&lat={glat}&crs=gcj02"
                            "&limit=1", worker)
    assert [p["provider"]["code"] for p in one.json()["providers"]] == [sh_code]
    absurd = await call("get", "/v1/me/referrals/nearest?lon=500&lat=1", worker)
    assert absurd.status_code == 422 and absurd.json()["code"] == "coordinate_out_of_range"
    assert undocumented(document, call.answers) == []


async def test_a_case_is_referred_once_per_slot_and_the_worker_sees_where_to_go(
        client, sms, owner, clock, federation: Federation, staff_token):
    document = (await client.get("/schema/openapi.json")).json()
    call = Calls(client)
    r1, r2 = federation.regions
    hq = await staff_token(federation, "hq_admin", federation.hq)
    region = await staff_token(federation, "regional_admin", r1)
    sibling = await staff_token(federation, "regional_admin", r2)
    member = await join(client, sms, federation, federation.stations[r1][0], approver_token=hq)
    made = await call("post", STAFF, region, json={
        "channel": "visit", "category": "wage_arrears", "description": "三个月工资未结。",
        "member_no": member.body["member_no"]})
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    aid, far = f"{r1}-aid", f"{r2}-aid"
    for token, data in ((region, provider(aid, [r1], lon=121.47, lat=31.19)),
                        (hq, provider(far, [r2], lon=120.1, lat=30.2, region=r2)),
                        (region, provider(f"{r1}-hand", [r1], lon=121.4, lat=31.2,
                                          slot_minutes=None, kind="mediation"))):
        assert (await call("post", PROVIDERS, token, json=data)).status_code == 201
    start = next_weekday_at(clock.now(), 9, 30)
    path = f"{STAFF}/{cid}/referrals"
    for data, status, code in (
            ({"provider": aid}, 422, "referral_mode_required"),
            ({"provider": "nope", "booking": {"start": start.isoformat()}}, 422,
             "unknown_provider"),
            ({"provider": far, "booking": {"start": start.isoformat()}}, 422,
             "provider_not_serving"),
            ({"provider": aid, "booking": {"start": (start + timedelta(minutes=10))
                                           .isoformat()}}, 422, "slot_outside_hours"),
            ({"provider": aid, "booking": {"start": start.replace(hour=12).isoformat()}}, 422,
             "slot_outside_hours"),
            ({"provider": aid, "booking": {"start": (clock.now() - timedelta(days=1))
                                           .isoformat()}}, 422, "slot_in_past"),
            ({"provider": f"{r1}-hand", "booking": {"start": start.isoformat()}}, 409,
             "provider_takes_no_bookings")):
        r = await call("post", path, region, json=data)
        assert (r.status_code, r.json()["code"]) == (status, code), (code, r.text)
    # another region's staff: the case does not exist for them
    assert (await call("post", path, sibling, json={
        "provider": aid, "booking": {"start": start.isoformat()}})).status_code == 404
    # one booking of a slot; a second is refused
    booked = await call("post", path, region, json={
        "provider": aid, "booking": {"start": start.isoformat()}, "note": "带工资条"})
    assert booked.status_code == 201, booked.text
    b = booked.json()
    assert b["status"]["code"] == "booked" and b["mode"]["code"] == "booking"
    assert datetime.fromisoformat(b["slot_end"]) - datetime.fromisoformat(b["slot_start"]) \
        == timedelta(minutes=30)
    again = await call("post", path, region, json={
        "provider": aid, "booking": {"start": start.isoformat()}})
    assert again.status_code == 409 and again.json()["code"] == "slot_taken"
    # two at once for the next slot (two cases): exactly one wins
    made2 = await call("post", STAFF, region, json={
        "channel": "visit", "category": "social_insurance", "description": "社保未缴。",
        "member_no": member.body["member_no"]})
    cid2 = made2.json()["id"]
    nxt = (start + timedelta(minutes=30)).isoformat()
    both = await asyncio.gather(*(call("post", f"{STAFF}/{c}/referrals", region, json={
        "provider": aid, "booking": {"start": nxt}}) for c in (cid, cid2)))
    assert sorted(r.status_code for r in both) == [201, 409], [r.text for r in both]
    assert [r.json()["code"] for r in both if r.status_code == 409] == ["slot_taken"]
    # a hand-over: what was sent, to whom, when
    handed = await call("post", path, region, json={
        "provider": f"{r1}-hand", "handover": {
            "sent_what": "诉求登记表、工资条复印件", "sent_to": "调解员王某",
            "sent_at": clock.now().isoformat()}})
    assert handed.status_code == 201 and handed.json()["status"]["code"] == "handed_over"
    future = await call("post", path, region, json={
        "provider": f"{r1}-hand", "handover": {"sent_what": "材料", "sent_to": "王某",
                                                "sent_at": (clock.now() + timedelta(days=1))
                                                .isoformat()}})
    assert future.json()["code"] == "handover_time_invalid"
    # the worker sees where to go; another worker does not see the case at all
    mine = await call("get", f"{ME}/{cid}/referrals?crs=gcj02", member.token)
    assert mine.status_code == 200, mine.text
    went = {r["provider"]["code"]: r for r in mine.json()}
    assert went[aid]["provider"]["address"] and went[aid]["provider"]["opening_hours"]["mon"]
    assert went[aid]["provider"]["location"]["crs"] == "gcj02"
    assert went[aid]["slot_start"] is not None
    assert went[f"{r1}-hand"]["sent_to"] == "调解员王某"
    stranger = await join(client, sms, federation, federation.stations[r1][0])
    assert (await call("get", f"{ME}/{cid}/referrals", stranger.token)).status_code == 404
    # cancelling frees the slot for another booking, once
    cancel = f"{path}/{b['id']}/cancel"
    done = await call("post", cancel, region, json={"reason": "工人改期"})
    assert done.status_code == 200 and done.json()["status"]["code"] == "cancelled"
    twice = await call("post", cancel, region, json={"reason": "再取消"})
    assert twice.status_code == 409 and twice.json()["code"] == "referral_cancelled"
    rebooked = await call("post", f"{STAFF}/{cid2}/referrals", region, json={
        "provider": aid, "booking": {"start": start.isoformat()}})
    assert rebooked.status_code == 201, rebooked.text
    listed = await call("get", path, hq)
    # the cancelled booking and the hand-over, and the race's slot if this case won it
    assert len(listed.json()) == 2 + (both[0].status_code == 201)
    # audited, and the partial unique index is what holds the slot
    async with owner() as s:
        kinds = (await s.execute(text(
            "SELECT action FROM audit_events WHERE object_id = :c"),
            {"c": cid})).scalars().all()
    assert {"case.referral.booking", "case.referral.handover",
            "case.referral.cancelled"} <= set(kinds)
    with pytest.raises(Exception, match="uq_case_referrals_slot"):
        async with owner() as s, s.begin():
            await s.execute(text(
                "INSERT INTO case_referrals (id, federation_id, tenant_id, case_id,"
                " provider_id, mode, status, slot_start, slot_end, created_by, created_at)"
                " SELECT gen_random_uuid(), federation_id, tenant_id, case_id, provider_id,"
                " mode, status, slot_start, slot_end, 'test', now() FROM case_referrals"
                " WHERE id = :r"), {"r": rebooked.json()["id"]})
    assert undocumented(document, call.answers) == []


async def test_the_demo_providers_file_applies_once_and_bad_files_are_named(
        owner, demo: Federation, tmp_path: Path) -> None:
    folder = tmp_path / demo.hq.split("-")[0]
    async with owner() as s, s.begin():
        again = await plan_directory(s, folder)
    providers = [c for c in again.changes if c.kind == "referral_provider"]
    assert len(providers) == 3 and {c.action for c in providers} == {"unchanged"}
    file = folder / "referral-providers.yaml"
    file.write_text(file.read_text().replace('phone: "021-5555-0349"', 'phone: "021-1"'))
    async with owner() as s, s.begin():
        changed = await apply_directory(s, folder)
    assert [(c.action, c.fields["phone"][1]) for c in changed.changes
            if c.kind == "referral_provider" and c.action == "update"] == [("update", "021-1")]
    file.write_text(file.read_text().replace('["09:00", "17:00"]', '["17:00", "09:00x"]'))
    async with owner() as s:
        with pytest.raises(FederationFileError, match=r"referral-providers.yaml: \$.providers"):
            await plan_directory(s, folder)
