"""Card holders' current status and home, in memory on every instance, kept current.

Per federation, three packed arrays indexed by status-list slot (the slot a card carries
in `status.status_list.idx`): a status code (1 byte), the home (4 bytes, an index into the
federation's tenants) and the first 8 bytes of the member's id (to tell that a card's
`sub` holds its slot) — 13 bytes a slot, ~13 MB at a million members. Names, numbers and
dates come from the signed card itself; they never change for a membership.

How it stays current (migration 0009):
- Every statement that changes members' status, home or slot, by any role, bumps the
  federation's `card_versions` counter and NOTIFYs `flexunion_cards` at commit with the
  federation id, the version and the slots. On the notification the slots are marked
  *dirty* at once (a verification of a dirty slot reads PostgreSQL, as before this store
  existed) and re-read in one statement; the mark is lifted when the new row is in.
- A change committed through this instance's own sessions is marked dirty at commit,
  before the response is sent, without waiting for the notification.
- Memory is trusted only while the listener is up and nothing was missed; otherwise
  every check reads PostgreSQL (the current status, or 503 while it is away).
- A poll every `poll_seconds` pings the listener (a cut without a FIN), reconnects it,
  compares each federation's counter and reloads a federation that moved unnoticed before
  memory is trusted again. A mismatch seen while the listener is up is given one poll
  interval for its notification to land before the federation is reloaded.
- A federation not loaded yet, or being reloaded, is answered from PostgreSQL meanwhile;
  the load runs in the background and never blocks a request.

So the staleness of an answer is the notification's delivery (a few milliseconds on one
host) while the listener is up; none while it is known down (PostgreSQL is read); at most
`poll_seconds` + PING_SECONDS while it is silently dead (docs/architecture.md, "Card
checks").
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
import uuid
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import asyncpg
import numpy as np
from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from flexunion.db.engine import DatabaseUnavailable, reachable
from flexunion.membership.cards import repository
from flexunion.membership.models import Member

log = logging.getLogger("flexunion.cards")
# How the listening connection shows in pg_stat_activity.
LISTENER_NAME = "flexunion card listener"
STATUS_CODES = ("", "applicant", "active", "suspended", "parked", "left", "rejected")  # 0: none
RECORD = np.dtype([("idx", ">i8"), ("code", "u1"), ("home", ">u4"), ("fp", ">u8")])
GROW = 1024
PING_SECONDS = 2.0


def fingerprint(member_id: uuid.UUID) -> int:
    return member_id.int >> 64


@dataclass(frozen=True, slots=True)
class Home:
    code: str
    name_zh: str


@dataclass(slots=True)
class Slots:
    """One federation's slots. `generation` moves whenever an array changes."""

    version: int
    codes: np.ndarray[Any, np.dtype[np.uint8]]
    homes: np.ndarray[Any, np.dtype[np.uint32]]
    fps: np.ndarray[Any, np.dtype[np.uint64]]
    tenants: list[Home]
    tenant_index: dict[uuid.UUID, int]
    generation: int = 0
    loaded_at: float = field(default_factory=time.monotonic)

    @property
    def nbytes(self) -> int:
        return int(self.codes.nbytes + self.homes.nbytes + self.fps.nbytes)

    def grow(self, size: int) -> None:
        if size <= len(self.codes):
            return
        size = -(-size // GROW) * GROW
        extra = size - len(self.codes)
        self.codes = np.concatenate([self.codes, np.zeros(extra, np.uint8)])
        self.homes = np.concatenate([self.homes, np.zeros(extra, np.uint32)])
        self.fps = np.concatenate([self.fps, np.zeros(extra, np.uint64)])

    def home_of(self, tenant_id: uuid.UUID, code: str, name_zh: str) -> int:
        n = self.tenant_index.get(tenant_id)
        if n is None or self.tenants[n] != Home(code, name_zh):
            n = len(self.tenants)
            self.tenants.append(Home(code, name_zh))
            self.tenant_index[tenant_id] = n
        return n


def build(rows: repository.PackedSlots) -> Slots:
    """A federation's arrays from its packed rows (numpy: ~10 ms at a million members)."""
    records = np.frombuffer(rows.packed, dtype=RECORD)
    size = int(records["idx"].max()) + 1 if len(records) else 0
    size = max(GROW, -(-size // GROW) * GROW)
    codes = np.zeros(size, np.uint8)
    homes = np.zeros(size, np.uint32)
    fps = np.zeros(size, np.uint64)
    idx = records["idx"].astype(np.int64)
    codes[idx] = records["code"]
    homes[idx] = records["home"]
    fps[idx] = records["fp"]
    tenants = [Home(c, n) for c, n in zip(rows.tenant_codes, rows.tenant_names, strict=True)]
    return Slots(rows.version, codes, homes, fps, tenants,
                 {t: i for i, t in enumerate(rows.tenant_ids)})


def apply(snap: Slots, slots: Iterable[int], rows: repository.PackedSlots) -> None:
    """The rows read for `slots` into `snap`; a slot read back empty holds no member."""
    records = np.frombuffer(rows.packed, dtype=RECORD)
    asked = set(slots)
    if len(records):
        snap.grow(int(records["idx"].max()) + 1)
    for rec in records:
        i = int(rec["idx"])
        t = int(rec["home"])
        snap.codes[i] = rec["code"]
        snap.homes[i] = snap.home_of(rows.tenant_ids[t], rows.tenant_codes[t],
                                     rows.tenant_names[t])
        snap.fps[i] = rec["fp"]
        asked.discard(i)
    for i in asked:
        if 0 <= i < len(snap.codes):
            snap.codes[i] = 0
            snap.fps[i] = 0
    snap.version = max(snap.version, rows.version)
    snap.generation += 1


class Miss(enum.Enum):
    MISS = "miss"


MISS: Final = Miss.MISS  # not known here (yet): ask PostgreSQL


class HolderStore:
    """The slots of every federation this instance has verified cards for."""

    def __init__(self, dsn: str, *, poll_seconds: float = 5.0,
                 local_engines: Iterable[Engine] = ()) -> None:
        self.dsn = dsn
        self.poll_seconds = poll_seconds
        self._feds: dict[uuid.UUID, Slots] = {}
        self._loading: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._locks: dict[uuid.UUID, asyncio.Lock] = {}
        self._dirty: dict[uuid.UUID, dict[int, int]] = {}
        self._pending: dict[uuid.UUID, set[int]] = {}
        self._fetchers: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._mismatch: dict[uuid.UUID, int] = {}
        self._failed: dict[uuid.UUID, BaseException] = {}
        self._mark_seq = 0
        self._pool: asyncpg.Pool | None = None
        self._listener: asyncpg.Connection | None = None
        self._listener_lost = False
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._engines = list(local_engines)
        self.loads = 0  # full loads (tests and metrics)
        self.fetches = 0  # slot re-reads

    # ---- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=2)
        await self._listen()
        self._task = asyncio.create_task(self._watch(), name="card-holders-watch")
        for engine in self._engines:
            _LOCAL.setdefault(engine, weakref.WeakSet()).add(self)

    async def close(self) -> None:
        for engine in self._engines:
            _LOCAL.get(engine, weakref.WeakSet()).discard(self)
        tasks = [t for t in (self._task, *self._loading.values(), *self._fetchers.values())
                 if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
        if self._pool is not None:
            await self._pool.close()

    @property
    def listening(self) -> bool:
        return self._listener is not None and not self._listener.is_closed()

    @property
    def trusted(self) -> bool:
        """Memory answers only while changes can reach it: the listener is up and nothing
        was missed since. Otherwise every check reads PostgreSQL (503 while it is away)."""
        return not self._listener_lost and self.listening

    # ---- what verifications call -------------------------------------------------------
    def lookup(self, federation_id: uuid.UUID, slot: int,
               member_id: uuid.UUID) -> tuple[str, Home] | Miss | None:
        """(status, home) of the member at `slot`; None when the slot is another member's;
        MISS when this instance cannot answer from memory (ask PostgreSQL)."""
        snap = self._feds.get(federation_id)
        if snap is None or federation_id in self._loading:
            self.ensure(federation_id)
            return MISS
        if not self.trusted:
            return MISS
        dirty = self._dirty.get(federation_id)
        if (dirty and slot in dirty) or not 0 <= slot < len(snap.codes):
            return MISS
        code = int(snap.codes[slot])
        if code == 0:
            return MISS  # no member known there: a member this instance has not seen yet?
        if int(snap.fps[slot]) != fingerprint(member_id):
            return None
        return STATUS_CODES[code], snap.tenants[int(snap.homes[slot])]

    def slots(self, federation_id: uuid.UUID) -> Slots | None:
        """The federation's arrays when loaded, trusted and without a pending change."""
        snap = self._feds.get(federation_id)
        if (snap is None or federation_id in self._loading or self._dirty.get(federation_id)
                or not self.trusted):
            return None
        return snap

    def ensure(self, federation_id: uuid.UUID) -> None:
        """Begin loading a federation in the background (once)."""
        if self._pool is None or federation_id in self._loading:
            return
        self._loading[federation_id] = asyncio.create_task(
            self._load(federation_id), name=f"card-holders-load-{federation_id}")

    async def ready(self, federation_id: uuid.UUID) -> Slots:
        """Wait until the federation is loaded and has no change in flight (tests, the
        status list). A load that fails raises its error (DatabaseUnavailable …)."""
        while True:
            snap = self.slots(federation_id)
            if snap is not None:
                return snap
            if federation_id not in self._feds and federation_id not in self._loading:
                self.ensure(federation_id)
                if federation_id not in self._loading:
                    raise RuntimeError("HolderStore.start() first")
            task = self._loading.get(federation_id) or self._fetchers.get(federation_id)
            if task is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(task)
            failed = self._failed.pop(federation_id, None)
            if failed is not None and federation_id not in self._feds:
                raise failed
            if self.slots(federation_id) is None:
                await asyncio.sleep(0.01)

    # ---- marking changes ---------------------------------------------------------------
    def mark(self, federation_id: uuid.UUID, slots: Iterable[int] | None) -> None:
        """Slots changed (None: any of them): answer them from PostgreSQL until re-read."""
        if federation_id not in self._feds and federation_id not in self._loading:
            return  # never loaded: a load reads what is committed by then
        if slots is None:
            self._reload(federation_id)
            return
        self._mark_seq += 1
        dirty = self._dirty.setdefault(federation_id, {})
        pending = self._pending.setdefault(federation_id, set())
        for slot in slots:
            dirty[slot] = self._mark_seq
            pending.add(slot)
        fetcher = self._fetchers.get(federation_id)
        if fetcher is None or fetcher.done():
            self._fetchers[federation_id] = asyncio.get_running_loop().create_task(
                self._fetch(federation_id), name=f"card-holders-fetch-{federation_id}")

    def _reload(self, federation_id: uuid.UUID) -> None:
        task = self._loading.get(federation_id)
        if task is not None and not task.done():
            # A load is under way, but may have read before this change: read again after.
            task.add_done_callback(lambda _t: self._reload(federation_id))
            return
        self._loading.pop(federation_id, None)
        self.ensure(federation_id)

    # ---- reading -----------------------------------------------------------------------
    def _lock(self, federation_id: uuid.UUID) -> asyncio.Lock:
        return self._locks.setdefault(federation_id, asyncio.Lock())

    async def _load(self, federation_id: uuid.UUID) -> None:
        assert self._pool is not None
        try:
            async with self._lock(federation_id):
                async with (reachable(), self._pool.acquire() as conn,
                            conn.transaction(isolation="repeatable_read", readonly=True)):
                    rows = await repository.slots(conn, federation_id)
                snap = await asyncio.to_thread(build, rows)
                old = self._feds.get(federation_id)
                if old is not None:
                    snap.generation = old.generation + 1
                self._feds[federation_id] = snap
                self.loads += 1
                log.info("card holders loaded", extra={
                    "federation_id": str(federation_id), "version": rows.version,
                    "slots": len(snap.codes), "bytes": snap.nbytes})
        except Exception as exc:  # the next verification (or poll) tries again
            self._failed[federation_id] = exc
            log.warning("card holders of %s not loaded: %s", federation_id, exc)
        finally:
            self._loading.pop(federation_id, None)

    async def _fetch(self, federation_id: uuid.UUID) -> None:
        assert self._pool is not None
        while self._pending.get(federation_id):
            slots = sorted(self._pending.pop(federation_id))
            dirty = self._dirty.get(federation_id, {})
            marks = {s: dirty.get(s) for s in slots}
            try:
                async with self._lock(federation_id):
                    snap = self._feds.get(federation_id)
                    if snap is None:
                        break
                    async with (reachable(), self._pool.acquire() as conn,
                                conn.transaction(readonly=True)):
                        rows = await repository.slots(conn, federation_id, slots)
                    apply(self._feds[federation_id], slots, rows)
                    self.fetches += 1
            except Exception as exc:
                # Still dirty (answered from PostgreSQL); the poll retries.
                self._pending.setdefault(federation_id, set()).update(slots)
                log.warning("card holder slots of %s not re-read: %s", federation_id, exc)
                return
            dirty = self._dirty.get(federation_id, {})
            for slot, seq in marks.items():
                if dirty.get(slot) == seq:  # not changed again since we read it
                    del dirty[slot]

    # ---- keeping current ---------------------------------------------------------------
    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            fed_s, version_s, slots_s = payload.split(":", 2)
            federation_id, version = uuid.UUID(fed_s), int(version_s)
            slots = None if slots_s == "*" else [int(s) for s in slots_s.split(",") if s]
        except ValueError:
            log.warning("unreadable card notification %r", payload)
            return
        snap = self._feds.get(federation_id)
        if snap is not None:
            snap.version = max(snap.version, version)
        self.mark(federation_id, slots)

    def _lost(self, _conn: object) -> None:
        self._listener_lost = True

    async def _listen(self) -> None:
        try:
            self._listener = await asyncpg.connect(
                self.dsn, server_settings={"application_name": LISTENER_NAME})
            self._listener.add_termination_listener(self._lost)
            await self._listener.add_listener(repository.CHANNEL, self._notified)
        except (OSError, asyncpg.PostgresError) as exc:  # TimeoutError is an OSError
            self._listener = None
            self._listener_lost = True
            log.warning("card listener unavailable, reading PostgreSQL instead: %s", exc)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                await self.poll()
            except DatabaseUnavailable as exc:
                log.warning("card version poll failed, database unavailable: %s", exc)
            except Exception:
                log.exception("card version poll failed")

    async def poll(self) -> None:
        """One poll: check the listener (a silent cut too), reconnect it, reload the
        federations whose counter moved unnoticed, retry slot re-reads that failed. Until
        it is done after a cut, memory is not trusted (checks read PostgreSQL)."""
        if self.listening and not self._listener_lost:
            assert self._listener is not None
            try:
                await asyncio.wait_for(repository.ping(self._listener), PING_SECONDS)
            except Exception as exc:
                log.warning("card listener lost: %s", exc)
                self._listener_lost = True
                self._listener.terminate()
        missed = self._listener_lost or not self.listening
        if not self.listening:
            self._listener_lost = True
            await self._listen()
        if self._feds and self._pool is not None:
            async with reachable(), self._pool.acquire() as conn:
                for federation_id, snap in list(self._feds.items()):
                    current = await repository.version(conn, federation_id)
                    if current <= snap.version:
                        self._mismatch.pop(federation_id, None)
                        continue
                    # Up: its notification may be on the wire; give it one interval.
                    if missed or self._mismatch.get(federation_id) == current:
                        self._mismatch.pop(federation_id, None)
                        self._reload(federation_id)
                    else:
                        self._mismatch[federation_id] = current
        if self.listening:
            self._listener_lost = False  # reloads are under way: their federations MISS
        for federation_id, pending in list(self._pending.items()):
            fetcher = self._fetchers.get(federation_id)
            if pending and (fetcher is None or fetcher.done()):
                self._fetchers[federation_id] = asyncio.create_task(self._fetch(federation_id))


# ---- changes made through this instance's own sessions -----------------------------------

_LOCAL: weakref.WeakKeyDictionary[Engine, weakref.WeakSet[HolderStore]] = (
    weakref.WeakKeyDictionary())
_KEY = "flexunion.card_slots"


@event.listens_for(Session, "after_flush")
def _remember(session: Session, _context: Any) -> None:
    if not _LOCAL:
        return
    found: set[tuple[uuid.UUID, int]] | None = None
    for obj in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(obj, Member):
            continue
        state = inspect(obj)
        if obj in session.dirty and not any(
                state.attrs[name].history.has_changes() for name in ("status", "tenant_id")):
            continue
        if found is None:
            found = session.info.setdefault(_KEY, set())
        found.add((obj.federation_id, obj.status_idx))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    found = session.info.pop(_KEY, None)
    if not found:
        return
    bind = session.get_bind()
    engine = bind.engine if hasattr(bind, "engine") else bind
    stores = _LOCAL.get(engine)  # type: ignore[arg-type]
    if not stores:
        return
    by_fed: dict[uuid.UUID, list[int]] = {}
    for fed, slot in found:
        by_fed.setdefault(fed, []).append(slot)
    for store in list(stores):
        for fed, slots in by_fed.items():
            store.mark(fed, slots)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, _previous: Any) -> None:
    session.info.pop(_KEY, None)
