"""异地关系接转 through the real API: request → release → accept, rejections, cancels,
and what each tenant can see on the way."""

from __future__ import annotations

import re
import uuid

import httpx
from sqlalchemy import select, text

from flexunion.membership.models import Member, MemberHome
from flexunion.transfers.models import Transfer
from tests.support.factories import Joined, bearer, join
from tests.transfers.conftest import Staff


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def member_at(client: httpx.AsyncClient, sms, staff: Staff, home: str) -> Joined:
    region = home if home in staff.fed.regions else home.rsplit("-", 1)[0]
    return await join(client, sms, staff.fed, home, approver_token=staff.region[region])


async def ask(client: httpx.AsyncClient, worker: Joined, to: str, **body: str) -> httpx.Response:
    return await client.post("/v1/me/transfers", json={"to": to, **body},
                             headers=bearer(worker.token) | key())


async def act(client: httpx.AsyncClient, token: str, transfer_id: str, step: str,
              reason: str | None = None) -> httpx.Response:
    return await client.post(f"/v1/admin/transfers/{transfer_id}/{step}",
                             json={"reason": reason} if reason else None, headers=bearer(token))


async def test_request_release_accept_moves_the_home(client, sms, staff: Staff, owner) -> None:
    fed = staff.fed
    r1, r2, r3 = fed.regions
    origin, dest = fed.stations[r1][0], fed.stations[r2][1]
    worker = await member_at(client, sms, staff, origin)
    since = worker.body["member_since"]
    assert since and worker.body["transfers"] == []

    asked = await ask(client, worker, dest, reason="搬到杭州跑单 moved city")
    assert asked.status_code == 201, asked.text
    t = asked.json()
    tid = t["id"]
    assert t["status"] == "requested" and t["status_zh"] == "已申请"
    assert t["from"]["code"] == origin and t["to"]["code"] == dest
    assert t["to"]["city"] == "深圳市" and t["release_due_at"] > t["requested_at"]

    # The destination sees the request (with a masked snapshot) but not yet the member.
    incoming = (await client.get("/v1/admin/transfers", params={"direction": "incoming"},
                                 headers=bearer(staff.region[r2]))).json()["items"]
    assert [i["id"] for i in incoming] == [tid]
    snapshot = incoming[0]["member"]
    assert snapshot["name_masked"] == "张**" and snapshot["member_since"] == since
    assert snapshot["member_no"] == worker.body["member_no"] and "*" in snapshot["id_masked"]
    assert snapshot["platforms"] == [{"partner": "alpha", "platform_worker_id": "A-1001"}]
    assert (await client.get(f"/v1/admin/members/{worker.member_id}",
                             headers=bearer(staff.region[r2]))).status_code == 404
    outgoing = (await client.get("/v1/admin/transfers", params={"direction": "outgoing"},
                                 headers=bearer(staff.station[origin]))).json()["items"]
    assert [i["id"] for i in outgoing] == [tid]
    assert (await client.get("/v1/admin/transfers", params={"direction": "outgoing"},
                             headers=bearer(staff.region[r2]))).json()["items"] == []

    # Accepting before the origin released is a state error; the origin cannot accept at all.
    early = await act(client, staff.region[r2], tid, "accept")
    assert early.status_code == 409 and early.json()["code"] == "invalid_transfer_state"
    wrong = await act(client, staff.region[r1], tid, "accept")
    assert wrong.status_code == 403 and wrong.json()["code"] == "transfer_wrong_side"
    wrong = await act(client, staff.region[r2], tid, "release")
    assert wrong.status_code == 403 and wrong.json()["code"] == "transfer_wrong_side"

    released = await act(client, staff.station[origin], tid, "release")
    assert released.status_code == 200, released.text
    assert released.json()["status"] == "released" and not released.json()["auto_released"]
    seen = await client.get(f"/v1/admin/members/{worker.member_id}",
                            headers=bearer(staff.region[r2]))
    assert seen.status_code == 200 and seen.json()["home_code"] == origin
    again = await act(client, staff.region[r1], tid, "release")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transfer_state"

    accepted = await act(client, staff.station[dest], tid, "accept")
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert body["status"] == "completed" and body["accepted_at"] and body["completed_at"]

    mine = (await client.get("/v1/me/membership", headers=bearer(worker.token))).json()
    assert mine["home"]["code"] == dest and mine["member_since"] == since
    assert ([(h["code"], h["until"] is None) for h in mine["homes"]]
            == [(origin, False), (dest, True)])
    assert [(x["id"], x["status"]) for x in mine["transfers"]] == [(tid, "completed")]
    assert mine["transfers"][0]["reason"] == "搬到杭州跑单 moved city"

    # The origin loses sight of the member; the destination keeps it; both keep the transfer.
    assert (await client.get(f"/v1/admin/members/{worker.member_id}",
                             headers=bearer(staff.region[r1]))).status_code == 404
    assert (await client.get(f"/v1/admin/members/{worker.member_id}",
                             headers=bearer(staff.region[r2]))).json()["home_code"] == dest
    for token in (staff.region[r1], staff.region[r2], staff.hq, staff.station[origin]):
        got = await client.get(f"/v1/admin/transfers/{tid}", headers=bearer(token))
        assert got.status_code == 200 and got.json()["status"] == "completed"
    hq_queue = (await client.get("/v1/admin/transfers", headers=bearer(staff.hq))).json()["items"]
    assert [i["id"] for i in hq_queue] == [tid]

    async with owner() as s:
        member = await s.get(Member, uuid.UUID(worker.member_id))
        assert member and member.tenant_id == fed.ids[dest]
        assert str(member.member_since) == since
        homes = (await s.scalars(select(MemberHome).where(MemberHome.member_id == member.id)
                                 .order_by(MemberHome.started_at))).all()
        assert [(h.tenant_id, h.ended_at is None, h.transfer_id) for h in homes] == [
            (fed.ids[origin], False, None), (fed.ids[dest], True, uuid.UUID(tid))]
        actions = (await s.execute(text(
            "SELECT action, actor, tenant_id FROM audit_events WHERE object_id = :t ORDER BY seq"),
            {"t": tid})).all()
        assert [a.action for a in actions] == ["transfer.requested", "transfer.released",
                                               "transfer.accepted"]
        assert actions[0].actor == f"worker:{worker.worker_id}"
        assert actions[2].tenant_id == fed.ids[dest]
        events = (await s.execute(text(
            "SELECT tenant_id, federation_id, payload FROM domain_events"
            " WHERE kind = 'member.transferred' AND payload->>'transfer_id' = :t"),
            {"t": tid})).all()
        assert len(events) == 1
        assert events[0].tenant_id == fed.ids[dest] and events[0].federation_id == fed.ids[fed.hq]
        assert events[0].payload | {"completed_at": None} == {
            "member_id": worker.member_id, "worker_id": worker.worker_id, "transfer_id": tid,
            "from_tenant_id": str(fed.ids[origin]), "from_tenant_code": origin,
            "to_tenant_id": str(fed.ids[dest]), "to_tenant_code": dest, "completed_at": None}

    # Nothing moves a completed transfer again.
    for token, step in ((staff.region[r2], "accept"), (staff.region[r1], "release"),
                        (staff.region[r2], "reject")):
        r = await act(client, token, tid, step, reason="x" if step == "reject" else None)
        assert r.status_code == 409 and r.json()["code"] == "invalid_transfer_state", (step, r.text)
    cancel = await client.post(f"/v1/me/transfers/{tid}/cancel",
                               headers=bearer(worker.token) | key())
    assert cancel.status_code == 409 and cancel.json()["code"] == "invalid_transfer_state"
    # The third region never saw any of it.
    assert (await client.get("/v1/admin/transfers", headers=bearer(staff.region[r3]))).json() == {
        "items": [], "next_cursor": None}


def _normalised(r: httpx.Response, transfer_id: str) -> tuple[int, str, dict[str, str]]:
    body = re.sub(r'"request_id":"[0-9a-f]+"', '"request_id":""', r.text)
    headers = {k: v for k, v in r.headers.items() if k not in ("x-request-id", "date")}
    return r.status_code, body.replace(transfer_id, "ID"), headers


async def test_a_third_region_cannot_see_touch_or_detect_a_transfer(
    client, sms, staff: Staff,
) -> None:
    fed = staff.fed
    r1, r2, r3 = fed.regions
    worker = await member_at(client, sms, staff, r1)
    tid = (await ask(client, worker, r2)).json()["id"]
    third = [staff.region[r3], staff.station[fed.stations[r3][0]]]
    for stage in ("requested", "released", "completed"):
        if stage == "released":
            assert (await act(client, staff.region[r1], tid, "release")).status_code == 200
        if stage == "completed":
            assert (await act(client, staff.region[r2], tid, "accept")).status_code == 200
        for token in third:
            for direction in (None, "incoming", "outgoing"):
                params = {"direction": direction} if direction else {}
                listed = await client.get("/v1/admin/transfers", params=params,
                                          headers=bearer(token))
                assert listed.json()["items"] == []
            member = await client.get(f"/v1/admin/members/{worker.member_id}",
                                      headers=bearer(token))
            assert member.status_code == 404
            ghost = str(uuid.uuid4())
            for method, suffix, body in (("GET", "", None), ("POST", "/release", None),
                                         ("POST", "/accept", None),
                                         ("POST", "/reject", {"reason": "不是我们的"}),
                                         ("POST", "/reject", {})):
                real = await client.request(method, f"/v1/admin/transfers/{tid}{suffix}",
                                            json=body, headers=bearer(token))
                fake = await client.request(method, f"/v1/admin/transfers/{ghost}{suffix}",
                                            json=body, headers=bearer(token))
                assert real.status_code in (404, 422), (stage, suffix, real.text)
                if real.status_code == 404:
                    assert real.json()["code"] == "transfer_not_found"
                assert _normalised(real, tid) == _normalised(fake, ghost), (stage, suffix)
    # …and the member went from r1 to r2 all the same.
    mine = (await client.get("/v1/me/membership", headers=bearer(worker.token))).json()
    assert mine["home"]["code"] == r2


async def test_rejections_carry_reasons_from_either_side(client, sms, staff: Staff, owner) -> None:
    fed = staff.fed
    r1, r2, r3 = fed.regions
    worker = await member_at(client, sms, staff, fed.stations[r1][1])

    # The origin refuses while it has not released.
    tid = (await ask(client, worker, r3)).json()["id"]
    needs_reason = await client.post(f"/v1/admin/transfers/{tid}/reject", json={},
                                      headers=bearer(staff.region[r1]))
    assert needs_reason.status_code == 422
    r = await act(client, staff.region[r1], tid, "reject", reason="会费未结清 dues unpaid")
    assert r.status_code == 200 and r.json()["rejected_by"] == "origin"
    assert r.json()["reject_reason"] == "会费未结清 dues unpaid" and r.json()["closed_at"]

    # The destination refuses after release; the origin may no longer refuse once it released.
    tid2 = (await ask(client, worker, fed.stations[r2][0])).json()["id"]
    assert (await act(client, staff.region[r1], tid2, "release")).status_code == 200
    late = await act(client, staff.region[r1], tid2, "reject", reason="改主意了")
    assert late.status_code == 409 and late.json()["code"] == "invalid_transfer_state"
    r = await act(client, staff.station[fed.stations[r2][0]], tid2, "reject", reason="该站点已满员")
    assert r.status_code == 200 and r.json()["rejected_by"] == "destination"
    # A rejected member sits where it was and the destination no longer sees it.
    assert (await client.get(f"/v1/admin/members/{worker.member_id}",
                             headers=bearer(staff.region[r2]))).status_code == 404

    # The destination may also refuse before the origin has answered.
    tid3 = (await ask(client, worker, r2)).json()["id"]
    r = await act(client, staff.region[r2], tid3, "reject", reason="请先联系转出方")
    assert r.status_code == 200 and r.json()["rejected_by"] == "destination"

    mine = (await client.get("/v1/me/transfers", headers=bearer(worker.token))).json()
    assert [(t["id"], t["status"], t["rejected_by"]) for t in mine] == [
        (tid3, "rejected", "destination"), (tid2, "rejected", "destination"),
        (tid, "rejected", "origin")]
    membership = (await client.get("/v1/me/membership", headers=bearer(worker.token))).json()
    assert membership["home"]["code"] == fed.stations[r1][1] and len(membership["homes"]) == 1
    assert [t["id"] for t in membership["transfers"]] == [tid3, tid2, tid]
    async with owner() as s:
        rows = (await s.execute(text(
            "SELECT object_id, payload->>'by' AS by, payload->>'reason' AS reason FROM audit_events"
            " WHERE action = 'transfer.rejected' AND object_id = ANY(:ids) ORDER BY seq"),
            {"ids": [tid, tid2, tid3]})).all()
    assert [(r.object_id, r.by) for r in rows] == [(tid, "origin"), (tid2, "destination"),
                                                  (tid3, "destination")]
    assert rows[0].reason == "会费未结清 dues unpaid"


async def test_the_worker_cancels_before_completion_only(client, sms, staff: Staff, owner) -> None:
    fed = staff.fed
    r1, r2, _ = fed.regions
    worker = await member_at(client, sms, staff, r1)
    tid = (await ask(client, worker, r2)).json()["id"]
    # One open transfer per member.
    second = await ask(client, worker, fed.stations[r2][0])
    assert second.status_code == 409 and second.json()["code"] == "transfer_already_open"
    # Someone else's transfer is not there for another worker.
    other = await member_at(client, sms, staff, r2)
    foreign = await client.post(f"/v1/me/transfers/{tid}/cancel",
                                headers=bearer(other.token) | key())
    assert foreign.status_code == 404 and foreign.json()["code"] == "transfer_not_found"
    assert (await client.get(f"/v1/me/transfers/{tid}",
                             headers=bearer(other.token))).status_code == 404

    assert (await act(client, staff.region[r1], tid, "release")).status_code == 200
    cancelled = await client.post(f"/v1/me/transfers/{tid}/cancel", json={"reason": "不搬了"},
                                  headers=bearer(worker.token) | key())
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["status_zh"] == "已撤回"
    late = await act(client, staff.region[r2], tid, "accept")
    assert late.status_code == 409 and late.json()["code"] == "invalid_transfer_state"
    again = await client.post(f"/v1/me/transfers/{tid}/cancel",
                              headers=bearer(worker.token) | key())
    assert again.status_code == 409 and again.json()["code"] == "invalid_transfer_state"
    assert (await client.get(f"/v1/admin/members/{worker.member_id}",
                             headers=bearer(staff.region[r2]))).status_code == 404

    # A new request is possible after a cancel; completed ones cannot be cancelled.
    tid2 = (await ask(client, worker, r2)).json()["id"]
    assert (await act(client, staff.hq, tid2, "release")).status_code == 200
    assert (await act(client, staff.hq, tid2, "accept")).status_code == 200
    done = await client.post(f"/v1/me/transfers/{tid2}/cancel",
                             headers=bearer(worker.token) | key())
    assert done.status_code == 409 and done.json()["code"] == "invalid_transfer_state"
    async with owner() as s:
        assert (await s.scalar(text(
            "SELECT payload->>'reason' FROM audit_events WHERE action = 'transfer.cancelled'"
            " AND object_id = :t"), {"t": tid})) == "不搬了"
        statuses = dict((await s.execute(
            select(Transfer.id, Transfer.status)
            .where(Transfer.member_id == uuid.UUID(worker.member_id)))).all())
    assert statuses == {uuid.UUID(tid): "cancelled", uuid.UUID(tid2): "completed"}


async def test_who_may_ask_and_where_to(client, sms, staff: Staff) -> None:
    fed = staff.fed
    r1, r2, _ = fed.regions
    station = fed.stations[r1][0]
    worker = await member_at(client, sms, staff, station)
    for to, code in ((fed.stations[r1][1], "transfer_same_region"), (r1, "transfer_same_region"),
                     (fed.hq, "transfer_target_invalid"),
                     ("no-such-union", "transfer_target_invalid"),
                     ("alpha", "transfer_target_invalid")):
        r = await ask(client, worker, to)
        assert r.status_code == 422 and r.json()["code"] == code, (to, r.text)
    r = await client.post("/v1/me/transfers", json={"to": r2, "tenant_id": str(fed.ids[r2])},
                          headers=bearer(worker.token) | key())
    assert r.status_code == 422 and r.json()["code"] == "validation_failed"
    r = await client.post("/v1/me/transfers", json={"to": r2}, headers=bearer(worker.token))
    assert r.status_code == 400 and r.json()["code"] == "idempotency_key_required"

    # Suspended members and applicants cannot move; parked members (保留会籍) can.
    status = f"/v1/admin/members/{worker.member_id}/status"
    assert (await client.post(status, json={"to": "suspended", "reason": "测试"},
                              headers=bearer(staff.region[r1]))).status_code == 200
    r = await ask(client, worker, r2)
    assert r.status_code == 409 and r.json()["code"] == "member_not_transferable"
    for to in ("active", "parked"):
        assert (await client.post(status, json={"to": to, "reason": "测试"},
                                  headers=bearer(staff.region[r1]))).status_code == 200
    assert (await ask(client, worker, r2)).status_code == 201
    applicant = await join(client, sms, fed, r1)
    r = await ask(client, applicant, r2)
    assert r.status_code == 409 and r.json()["code"] == "member_not_transferable"
    from tests.support.factories import worker_login

    token, _ = await worker_login(client, sms, fed.hq)
    r = await client.post("/v1/me/transfers", json={"to": r2}, headers=bearer(token) | key())
    assert r.status_code == 404 and r.json()["code"] == "not_a_member"
    # Staff tokens are not mobile tokens, and workers cannot use the staff queue.
    assert (await client.post("/v1/me/transfers", json={"to": r2},
                              headers=bearer(staff.hq) | key())).status_code == 401
    assert (await client.get("/v1/admin/transfers",
                             headers=bearer(worker.token))).status_code == 401


async def test_a_member_who_left_meanwhile_is_not_moved(client, sms, staff: Staff) -> None:
    fed = staff.fed
    r1, r2, _ = fed.regions
    worker = await member_at(client, sms, staff, r1)
    tid = (await ask(client, worker, r2)).json()["id"]
    assert (await act(client, staff.region[r1], tid, "release")).status_code == 200
    left = await client.post(f"/v1/admin/members/{worker.member_id}/status",
                             json={"to": "left", "reason": "退会"},
                             headers=bearer(staff.region[r1]))
    assert left.status_code == 200
    r = await act(client, staff.region[r2], tid, "accept")
    assert r.status_code == 409 and r.json()["code"] == "member_not_transferable"
    got = await client.get(f"/v1/admin/transfers/{tid}", headers=bearer(staff.region[r2]))
    assert got.json()["status"] == "released"
    mine = (await client.get("/v1/me/membership", headers=bearer(worker.token))).json()
    assert mine["home"]["code"] == r1


async def test_queue_pagination_and_filters(client, sms, staff: Staff) -> None:
    fed = staff.fed
    r1, r2, _ = fed.regions
    ids = []
    for _ in range(3):
        w = await member_at(client, sms, staff, r1)
        ids.append((await ask(client, w, r2)).json()["id"])
    assert (await act(client, staff.region[r1], ids[1], "release")).status_code == 200
    seen, cursor = [], None
    while True:
        params = {"direction": "incoming", "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/admin/transfers", params=params,
                                 headers=bearer(staff.region[r2]))).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids
    released = (await client.get("/v1/admin/transfers", params={"status": "released"},
                                 headers=bearer(staff.region[r1]))).json()["items"]
    assert [i["id"] for i in released] == [ids[1]]
    bad = await client.get("/v1/admin/transfers", params={"direction": "sideways"},
                           headers=bearer(staff.region[r1]))
    assert bad.status_code == 400 or bad.status_code == 422
    bad = await client.get("/v1/admin/transfers", params={"cursor": "!!"},
                           headers=bearer(staff.region[r1]))
    assert bad.status_code == 422 and bad.json()["code"] == "cursor_invalid"


async def test_the_contract_is_in_openapi(client) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    for path, method in (("/v1/me/transfers", "post"),
                         ("/v1/me/transfers/{transfer_id}/cancel", "post")):
        params = doc["paths"][path][method]["parameters"]
        assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" and p["required"]
                   for p in params), path
    for path in ("/v1/admin/transfers", "/v1/admin/transfers/{transfer_id}/accept",
                 "/v1/admin/transfers/{transfer_id}/release",
                 "/v1/admin/transfers/{transfer_id}/reject"):
        assert path in doc["paths"]
    read = doc["components"]["schemas"]["TransferRead"]["properties"]
    assert {"from", "to", "status_zh", "release_due_at", "rejected_by"} <= set(read)
    membership = doc["components"]["schemas"]["MembershipRead"]["properties"]
    assert membership["transfers"]["items"] == {"$ref": "#/components/schemas/TransferRead"}



async def test_destination_cannot_change_a_member_before_the_move_completes(
    client, sms, staff: Staff
) -> None:
    """After release the destination sees the member, but changing it stays the origin's
    business until the move completes: 404 from the API (never a 500 from the database)."""
    fed = staff.fed
    origin, dest = fed.regions[0], fed.regions[1]
    member = await join(client, sms, fed, origin, approver_token=staff.region[origin])
    r = await client.post("/v1/me/transfers", json={"to": dest},
                          headers=bearer(member.token) | {"Idempotency-Key": "move-1"})
    assert r.status_code == 201, r.text
    transfer = r.json()["id"]
    assert (await client.post(f"/v1/admin/transfers/{transfer}/release",
                              headers=bearer(staff.region[origin]))).status_code == 200
    seen = await client.get(f"/v1/admin/members/{member.member_id}",
                            headers=bearer(staff.region[dest]))
    assert seen.status_code == 200
    for path, body in (("status", {"to": "suspended", "reason": "x"}), ("approve", None)):
        r = await client.post(f"/v1/admin/members/{member.member_id}/{path}", json=body,
                              headers=bearer(staff.region[dest]))
        assert r.status_code == 404, (path, r.text)


async def test_the_card_follows_the_member_to_the_new_home(client, sms, staff: Staff) -> None:
    """After the move the member's next card names the new home, seniority unchanged, and
    a station officer in the new city verifies it with the new home."""
    import base64
    import json

    fed = staff.fed
    origin, dest = fed.regions[0], fed.regions[2]
    member = await join(client, sms, fed, origin, approver_token=staff.region[origin])

    async def card_claims() -> dict:
        r = await client.get("/v1/me/card", headers=bearer(member.token))
        assert r.status_code == 200, r.text
        payload = r.json()["token"].split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=="))

    before = await card_claims()
    assert before["home"] == origin
    r = await client.post("/v1/me/transfers", json={"to": dest},
                          headers=bearer(member.token) | key())
    transfer = r.json()["id"]
    assert (await client.post(f"/v1/admin/transfers/{transfer}/release",
                              headers=bearer(staff.region[origin]))).status_code == 200
    assert (await client.post(f"/v1/admin/transfers/{transfer}/accept",
                              headers=bearer(staff.region[dest]))).status_code == 200
    after = await card_claims()
    assert after["home"] == dest and after["sub"] == before["sub"]
    assert after["member_since"] == before["member_since"]
    assert after["status"]["status_list"]["idx"] == before["status"]["status_list"]["idx"]
    officer = staff.station[fed.stations[dest][0]]
    card = (await client.get("/v1/me/card", headers=bearer(member.token))).json()["token"]
    v = await client.post("/v1/cards/verify", json={"card": card}, headers=bearer(officer))
    assert v.json()["valid"] and v.json()["holder"]["home_code"] == dest
