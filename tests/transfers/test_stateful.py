"""A Hypothesis state machine over joining and moving members across three regions, driving the
real HTTP API. After every step, the database (read as the owner) must show: each member has
exactly one open home and it is the member's tenant; at most one open transfer per member;
every completed transfer moved the home (and nothing else did); member_since never changes
after approval. The model also predicts every answer of the API, status and code."""

from __future__ import annotations

import asyncio
import secrets
import threading
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from flexunion.auth.keys import KeyStore
from flexunion.auth.tokens import TokenService
from flexunion.auth.workers.sms import RecordingSmsGateway
from flexunion.config import Settings
from flexunion.core.context import Role
from flexunion.core.secrets import Keyring
from flexunion.db.engine import bind_scope, make_engine, make_sessionmaker
from flexunion.db.scope import DbScope
from flexunion.db.urls import to_asyncpg
from flexunion.membership.service import TRANSITIONS
from tests.conftest import TEST_SECRET
from tests.support.factories import JOIN_CONSENTS, Federation, application, bearer, make_federation
from tests.support.server import LiveServer

T = TypeVar("T")
MAX_WORKERS = 4
OPEN = ("requested", "released")
# Hypothesis seeds the `random` module per example; people must still differ across examples.
_fresh = secrets.SystemRandom()


def fresh_phone() -> str:
    return "139" + f"{_fresh.randrange(10**8):08d}"


def fresh_id_number() -> str:
    from stdnum.cn import ric

    body = f"310104{_fresh.randrange(1975, 2001)}{_fresh.randrange(1, 13):02d}" \
           f"{_fresh.randrange(1, 29):02d}{_fresh.randrange(1000):03d}"
    return body + ric.calc_check_digit(body + "0")


class Background:
    """One event loop in a thread, for the database work of a synchronous test."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@dataclass
class World:
    """What every example shares: the server, one federation, staff tokens, the owner's eyes."""

    http: httpx.Client
    sms: RecordingSmsGateway
    bg: Background
    db: asyncpg.Connection
    fed: Federation
    admin: dict[str, str]  # region code (or hq code) → admin token
    since: dict[str, date] = field(default_factory=dict)  # member id → member_since, all examples

    def region(self, code: str) -> str:
        return code if code in self.fed.regions else next(
            r for r, stations in self.fed.stations.items() if code in stations)


@dataclass
class Worker:
    token: str
    member_id: str
    home: str
    status: str


@dataclass
class Move:
    id: str
    worker: Worker
    origin: str
    dest: str
    status: str = "requested"


class TransferMachine(RuleBasedStateMachine):
    world: World  # set on a subclass per test

    def __init__(self) -> None:
        super().__init__()
        self.workers: list[Worker] = []
        self.moves: list[Move] = []

    # ---- helpers ---------------------------------------------------------------------------

    def call(self, method: str, path: str, token: str, body: Any = None,
             idempotent: bool = False) -> httpx.Response:
        headers = bearer(token) | ({"Idempotency-Key": uuid.uuid4().hex} if idempotent else {})
        return self.world.http.request(method, path, json=body, headers=headers)

    @staticmethod
    def expect(r: httpx.Response, status: int, code: str | None = None) -> None:
        assert r.status_code == status, (status, code, r.status_code, r.text)
        if code:
            assert r.json()["code"] == code, (code, r.text)

    def pick(self, j: int) -> Move:
        """Mostly an open transfer (where the interesting steps are), sometimes any."""
        live = [m for m in self.moves if m.status in OPEN]
        pool = live if live and j % 3 else self.moves
        return pool[j % len(pool)]

    def actor(self, move: Move, who: str) -> str:
        w = self.world
        regions = {"origin": w.region(move.origin), "destination": w.region(move.dest)}
        if who == "third":
            return w.admin[next(r for r in w.fed.regions if r not in regions.values())]
        return w.admin[w.fed.hq] if who == "hq" else w.admin[regions[who]]

    # ---- membership ------------------------------------------------------------------------

    @initialize(data=st.data())
    def first_member(self, data: st.DataObject) -> None:
        """Every run starts with one admitted member, so transfers happen in short runs too."""
        self.join(data, approved=True)

    @precondition(lambda self: len(self.workers) < MAX_WORKERS)
    @rule(data=st.data(), approved=st.sampled_from([True, True, False]))
    def join(self, data: st.DataObject, approved: bool) -> None:
        w = self.world
        target = data.draw(st.sampled_from([c for c in w.fed.all_codes() if c != w.fed.hq]))
        phone = fresh_phone()
        self.expect(w.http.post("/v1/auth/otp", json={"federation": w.fed.hq, "phone": phone}), 202)
        code = w.sms.last_code("+86" + phone)
        verified = w.http.post("/v1/auth/otp/verify",
                               json={"federation": w.fed.hq, "phone": phone, "code": code})
        self.expect(verified, 200)
        token = verified.json()["access_token"]
        for consent in JOIN_CONSENTS:
            self.expect(self.call("POST", "/v1/me/consents", token, consent, idempotent=True), 201)
        r = self.call("POST", "/v1/me/membership/application", token,
                      application(target, id_number=fresh_id_number()), idempotent=True)
        self.expect(r, 201)
        worker = Worker(token, r.json()["member_id"], target, "applicant")
        self.workers.append(worker)
        if approved:
            self._approve(worker)

    def _approve(self, worker: Worker) -> None:
        admin = self.world.admin[self.world.region(worker.home)]
        r = self.call("POST", f"/v1/admin/members/{worker.member_id}/approve", admin)
        # approve decides applications only; reinstating is a status change.
        if worker.status != "applicant":
            return self.expect(r, 409, "invalid_transition")
        self.expect(r, 200)
        if worker.status == "applicant":
            self.world.since[worker.member_id] = date.fromisoformat(r.json()["member_since"])
        worker.status = "active"
        return None

    @precondition(lambda self: self.workers)
    @rule(i=st.integers(0, MAX_WORKERS - 1))
    def approve(self, i: int) -> None:
        self._approve(self.workers[i % len(self.workers)])

    @precondition(lambda self: self.workers)
    @rule(i=st.integers(0, MAX_WORKERS - 1),
          to=st.sampled_from(["suspended", "parked", "active", "active", "parked", "left"]))
    def change_status(self, i: int, to: str) -> None:
        worker = self.workers[i % len(self.workers)]
        admin = self.world.admin[self.world.region(worker.home)]
        r = self.call("POST", f"/v1/admin/members/{worker.member_id}/status", admin,
                      {"to": to, "reason": "状态机 state machine"})
        if worker.status == "applicant":
            return self.expect(r, 422, "use_decision")
        if to not in TRANSITIONS[worker.status]:
            return self.expect(r, 409, "invalid_transition")
        self.expect(r, 200)
        worker.status = to
        return None

    @precondition(lambda self: self.workers)
    @rule(i=st.integers(0, MAX_WORKERS - 1))
    def look(self, i: int) -> None:
        """The worker's own view agrees with the model."""
        worker = self.workers[i % len(self.workers)]
        r = self.call("GET", "/v1/me/membership", worker.token)
        self.expect(r, 200)
        mine = r.json()
        assert mine["home"]["code"] == worker.home and mine["status"] == worker.status
        assert sum(h["until"] is None for h in mine["homes"]) == 1
        moves = [m for m in reversed(self.moves) if m.worker is worker]
        assert ([(t["id"], t["status"]) for t in mine["transfers"]]
                == [(m.id, m.status) for m in moves])

    # ---- transfers -------------------------------------------------------------------------

    @precondition(lambda self: self.workers)
    @rule(i=st.integers(0, MAX_WORKERS - 1), data=st.data())
    def request(self, i: int, data: st.DataObject, to: str | None = None) -> None:
        w = self.world
        worker = self.workers[i % len(self.workers)]
        if to is None:
            to = data.draw(st.sampled_from(w.fed.all_codes()))  # the hq is not a valid target
        r = self.call("POST", "/v1/me/transfers", worker.token, {"to": to}, idempotent=True)
        if to == w.fed.hq:
            return self.expect(r, 422, "transfer_target_invalid")
        if w.region(to) == w.region(worker.home):
            return self.expect(r, 422, "transfer_same_region")
        if worker.status not in ("active", "parked"):
            return self.expect(r, 409, "member_not_transferable")
        if any(m.worker is worker and m.status in OPEN for m in self.moves):
            return self.expect(r, 409, "transfer_already_open")
        self.expect(r, 201)
        self.moves.append(Move(r.json()["id"], worker, worker.home, to))
        return None

    @precondition(lambda self: self.moves)
    @rule(j=st.integers(0, 20), by=st.sampled_from(["origin", "destination", "third", "hq"]))
    def release(self, j: int, by: str) -> None:
        self.release_move(self.pick(j), by)

    def release_move(self, move: Move, by: str) -> None:
        r = self.call("POST", f"/v1/admin/transfers/{move.id}/release", self.actor(move, by))
        if by == "third":
            return self.expect(r, 404, "transfer_not_found")
        if by == "destination":
            return self.expect(r, 403, "transfer_wrong_side")
        if move.status != "requested":
            return self.expect(r, 409, "invalid_transfer_state")
        self.expect(r, 200)
        move.status = "released"
        return None

    @precondition(lambda self: self.moves)
    @rule(j=st.integers(0, 20), by=st.sampled_from(["origin", "destination", "third", "hq"]))
    def accept(self, j: int, by: str) -> None:
        self.accept_move(self.pick(j), by)

    def accept_move(self, move: Move, by: str) -> None:
        r = self.call("POST", f"/v1/admin/transfers/{move.id}/accept", self.actor(move, by))
        if by == "third":
            return self.expect(r, 404, "transfer_not_found")
        if by == "origin":
            return self.expect(r, 403, "transfer_wrong_side")
        if move.status != "released":
            return self.expect(r, 409, "invalid_transfer_state")
        if move.worker.status not in ("active", "parked"):
            return self.expect(r, 409, "member_not_transferable")
        self.expect(r, 200)
        move.status = "completed"
        move.worker.home = move.dest
        return None

    @precondition(lambda self: self.moves)
    @rule(j=st.integers(0, 20), by=st.sampled_from(["origin", "destination", "third", "hq"]))
    def reject(self, j: int, by: str) -> None:
        move = self.pick(j)
        r = self.call("POST", f"/v1/admin/transfers/{move.id}/reject", self.actor(move, by),
                      {"reason": "状态机驳回"})
        if by == "third":
            return self.expect(r, 404, "transfer_not_found")
        if move.status == "requested":
            side = "destination" if by == "destination" else "origin"
        elif move.status == "released" and by in ("destination", "hq"):
            side = "destination"
        else:
            return self.expect(r, 409, "invalid_transfer_state")
        self.expect(r, 200)
        assert r.json()["rejected_by"] == side
        move.status = "rejected"
        return None

    @precondition(lambda self: any(m.status in OPEN for m in self.moves))
    @rule(j=st.integers(0, 20))
    def advance(self, j: int) -> None:
        """The expected next step of an open transfer, by the right side."""
        move = self.pick(j)
        if move.status == "requested":
            self.release_move(move, "origin")
        elif move.status == "released":
            self.accept_move(move, "destination")

    @precondition(lambda self: self.workers)
    @rule(i=st.integers(0, MAX_WORKERS - 1), data=st.data())
    def move_through(self, i: int, data: st.DataObject) -> None:
        """The happy path in one step: request to another region, release, accept."""
        w = self.world
        worker = self.workers[i % len(self.workers)]
        elsewhere = [c for c in w.fed.all_codes()
                     if c != w.fed.hq and w.region(c) != w.region(worker.home)]
        count = len(self.moves)
        self.request(i, data, to=data.draw(st.sampled_from(elsewhere)))
        if len(self.moves) > count:
            j = len(self.moves) - 1
            self.release_move(self.moves[j], "origin")
            self.accept_move(self.moves[j], "destination")

    @precondition(lambda self: self.moves)
    @rule(j=st.integers(0, 20))
    def cancel(self, j: int) -> None:
        move = self.pick(j)
        r = self.call("POST", f"/v1/me/transfers/{move.id}/cancel", move.worker.token,
                      idempotent=True)
        if move.status not in OPEN:
            return self.expect(r, 409, "invalid_transfer_state")
        self.expect(r, 200)
        move.status = "cancelled"
        return None

    # ---- what must always hold, read straight from the database -----------------------------

    @invariant()
    def database_agrees(self) -> None:
        w = self.world
        problems, members, transfers = w.bg.run(_inspect(w.db, w.fed.ids[w.fed.hq]))
        assert problems == [], problems
        for member_id, since in w.since.items():
            assert members[member_id]["member_since"] == since, member_id
        for worker in self.workers:
            row = members[worker.member_id]
            assert row["tenant_id"] == w.fed.ids[worker.home] and row["status"] == worker.status
        for move in self.moves:
            assert transfers[move.id] == move.status, move


CHECKS = {
    "not exactly one open home, or not the member's tenant": """
        SELECT m.id::text FROM members m
          LEFT JOIN member_homes h ON h.member_id = m.id AND h.ended_at IS NULL
         WHERE m.federation_id = $1
         GROUP BY m.id, m.tenant_id
        HAVING count(h.id) <> 1 OR bool_or(h.tenant_id IS DISTINCT FROM m.tenant_id)""",
    "more than one open transfer": """
        SELECT member_id::text FROM transfers
         WHERE federation_id = $1 AND status IN ('requested', 'released')
         GROUP BY member_id HAVING count(*) > 1""",
    "a completed transfer did not move the home": """
        SELECT t.id::text FROM transfers t
         WHERE t.federation_id = $1 AND t.status = 'completed' AND NOT (
           EXISTS (SELECT 1 FROM member_homes h WHERE h.transfer_id = t.id
                      AND h.member_id = t.member_id AND h.tenant_id = t.dest_tenant_id
                      AND h.started_at = t.completed_at)
           AND EXISTS (SELECT 1 FROM member_homes h WHERE h.member_id = t.member_id
                      AND h.tenant_id = t.origin_tenant_id AND h.ended_at = t.completed_at))""",
    "a home changed without a completed transfer": """
        SELECT m.id::text FROM members m
         WHERE m.federation_id = $1
           AND (SELECT count(*) FROM member_homes h WHERE h.member_id = m.id)
               <> 1 + (SELECT count(*) FROM transfers t
                        WHERE t.member_id = m.id AND t.status = 'completed')""",
    "a home opened by a transfer that is not completed": """
        SELECT h.id::text FROM member_homes h JOIN transfers t ON t.id = h.transfer_id
         WHERE h.federation_id = $1 AND t.status <> 'completed'""",
}


async def _inspect(
    db: asyncpg.Connection, federation_id: uuid.UUID
) -> tuple[list[tuple[str, str]], dict[str, dict[str, Any]], dict[str, str]]:
    problems = [(name, row[0]) for name, sql in CHECKS.items()
                for row in await db.fetch(sql, federation_id)]
    members = {str(r["id"]): dict(r) for r in await db.fetch(
        "SELECT id, tenant_id, status, member_since FROM members WHERE federation_id = $1",
        federation_id)}
    transfers = {str(r["id"]): r["status"] for r in await db.fetch(
        "SELECT id, status FROM transfers WHERE federation_id = $1", federation_id)}
    return problems, members, transfers


async def _arrange(settings_: Settings, clock: Any, tmp: Path) -> tuple[Federation, dict[str, str]]:
    assert settings_.database_url
    engine = make_engine(settings_.database_url, pool_size=1, max_overflow=0)
    factory = make_sessionmaker(engine)

    def owner():
        s = factory()
        bind_scope(s, lambda: DbScope(None, "test:owner"))
        return s

    try:
        fed = await make_federation(owner, tmp, regions=3)  # type: ignore[arg-type]
        tokens = TokenService(settings_, KeyStore(factory, Keyring(TEST_SECRET.encode())), clock)
        admin = {}
        for code, role in ([(fed.hq, Role.HQ_ADMIN)]
                           + [(r, Role.REGIONAL_ADMIN) for r in fed.regions]):
            admin[code], _ = await tokens.issue(role=role, subject="state-machine",
                                                tenant_id=fed.ids[code], tenant_code=code)
        return fed, admin
    finally:
        await engine.dispose()


def test_one_active_home_whatever_happens(
    live: LiveServer, sms: RecordingSmsGateway, settings: Settings, clock: Any, tmp_path: Path,
) -> None:
    bg = Background()
    try:
        fed, admin = bg.run(_arrange(settings, clock, tmp_path))
        db = bg.run(asyncpg.connect(to_asyncpg(settings.database_url or "")))
        try:
            with httpx.Client(base_url=live.url, timeout=30) as http:
                world = World(http=http, sms=sms, bg=bg, db=db, fed=fed, admin=admin)
                machine = type("Machine", (TransferMachine,), {"world": world})
                run_state_machine_as_test(machine, settings=settings_for_machine())
                # Not a vacuous pass: homes did move. (Which other end states a run reaches
                # varies, as Hypothesis switches rules off per example; test_workflow.py covers
                # each of them.)
                completed = bg.run(db.fetchval(
                    "SELECT count(*) FROM transfers WHERE federation_id = $1"
                    " AND status = 'completed'", fed.ids[fed.hq]))
                assert completed > 0
        finally:
            bg.run(db.close())
    finally:
        bg.close()


def settings_for_machine() -> hypothesis_settings:
    """Bounded (about ten seconds); no example database written into the checkout; the same
    examples every run (derandomized), so the non-vacuity check below cannot fail by luck —
    a random run once switched off every completing rule and moved no home."""
    return hypothesis_settings(
        derandomize=True, max_examples=20, stateful_step_count=30, deadline=None,
        database=None, print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
