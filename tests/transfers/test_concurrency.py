"""Races: two accepts of one transfer, retried requests, competing requests."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import func, select, text

from flexunion.membership.models import MemberHome
from flexunion.transfers.models import Transfer
from tests.support.factories import bearer, join
from tests.transfers.conftest import Staff


async def test_two_concurrent_accepts_one_wins(client, sms, staff: Staff, staff_token,
                                               owner) -> None:
    fed = staff.fed
    r1, r2, _ = fed.regions
    dest = fed.stations[r2][0]
    for attempt in range(3):  # a few rounds: the loser must lose the same way every time
        worker = await join(client, sms, fed, r1, approver_token=staff.region[r1])
        asked = await client.post("/v1/me/transfers", json={"to": dest},
                                  headers=bearer(worker.token) | {"Idempotency-Key": f"a{attempt}"})
        tid = asked.json()["id"]
        assert (await client.post(f"/v1/admin/transfers/{tid}/release",
                                  headers=bearer(staff.region[r1]))).status_code == 200
        second_admin = await staff_token(fed, "regional_admin", r2, subject="another-admin")
        answers = await asyncio.gather(*(
            client.post(f"/v1/admin/transfers/{tid}/accept", headers=bearer(token))
            for token in (staff.station[dest], second_admin)))
        assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        loser = next(a for a in answers if a.status_code == 409)
        assert loser.json()["code"] == "invalid_transfer_state"
        async with owner() as s:
            homes = (await s.scalars(select(MemberHome).where(
                MemberHome.member_id == uuid.UUID(worker.member_id)))).all()
            assert sorted(h.ended_at is None for h in homes) == [False, True]
            assert next(h for h in homes if h.ended_at is None).tenant_id == fed.ids[dest]
            assert await s.scalar(text(
                "SELECT count(*) FROM domain_events WHERE kind = 'member.transferred'"
                " AND payload->>'transfer_id' = :t"), {"t": tid}) == 1
            assert await s.scalar(text(
                "SELECT count(*) FROM audit_events WHERE action = 'transfer.accepted'"
                " AND object_id = :t"), {"t": tid}) == 1


async def test_retries_with_one_key_make_one_transfer(client, sms, staff: Staff, owner) -> None:
    fed = staff.fed
    r1, r2, _ = fed.regions
    worker = await join(client, sms, fed, r1, approver_token=staff.region[r1])
    headers = bearer(worker.token) | {"Idempotency-Key": "move-to-r2"}
    answers = await asyncio.gather(*(client.post("/v1/me/transfers",
                                                 json={"to": r2, "reason": "换城市"},
                                                 headers=headers) for _ in range(20)))
    assert {a.status_code for a in answers} <= {201, 409}, {a.text for a in answers}
    created = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(created) == 1
    conflicts = {a.json()["code"] for a in answers if a.status_code == 409}
    assert conflicts <= {"idempotency_in_flight"}
    replay = await client.post("/v1/me/transfers", json={"to": r2, "reason": "换城市"},
                               headers=headers)
    assert replay.status_code == 201 and replay.json()["id"] in created
    assert replay.headers["idempotent-replayed"] == "true"
    async with owner() as s:
        assert await s.scalar(select(func.count()).select_from(Transfer).where(
            Transfer.member_id == uuid.UUID(worker.member_id))) == 1


async def test_competing_requests_leave_one_open_transfer(client, sms, staff: Staff, owner) -> None:
    """Different keys (say, two phones): the database's one-open-transfer index decides."""
    fed = staff.fed
    r1, r2, r3 = fed.regions
    worker = await join(client, sms, fed, r1, approver_token=staff.region[r1])
    answers = await asyncio.gather(*(
        client.post("/v1/me/transfers", json={"to": (r2, r3)[i % 2]},
                    headers=bearer(worker.token) | {"Idempotency-Key": f"phone-{i}"})
        for i in range(10)))
    assert sorted(a.status_code for a in answers) == [201] + [409] * 9, [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"transfer_already_open"}
    async with owner() as s:
        assert await s.scalar(select(func.count()).select_from(Transfer).where(
            Transfer.member_id == uuid.UUID(worker.member_id))) == 1
