"""季度合规核查, evaluated again (checkpoints/evaluation.rerun): the latest evidence of each
checkpoint due in the quarter is re-run from what was stored and tallied per partner; a
stored evaluation that no longer comes out the same (tampered values read) is named.
Real database, real app; the run as a regional admin on the app role (RLS on)."""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy import text

from flexunion.contracts.checkpoints import evaluation
from flexunion.core.context import Caller, Role
from flexunion.core.uow import UnitOfWork
from flexunion.db.engine import make_engine, make_sessionmaker
from tests.contracts.test_checkpoints import PARTNER, _arranged
from tests.support.bargaining import partner_client
from tests.support.factories import Federation, bearer


async def _rerun(settings, fed: Federation, quarter: str) -> evaluation.Rerun:
    engine = make_engine(settings.app_database_url, pool_size=1, max_overflow=0)
    region = fed.regions[0]
    caller = Caller(role=Role.REGIONAL_ADMIN, subject="tester", tenant_id=fed.ids[region],
                    tenant_code=region, audience="flexunion-api")
    uow = UnitOfWork(make_sessionmaker(engine), caller.db_scope("test"))
    try:
        return await evaluation.rerun(uow.session, caller, quarter)
    finally:
        await uow.close()
        await engine.dispose()


async def test_a_rerun_agrees_with_what_was_stored_and_names_what_does_not(
        client, owner, settings, federation: Federation, staff_token) -> None:
    _regional, _agreement, checkpoints = await _arranged(client, owner, federation, staff_token)
    alpha = await partner_client(client, owner, federation)
    q2 = checkpoints[1]["id"]
    for rate in (1.0, 2.5):  # a breach, then the evidence resubmitted: the latest counts
        r = await client.post(f"{PARTNER}/checkpoints/{q2}/evidence",
                              json={"evidence": {"paid_rate_pct": rate, "paid_on_time": True}},
                              headers=bearer(alpha.token) | {"Idempotency-Key":
                                                             secrets.token_hex(8)})
        assert r.status_code == 201, r.text
    run = await _rerun(settings, federation, "2027Q2")
    assert (run.evaluated, run.differing) == (1, [])
    assert [(r.partner, r.checkpoints, r.met, r.breached) for r in run.rows] == [
        ("alpha", 1, 1, 0)]
    assert (await _rerun(settings, federation, "2027Q3")).evaluated == 0
    async with owner() as s, s.begin():
        latest = (await s.execute(text(
            "UPDATE checkpoint_evidence SET read = jsonb_set(read, '{paid_rate_pct}', '9.0')"
            " WHERE checkpoint_id = :c AND result RETURNING id"), {"c": q2})).scalar_one()
    run = await _rerun(settings, federation, "2027Q2")
    assert run.differing == [uuid.UUID(str(latest))]
    regional = await staff_token(federation, "regional_admin", federation.regions[0])
    r = await client.get("/v1/admin/contracts/compliance/reverify",
                         params={"quarter": "2027Q2"}, headers=bearer(regional))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["quarter"], body["evaluated"], body["differing"]) == (
        "2027Q2", 1, [str(latest)])
    assert [(p["partner"], p["met"]) for p in body["partners"]] == [("alpha", 1)]
    r = await client.get("/v1/admin/contracts/compliance/reverify",
                         params={"quarter": "2027Q5"}, headers=bearer(regional))
    assert r.status_code == 422, r.text
