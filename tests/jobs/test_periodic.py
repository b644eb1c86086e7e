"""The periodic work, run as the worker runs it: per federation, one transaction each, as the
app role under RLS with the federation's HQ as scope and the job's system principal. One
federation's job cannot touch another's rows, and a system principal passes only the
policies meant for it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from flexunion.bargaining.ballots import service as ballots
from flexunion.config import Settings
from flexunion.core.clock import FixedClock
from flexunion.db.scope import DbScope
from flexunion.jobs import service
from flexunion.jobs.registry import ENTRYPOINTS, JobRun, register
from flexunion.jobs.schedule import by_name
from flexunion.transfers import jobs as transfer_jobs
from tests.bargaining.test_ballots import enrol, open_ballot, vote
from tests.jobs.conftest import body, due_transfer, scoped, transfer_state
from tests.support.bargaining import seed_item
from tests.support.factories import Federation


@pytest.fixture
def unfiltered() -> Iterator[str]:
    """The `auto-release` job (its principal is one that may read transfers: migration 0027)
    asking for every due transfer with no WHERE on the federation: only RLS stands between it
    and the other federations' rows. It also checks it is the app role."""
    name = "auto-release"
    registered = ENTRYPOINTS.pop(name)

    @register(name)
    async def release_everything(run: JobRun) -> int:
        assert await run.session.scalar(text("SELECT current_user")) == run.settings.app_role
        return len(await transfer_jobs.auto_release(run.session, run.now))

    try:
        yield name
    finally:
        ENTRYPOINTS[name] = registered


async def test_auto_release_touches_only_its_federation(
    client, sms, federation: Federation, other_federation: Federation, staff_token, owner,
    app_sessions, settings: Settings, unfiltered: str,
) -> None:
    mine = await due_transfer(client, sms, federation, staff_token, owner)
    theirs = await due_transfer(client, sms, other_federation, staff_token, owner)
    clock = FixedClock(datetime.now(UTC))
    fed = federation.ids[federation.hq]

    assert await service.run(unfiltered, body(fed), sessions=app_sessions, settings=settings,
                             clock=clock) == 1
    assert await transfer_state(owner, mine) == ("released", ["system:jobs:" + unfiltered])
    assert await transfer_state(owner, theirs) == ("requested", [])

    # A job principal no policy names reads no transfer at all (migration 0027).
    async with scoped(app_sessions, DbScope(fed, "system:jobs:unnamed")) as s:
        assert await s.scalar(text("SELECT count(*) FROM transfers")) == 0
    # Run again for the same federation: nothing is due twice.
    assert await service.run("auto-release", body(fed), sessions=app_sessions,
                             settings=settings, clock=clock) == 0
    other = other_federation.ids[other_federation.hq]
    assert await service.run("auto-release", body(other), sessions=app_sessions,
                             settings=settings, clock=clock) == 1
    assert await transfer_state(owner, theirs) == ("released", ["system:jobs:auto-release"])


async def test_a_job_runs_for_a_whole_federation_only(
    federation: Federation, app_sessions, settings: Settings,
) -> None:
    region = federation.ids[federation.regions[0]]  # a region's scope would be a subtree
    with pytest.raises(ValueError, match="is no federation"):
        await service.run("auto-release", body(region), sessions=app_sessions,
                          settings=settings, clock=FixedClock(datetime.now(UTC)))
    with pytest.raises(ValueError, match="without a federation"):
        await service.run("auto-release", body(), sessions=app_sessions, settings=settings,
                          clock=FixedClock(datetime.now(UTC)))


async def test_a_schedule_queues_one_job_per_federation(
    federation: Federation, other_federation: Federation, owner, app_sessions,
) -> None:
    async with owner() as s:
        hqs = set((await s.scalars(text("SELECT id FROM tenants WHERE kind = 'hq'"))).all())
    assert await service.tick(by_name("auto-release"), sessions=app_sessions) == len(hqs)
    # The next tick while those still wait queues nothing again.
    assert await service.tick(by_name("auto-release"), sessions=app_sessions) == 0
    async with scoped(app_sessions, DbScope(None, "system:jobs:auto-release")) as s:
        waiting = await service.waiting(s)
    assert {w["payload"]["federation_id"] for w in waiting} == {str(h) for h in hqs}
    assert {w["dedupe_key"] for w in waiting} == {f"auto-release:{h}" for h in hqs}
    # The service-wide purge: one job, no federation.
    assert await service.tick(by_name("purge"), sessions=app_sessions) == 1


async def test_federations_are_listed_to_a_job_principal_only(app_sessions) -> None:
    for principal, sees in (("system:jobs:purge", True), ("hq_admin:x", False),
                            ("system:geo-index", False), ("worker:x", False)):
        async with scoped(app_sessions, DbScope(None, principal)) as s:
            found = (await s.scalars(text("SELECT * FROM flexunion_job_federations()"))).all()
        assert bool(found) is sees, principal


async def _ballot_due(client, sms, fed: Federation, staff_token, owner) -> tuple[str, str]:
    r1 = fed.regions[0]
    hq = await staff_token(fed, "hq_admin", fed.hq)
    voter = await enrol(client, sms, fed, r1, hq)
    item = await seed_item(owner, fed, status="agreed")
    opened = await open_ballot(client, await staff_token(fed, "regional_admin", r1), item,
                               quorum=0.5, threshold=0.5)
    assert opened.status_code == 201, opened.text
    assert (await vote(client, voter, opened.json()["id"])).status_code == 201
    return opened.json()["id"], str(item)


async def ballot_row(owner, ballot_id: str) -> tuple[str, str | None, str | None]:
    async with owner() as s:
        row = (await s.execute(text("SELECT status, result, closed_by FROM ballots"
                                    " WHERE id = :b"), {"b": ballot_id})).one()
    return row.status, row.result, row.closed_by


async def test_ballots_past_closes_at_are_closed_per_federation(
    client, sms, federation: Federation, other_federation: Federation, staff_token, owner,
    app_sessions, settings: Settings,
) -> None:
    mine, item = await _ballot_due(client, sms, federation, staff_token, owner)
    theirs, _ = await _ballot_due(client, sms, other_federation, staff_token, owner)
    fed = federation.ids[federation.hq]
    before = FixedClock(datetime.now(UTC) + timedelta(days=6))
    after = FixedClock(datetime.now(UTC) + timedelta(days=8))  # past the default 7 days

    # Another job's principal is no bargaining officer: it sees no ballot at all.
    async with scoped(app_sessions, DbScope(fed, "system:jobs:auto-release")) as s, s.begin():
        assert await ballots.close_due(s, now=after.now()) == []
    assert await service.run("close-ballots", body(fed), sessions=app_sessions,
                             settings=settings, clock=before) == 0
    assert await service.run("close-ballots", body(fed), sessions=app_sessions,
                             settings=settings, clock=after) == 1
    assert await ballot_row(owner, mine) == ("closed", "passed", "system:jobs:close-ballots")
    assert await ballot_row(owner, theirs) == ("open", None, None)
    async with owner() as s:
        status = await s.scalar(text("SELECT status FROM agenda_items WHERE id = :i"),
                                {"i": item})
        actors = (await s.scalars(text(
            "SELECT actor FROM audit_events WHERE action = 'ballot.closed' AND object_id = :b"),
            {"b": mine})).all()
    assert status == "ratified" and actors == ["system:jobs:close-ballots"]
    # Again: already closed, nothing to do.
    assert await service.run("close-ballots", body(fed), sessions=app_sessions,
                             settings=settings, clock=after) == 0


async def test_the_purge_job_runs_as_the_app_role(owner, app_sessions, settings: Settings) -> None:
    async with owner() as s, s.begin():
        await s.execute(text(
            "INSERT INTO idempotency_keys (principal, key, fingerprint, status_code, headers,"
            " body, created_at, expires_at) VALUES ('worker:purge-test', 'k', 'f', 201, '{}',"
            " '', now() - interval '2 days', now() - interval '1 day')"))
    removed = await service.run("purge", body(), sessions=app_sessions, settings=settings,
                                clock=FixedClock(datetime.now(UTC)))
    assert removed is not None and removed >= 1
    async with owner() as s:
        assert await s.scalar(text("SELECT count(*) FROM idempotency_keys"
                                   " WHERE principal = 'worker:purge-test'")) == 0
    # Nobody else may call it, and the app role still deletes none of these rows itself.
    async with scoped(app_sessions, DbScope(None, "system:jobs:auto-release")) as s:
        with pytest.raises(Exception, match="only the purge job"):
            await s.execute(text("SELECT * FROM flexunion_purge_expired(1)"))
