"""表决 Ratification ballots through the real API: the frozen roll, one vote per member,
who may not vote, closing and the outcomes, recount, and a member who moves mid-ballot."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

import httpx
from sqlalchemy import text

from tests.support.bargaining import seed_item, set_member_status
from tests.support.factories import (
    Federation,
    application,
    bearer,
    consent_to_join,
    random_phone,
    worker_login,
)


@dataclass
class Voter:
    token: str
    worker_id: str
    member_id: str
    phone: str


async def enrol(client: httpx.AsyncClient, sms, fed: Federation, join_code: str,
                approver: str, phone: str | None = None) -> Voter:
    """A worker who logs in (phone kept, for a second device), applies and is approved."""
    phone = phone or random_phone()
    token, worker_id = await worker_login(client, sms, fed.hq, phone=phone)
    await consent_to_join(client, token)
    r = await client.post("/v1/me/membership/application", json=application(join_code),
                          headers=bearer(token) | key())
    assert r.status_code == 201, r.text
    member_id = r.json()["member_id"]
    if r.json()["status"] == "applicant":
        a = await client.post(f"/v1/admin/members/{member_id}/approve", headers=bearer(approver))
        assert a.status_code == 200, a.text
    return Voter(token, worker_id, member_id, phone)


def key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(12)}


def receipt() -> str:
    return secrets.token_urlsafe(24)  # 32 characters of [A-Za-z0-9_-]


async def vote(client: httpx.AsyncClient, voter: Voter, ballot_id: str, choice: str = "yes",
               code: str | None = None) -> httpx.Response:
    return await client.post(f"/v1/bargaining/ballots/{ballot_id}/votes",
                             json={"choice": choice, "receipt_code": code or receipt()},
                             headers=bearer(voter.token) | key())


async def open_ballot(client: httpx.AsyncClient, token: str, item_id, **body) -> httpx.Response:
    return await client.post(f"/v1/admin/bargaining/items/{item_id}/ballots", json=body,
                             headers=bearer(token))


async def close(client: httpx.AsyncClient, token: str, ballot_id: str, **body) -> httpx.Response:
    body = body or {"early": True, "reason": "投票已齐 Everyone voted"}
    return await client.post(f"/v1/admin/bargaining/ballots/{ballot_id}/close", json=body,
                             headers=bearer(token))


async def papers(owner, ballot_id: str) -> int:
    async with owner() as s:
        return await s.scalar(text("SELECT count(*) FROM ballot_papers WHERE ballot_id = :b"),
                              {"b": ballot_id})


async def item_status(owner, item_id) -> str:
    async with owner() as s:
        return await s.scalar(text("SELECT status FROM agenda_items WHERE id = :i"), {"i": item_id})


async def test_roll_frozen_at_opening_votes_counted_and_a_pass_ratifies(
    client, sms, federation: Federation, staff_token, owner,
) -> None:
    fed = federation
    r1, r2 = fed.regions
    hq = await staff_token(fed, "hq_admin", fed.hq)
    admin = await staff_token(fed, "regional_admin", r1)
    a = await enrol(client, sms, fed, fed.stations[r1][0], hq)
    b = await enrol(client, sms, fed, r1, hq)
    await enrol(client, sms, fed, r2, hq)  # other region: not on an r1 roll
    lapsed = await enrol(client, sms, fed, fed.stations[r1][1], hq)
    await set_member_status(owner, lapsed.member_id, "suspended")
    item = await seed_item(owner, fed, status="agreed")

    r = await open_ballot(client, admin, item, quorum=0.5, threshold=0.5)
    assert r.status_code == 201, r.text
    ballot = r.json()
    assert ballot["electorate"] == 2 and ballot["voted"] == 0 and ballot["status"] == "open"
    assert ballot["scope"] == r1 and "抽成比例过高" in ballot["question"]
    async with owner() as s:
        roll = set((await s.scalars(text("SELECT member_id::text FROM ballot_electors"
                                         " WHERE ballot_id = :b"), {"b": ballot["id"]})).all())
        opened = (await s.execute(text(
            "SELECT actor, payload FROM audit_events WHERE action = 'ballot.opened'"
            " AND object_id = :b"), {"b": ballot["id"]})).one()
        event = await s.scalar(text("SELECT count(*) FROM agenda_item_events WHERE item_id = :i"
                                    " AND kind = 'ballot_opened'"), {"i": item})
    assert roll == {a.member_id, b.member_id}
    assert opened.actor == "regional_admin:tester" and opened.payload["electorate"] == 2
    assert event == 1

    # Joining after the opening does not put anyone on the roll.
    late = await enrol(client, sms, fed, r1, hq)
    assert (await vote(client, late, ballot["id"])).json()["code"] == "not_eligible"

    for voter in (a, b):
        v = await vote(client, voter, ballot["id"], "yes")
        assert v.status_code == 201, v.text
        assert set(v.json()) == {"ballot_id", "counted", "voted_at"} and v.json()["counted"]
    mine = (await client.get("/v1/bargaining/ballots", headers=bearer(a.token))).json()
    assert [(m["id"], m["has_voted"], m["on_roll"]) for m in mine] == [(ballot["id"], True, True)]
    got = (await client.get(f"/v1/admin/bargaining/ballots/{ballot['id']}",
                            headers=bearer(admin))).json()
    assert got["voted"] == 2 and got["tally"] is None

    c = await close(client, admin, ballot["id"])
    assert c.status_code == 200, c.text
    closed = c.json()
    assert closed["result"] == "passed" and closed["result_zh"] == "通过"
    assert closed["tally"] == {"yes": 2, "no": 0, "abstain": 0, "papers": 2, "voted": 2,
                               "electorate": 2, "turnout": 1.0}
    assert await item_status(owner, item) == "ratified"
    seen = (await client.get(f"/v1/bargaining/ballots/{ballot['id']}",
                             headers=bearer(b.token))).json()
    assert seen["status"] == "closed" and seen["result"] == "passed" and seen["tally"]["yes"] == 2
    again = await close(client, admin, ballot["id"])
    assert again.status_code == 409 and again.json()["code"] == "ballot_already_closed"


async def test_opening_is_refused_when_it_must_be(
    client, sms, federation: Federation, staff_token, owner,
) -> None:
    fed = federation
    r1, r2 = fed.regions
    hq = await staff_token(fed, "hq_admin", fed.hq)
    admin = await staff_token(fed, "regional_admin", r1)
    await enrol(client, sms, fed, r1, hq)
    collected = await seed_item(owner, fed, status="collected")
    r = await open_ballot(client, admin, collected)
    assert r.status_code == 409 and r.json()["code"] == "item_not_ballotable"

    item = await seed_item(owner, fed, status="partially_agreed")
    other = await staff_token(fed, "regional_admin", r2)
    assert (await open_ballot(client, other, item)).status_code == 404
    for bad in ({"quorum": 0}, {"threshold": 0.4}, {"question": ""}, {"surprise": 1},
                {"closes_at": "2001-01-01T00:00:00Z"}, {"closes_at": "not a time"}):
        r = await open_ballot(client, admin, item, **bad)
        assert r.status_code in (400, 422), (bad, r.text)
    r = await open_ballot(client, admin, item, closes_at="2001-01-01T00:00:00Z")
    assert r.json()["code"] == "invalid_closes_at"
    async with owner() as s:
        assert await s.scalar(text("SELECT count(*) FROM ballots WHERE item_id = :i"),
                              {"i": item}) == 0

    first = await open_ballot(client, admin, item)
    assert first.status_code == 201, first.text
    second = await open_ballot(client, hq, item)
    assert second.status_code == 409 and second.json()["code"] == "ballot_already_open"
    bid = first.json()["id"]
    for path in ("", "/close", "/recount"):  # another region's staff: as if there were none
        call = client.get if not path else client.post
        r = await call(f"/v1/admin/bargaining/ballots/{bid}{path}", headers=bearer(other))
        assert r.status_code == 404 and r.json()["code"] == "ballot_not_found", (path, r.text)
    async with owner() as s:
        status = await s.scalar(text("SELECT status FROM ballots WHERE id = :b"), {"b": bid})
        assert status == "open"

    # A federation-wide item is on r1's board but not r1's to put to a vote.
    wide = await seed_item(owner, fed, scope=fed.hq, status="agreed")
    r = await open_ballot(client, admin, wide)
    assert r.status_code == 403 and r.json()["code"] == "item_outside_scope"
    # Nobody active in r2: a ballot nobody could vote in is refused.
    empty = await seed_item(owner, fed, scope=r2, status="agreed")
    r = await open_ballot(client, other, empty)
    assert r.status_code == 409 and r.json()["code"] == "ballot_roll_empty"
    # A worker's token does not open ballots.
    worker = await enrol(client, sms, fed, r1, hq)
    assert (await open_ballot(client, worker.token, item)).status_code in (401, 403)


async def test_who_may_not_vote(client, sms, federation: Federation, staff_token, owner) -> None:
    fed = federation
    r1, r2 = fed.regions
    hq = await staff_token(fed, "hq_admin", fed.hq)
    admin = await staff_token(fed, "regional_admin", r1)
    voter = await enrol(client, sms, fed, r1, hq)
    lapsed = await enrol(client, sms, fed, r1, hq)
    still_lapsed = await enrol(client, sms, fed, r1, hq)
    elsewhere = await enrol(client, sms, fed, r2, hq)
    for m in (lapsed, still_lapsed):
        await set_member_status(owner, m.member_id, "suspended")
    item = await seed_item(owner, fed, status="agreed")
    ballot = (await open_ballot(client, admin, item)).json()
    bid = ballot["id"]
    await set_member_status(owner, lapsed.member_id, "active")  # back, but after the opening

    outsider_token, _ = await worker_login(client, sms, fed.hq)
    r = await client.post(f"/v1/bargaining/ballots/{bid}/votes", headers=bearer(outsider_token)
                          | key(), json={"choice": "yes", "receipt_code": receipt()})
    assert r.status_code == 403 and r.json()["code"] == "not_a_member"
    r = await vote(client, lapsed, bid)
    assert r.status_code == 403 and r.json()["code"] == "not_eligible"
    # Those who cannot even see the ballot get the same answer as for no ballot at all.
    for m in (still_lapsed, elsewhere):
        r = await vote(client, m, bid)
        assert r.status_code == 404 and r.json()["code"] == "ballot_not_found", r.text
    assert (await vote(client, voter, str(uuid.uuid4()))).status_code == 404
    for bad in ({"choice": "maybe", "receipt_code": receipt()}, {"choice": "yes"},
                {"choice": "yes", "receipt_code": "short"},
                {"choice": "yes", "receipt_code": "x" * 30},
                {"choice": "yes", "receipt_code": "汉字" * 20},
                {"choice": "yes", "receipt_code": receipt(), "member": voter.member_id}):
        r = await client.post(f"/v1/bargaining/ballots/{bid}/votes", json=bad,
                              headers=bearer(voter.token) | key())
        assert r.status_code in (400, 422), (bad, r.text)
    r = await vote(client, voter, bid, code="y" * 30)
    assert r.json()["code"] == "invalid_receipt_code"
    assert await papers(owner, bid) == 0
    got = (await client.get(f"/v1/admin/bargaining/ballots/{bid}", headers=bearer(admin))).json()
    assert got["voted"] == 0 and got["electorate"] == 1

    ok = await vote(client, voter, bid)
    assert ok.status_code == 201, ok.text
    twice = await vote(client, voter, bid, "no")
    assert twice.status_code == 409 and twice.json()["code"] == "already_voted"
    assert await papers(owner, bid) == 1


async def test_retry_receipt_and_reused_code(client, sms, federation: Federation, staff_token,
                                             owner) -> None:
    fed = federation
    hq = await staff_token(fed, "hq_admin", fed.hq)
    a = await enrol(client, sms, fed, fed.regions[0], hq)
    b = await enrol(client, sms, fed, fed.regions[0], hq)
    item = await seed_item(owner, fed, status="agreed")
    bid = (await open_ballot(client, hq, item)).json()["id"]
    code = receipt()
    headers = bearer(a.token) | key()
    body = {"choice": "no", "receipt_code": code}
    first = await client.post(f"/v1/bargaining/ballots/{bid}/votes", json=body, headers=headers)
    replay = await client.post(f"/v1/bargaining/ballots/{bid}/votes", json=body, headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json() and replay.headers.get("idempotent-replayed") == "true"
    assert await papers(owner, bid) == 1

    # b's app drew the same code (it never should): refused, and b has not voted.
    r = await vote(client, b, bid, code=code)
    assert r.status_code == 409 and r.json()["code"] == "receipt_code_taken"
    assert (await client.get(f"/v1/bargaining/ballots/{bid}", headers=bearer(b.token))
            ).json()["has_voted"] is False
    assert await papers(owner, bid) == 1

    for token, checked, counted in ((a.token, code, True), (b.token, code, True),
                                    (a.token, receipt(), False)):
        r = await client.post(f"/v1/bargaining/ballots/{bid}/receipts",
                              json={"receipt_code": checked}, headers=bearer(token) | key())
        assert r.status_code == 200 and r.json()["counted"] is counted, r.text
    r = await client.post(f"/v1/bargaining/ballots/{bid}/receipts",
                          json={"receipt_code": "bad"}, headers=bearer(a.token) | key())
    assert r.status_code == 422 and r.json()["code"] == "invalid_receipt_code"


async def test_outcomes_quorum_and_threshold(client, sms, federation: Federation, staff_token,
                                            owner) -> None:
    fed = federation
    hq = await staff_token(fed, "hq_admin", fed.hq)
    members = [await enrol(client, sms, fed, fed.regions[0], hq) for _ in range(4)]
    cases = [  # (votes, expected result, item status after)
        (["yes"], "failed_quorum", "agreed"),                    # 1/4 < 0.5
        (["yes", "no"], "failed_threshold", "agreed"),           # a tie fails at 0.5
        (["yes", "abstain", "abstain"], "passed", "ratified"),   # quorum counts abstentions
    ]
    for choices, result, status in cases:
        item = await seed_item(owner, fed, status="agreed")
        bid = (await open_ballot(client, hq, item)).json()["id"]
        for member, choice in zip(members, choices, strict=False):
            assert (await vote(client, member, bid, choice)).status_code == 201
        closed = await close(client, hq, bid)
        assert closed.status_code == 200, closed.text
        assert closed.json()["result"] == result, (choices, closed.json())
        assert closed.json()["tally"]["papers"] == len(choices)
        assert await item_status(owner, item) == status
        async with owner() as s:
            kinds = (await s.scalars(text(
                "SELECT kind FROM agenda_item_events WHERE item_id = :i ORDER BY created_at, kind"),
                {"i": item})).all()
            audited = await s.scalar(text("SELECT payload->>'result' FROM audit_events"
                                          " WHERE action = 'ballot.closed' AND object_id = :b"),
                                     {"b": bid})
        assert "ballot_closed" in kinds and ("transition" in kinds) == (status == "ratified")
        assert audited == result


async def test_closing_times_and_recount(client, sms, federation: Federation, staff_token,
                                         owner, clock) -> None:
    fed = federation
    hq = await staff_token(fed, "hq_admin", fed.hq)
    a = await enrol(client, sms, fed, fed.regions[0], hq)
    b = await enrol(client, sms, fed, fed.regions[0], hq)
    item = await seed_item(owner, fed, status="agreed")
    bid = (await open_ballot(client, hq, item)).json()["id"]
    assert (await vote(client, a, bid, "yes")).status_code == 201

    early = await client.post(f"/v1/admin/bargaining/ballots/{bid}/close", headers=bearer(hq))
    assert early.status_code == 409 and early.json()["code"] == "ballot_still_open"
    r = await close(client, hq, bid, early=True)
    assert r.status_code == 422 and r.json()["code"] == "early_close_reason_required"
    r = await client.post(f"/v1/admin/bargaining/ballots/{bid}/recount", headers=bearer(hq))
    assert r.status_code == 409 and r.json()["code"] == "ballot_not_closed"

    clock.advance(days=7, seconds=1)  # past closes_at (default 7 days)
    late = await vote(client, b, bid)
    assert late.status_code == 409 and late.json()["code"] == "ballot_closed"
    done = await client.post(f"/v1/admin/bargaining/ballots/{bid}/close", headers=bearer(hq))
    assert done.status_code == 200, done.text
    assert done.json()["tally"]["papers"] == 1 and done.json()["result"] == "passed"

    r = await client.post(f"/v1/admin/bargaining/ballots/{bid}/recount", headers=bearer(hq))
    assert r.status_code == 200 and r.json()["matches"] is True, r.text
    async with owner() as s, s.begin():
        await s.execute(text("DELETE FROM ballot_papers WHERE id IN (SELECT id FROM ballot_papers"
                             " WHERE ballot_id = :b LIMIT 1)"), {"b": bid})
    r = await client.post(f"/v1/admin/bargaining/ballots/{bid}/recount", headers=bearer(hq))
    assert r.status_code == 200 and r.json()["matches"] is False
    assert r.json()["stored"]["yes"] == 1 and r.json()["recounted"]["yes"] == 0
    assert r.json()["recounted_digest"] != r.json()["stored_digest"]


async def test_member_who_transfers_mid_ballot_keeps_one_vote(
    client, sms, federation: Federation, staff_token, owner,
) -> None:
    fed = federation
    r1, r2 = fed.regions
    hq = await staff_token(fed, "hq_admin", fed.hq)
    origin = await staff_token(fed, "regional_admin", r1)
    dest = await staff_token(fed, "regional_admin", r2)
    mover = await enrol(client, sms, fed, r1, hq)
    item = await seed_item(owner, fed, status="agreed")
    bid = (await open_ballot(client, origin, item)).json()["id"]

    asked = await client.post("/v1/me/transfers", json={"to": r2},
                              headers=bearer(mover.token) | key())
    assert asked.status_code == 201, asked.text
    tid = asked.json()["id"]
    for token, step in ((origin, "release"), (dest, "accept")):
        r = await client.post(f"/v1/admin/transfers/{tid}/{step}", headers=bearer(token))
        assert r.status_code == 200, r.text
    home = (await client.get("/v1/me/membership", headers=bearer(mover.token))).json()["home"]
    assert home["code"] == r2

    seen = await client.get(f"/v1/bargaining/ballots/{bid}", headers=bearer(mover.token))
    assert seen.status_code == 200 and seen.json()["on_roll"] is True
    assert seen.json()["item_title"] is None  # r1's board is out of reach now
    assert (await vote(client, mover, bid, "no")).status_code == 201
    again = await vote(client, mover, bid, "yes")
    assert again.status_code == 409 and again.json()["code"] == "already_voted"
    assert await papers(owner, bid) == 1
    listed = (await client.get("/v1/bargaining/ballots", headers=bearer(mover.token))).json()
    assert [(x["id"], x["has_voted"]) for x in listed] == [(bid, True)]
