"""Online joining (线上入会): apply, approve or reject, statuses, one person one membership."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import func, select

from flexunion.membership.models import Member
from tests.support.factories import (
    Federation,
    application,
    bearer,
    consent_to_join,
    join,
    random_id_number,
    worker_login,
)


async def test_apply_then_approve_then_card_ready(client, sms, federation: Federation, staff_token,
                                                  owner) -> None:
    region = federation.regions[0]
    station = federation.stations[region][0]
    id_number = random_id_number()
    joined = await join(client, sms, federation, station, id_number=id_number)
    assert joined.body["status"] == "applicant" and joined.body["member_no"] is None
    assert joined.body["home"]["code"] == station
    assert joined.body["id_masked"][4:14] == "*" * 10
    assert joined.body["name_masked"] == "张**"
    officer = await staff_token(federation, "station_officer", station)
    queue = await client.get("/v1/admin/members", params={"status": "applicant"},
                             headers=bearer(officer))
    assert [m["id"] for m in queue.json()["items"]] == [joined.member_id]
    approved = await client.post(f"/v1/admin/members/{joined.member_id}/approve",
                                 headers=bearer(officer))
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "active" and approved.json()["member_no"]
    mine = (await client.get("/v1/me/membership", headers=bearer(joined.token))).json()
    assert mine["status"] == "active" and mine["status_zh"] == "正常"
    assert mine["seniority_days"] == 0 and mine["member_since"]
    again = await client.post(f"/v1/admin/members/{joined.member_id}/approve",
                              headers=bearer(officer))
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    # The raw ID never leaves the database unsealed.
    async with owner() as s:
        member = await s.get(Member, uuid.UUID(joined.member_id))
    assert member and id_number.encode() not in member.id_cipher
    assert id_number not in member.id_hash and id_number[6:14] not in member.id_hash


async def test_one_person_one_membership_without_saying_where(
    client, sms, federation: Federation, staff_token
) -> None:
    number = random_id_number()
    first = await join(client, sms, federation, federation.regions[0], id_number=number)
    assert first.body["status"] == "applicant"
    token, _ = await worker_login(client, sms, federation.hq)
    await consent_to_join(client, token)
    r = await client.post("/v1/me/membership/application",
                          json=application(federation.regions[1], id_number=number.lower()),
                          headers=bearer(token) | {"Idempotency-Key": "dup"})
    assert r.status_code == 409 and r.json()["code"] == "application_not_possible"
    assert federation.regions[0] not in r.text and first.member_id not in r.text
    # The worker who already applied gets told plainly.
    r = await client.post("/v1/me/membership/application", json=application(federation.regions[1]),
                          headers=bearer(first.token) | {"Idempotency-Key": "again"})
    assert r.status_code == 409 and r.json()["code"] == "already_applied"


async def test_rejection_needs_a_reason_and_allows_a_new_application(
    client, sms, federation: Federation, staff_token
) -> None:
    region = federation.regions[0]
    admin = await staff_token(federation, "regional_admin", region)
    joined = await join(client, sms, federation, region)
    r = await client.post(f"/v1/admin/members/{joined.member_id}/reject", json={},
                          headers=bearer(admin))
    assert r.status_code == 422
    r = await client.post(f"/v1/admin/members/{joined.member_id}/reject",
                          json={"reason": "材料不全 documents missing"}, headers=bearer(admin))
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    again = await client.post("/v1/me/membership/application", json=application(region),
                              headers=bearer(joined.token) | {"Idempotency-Key": "retry-after-no"})
    assert again.status_code == 201, again.text


async def test_status_lifecycle(client, sms, federation: Federation, staff_token) -> None:
    region = federation.regions[0]
    admin = await staff_token(federation, "regional_admin", region)
    joined = await join(client, sms, federation, region, approver_token=admin)
    url = f"/v1/admin/members/{joined.member_id}/status"
    for to, ok in (("parked", True), ("suspended", False), ("active", True), ("suspended", True),
                   ("parked", False), ("left", True), ("active", False)):
        r = await client.post(url, json={"to": to, "reason": "测试"}, headers=bearer(admin))
        assert (r.status_code == 200) is ok, (to, r.text)
        if not ok:
            assert r.json()["code"] == "invalid_transition"


async def test_auto_approve_rule_is_inherited_by_stations(client, sms, federation: Federation,
                                                          staff_token) -> None:
    region = federation.regions[1]
    admin = await staff_token(federation, "regional_admin", region)
    r = await client.put(f"/v1/admin/tenants/{region}/join-rule", json={"auto_approve": True},
                         headers=bearer(admin))
    assert r.status_code == 200
    joined = await join(client, sms, federation, federation.stations[region][0])
    assert joined.body["status"] == "active" and joined.body["member_no"]
    other = await join(client, sms, federation, federation.regions[0])
    assert other.body["status"] == "applicant"


async def test_joining_needs_both_consents_in_their_current_versions(
    client, sms, federation: Federation, owner
) -> None:
    """个人信息保护法: the privacy policy, and a separate consent to processing the resident ID
    number (sensitive data), each granted in the version asked for now; nothing is stored
    before they are."""
    required = (await client.get("/v1/consents/required")).json()["join"]
    assert {(c["purpose"], c["version"]) for c in required} == {
        ("privacy_policy", "2026-11"), ("id_number", "2026-11")}
    assert all(c["label_zh"] and c["label_en"] for c in required)

    token, worker = await worker_login(client, sms, federation.hq)
    h = bearer(token)

    async def apply(key: str) -> httpx.Response:
        return await client.post("/v1/me/membership/application",
                                 json=application(federation.regions[0]),
                                 headers=h | {"Idempotency-Key": key})

    async def consent(purpose: str, version: str, granted: bool = True) -> None:
        r = await client.post("/v1/me/consents", headers=h | {"Idempotency-Key": uuid.uuid4().hex},
                              json={"purpose": purpose, "version": version, "granted": granted})
        assert r.status_code == 201, r.text

    r = await apply("none")
    assert r.status_code == 403 and r.json()["code"] == "consent_required", r.text
    assert {c["purpose"] for c in r.json()["required"]} == {"privacy_policy", "id_number"}
    assert r.json()["detail"] and r.json()["detail_en"]
    await consent("privacy_policy", "2026-11")
    r = await apply("policy-only")
    assert r.status_code == 403 and r.json()["required"] == [
        {"purpose": "id_number", "version": "2026-11"}]
    await consent("id_number", "2025-01")  # an older text
    r = await apply("old-version")
    assert r.status_code == 403 and r.json()["required"] == [
        {"purpose": "id_number", "version": "2026-11"}]
    await consent("id_number", "2026-11")
    await consent("privacy_policy", "2026-11", granted=False)  # withdrawn: the latest decides
    r = await apply("withdrawn")
    assert r.status_code == 403 and r.json()["required"] == [
        {"purpose": "privacy_policy", "version": "2026-11"}]
    async with owner() as s:
        assert await s.scalar(select(func.count()).select_from(Member)
                              .where(Member.worker_id == uuid.UUID(worker))) == 0
    await consent("privacy_policy", "2026-11")
    assert (await apply("granted")).status_code == 201


async def test_bad_applications(client, sms, federation: Federation, owner) -> None:
    token, worker = await worker_login(client, sms, federation.hq)
    await consent_to_join(client, token)
    h = bearer(token)
    cases = [
        (application(federation.regions[0], id_number="110105194912310021"), "id_number_invalid"),
        (application(federation.regions[0], id_number="110105203012310020"), "id_number_invalid"),
        (application(federation.hq), "join_target_invalid"),
        (application("no-such-union"), "join_target_invalid"),
        (application(federation.regions[0], platforms=[{"partner": "gamma"}]), "unknown_partner"),
        (application(federation.regions[0], employment_form="freelance"), "validation_failed"),
    ]
    for i, (body, code) in enumerate(cases):
        r = await client.post("/v1/me/membership/application", json=body,
                              headers=h | {"Idempotency-Key": f"bad-{i}"})
        assert r.status_code == 422 and r.json()["code"] == code, (body, r.text)
        assert body["id_number"] not in r.text
    async with owner() as s:
        assert await s.scalar(select(func.count()).select_from(Member)
                              .where(Member.worker_id == uuid.UUID(worker))) == 0


async def test_retries_make_one_application(client, sms, federation: Federation, owner) -> None:
    token, worker = await worker_login(client, sms, federation.hq)
    await consent_to_join(client, token)
    body = application(federation.regions[0])
    headers = bearer(token) | {"Idempotency-Key": "join-once"}
    answers = await asyncio.gather(*(client.post("/v1/me/membership/application", json=body,
                                                 headers=headers) for _ in range(20)))
    assert {a.status_code for a in answers} <= {201, 409}
    assert len({a.json()["member_id"] for a in answers if a.status_code == 201}) == 1
    async with owner() as s:
        assert await s.scalar(select(func.count()).select_from(Member)
                              .where(Member.worker_id == uuid.UUID(worker))) == 1


async def test_members_are_visible_along_the_tree_only(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token
) -> None:
    r1, r2 = federation.regions
    joined = await join(client, sms, federation, federation.stations[r1][0])
    for role, code, sees in (("station_officer", federation.stations[r1][0], True),
                             ("station_officer", federation.stations[r1][1], False),
                             ("regional_admin", r1, True), ("regional_admin", r2, False),
                             ("hq_admin", federation.hq, True)):
        token = await staff_token(federation, role, code)
        r = await client.get(f"/v1/admin/members/{joined.member_id}", headers=bearer(token))
        assert (r.status_code == 200) is sees, (role, code, r.status_code)
        if not sees:
            assert r.status_code == 404 and r.json()["code"] == "member_not_found"
            a = await client.post(f"/v1/admin/members/{joined.member_id}/approve",
                                  headers=bearer(token))
            assert a.status_code == 404


async def test_workers_see_their_federations_directory_only(
    client, sms, federation: Federation, other_federation: Federation
) -> None:
    token, _ = await worker_login(client, sms, federation.hq)
    r = await client.get("/v1/me/federation/tenants", headers=bearer(token))
    assert r.status_code == 200
    codes = {t["code"] for t in r.json()}
    assert codes == set(federation.all_codes()) - {federation.hq}
    stations = [t for t in r.json() if t["kind"] == "station"]
    assert all(t["city"] and t["partner_code"] in ("alpha", "beta") for t in stations)
    city = stations[0]["city"]
    one_city = await client.get("/v1/me/federation/tenants", params={"city": city},
                                headers=bearer(token))
    assert one_city.json() and all(t["city"] == city for t in one_city.json())
    assert len(one_city.json()) < len(r.json())


async def test_queue_pages_and_decisions_only_decide_applications(
    client, sms, federation: Federation, staff_token
) -> None:
    region = federation.regions[0]
    admin = await staff_token(federation, "regional_admin", region)
    joined = [await join(client, sms, federation, region) for _ in range(3)]
    seen, cursor = [], None
    while True:
        r = await client.get("/v1/admin/members", headers=bearer(admin),
                             params={"status": "applicant", "limit": 2}
                             | ({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, r.text
        seen += [m["id"] for m in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert seen == [j.member_id for j in joined]
    bad = await client.get("/v1/admin/members", headers=bearer(admin),
                           params={"cursor": "WyJ4IiwieSJd"})
    assert bad.status_code == 422 and bad.json()["code"] == "cursor_invalid"
    member = joined[0].member_id
    await client.post(f"/v1/admin/members/{member}/approve", headers=bearer(admin))
    await client.post(f"/v1/admin/members/{member}/status", json={"to": "suspended", "reason": "x"},
                      headers=bearer(admin))
    r = await client.post(f"/v1/admin/members/{member}/approve", headers=bearer(admin))
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    r = await client.post(f"/v1/admin/members/{member}/reject", json={"reason": "x"},
                          headers=bearer(admin))
    assert r.status_code == 409
