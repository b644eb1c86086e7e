"""One member, one vote under load: 1,000 concurrent attempts from two devices of the same
member leave one paper; a close racing many voters counts exactly the votes that landed."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter

from sqlalchemy import text

from tests.bargaining.test_ballots import enrol, open_ballot, receipt, vote
from tests.support.bargaining import seed_item
from tests.support.factories import Federation, bearer, random_phone, worker_login

ATTEMPTS = 1000


async def test_a_thousand_attempts_from_two_devices_make_one_vote(
    client, sms, federation: Federation, staff_token, owner, clock, settings,
) -> None:
    fed = federation
    hq = await staff_token(fed, "hq_admin", fed.hq)
    phone = random_phone()
    # The first device logged in a while ago (past the OTP resend pause), the second now.
    clock.advance(seconds=-settings.auth.otp_resend_after_seconds - 1)
    phone_token, _ = await worker_login(client, sms, fed.hq, phone=phone)
    clock.offset = type(clock.offset)()
    member = await enrol(client, sms, fed, fed.regions[0], hq, phone=phone)
    other = await enrol(client, sms, fed, fed.regions[0], hq)
    devices = [member.token, phone_token]
    item = await seed_item(owner, fed, status="agreed")
    bid = (await open_ballot(client, hq, item)).json()["id"]
    gate = asyncio.Semaphore(100)

    async def attempt(i: int) -> tuple[int, str]:
        async with gate:
            r = await client.post(
                f"/v1/bargaining/ballots/{bid}/votes",
                json={"choice": ("yes", "no", "abstain")[i % 3], "receipt_code": receipt()},
                headers=bearer(devices[i % 2]) | {"Idempotency-Key": secrets.token_hex(12)})
            return r.status_code, r.json().get("code", "")

    results = Counter(await asyncio.gather(*(attempt(i) for i in range(ATTEMPTS))))
    assert results[(201, "")] == 1, results
    assert results[(409, "already_voted")] == ATTEMPTS - 1, results
    async with owner() as s:
        voted = await s.scalar(text("SELECT count(*) FROM ballot_electors WHERE ballot_id = :b"
                                    " AND voted_at IS NOT NULL"), {"b": bid})
        n = await s.scalar(text("SELECT count(*) FROM ballot_papers WHERE ballot_id = :b"),
                           {"b": bid})
        audits = await s.scalar(text("SELECT count(*) FROM audit_events WHERE"
                                     " action = 'ballot.voted' AND object_id = :b"), {"b": bid})
    assert (voted, n, audits) == (1, 1, 1)
    # The other member's vote is untouched by all that.
    assert (await vote(client, other, bid)).status_code == 201
    listed = (await client.get("/v1/bargaining/ballots", headers=bearer(phone_token))).json()
    assert listed[0]["has_voted"] is True


async def test_a_close_racing_voters_counts_exactly_the_votes_that_landed(
    client, sms, federation: Federation, staff_token, owner,
) -> None:
    fed = federation
    hq = await staff_token(fed, "hq_admin", fed.hq)
    voters = await asyncio.gather(*(enrol(client, sms, fed, fed.regions[0], hq)
                                    for _ in range(30)))
    item = await seed_item(owner, fed, status="agreed")
    bid = (await open_ballot(client, hq, item, quorum=0.01)).json()["id"]

    async def closing():
        await asyncio.sleep(0)
        return await client.post(f"/v1/admin/bargaining/ballots/{bid}/close",
                                 json={"early": True, "reason": "压力测试 Race"},
                                 headers=bearer(hq))

    *votes, closed = await asyncio.gather(*(vote(client, v, bid) for v in voters), closing())
    assert closed.status_code == 200, closed.text
    codes = Counter((r.status_code, r.json().get("code", "")) for r in votes)
    assert set(codes) <= {(201, ""), (409, "ballot_closed")}, codes
    tally = closed.json()["tally"]
    assert tally["papers"] == tally["voted"] == codes[(201, "")]
    async with owner() as s:
        n = await s.scalar(text("SELECT count(*) FROM ballot_papers WHERE ballot_id = :b"),
                           {"b": bid})
    assert n == codes[(201, "")]
    r = await client.post(f"/v1/admin/bargaining/ballots/{bid}/recount", headers=bearer(hq))
    assert r.json()["matches"] is True
