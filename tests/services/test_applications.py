"""一个入口: a member applies once (Idempotency-Key), sees what is missing, answers a 补件;
the window (the reviewing unit, in scope) approves or refuses, audited, the member told in
the inbox; overdue items show once the clock passes the deadline. Real database, real app."""

from __future__ import annotations

from sqlalchemy import text

from tests.services.conftest import load_services
from tests.support.factories import Federation, bearer, join

ME = "/v1/me/service-applications"
ADMIN = "/v1/admin/service-applications"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _key(k: str) -> dict[str, str]:
    return {"Idempotency-Key": k}


async def _member(client, sms, fed: Federation, staff_token, station: int = 0, region: int = 0):
    hq = await staff_token(fed, "hq_admin", fed.hq)
    return await join(client, sms, fed, fed.stations[fed.regions[region]][station],
                      approver_token=hq)


async def _upload(client, token, app_id, material, k):
    return await client.post(f"{ME}/{app_id}/materials", headers=bearer(token) | _key(k),
                             data={"material": material},
                             files={"file": (f"{material}.pdf", PDF, "application/pdf")})


async def test_the_demo_catalogue_is_applied_once(client, owner, federation, sms,
                                                  staff_token) -> None:
    first = await load_services(owner, federation)
    assert len(first) == 11 and {n.split(":")[0] for n in first} == {"create"}
    assert {n.split(":")[0] for n in await load_services(owner, federation)} == {"unchanged"}
    m = await _member(client, sms, federation, staff_token)
    r = await client.get("/v1/me/services", headers=bearer(m.token))
    assert r.status_code == 200
    codes = [s["code"] for s in r.json()]
    assert "join-transfer" in codes and "childcare" in codes and len(codes) == 11
    jt = next(s for s in r.json() if s["code"] == "join-transfer")
    assert jt["apply_links"]["join"] == "POST /v1/me/membership/application"
    r = await client.post(ME, json={"service": "join-transfer"},
                          headers=bearer(m.token) | _key("jt"))
    assert r.status_code == 409 and r.json()["code"] == "service_has_own_flow"


async def test_apply_retried_is_one_application_and_the_missing_materials_show(
        client, owner, federation, sms, staff_token) -> None:
    await load_services(owner, federation)
    m = await _member(client, sms, federation, staff_token)
    body = {"service": "hardship", "note": "住院"}
    first = await client.post(ME, json=body, headers=bearer(m.token) | _key("apply-1"))
    assert first.status_code == 201, first.text
    again = await client.post(ME, json=body, headers=bearer(m.token) | _key("apply-1"))
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["missing"] == ["statement", "proof"]
    assert first.json()["status"] == "submitted"
    async with owner() as s:
        n = (await s.execute(text("SELECT count(*) FROM service_applications WHERE worker_id ="
                                  " :w"), {"w": m.worker_id})).scalar_one()
    assert n == 1
    r = await _upload(client, m.token, first.json()["id"], "statement", "up-1")
    assert r.status_code == 201, r.text
    assert len(r.json()["sha256"]) == 64
    one = (await client.get(f"{ME}/{first.json()['id']}", headers=bearer(m.token))).json()
    assert one["missing"] == ["proof"]
    r = await _upload(client, m.token, first.json()["id"], "nonsense", "up-2")
    assert r.status_code == 422 and r.json()["code"] == "material_unknown"


async def test_more_materials_round_trip_then_approval_audited_and_told(
        client, owner, federation, sms, staff_token) -> None:
    await load_services(owner, federation)
    m = await _member(client, sms, federation, staff_token)
    app = (await client.post(ME, json={"service": "legal-advice"},
                             headers=bearer(m.token) | _key("a1"))).json()
    regional = await staff_token(federation, "regional_admin", federation.regions[0])
    r = await client.post(f"{ADMIN}/{app['id']}/approve", json={}, headers=bearer(regional))
    assert r.status_code == 409 and r.json()["code"] == "application_incomplete"
    r = await client.post(f"{ADMIN}/{app['id']}/request-more",
                          json={"materials": ["facts"], "note": "请上传情况说明"},
                          headers=bearer(regional))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "returned"
    returned = (await client.get(ADMIN, params={"tab": "returned"},
                                 headers=bearer(regional))).json()
    assert [a["id"] for a in returned] == [app["id"]]
    inbox = (await client.get("/v1/me/notifications", headers=bearer(m.token))).json()
    items = inbox["items"] if isinstance(inbox, dict) else inbox
    assert any(n["kind"] == "service_application" and n["status"] == "returned" for n in items)
    r = await _upload(client, m.token, app["id"], "facts", "f1")
    assert r.status_code == 201
    mine = (await client.get(f"{ME}/{app['id']}", headers=bearer(m.token))).json()
    assert mine["status"] == "submitted" and mine["missing"] == []
    assert mine["deadline_at"] > app["deadline_at"] or mine["deadline_at"] >= app["deadline_at"]
    r = await client.post(f"{ADMIN}/{app['id']}/approve", json={"note": "已安排律师"},
                          headers=bearer(regional))
    assert r.status_code == 200 and r.json()["status"] == "approved"
    r = await client.post(f"{ADMIN}/{app['id']}/refuse", json={"reason": "x"},
                          headers=bearer(regional))
    assert r.status_code == 409 and r.json()["code"] == "application_decided"
    async with owner() as s:
        kinds = (await s.execute(text("SELECT action FROM audit_events WHERE object_id = :i"
                                      " ORDER BY seq"), {"i": app["id"]})).scalars().all()
    assert "services.application_returned" in kinds and "services.application_approved" in kinds


async def test_refusal_needs_a_reason_and_overdue_follows_the_clock(
        client, owner, federation, sms, staff_token, clock) -> None:
    await load_services(owner, federation)
    m = await _member(client, sms, federation, staff_token)
    app = (await client.post(ME, json={"service": "health-check"},
                             headers=bearer(m.token) | _key("h1"))).json()
    station = await staff_token(federation, "station_officer",
                                federation.stations[federation.regions[0]][0])
    overdue = (await client.get(ADMIN, params={"tab": "overdue"}, headers=bearer(station))).json()
    assert overdue == []
    clock.advance(days=12)
    overdue = (await client.get(ADMIN, params={"tab": "overdue"}, headers=bearer(station))).json()
    assert [a["id"] for a in overdue] == [app["id"]] and overdue[0]["overdue"] is True
    r = await client.post(f"{ADMIN}/{app['id']}/refuse", json={"reason": ""},
                          headers=bearer(station))
    assert r.status_code == 400 or r.status_code == 422
    r = await client.post(f"{ADMIN}/{app['id']}/refuse", json={"reason": "本月名额已满"},
                          headers=bearer(station))
    assert r.status_code == 200 and r.json()["reason"] == "本月名额已满"
    done = (await client.get(ADMIN, params={"tab": "done"}, headers=bearer(station))).json()
    assert [a["id"] for a in done] == [app["id"]]


async def test_sight_another_worker_and_another_region_get_404(
        client, owner, federation, sms, staff_token) -> None:
    await load_services(owner, federation)
    m = await _member(client, sms, federation, staff_token)
    other = await _member(client, sms, federation, staff_token, region=1)
    app = (await client.post(ME, json={"service": "legal-advice"},
                             headers=bearer(m.token) | _key("s1"))).json()
    r = await client.get(f"{ME}/{app['id']}", headers=bearer(other.token))
    assert r.status_code == 404 and r.json()["code"] == "application_not_found"
    region_b = await staff_token(federation, "regional_admin", federation.regions[1])
    r = await client.get(f"{ADMIN}/{app['id']}", headers=bearer(region_b))
    assert r.status_code == 404
    r = await client.post(f"{ADMIN}/{app['id']}/approve", json={}, headers=bearer(region_b))
    assert r.status_code == 404
    partner = await staff_token(federation, "partner", federation.hq)
    r = await client.get(f"{ADMIN}/{app['id']}", headers=bearer(partner))
    assert r.status_code in (401, 403)


async def test_walk_in_at_a_station_is_recorded_with_the_staff_principal(
        client, owner, federation, sms, staff_token) -> None:
    await load_services(owner, federation)
    m = await _member(client, sms, federation, staff_token)
    station_code = federation.stations[federation.regions[0]][0]
    station = await staff_token(federation, "station_officer", station_code, subject="clerk1")
    r = await client.post(ADMIN, json={"service": "health-check",
                                       "member_no": m.body["member_no"]},
                          headers=bearer(station))
    assert r.status_code == 201, r.text
    assert r.json()["channel"] == "walk_in"
    async with owner() as s:
        filed_by = (await s.execute(text("SELECT filed_by FROM service_applications WHERE id ="
                                         " :i"), {"i": r.json()["id"]})).scalar_one()
    assert filed_by == "station_officer:clerk1"
    mine = (await client.get(ME, headers=bearer(m.token))).json()
    assert [a["id"] for a in mine] == [r.json()["id"]]


async def test_the_filing_station_hands_in_a_more_materials_answer(
        client, owner, federation, sms, staff_token) -> None:
    """A walk-in reviewed by the region: the region asks for 补件, the filing station uploads
    the member's file at the counter, and that answers it (the clock restarts)."""
    await load_services(owner, federation)
    m = await _member(client, sms, federation, staff_token)
    station = await staff_token(federation, "station_officer",
                                federation.stations[federation.regions[0]][0])
    app = (await client.post(ADMIN, json={"service": "legal-advice",
                                          "member_no": m.body["member_no"]},
                             headers=bearer(station))).json()
    regional = await staff_token(federation, "regional_admin", federation.regions[0])
    r = await client.post(f"{ADMIN}/{app['id']}/request-more",
                          json={"materials": ["facts"], "note": "缺情况说明"},
                          headers=bearer(regional))
    assert r.status_code == 200, r.text
    r = await client.post(f"{ADMIN}/{app['id']}/approve", json={}, headers=bearer(station))
    assert r.status_code == 403 and r.json()["code"] == "application_not_reviewer"
    r = await client.post(f"{ADMIN}/{app['id']}/materials", headers=bearer(station),
                          data={"material": "facts"},
                          files={"file": ("facts.pdf", PDF, "application/pdf")})
    assert r.status_code == 201, r.text
    one = (await client.get(f"{ADMIN}/{app['id']}", headers=bearer(regional))).json()
    assert one["status"] == "submitted" and one["missing"] == []
    f = one["files"][0]
    r = await client.get(f"{ME}/{app['id']}/materials/{f['id']}", headers=bearer(m.token))
    assert r.status_code == 200 and r.content == PDF
