"""SIGKILL the server KILLS times in the middle of transfer accepts, votes and idempotent
writes under load, and prove after each kill, with SQL as the owner once the dead server's
transactions have ended:

- one active home per member: exactly one open member_homes row, and it is
  members.tenant_id; a home row opened for a transfer exactly when that transfer completed;
- one vote per elector: per ballot, papers == electors with voted_at == `ballot.voted`
  audit entries;
- one record per Idempotency-Key: every stored answer of a transfer request names one
  transfer, every transfer is named by one; every vote's stored answer is its elector's
  vote (same voted_at), every elector who voted has one;
- an intact audit chain (`check_chain`, what `flexunion audit verify` runs).

After each restart every request the kill cut off is sent again: one with an
Idempotency-Key is replayed (it had landed, its answer was lost) or done now, exactly
once; a transfer step finds the transfer where the kill left it (done, or still to do).
At the end the database holds exactly what the clients were told: each member's home, and
per ballot exactly the papers of the receipts that were answered.

The server is what `flexunion serve --no-migrate` runs, in a real process of its own on
the session's test database, forked from a parent that has built the app once
(tests/support/restartable.py, as gunicorn's --preload); a restart takes ~0.4 s on idle
cores, ~0.8 s on busy ones. A ballot is opened for each round beforehand. The load:
MEMBERS members, each in a loop of its own: ask to move to another region (an idempotent
write), the origin releases, the destination accepts, again; somewhere in between, a vote
in the round's ballot (an idempotent write); and first of all, what the last kill cut off.
The kill, os.kill(pid, SIGKILL), comes once a random number (1..MEMBERS) of answers have
come in the round, within KILL_WITHIN seconds after: every member has a request in flight.

Budget: about 120 s on 2 busy cores (a round is ~2 s: the restart, a cold pool's first
answers, the checks), 60 s on idle ones."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest

from flexunion.audit.verify import check_chain
from flexunion.config import Settings
from flexunion.db.urls import to_asyncpg
from tests.conftest import TEST_ISSUER, TEST_SECRET
from tests.support import database
from tests.support.bargaining import seed_item
from tests.support.factories import Federation, bearer, join, make_federation
from tests.support.restartable import RestartableServer

# One worker runs both fault tests, one after the other (pytest-xdist, --dist loadgroup).
pytestmark = [pytest.mark.faults, pytest.mark.xdist_group("faults")]

KILLS = 50
MEMBERS = 12
KILL_WITHIN = 0.1  # seconds after the round's drawn number of answers (1..MEMBERS)
ROUND_AT_MOST = 5.0  # seconds: a round that answers less is killed anyway
RUN = "fault" + secrets.token_hex(3)  # prefixes this run's Idempotency-Keys
SETTLED_WITHIN = 10.0  # seconds for the dead server's transactions to end in PostgreSQL


@pytest.fixture
def server(test_db: database.TestDatabase, settings: Settings, tmp_path: Path
           ) -> Iterator[RestartableServer]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FLEXUNION_") and k != "DATABASE_URL"}
    env |= {"FLEXUNION_DATABASE_URL": test_db.owner_url,
            "FLEXUNION_APP_DATABASE_URL": test_db.app_url,
            "FLEXUNION_SECRET_KEY": TEST_SECRET, "FLEXUNION_ISSUER": TEST_ISSUER,
            "FLEXUNION_DATA_DIR": str(tmp_path / "data"), "FLEXUNION_LOAD_DEMO": "0",
            "FLEXUNION_LOG_LEVEL": "WARNING"}
    restartable = RestartableServer(env, tmp_path / "server.log")
    yield restartable
    restartable.close()


# ---- what the clients know --------------------------------------------------------------


@dataclass
class Member:
    token: str
    worker_id: str
    member_id: str
    home: str  # region code
    stage: str = "home"  # home → requested → released → (accepted) home
    transfer: str | None = None
    dest: str | None = None
    voted: dict[str, str] = field(default_factory=dict)  # ballot id → receipt code
    pending: Op | None = None  # a request the kill cut off


@dataclass
class World:
    fed: Federation
    admins: dict[str, str]  # region code → regional admin token
    hq: str
    members: list[Member]
    ballots: list[str] = field(default_factory=list)
    cut: Counter[str] = field(default_factory=Counter)  # requests cut off by a kill, by kind
    landed: Counter[str] = field(default_factory=Counter)  # ... that had landed unanswered
    redone: Counter[str] = field(default_factory=Counter)  # ... that had not: done on retry
    answered: Counter[str] = field(default_factory=Counter)  # answers, cut-off ones included
    this_round: int = 0  # answers since the last start


class Op:
    """One request of a member's loop; `settle` checks the answer and moves the member."""

    kind = ""

    def __init__(self, world: World, m: Member) -> None:
        self.world, self.m = world, m
        self.cut = False  # a kill cut it off before (this sending is a retry)

    async def send(self, client: httpx.AsyncClient) -> httpx.Response:
        raise NotImplementedError

    def settle(self, r: httpx.Response, *, retry: bool) -> None:
        raise NotImplementedError

    def fail(self, r: httpx.Response) -> AssertionError:
        return AssertionError(f"{self.kind}: {r.status_code} {r.text}")


class AskToMove(Op):
    kind = "request"

    def __init__(self, world: World, m: Member) -> None:
        super().__init__(world, m)
        self.key = f"{RUN}-xfer-{secrets.token_hex(6)}"
        self.to = random.choice([r for r in world.fed.regions if r != m.home])

    async def send(self, client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/v1/me/transfers", json={"to": self.to},
                                 headers=bearer(self.m.token) | {"Idempotency-Key": self.key})

    def settle(self, r: httpx.Response, *, retry: bool) -> None:
        if r.status_code != 201:
            raise self.fail(r)
        if retry:
            landed = r.headers.get("idempotent-replayed") == "true"
            (self.world.landed if landed else self.world.redone)[self.kind] += 1
        self.m.stage, self.m.transfer, self.m.dest = "requested", r.json()["id"], self.to


class Step(Op):
    """release (by the origin) or accept (by the destination): not idempotent, so a retry
    that finds the step already taken is told so (409 with the transfer's status)."""

    after = ""

    async def send(self, client: httpx.AsyncClient) -> httpx.Response:
        side = self.m.home if self.kind == "release" else self.m.dest
        assert side is not None
        return await client.post(f"/v1/admin/transfers/{self.m.transfer}/{self.kind}",
                                 headers=bearer(self.world.admins[side]))

    def settle(self, r: httpx.Response, *, retry: bool) -> None:
        if r.status_code == 200 and r.json()["status"] == self.after:
            if retry:
                self.world.redone[self.kind] += 1
        elif (retry and r.status_code == 409 and r.json()["code"] == "invalid_transfer_state"
              and r.json()["transfer_status"] == self.after):
            self.world.landed[self.kind] += 1
        else:
            raise self.fail(r)
        self.moved()

    def moved(self) -> None:
        raise NotImplementedError


class Release(Step):
    kind, after = "release", "released"

    def moved(self) -> None:
        self.m.stage = "released"


class Accept(Step):
    kind, after = "accept", "completed"

    def moved(self) -> None:
        assert self.m.dest is not None
        self.m.home, self.m.stage, self.m.transfer, self.m.dest = self.m.dest, "home", None, None


class Vote(Op):
    kind = "vote"

    def __init__(self, world: World, m: Member, ballot: str) -> None:
        super().__init__(world, m)
        self.ballot = ballot
        self.key = f"{RUN}-vote-{secrets.token_hex(6)}"
        self.receipt = secrets.token_urlsafe(24)
        self.choice = random.choice(("yes", "no", "abstain"))

    async def send(self, client: httpx.AsyncClient) -> httpx.Response:
        return await client.post(f"/v1/bargaining/ballots/{self.ballot}/votes",
                                 json={"choice": self.choice, "receipt_code": self.receipt},
                                 headers=bearer(self.m.token) | {"Idempotency-Key": self.key})

    def settle(self, r: httpx.Response, *, retry: bool) -> None:
        if r.status_code != 201:
            raise self.fail(r)
        if retry:
            landed = r.headers.get("idempotent-replayed") == "true"
            (self.world.landed if landed else self.world.redone)[self.kind] += 1
        self.m.voted[self.ballot] = self.receipt


def next_step(world: World, m: Member) -> Op:
    if m.stage == "home":
        return AskToMove(world, m)
    return Release(world, m) if m.stage == "requested" else Accept(world, m)


async def work(world: World, m: Member, client: httpx.AsyncClient, ballot: str) -> None:
    """The member's loop until the kill cuts a request off (it stays `pending`, to be sent
    again first thing after the restart)."""
    vote_at = random.randrange(4)
    n = 0
    while True:
        op = m.pending
        if op is None:
            op = (Vote(world, m, ballot) if n >= vote_at and ballot not in m.voted
                  else next_step(world, m))
            m.pending = op
        try:
            r = await op.send(client)
        except httpx.TransportError:
            if not op.cut:
                op.cut = True
                world.cut[op.kind] += 1
            return
        m.pending = None
        op.settle(r, retry=op.cut)
        world.answered[op.kind] += 1
        world.this_round += 1
        n += 1


# ---- the test ---------------------------------------------------------------------------


async def test_sigkill_under_load_keeps_every_invariant(
    server: RestartableServer, client: httpx.AsyncClient, sms, owner, staff_token,
    test_db: database.TestDatabase, tmp_path: Path,
) -> None:
    began = time.monotonic()
    fed = await make_federation(owner, tmp_path, regions=3, stations=1)
    admins = {r: await staff_token(fed, "regional_admin", r) for r in fed.regions}
    hq = await staff_token(fed, "hq_admin", fed.hq)
    homes = [fed.regions[i % 3] for i in range(MEMBERS)]
    joined = await asyncio.gather(*(join(client, sms, fed, home, approver_token=admins[home])
                                    for home in homes))
    world = World(fed, admins, hq, [Member(j.token, j.worker_id, j.member_id, home)
                                    for j, home in zip(joined, homes, strict=True)])
    for _ in range(0, KILLS, 10):  # a ballot for each round, opened before the first
        await asyncio.gather(*(open_ballot(world, client, owner)
                               for _ in range(min(10, KILLS - len(world.ballots)))))
    db = await asyncpg.connect(to_asyncpg(test_db.owner_url))
    checks: list[float] = []
    try:
        server.start()
        arranged = time.monotonic() - began
        for ballot in world.ballots:
            await round_until_killed(world, server, ballot)
            t = time.monotonic()
            await settled(db)
            await check_invariants(db, world)
            checks.append(time.monotonic() - t)
            server.start()
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as api:
            await asyncio.gather(*(work_off(world, m, api) for m in world.members))
        await check_invariants(db, world)
        await check_what_clients_were_told(db, world)
    except BaseException:
        print("server log:\n" + server.log.read_text()[-6000:])
        raise
    finally:
        await db.close()
    starts, checks = sorted(server.starts), sorted(checks)
    print(f"\n{KILLS} kills in {time.monotonic() - began:.0f} s (arranging {arranged:.1f} s,"
          f" the fork server ready after {server.prepared:.1f} s); restarts median"
          f" {starts[len(starts) // 2]:.2f} s, max {starts[-1]:.2f} s; checks median"
          f" {checks[len(checks) // 2]:.2f} s\nanswered {dict(world.answered)}\ncut off"
          f" {dict(world.cut)}: had landed {dict(world.landed)}, not {dict(world.redone)}")
    assert len(server.starts) == KILLS + 1
    # The kills came in the middle of each kind of write, and every request they cut off
    # was settled by its retry: replayed or found done (it had landed), or done then.
    assert set(world.cut) == {"request", "release", "accept", "vote"}
    assert world.cut == world.landed + world.redone


async def round_until_killed(world: World, server: RestartableServer, ballot: str) -> None:
    """One round of load: the members' loops, each first sending again what the last kill
    cut off; SIGKILL once a random number of answers have come, at a random moment after."""
    world.this_round = 0
    target = random.randint(1, MEMBERS)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as api:
        loops = [asyncio.create_task(work(world, m, api, ballot)) for m in world.members]
        deadline = time.monotonic() + ROUND_AT_MOST
        while world.this_round < target and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        await asyncio.sleep(random.uniform(0, KILL_WITHIN))
        server.kill()
        await asyncio.gather(*loops)


async def work_off(world: World, m: Member, api: httpx.AsyncClient) -> None:
    """After the last restart: send again what the last kill cut off."""
    if m.pending is not None:
        op, m.pending = m.pending, None
        op.settle(await op.send(api), retry=True)


async def open_ballot(world: World, api: httpx.AsyncClient, owner) -> str:
    item = await seed_item(owner, world.fed, scope=world.fed.hq, status="agreed")
    r = await api.post(f"/v1/admin/bargaining/items/{item}/ballots", json={},
                       headers=bearer(world.hq))
    assert r.status_code == 201, r.text
    assert r.json()["electorate"] == MEMBERS
    world.ballots.append(r.json()["id"])
    return str(r.json()["id"])


async def settled(db: asyncpg.Connection) -> None:
    """Wait until no transaction of the app role is open: the dead server's backends have
    seen their client go and committed or rolled back what they had."""
    deadline = time.monotonic() + SETTLED_WITHIN
    while await db.fetchval(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'virtualxid' AND a.usename = $1"
            " AND a.datname = current_database()", database.APP_ROLE):
        assert time.monotonic() < deadline, "the killed server's transactions did not end"
        await asyncio.sleep(0.02)


async def check_invariants(db: asyncpg.Connection, world: World) -> None:
    fed = world.fed.ids[world.fed.hq]
    async with db.transaction(isolation="repeatable_read", readonly=True):
        homes = await db.fetch(
            "SELECT m.id, count(h.id) AS open FROM members m"
            " LEFT JOIN member_homes h ON h.member_id = m.id AND h.ended_at IS NULL"
            " WHERE m.federation_id = $1 GROUP BY m.id, m.tenant_id"
            " HAVING count(h.id) <> 1 OR bool_or(h.tenant_id IS DISTINCT FROM m.tenant_id)",
            fed)
        assert homes == [], "members without exactly one home, their tenant"
        moved = await db.fetch(
            "SELECT t.id, t.status, count(h.id) AS homes FROM transfers t"
            " LEFT JOIN member_homes h ON h.transfer_id = t.id AND h.tenant_id = t.dest_tenant_id"
            " WHERE t.federation_id = $1 GROUP BY t.id, t.status"
            " HAVING count(h.id) <> (t.status = 'completed')::int", fed)
        assert moved == [], "a home moved without its transfer completing, or the reverse"
        votes = await db.fetch(
            "SELECT b.id,"
            " (SELECT count(*) FROM ballot_papers p WHERE p.ballot_id = b.id) AS papers,"
            " (SELECT count(*) FROM ballot_electors e WHERE e.ballot_id = b.id"
            "   AND e.voted_at IS NOT NULL) AS voted,"
            " (SELECT count(*) FROM audit_events a WHERE a.action = 'ballot.voted'"
            "   AND a.object_id = b.id::text) AS audited"
            " FROM ballots b WHERE b.federation_id = $1", fed)
        assert len(votes) == len(world.ballots)
        assert [v for v in votes if not v["papers"] == v["voted"] == v["audited"]] == []
        transfer_keys = await db.fetch(
            "WITH k AS (SELECT key, convert_from(body, 'UTF8')::jsonb ->> 'id' AS id"
            "           FROM idempotency_keys WHERE key LIKE $2 || '-xfer-%')"
            " SELECT t.id::text AS id, count(k.key) AS keys FROM transfers t"
            " LEFT JOIN k ON k.id = t.id::text WHERE t.federation_id = $1 GROUP BY t.id"
            " HAVING count(k.key) <> 1"
            " UNION ALL SELECT k.id, 0 FROM k WHERE NOT EXISTS"
            "   (SELECT 1 FROM transfers t WHERE t.id::text = k.id)", fed, RUN)
        assert transfer_keys == [], "a transfer without exactly one key, or a key without one"
        vote_keys = await db.fetch(
            "WITH k AS (SELECT principal, key, convert_from(body, 'UTF8')::jsonb AS answer"
            "           FROM idempotency_keys WHERE key LIKE $2 || '-vote-%'),"
            " v AS (SELECT e.ballot_id, e.worker_id, e.voted_at FROM ballot_electors e"
            "       JOIN ballots b ON b.id = e.ballot_id"
            "       WHERE b.federation_id = $1 AND e.voted_at IS NOT NULL)"
            " SELECT v.ballot_id::text AS ballot, count(k.key) AS keys FROM v LEFT JOIN k"
            "   ON k.principal = 'worker:' || v.worker_id"
            "   AND k.answer ->> 'ballot_id' = v.ballot_id::text"
            "   AND (k.answer ->> 'voted_at')::timestamptz = v.voted_at"
            " GROUP BY v.ballot_id, v.worker_id HAVING count(k.key) <> 1"
            " UNION ALL SELECT k.answer ->> 'ballot_id', 0 FROM k WHERE NOT EXISTS"
            "   (SELECT 1 FROM v WHERE 'worker:' || v.worker_id = k.principal"
            "    AND v.ballot_id::text = k.answer ->> 'ballot_id')", fed, RUN)
        assert vote_keys == [], "a vote without exactly one key, or a key without its vote"
        chain = await check_chain(db)
        assert chain.ok, chain.problems


async def check_what_clients_were_told(db: asyncpg.Connection, world: World) -> None:
    ids = world.fed.ids
    rows = await db.fetch("SELECT id::text AS id, tenant_id FROM members WHERE id = ANY($1)",
                          [m.member_id for m in world.members])
    home = {r["id"]: r["tenant_id"] for r in rows}
    assert {m.member_id: ids[m.home] for m in world.members} == home
    for ballot in world.ballots:
        papers = await db.fetch("SELECT receipt_hash FROM ballot_papers WHERE ballot_id = $1",
                                ballot)
        told = {hashlib.sha256(f"{ballot}:{m.voted[ballot]}".encode()).hexdigest()
                for m in world.members if ballot in m.voted}
        assert sorted(p["receipt_hash"] for p in papers) == sorted(told), ballot
