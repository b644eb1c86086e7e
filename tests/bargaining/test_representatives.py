"""骑手/司机代表: designation rules, the remit a representative reads (never who reported),
proposals (all reports in remit or nothing written), and staff decisions on proposals."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import pytest

from tests.bargaining.test_reports import count, file, member
from tests.support.bargaining import set_member_status
from tests.support.factories import Federation, bearer
from tests.support.geo import SHANGHAI, seed_area, square

REPS = "/v1/admin/bargaining/representatives"
PROPOSALS = "/v1/bargaining/rep/proposals"


def key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(8)}


@pytest.fixture
async def hq(federation: Federation, staff_token) -> str:
    return await staff_token(federation, "hq_admin", federation.hq)


@pytest.fixture
async def r1_admin(federation: Federation, staff_token) -> str:
    return await staff_token(federation, "regional_admin", federation.regions[0])


async def designate(client, token: str, member_no: str, kind: str, ref: str):
    return await client.post(REPS, json={"member_no": member_no, "kind": kind, "ref_code": ref},
                             headers=bearer(token))


def proposal(rep_id: str, report_ids: list[str], **over: Any) -> dict[str, Any]:
    return {"representative_id": rep_id, "topic": "commission_rates", "partner": "alpha",
            "title": "降低抽成", "body": "多名骑手反映抽成过高", "report_ids": report_ids} | over


async def test_designation_rules(client, sms, owner, federation, hq, r1_admin, staff_token):
    r1, r2 = federation.regions
    s11 = federation.stations[r1][0]
    s21 = federation.stations[r2][0]
    rep = await member(client, sms, federation, s11, hq)
    no = rep.body["member_no"]
    officer = await staff_token(federation, "station_officer", s11)
    r = await designate(client, officer, no, "station", s11)
    assert r.status_code == 403 and r.json()["code"] == "designation_not_allowed", r.text
    r = await designate(client, r1_admin, no, "station", s21)  # a station of another region
    assert r.status_code == 422 and r.json()["code"] == "unknown_station", r.text
    r = await designate(client, r1_admin, no, "platform", "gamma")
    assert r.status_code == 422 and r.json()["code"] == "unknown_partner", r.text
    r = await designate(client, r1_admin, no, "zone", "z-none")
    assert r.status_code == 422 and r.json()["code"] == "unknown_zone", r.text
    r = await designate(client, r1_admin, "999999999", "station", s11)
    assert r.status_code == 422 and r.json()["code"] == "unknown_member", r.text
    r2_admin = await staff_token(federation, "regional_admin", r2)
    r = await designate(client, r2_admin, no, "station", s21)  # r1's member is not r2's
    assert r.status_code == 422 and r.json()["code"] == "unknown_member", r.text
    assert await count(owner, "SELECT count(*) FROM worker_representatives WHERE member_id = :m",
                       m=rep.member_id) == 0

    r = await designate(client, r1_admin, no, "station", s11)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["kind"] == {"code": "station", "zh": "站点代表", "en": "Station representative"}
    assert made["tenant"] == r1 and made["member_no"] == no
    assert made["designated_by"] == "regional_admin:tester"
    again = await designate(client, hq, no, "station", s11)
    assert again.status_code == 409 and again.json()["code"] == "representative_already_designated"
    platform = await designate(client, hq, no, "platform", "beta")
    assert platform.status_code == 201 and platform.json()["partner"] == "beta"

    listed = await client.get(REPS, headers=bearer(r1_admin))
    assert [x["id"] for x in listed.json()["items"]] == [made["id"]]  # not HQ's designation
    assert len((await client.get(REPS, headers=bearer(hq))).json()["items"]) == 2
    assert (await client.get(REPS, headers=bearer(r2_admin))).json()["items"] == []
    mine = await client.get("/v1/bargaining/rep/me", headers=bearer(rep.token))
    assert sorted(x["kind"]["code"] for x in mine.json()) == ["platform", "station"]

    r = await client.post(f"{REPS}/{made['id']}/end", json={"reason": "换届"},
                          headers=bearer(r2_admin))
    assert r.status_code == 404 and r.json()["code"] == "representative_not_found"
    r = await client.post(f"{REPS}/{made['id']}/end", json={"reason": "换届"},
                          headers=bearer(r1_admin))
    assert r.status_code == 200 and r.json()["ended_at"] and r.json()["ended_by"], r.text
    r = await client.post(f"{REPS}/{made['id']}/end", json={"reason": "换届"},
                          headers=bearer(r1_admin))
    assert r.status_code == 409 and r.json()["code"] == "representative_ended"
    assert await count(owner, "SELECT count(*) FROM audit_events WHERE object_id = :i AND action"
                       " IN ('representative.designated', 'representative.ended')",
                       i=made["id"]) == 2
    ended = await client.get(REPS, params={"include_ended": "true"}, headers=bearer(r1_admin))
    assert ended.json()["items"][0]["ended_at"]
    assert (await client.get(REPS, headers=bearer(r1_admin))).json()["items"] == []
    # designated again after the end: allowed
    assert (await designate(client, r1_admin, no, "station", s11)).status_code == 201
    await set_member_status(owner, rep.member_id, "suspended")
    r = await designate(client, hq, no, "platform", "alpha")
    assert r.status_code == 409 and r.json()["code"] == "member_not_active"


async def test_representative_reads_its_remit_without_reporter_identity(
        client, sms, owner, federation, hq, r1_admin):
    r1, r2 = federation.regions
    s11, s12 = federation.stations[r1]
    rep = await member(client, sms, federation, s11, hq)
    made = await designate(client, r1_admin, rep.body["member_no"], "station", s11)
    assert made.status_code == 201, made.text
    reporter = await member(client, sms, federation, s11, hq)
    elsewhere = await member(client, sms, federation, r2, hq)
    in_remit = (await file(client, reporter.token, station_code=s11)).json()
    other_station = (await file(client, reporter.token, station_code=s12)).json()
    other_region = (await file(client, elsewhere.token, station_code=s11)).json()
    own_elsewhere = (await file(client, rep.token, station_code=s12)).json()
    assert all(x.get("id") for x in (in_remit, other_station, other_region, own_elsewhere))

    r = await client.get("/v1/bargaining/rep/reports", headers=bearer(rep.token))
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [x["id"] for x in items] == [in_remit["id"]]
    seen = items[0]
    assert set(seen) == {"id", "topic", "partner", "station_code", "zone_code", "title", "body",
                         "details", "created_at", "grouped"}
    assert seen["grouped"] is False and seen["station_code"] == s11
    assert reporter.worker_id not in r.text and reporter.member_id not in r.text
    assert reporter.body["member_no"] not in r.text
    # the remit does not open the reporter's own view of the report
    assert (await client.get(f"/v1/bargaining/reports/{in_remit['id']}",
                             headers=bearer(rep.token))).status_code == 404
    # a worker with no designation sees no remit
    r = await client.get("/v1/bargaining/rep/reports", headers=bearer(reporter.token))
    assert r.json()["items"] == []
    # filters
    r = await client.get("/v1/bargaining/rep/reports", params={"partner": "beta"},
                         headers=bearer(rep.token))
    assert r.json()["items"] == []
    # a zone representative designated by the HQ sees the zone's reports of every region
    await seed_area(owner, federation, r1, "delivery_zone", "z-a", square(*SHANGHAI),
                    partner="alpha")
    zone_rep = await member(client, sms, federation, r2, hq)
    z = await designate(client, hq, zone_rep.body["member_no"], "zone", "z-a")
    assert z.status_code == 201 and z.json()["partner"] == "alpha", z.text
    zoned = (await file(client, elsewhere.token, zone_code="z-a")).json()
    r = await client.get("/v1/bargaining/rep/reports", headers=bearer(zone_rep.token))
    assert [x["id"] for x in r.json()["items"]] == [zoned["id"]]


async def test_proposals_all_in_remit_or_nothing(client, sms, owner, federation, hq, r1_admin,
                                                 staff_token):
    r1, r2 = federation.regions
    s11, s12 = federation.stations[r1]
    rep = await member(client, sms, federation, s11, hq)
    rep_id = (await designate(client, r1_admin, rep.body["member_no"], "station", s11)).json()["id"]
    reporter = await member(client, sms, federation, s11, hq)
    a = (await file(client, reporter.token, station_code=s11)).json()["id"]
    b = (await file(client, reporter.token, station_code=s12)).json()["id"]
    beta = (await file(client, reporter.token, station_code=s11, partner="beta")).json()["id"]

    async def propose(body: dict[str, Any], token: str = rep.token):
        return await client.post(PROPOSALS, json=body, headers=bearer(token) | key())

    r = await propose(proposal(rep_id, [a, b]))
    assert r.status_code == 422 and r.json()["code"] == "report_not_in_remit", r.text
    assert r.json()["report_ids"] == [b]
    r = await propose(proposal(rep_id, [a, str(uuid.uuid4())]))
    assert r.status_code == 422 and r.json()["code"] == "report_not_in_remit"
    r = await propose(proposal(rep_id, [a, beta]))
    assert r.status_code == 422 and r.json()["code"] == "report_partner_mismatch"
    assert r.json()["report_ids"] == [beta]
    r = await propose(proposal(rep_id, []))
    assert r.status_code == 422
    r = await propose(proposal(str(uuid.uuid4()), [a]))
    assert r.status_code == 404 and r.json()["code"] == "representative_not_found"
    r = await propose(proposal(rep_id, [a]), token=reporter.token)  # not the reporter's designation
    assert r.status_code == 404
    r = await propose(proposal(rep_id, [a], details={"rule": "x"}))
    assert r.status_code == 422 and r.json()["code"] == "invalid_details"
    assert await count(owner, "SELECT count(*) FROM rep_proposals WHERE worker_id = :w",
                       w=rep.worker_id) == 0
    assert await count(owner, "SELECT count(*) FROM rep_proposal_reports WHERE report_id IN"
                       " (:a, :b)", a=a, b=b) == 0

    made = await propose(proposal(rep_id, [a, a]))
    assert made.status_code == 201, made.text
    p = made.json()
    assert p["report_ids"] == [a] and p["status"]["code"] == "submitted" and p["tenant"] == r1
    mine = await client.get(PROPOSALS, headers=bearer(rep.token))
    assert [x["id"] for x in mine.json()["items"]] == [p["id"]]
    remit = await client.get("/v1/bargaining/rep/reports", headers=bearer(rep.token))
    assert {x["id"]: x["grouped"] for x in remit.json()["items"]} == {a: True, beta: False}
    grouped = await client.get("/v1/admin/bargaining/reports", params={"status": "grouped"},
                               headers=bearer(r1_admin))
    assert [x["id"] for x in grouped.json()["items"]] == [a]

    r2_admin = await staff_token(federation, "regional_admin", r2)
    assert (await client.get("/v1/admin/bargaining/proposals",
                             headers=bearer(r2_admin))).json()["items"] == []
    listed = await client.get("/v1/admin/bargaining/proposals", params={"status": "submitted"},
                              headers=bearer(r1_admin))
    row = listed.json()["items"][0]
    assert row["id"] == p["id"] and row["representative_member_no"] == rep.body["member_no"]
    decline = f"/v1/admin/bargaining/proposals/{p['id']}/decline"
    r = await client.post(decline, json={"reason": "证据不足"}, headers=bearer(r2_admin))
    assert r.status_code == 404 and r.json()["code"] == "proposal_not_found"
    r = await client.post(decline, json={"reason": "证据不足"}, headers=bearer(r1_admin))
    assert r.status_code == 200 and r.json()["status"]["code"] == "declined", r.text
    assert r.json()["decision_reason"] == "证据不足"
    r = await client.post(decline, json={"reason": "再次"}, headers=bearer(r1_admin))
    assert r.status_code == 409 and r.json()["code"] == "proposal_not_submitted"
    r = await client.post(decline, json={"reason": ""}, headers=bearer(r1_admin))
    assert r.status_code == 422
    ungrouped = await client.get("/v1/admin/bargaining/reports", params={"status": "ungrouped"},
                                 headers=bearer(r1_admin))
    assert a in [x["id"] for x in ungrouped.json()["items"]]

    # an ended designation closes the remit and the proposals
    rep2 = (await client.get("/v1/bargaining/rep/me", headers=bearer(rep.token))).json()
    assert [x["id"] for x in rep2] == [rep_id]
    await client.post(f"{REPS}/{rep_id}/end", json={"reason": "离任"}, headers=bearer(r1_admin))
    assert (await client.get("/v1/bargaining/rep/me", headers=bearer(rep.token))).json() == []
    assert (await client.get("/v1/bargaining/rep/reports",
                             headers=bearer(rep.token))).json()["items"] == []
    r = await propose(proposal(rep_id, [a]))
    assert r.status_code == 404
