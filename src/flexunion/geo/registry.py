"""Per-federation spatial snapshots, kept current on every running instance.

A snapshot is the federation's areas and stations in in-process indexes, with the
`geo_versions` counter it was read at (the reads are in geo/repository.py). Every change
to service_areas or service_points bumps that counter and NOTIFYs `flexunion_geo` at
commit (migration 0004). Each instance LISTENs and marks the federation stale; the next
request reloads it (others asking meanwhile wait for the same load). If the listening
connection is lost, a poll of the counters every `settings.geo.poll_seconds` catches what
was missed, and the listener reconnects.

Reads run as the app role with the federation's root as scope and principal
`system:geo-index`: RLS still applies; areas and stations are the federation's shared
reference data, never personal data. `federation_reader` lends other geo reads the same
federation-wide, read-only scope: the *public* station data shown to workers, and which
roster is each partner's newest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
import numpy as np
import shapely
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.core.context import Caller, Role
from flexunion.core.uow import UnitOfWork
from flexunion.db.engine import DatabaseUnavailable, reachable
from flexunion.federation import directory
from flexunion.geo import repository
from flexunion.geo.index import AreaIndex, AreaRef, PointIndex, PointRef

log = logging.getLogger("flexunion.geo")
# How the listening connection shows in pg_stat_activity.
LISTENER_NAME = "flexunion geo listener"
CHANNEL = "flexunion_geo"
PRINCIPAL = "system:geo-index"


@dataclass(frozen=True, slots=True)
class TenantRef:
    id: uuid.UUID
    code: str
    kind: str
    name_zh: str
    name_en: str
    city: str | None
    adcode: str | None = None  # 行政区划代码: a region's own, a station's region's


@dataclass(slots=True)
class GeoSnapshot:
    federation_id: uuid.UUID
    version: int
    areas: AreaIndex
    points: PointIndex
    tenants: dict[uuid.UUID, TenantRef]
    loaded_at: float = field(default_factory=time.monotonic)


def build_snapshot(federation_id: uuid.UUID, version: int, areas: repository.Rows,
                   points: repository.Rows, tenants: repository.Rows) -> GeoSnapshot:
    refs = [AreaRef(id=r["id"], kind=r["kind"], code=r["code"], name_zh=r["name_zh"],
                    name_en=r["name_en"], tenant_id=r["tenant_id"], tenant_code=r["tenant_code"],
                    partner_code=r["partner_code"]) for r in areas]
    geoms = (shapely.from_wkb([bytes(r["geom_wkb"]) for r in areas]) if areas
             else np.empty(0, dtype=object))
    prefs = [PointRef(id=r["id"], code=r["code"], name_zh=r["name_zh"], name_en=r["name_en"],
                      tenant_id=r["tenant_id"], tenant_code=r["tenant_code"],
                      address=r["address"], lon=r["lon"], lat=r["lat"],
                      amenities=frozenset(r["amenities"] or ()),
                      opening_hours=r["opening_hours"] or {}, phone=r["phone"])
             for r in points]
    by_id = {r["id"]: TenantRef(id=r["id"], code=r["code"], kind=r["kind"], name_zh=r["name_zh"],
                                name_en=r["name_en"], city=r["city"], adcode=r["adcode"])
             for r in tenants}
    return GeoSnapshot(federation_id, version, AreaIndex(refs, geoms), PointIndex(prefs), by_id)


async def _json_codec(conn: asyncpg.Connection) -> None:
    import json

    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


class GeoRegistry:
    """Snapshots by federation id. `start()` begins listening; `close()` stops."""

    def __init__(self, dsn: str, *, poll_seconds: float = 10.0) -> None:
        self.dsn = dsn
        self.poll_seconds = poll_seconds
        self._snapshots: dict[uuid.UUID, GeoSnapshot] = {}
        self._stale: set[uuid.UUID] = set()
        self._locks: dict[uuid.UUID, asyncio.Lock] = {}
        self._pool: asyncpg.Pool | None = None
        self._listener: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self.loads = 0  # how many snapshots were built (tests and metrics)

    async def start(self) -> None:
        self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=2, init=_json_codec)
        await self._listen()
        self._task = asyncio.create_task(self._watch(), name="geo-registry-watch")

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
        if self._pool is not None:
            await self._pool.close()

    # ---- what requests call ----------------------------------------------------------------
    async def get(self, federation_id: uuid.UUID) -> GeoSnapshot:
        snap = self._snapshots.get(federation_id)
        if snap is not None and federation_id not in self._stale:
            return snap
        lock = self._locks.setdefault(federation_id, asyncio.Lock())
        async with lock:
            snap = self._snapshots.get(federation_id)
            if snap is not None and federation_id not in self._stale:
                return snap  # someone else loaded it while we waited
            self._stale.discard(federation_id)  # changes from now on mark it again
            try:
                snap = await self._load(federation_id)
            except BaseException:
                self._stale.add(federation_id)
                raise
            self._snapshots[federation_id] = snap
            return snap

    async def for_caller(self, session: AsyncSession | UnitOfWork, caller: Caller) -> GeoSnapshot:
        """The snapshot of the caller's federation. A worker's token names it (as in
        `directory.federation_of`), so a worker's lookup reads nothing; given the unit of
        work rather than its session, it does not even open a session for one."""
        if caller.role is Role.WORKER:
            return await self.get(caller.tenant_id)
        if isinstance(session, UnitOfWork):
            session = session.session
        return await self.get(await directory.federation_of(session, caller))

    @contextlib.asynccontextmanager
    async def federation_reader(self, federation_id: uuid.UUID,
                                principal: str = "system:station-board",
                                ) -> AsyncIterator[asyncpg.Connection]:
        """A read-only connection scoped to the whole federation, for its *public* station
        data (duty names, supplies, checks) shown to workers, whose own scope holds no
        tenant rows. Select only what any worker of the federation may see."""
        assert self._pool is not None, "GeoRegistry.start() first"
        async with (reachable(), self._pool.acquire() as conn,
                    conn.transaction(readonly=True)):
            await repository.enter_scope(conn, federation_id, principal)
            yield conn

    def invalidate(self, federation_id: uuid.UUID | None = None) -> None:
        if federation_id is None:
            self._stale.update(self._snapshots)
        elif federation_id in self._snapshots:
            self._stale.add(federation_id)

    # ---- loading ---------------------------------------------------------------------------
    async def _load(self, federation_id: uuid.UUID) -> GeoSnapshot:
        assert self._pool is not None, "GeoRegistry.start() first"
        async with (reachable(), self._pool.acquire() as conn,
                    conn.transaction(isolation="repeatable_read", readonly=True)):
            await repository.enter_scope(conn, federation_id, PRINCIPAL)
            rows = await repository.snapshot_rows(conn, federation_id)
        snap = await asyncio.to_thread(build_snapshot, federation_id, rows.version, rows.areas,
                                       rows.points, rows.tenants)
        self.loads += 1
        log.info("geo snapshot loaded", extra={"federation_id": str(federation_id),
                                               "version": rows.version, "areas": len(snap.areas),
                                               "points": len(snap.points)})
        return snap

    # ---- keeping current -------------------------------------------------------------------
    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            self.invalidate(uuid.UUID(payload))

    async def _listen(self) -> None:
        try:
            self._listener = await asyncpg.connect(
                self.dsn, server_settings={"application_name": LISTENER_NAME})
            await self._listener.add_listener(CHANNEL, self._notified)
        except (OSError, asyncpg.PostgresError) as exc:
            self._listener = None
            log.warning("geo listener unavailable, polling instead: %s", exc)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                if self._listener is None or self._listener.is_closed():
                    # Notifications may have been missed while it was down.
                    await self._listen()
                await self._poll()
            except DatabaseUnavailable as exc:  # down or restarting: the next tick tries again
                log.warning("geo version poll failed, database unavailable: %s", exc)
            except Exception:
                log.exception("geo version poll failed")

    async def _poll(self) -> None:
        if not self._snapshots or self._pool is None:
            return
        async with reachable(), self._pool.acquire() as conn:
            for federation_id, snap in list(self._snapshots.items()):
                async with conn.transaction(readonly=True):
                    await repository.enter_scope(conn, federation_id, PRINCIPAL)
                    version = await repository.version(conn, federation_id)
                if version != snap.version:
                    self.invalidate(federation_id)
