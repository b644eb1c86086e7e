"""PostgreSQL restarted under load: while it is down every request that needs it is a clear
503 (problem+json, code `database_unavailable`, Retry-After), never a 500; once it is back
the same app process serves again without a restart, on fresh connections (the pooled
ones died with the server), and the geo listener listens again.

A PostgreSQL of the test's own (tests/support/outage.py) and the real app on a real socket
in this process (so it is provably the same process throughout). Six kinds of request
run in loops, each through a different path to the database: /readyz and two reads
(the unit of work's session), an idempotent write (Idempotency-Key), card verification
(the bare asyncpg pool) and a station board (the geo registry's pool). PostgreSQL goes
down with `pg_ctl stop -m fast` for OUTAGE seconds, then comes back. Then a restart that no
request sees (the pool replaces what the server closed, without pre-ping), and a connection
killed just as an idempotent answer is stored.

Budget: about 25 s on 2 busy cores (5–10 s of it creating and migrating the database)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.app import create_app
from flexunion.auth.keys import KeyStore, ensure_active_key
from flexunion.auth.tokens import TokenService
from flexunion.auth.workers.sms import RecordingSmsGateway
from flexunion.config import GeoSettings, Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Role
from flexunion.core.secrets import Keyring
from flexunion.db.engine import bind_scope, make_engine, make_sessionmaker
from flexunion.db.runtime import owner_session
from flexunion.db.scope import DbScope
from flexunion.db.urls import to_asyncpg
from flexunion.geo import registry as geo_registry
from flexunion.membership.cards import holders
from tests.conftest import TEST_ISSUER, TEST_SECRET, run_in_thread
from tests.support.factories import bearer, join, make_federation
from tests.support.geo import seed_point
from tests.support.outage import RestartablePostgres, restartable_postgres
from tests.support.server import LiveServer

# One worker runs both fault tests, one after the other (pytest-xdist, --dist loadgroup).
pytestmark = [pytest.mark.faults, pytest.mark.xdist_group("faults")]

BEFORE, OUTAGE, AFTER = 1.0, 2.5, 4.0  # seconds of load before, while and after it is down
RECOVERS_WITHIN = 5.0  # seconds from PostgreSQL being back to every kind answering again


@dataclass
class Outage:
    """The app on its own PostgreSQL, with what the requests need: a member (token, card),
    an HQ admin's token and a station."""

    pg: RestartablePostgres
    server: LiveServer
    worker: str
    hq: str
    card: str
    station: str


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outage]:
    tmp = tmp_path_factory.mktemp("outage")
    pg = restartable_postgres()
    try:
        settings = Settings(database_url=pg.db.owner_url, app_database_url=pg.db.app_url,
                            data_dir=tmp / "data", secret_key=TEST_SECRET, issuer=TEST_ISSUER,
                            load_demo=False, geo=GeoSettings(poll_seconds=0.5))

        async def key() -> None:
            async with owner_session(settings) as session:
                await ensure_active_key(session, Keyring(TEST_SECRET.encode()))

        run_in_thread(key)
        sms = RecordingSmsGateway()
        server = LiveServer(create_app(settings, sms=sms)).start()
        try:
            yield run_in_thread(lambda: arrange(pg, settings, server, sms, tmp))
        finally:
            server.stop()
    finally:
        pg.close()


async def arrange(pg: RestartablePostgres, settings: Settings, server: LiveServer,
                  sms: RecordingSmsGateway, tmp: Path) -> Outage:
    assert settings.database_url
    engine = make_engine(settings.database_url, pool_size=2, max_overflow=0)
    factory = make_sessionmaker(engine)

    def owner() -> AsyncSession:
        s = factory()
        bind_scope(s, lambda: DbScope(None, "test:owner"))
        return s

    tokens = TokenService(settings, KeyStore(factory, Keyring(TEST_SECRET.encode())), Clock())
    try:
        fed = await make_federation(owner, tmp, regions=1, stations=1)
        hq, _ = await tokens.issue(role=Role.HQ_ADMIN, subject="outage",
                                   tenant_id=fed.ids[fed.hq], tenant_code=fed.hq)
        station = fed.stations[fed.regions[0]][0]
        await seed_point(owner, fed, station, "outage-st", 121.45, 31.2)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            worker = await join(client, sms, fed, fed.regions[0], approver_token=hq)
            card = await client.get("/v1/me/card", headers=bearer(worker.token))
            assert card.status_code == 200, card.text
    finally:
        await engine.dispose()
    return Outage(pg, server, worker.token, hq, card.json()["token"], "outage-st")


@dataclass
class Answer:
    kind: str
    sent: float
    received: float
    status: int
    code: str = ""
    retry_after: str | None = None
    content_type: str = ""
    replayed: bool = False
    key: str = ""


@dataclass
class Timeline:
    down_from: float = float("inf")  # pg_ctl stop was called
    down: float = float("inf")  # ... and had returned: PostgreSQL is gone
    up_from: float = float("inf")  # pg_ctl restart was called
    up: float = float("inf")  # ... and had returned: PostgreSQL accepts connections
    answers: list[Answer] = field(default_factory=list)


KINDS = ("readyz", "membership", "tenants", "consent", "card", "station")
CONSENT = {"purpose": "sms_notice", "version": "2026-11", "granted": True}


def caller(o: Outage, client: httpx.AsyncClient) -> Callable[[str], Awaitable[Answer]]:
    """One request of a kind, answered as an Answer."""

    async def call(kind: str) -> Answer:
        sent, key = time.monotonic(), ""
        if kind == "readyz":
            r = await client.get("/readyz")
        elif kind == "membership":
            r = await client.get("/v1/me/membership", headers=bearer(o.worker))
        elif kind == "tenants":
            r = await client.get("/v1/admin/tenants", headers=bearer(o.hq))
        elif kind == "consent":
            key = "outage-" + secrets.token_hex(8)
            r = await client.post("/v1/me/consents", json=CONSENT,
                                  headers=bearer(o.worker) | {"Idempotency-Key": key})
        elif kind == "card":
            r = await client.post("/v1/cards/verify", json={"card": o.card},
                                  headers=bearer(o.hq))
        else:
            r = await client.get(f"/v1/geo/stations/{o.station}", headers=bearer(o.worker))
        body: dict[str, Any] = {}
        if r.headers.get("content-type", "").startswith("application/problem+json"):
            body = r.json()
        return Answer(kind, sent, time.monotonic(), r.status_code, body.get("code", ""),
                      r.headers.get("retry-after"), r.headers.get("content-type", ""),
                      r.headers.get("idempotent-replayed") == "true", key)

    return call


async def test_postgres_restart_under_load(outage: Outage) -> None:
    """Twelve loops (two per kind) run while PostgreSQL stops for OUTAGE seconds and
    comes back; then every write the outage refused is retried with its key."""
    async with httpx.AsyncClient(base_url=outage.server.url, timeout=30) as client:
        call = caller(outage, client)
        for kind in KINDS:  # everything works before
            got = await call(kind)
            assert 200 <= got.status < 300, got
        consents = await consent_rows(outage)
        timeline = Timeline()
        done = asyncio.Event()

        async def loop(kind: str) -> None:
            while not done.is_set():
                timeline.answers.append(await call(kind))
                await asyncio.sleep(0.01)

        loops = [asyncio.create_task(loop(k)) for k in KINDS for _ in range(2)]
        try:
            await asyncio.sleep(BEFORE)
            timeline.down_from = time.monotonic()
            stopped = await asyncio.to_thread(outage.pg.stop)
            timeline.down = time.monotonic()
            await asyncio.sleep(OUTAGE)
            timeline.up_from = time.monotonic()
            started = await asyncio.to_thread(outage.pg.start)
            timeline.up = time.monotonic()
            await asyncio.sleep(AFTER)
        finally:
            done.set()
            await asyncio.gather(*loops)
        report(timeline, stopped, started)
        check(timeline)
        await check_writes(client, outage, timeline, consents)
    await check_listener(outage.pg)


async def test_a_restart_between_requests_is_not_seen(outage: Outage) -> None:
    """PostgreSQL restarts while no request runs: the pooled connections it closed are
    replaced as they are checked out, so not one request meets a dead one (no pre-ping)."""
    async with httpx.AsyncClient(base_url=outage.server.url, timeout=30) as client:
        call = caller(outage, client)

        async def burst() -> list[Answer]:  # enough at once to check out several connections
            return list(await asyncio.gather(*(call(k) for k in KINDS for _ in range(4))))

        assert all(200 <= a.status < 300 for a in await burst())
        await asyncio.to_thread(outage.pg.stop)
        await asyncio.to_thread(outage.pg.start)
        await asyncio.sleep(0.2)  # the app's event loop reads each connection's end
        answers = await burst() + await burst()
    assert [a for a in answers if not 200 <= a.status < 300] == []


async def test_a_connection_lost_while_storing_the_answer(
        outage: Outage, monkeypatch: pytest.MonkeyPatch) -> None:
    """The handler has answered, and the connection dies as the idempotent answer is stored
    (its backend is terminated): a clear 503, not a bare 500 after a "started" response;
    nothing landed, and the retry with the same key does it once."""
    from sqlalchemy import text

    from flexunion.core import idempotency

    stored = idempotency._STORE
    monkeypatch.setattr(idempotency, "_STORE", text(
        "SELECT pg_terminate_backend(pg_backend_pid()), CAST(:principal AS text),"
        " CAST(:key AS text), CAST(:fingerprint AS text), CAST(:status_code AS int),"
        " CAST(:headers AS jsonb), CAST(:body AS bytea), CAST(:ttl_hours AS int)"))
    before = await consent_rows(outage)
    headers = bearer(outage.worker) | {"Idempotency-Key": "outage-" + secrets.token_hex(8)}
    async with httpx.AsyncClient(base_url=outage.server.url, timeout=30) as client:
        r = await client.post("/v1/me/consents", json=CONSENT, headers=headers)
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "database_unavailable" and r.headers["retry-after"]
        assert await consent_rows(outage) == before
        monkeypatch.setattr(idempotency, "_STORE", stored)
        again = await client.post("/v1/me/consents", json=CONSENT, headers=headers)
        assert again.status_code == 201 and "idempotent-replayed" not in again.headers
        replayed = await client.post("/v1/me/consents", json=CONSENT, headers=headers)
        assert replayed.headers.get("idempotent-replayed") == "true"
    assert await consent_rows(outage) == before + 1


def report(t: Timeline, stopped: float, started: float) -> None:
    by_phase: Counter[tuple[str, int, str]] = Counter()
    for a in t.answers:
        phase = ("before" if a.sent < t.down_from else "down" if a.sent < t.up else "after")
        by_phase[(phase, a.status, a.code)] += 1
    print(f"\npg stop {stopped:.2f} s, start {started:.2f} s, {len(t.answers)} answers:",
          dict(sorted(by_phase.items())))


def check(t: Timeline) -> None:
    # Never a 500; every 503 is the clear one.
    wrong = [a for a in t.answers if a.status >= 500 and a.status != 503]
    assert not wrong, wrong[:5]
    for a in t.answers:
        if a.status == 503:
            assert a.content_type.startswith("application/problem+json"), a
            assert a.code == "database_unavailable" and a.retry_after, a
    # Before: all answered. While it is down: only 503s (the readiness probe included).
    assert all(200 <= a.status < 300 for a in t.answers if a.received < t.down_from)
    down = [a for a in t.answers if a.sent > t.down and a.received < t.up_from]
    assert {a.kind for a in down} == set(KINDS), Counter(a.kind for a in down)
    assert {a.status for a in down} == {503}, Counter((a.kind, a.status) for a in down)
    # Back: each kind answers again within RECOVERS_WITHIN, and then never fails again.
    for kind in KINDS:
        after = sorted((a for a in t.answers if a.kind == kind and a.sent >= t.up),
                       key=lambda a: a.sent)
        assert after, kind
        first = next((a for a in after if 200 <= a.status < 300), None)
        seen = [(round(a.sent - t.up, 2), round(a.received - t.up, 2), a.status)
                for a in t.answers if a.kind == kind and a.received > t.up_from - 1]
        assert first is not None and first.received - t.up < RECOVERS_WITHIN, (kind, seen)
        later = [a for a in after if a.sent > first.received and not 200 <= a.status < 300]
        assert not later, (kind, later[:5])


async def consent_rows(o: Outage) -> int:
    conn = await asyncpg.connect(to_asyncpg(o.pg.db.owner_url))
    try:
        return int(await conn.fetchval(
            "SELECT count(*) FROM worker_consents WHERE purpose = 'sms_notice'"))
    finally:
        await conn.close()


async def check_writes(client: httpx.AsyncClient, o: Outage, t: Timeline, before: int) -> None:
    """Each write the outage refused is done once by its retry; each that landed replays."""
    writes = [a for a in t.answers if a.kind == "consent"]
    refused = [a for a in writes if a.status == 503]
    assert refused
    for a in writes:
        r = await client.post("/v1/me/consents", json=CONSENT,
                              headers=bearer(o.worker) | {"Idempotency-Key": a.key})
        assert r.status_code == 201, r.text
        assert (r.headers.get("idempotent-replayed") == "true") is (a.status == 201), (a, r)
    conn = await asyncpg.connect(to_asyncpg(o.pg.db.owner_url))
    try:
        keys = await conn.fetchval(
            "SELECT count(*) FROM idempotency_keys WHERE key = ANY($1::text[])",
            [a.key for a in writes])
    finally:
        await conn.close()
    assert keys == len(writes)
    assert await consent_rows(o) - before == len(writes)


async def check_listener(pg: RestartablePostgres) -> None:
    """The geo registry and the card holders listen again (their connections died with the
    server)."""
    wanted = {geo_registry.LISTENER_NAME, holders.LISTENER_NAME}
    conn = await asyncpg.connect(to_asyncpg(pg.superuser_url))
    try:
        deadline = time.monotonic() + 10
        while True:
            listening = sorted(await conn.fetchval(
                "SELECT array_agg(application_name) FROM pg_stat_activity"
                " WHERE application_name = ANY($1::text[])", list(wanted)) or [])
            if set(listening) == wanted or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    assert listening == sorted(wanted)
