"""A case's events in the order they were written, even when several share one instant, and
a step the SLA clock cannot take refused as a 409 with nothing written (migration 0023)."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from flexunion.core.clock import FixedClock
from tests.cases.test_clocks import Desk, fed, frozen, real_tokens, token_maker  # noqa: F401
from tests.support.factories import Federation


async def kinds(owner, cid: str) -> list[str]:
    async with owner() as s:
        return [k for (k,) in (await s.execute(text(
            "SELECT kind FROM case_events WHERE case_id = :i ORDER BY seq"), {"i": cid})).all()]


async def test_steps_at_one_instant_keep_their_order(
        client, owner, fed: Federation, real_tokens, frozen: FixedClock):  # noqa: F811
    desk = Desk(client, fed, token_maker(real_tokens))
    r1 = fed.regions[0]
    s1 = fed.stations[r1][0]
    steps = ["intake", "route", "assign", "pause", "resume", "accept", "answer"]
    for _ in range(3):  # random ids would put 7 events in this order 1 time in 5,040
        cid = (await desk.enter(r1))["id"]
        await desk.post(r1, f"/{cid}/route", {"route": "coordinate", "reason": "需协调"})
        await desk.post(r1, f"/{cid}/assign", {"lead": s1})
        await desk.post(s1, f"/{cid}/pause", {"reason": "waiting_worker"})
        await desk.post(s1, f"/{cid}/resume", {})
        await desk.post(s1, f"/{cid}/accept")
        await desk.post(s1, f"/{cid}/answer", {"text": "已协调平台恢复原抽成。"})
        done = await desk.case(r1, cid)
        assert [e["kind"] for e in done["events"]] == steps
        assert await kinds(owner, cid) == steps
        first = next(c for c in done["clocks"] if c["metric"]["code"] == "first_response")
        assert first["state"]["code"] == "met" and first["elapsed_minutes"] == 0


async def test_a_step_the_clock_cannot_take_is_refused_whole(
        client, owner, fed: Federation, real_tokens, frozen: FixedClock):  # noqa: F811
    desk = Desk(client, fed, token_maker(real_tokens))
    r1 = fed.regions[0]
    cid = (await desk.enter(r1))["id"]
    await desk.post(r1, f"/{cid}/pause", {"reason": "waiting_worker"})
    # a second pause written behind the service's back (no app path writes one): the clock
    # engine refuses a pause while paused
    async with owner() as s, s.begin():
        await s.execute(text(
            "INSERT INTO case_events (id, federation_id, tenant_id, case_id, kind, at, actor,"
            " details) SELECT :id, federation_id, tenant_id, case_id, kind, at, actor, details"
            " FROM case_events WHERE case_id = :c AND kind = 'pause'"),
            {"id": uuid.uuid4(), "c": cid})
    before = await kinds(owner, cid)
    frozen.advance(minutes=5)
    refused = await desk.post(r1, f"/{cid}/assign", {"lead": r1}, expect=409)
    assert refused["code"] == "clock_step_refused" and refused["metric"] == "first_response"
    assert refused["title"] == "计时状态不允许此操作"
    assert await kinds(owner, cid) == before
    async with owner() as s:
        status = (await s.execute(text("SELECT status FROM cases WHERE id = :c"),
                                  {"c": cid})).scalar_one()
    assert status == "received"
