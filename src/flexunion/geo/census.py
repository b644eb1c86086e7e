"""The coverage census (摸清人员底数): zone by zone, how many platform workers there are, how
many are members, and how many members the union is really in touch with (避免名义覆盖而实际失联).

For a scope (an admin's subtree) and a zone kind:
- zones: service areas of that kind owned in the scope;
- workers: entries of each partner's newest roster that are filed in the scope, with at
  least `min_active_days`; placed by their zone code (delivery zones of their partner) or
  by their location (spatial join);
- members: active members homed in the scope (`flexunion_census_members`), placed by
  their latest opt-in check-in; "in contact" when that check-in is within
  `census_contact_days`. Members who never checked in cannot be placed: they are counted
  in `totals.members_unlocated` only;
- stations: active service points inside the zone.

Delivery zones belong to one platform each and those of two platforms overlap, so for
delivery zones every platform is joined on its own: its roster workers, members who list
that platform, and the stations, against that platform's zones only. Within one join a
point counts in one zone (the lowest-coded on a shared border: `zone_of_points`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.core.errors import NotFound, ServiceUnavailable
from flexunion.geo.models import CensusRun

LATEST_UPLOADS = """
SELECT DISTINCT ON (u.partner_id) u.id, u.partner_id, p.code AS partner, u.uploaded_at, u.rows
  FROM roster_uploads u JOIN platform_partners p ON p.id = u.partner_id
 WHERE u.federation_id = $1
 ORDER BY u.partner_id, u.uploaded_at DESC, u.id DESC
"""
_ZONES = text("""
SELECT a.code, a.name_zh, a.name_en, a.kind, t.code AS tenant, p.code AS platform, a.geom_wkb,
       a.area_m2
  FROM service_areas a JOIN tenants t ON t.id = a.tenant_id
  LEFT JOIN platform_partners p ON p.id = a.partner_id
 WHERE a.federation_id = :fed AND a.kind = :kind
   AND a.tenant_id = ANY ((SELECT flexunion_tenant_scope())::uuid[])
 ORDER BY a.code
""")
_DELIVERY_ZONES = text("""
SELECT a.code, p.code AS platform, a.geom_wkb FROM service_areas a
  JOIN platform_partners p ON p.id = a.partner_id
 WHERE a.federation_id = :fed AND a.kind = 'delivery_zone'
""")
_WORKERS = text("""
SELECT e.upload_id, e.lon, e.lat, e.zone_code, e.active_days FROM roster_entries e
 WHERE e.upload_id = ANY (CAST(:uploads AS uuid[]))
   AND e.tenant_id = ANY ((SELECT flexunion_tenant_scope())::uuid[])
""")
_MEMBERS = text("""
SELECT c.member_id, c.lon, c.lat, c.seen_at, m.platforms
  FROM flexunion_census_members(CAST('-infinity' AS timestamptz)) c
  JOIN members m ON m.id = c.member_id
""")
_STATIONS = text("SELECT lon, lat FROM service_points WHERE federation_id = :fed AND active")


@dataclass(frozen=True, slots=True)
class RosterRef:
    id: uuid.UUID
    partner: str
    uploaded_at: datetime
    rows: int


@dataclass
class Inputs:
    zones: list[dict[str, Any]]
    zone_geoms: np.ndarray
    workers_partner: list[str] = field(default_factory=list)
    workers_xy: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    workers_zone: list[str | None] = field(default_factory=list)
    workers_days: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    members_xy: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    members_recent: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    members_platforms: list[frozenset[str]] = field(default_factory=list)
    stations_xy: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    zone_points: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)


def latest_rosters(rows: Any) -> list[RosterRef]:
    return [RosterRef(r["id"], r["partner"], r["uploaded_at"], r["rows"]) for r in rows]


async def gather(session: AsyncSession, federation_id: uuid.UUID, kind: str,
                 rosters: list[RosterRef], contact_since: datetime) -> Inputs:
    """Read everything the census needs, within the session's scope."""
    zones = (await session.execute(_ZONES, {"fed": federation_id, "kind": kind})).mappings().all()
    inputs = Inputs(
        zones=[{"zone_code": z["code"]}
               | {k: z[k] for k in ("name_zh", "name_en", "kind", "tenant", "platform")}
               | {"area_km2": round(z["area_m2"] / 1e6, 4)} for z in zones],
        zone_geoms=shapely.from_wkb([bytes(z["geom_wkb"]) for z in zones]) if zones
        else np.empty(0, dtype=object))
    partner_of = {r.id: r.partner for r in rosters}
    if rosters:
        rows = (await session.execute(_WORKERS, {"uploads": list(partner_of)})).all()
        inputs.workers_partner = [partner_of[r.upload_id] for r in rows]
        inputs.workers_xy = np.array([(r.lon if r.lon is not None else np.nan,
                                       r.lat if r.lat is not None else np.nan) for r in rows],
                                     dtype=float).reshape(-1, 2)
        inputs.workers_zone = [r.zone_code for r in rows]
        inputs.workers_days = np.array([r.active_days for r in rows], dtype=np.int64)
        if kind != "delivery_zone" and any(z is not None for z in inputs.workers_zone):
            for d in await session.execute(_DELIVERY_ZONES, {"fed": federation_id}):
                p = shapely.from_wkb(bytes(d.geom_wkb)).representative_point()
                inputs.zone_points[(d.platform, d.code)] = (p.x, p.y)
    members = (await session.execute(_MEMBERS)).all()
    inputs.members_xy = np.array([(m.lon if m.lon is not None else np.nan,
                                   m.lat if m.lat is not None else np.nan) for m in members],
                                 dtype=float).reshape(-1, 2)
    inputs.members_recent = np.array([m.seen_at is not None and m.seen_at >= contact_since
                                      for m in members], dtype=bool)
    inputs.members_platforms = [frozenset(p.get("partner") for p in (m.platforms or ())
                                          if isinstance(p, dict)) for m in members]
    stations = (await session.execute(_STATIONS, {"fed": federation_id})).all()
    inputs.stations_xy = np.array([(s.lon, s.lat) for s in stations], dtype=float).reshape(-1, 2)
    return inputs


@contextlib.contextmanager
def dask_scheduler(engine: str, scheduler: str | None, workers: int = 2) -> Iterator[str | None]:
    """The scheduler address the dask engine uses: the configured one, or a local cluster
    started for this run (one cluster for all of the run's joins) and closed after it."""
    if engine != "dask" or scheduler:
        yield scheduler
        return
    from distributed import LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def compute(inputs: Inputs, *, engine: str, scheduler: str | None,
            min_active_days: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per-zone figures and totals (CPU-bound: run in a thread)."""
    import geopandas

    from flexunion.geo.spatial_join import zone_of_points

    zones, geoms = inputs.zones, inputs.zone_geoms
    n = len(zones)
    delivery = bool(zones) and zones[0]["kind"] == "delivery_zone"
    active = inputs.workers_days >= min_active_days
    w_zone = np.full(len(active), -1, dtype=np.int64)
    w_xy = inputs.workers_xy.copy()
    by_code = {(z["platform"], z["zone_code"]): i for i, z in enumerate(zones)}
    for i, (partner, code) in enumerate(zip(inputs.workers_partner, inputs.workers_zone)):
        if code is None:
            continue
        if delivery:  # the partner's own zone assignment
            w_zone[i] = by_code.get((partner, code), -1)
            w_xy[i] = np.nan
        elif np.isnan(w_xy[i, 0]) and (partner, code) in inputs.zone_points:
            w_xy[i] = inputs.zone_points[(partner, code)]
    m_xy = inputs.members_xy
    m_located = ~np.isnan(m_xy[:, 0])
    m_hits: list[tuple[np.ndarray, np.ndarray]] = []  # (member index, zone position) pairs
    s_hits: list[tuple[np.ndarray, np.ndarray]] = []
    w_partner = np.array(inputs.workers_partner, dtype=object)
    w_free = active & ~np.isnan(w_xy[:, 0]) & (w_zone < 0)  # still to be placed by location
    groups = sorted({z["platform"] for z in zones}) if delivery else [None]
    for platform in groups:
        zpos = np.array([i for i, z in enumerate(zones) if not delivery
                         or z["platform"] == platform], dtype=np.int64)
        w_idx = np.flatnonzero(w_free if platform is None else w_free & (w_partner == platform))
        m_idx = np.flatnonzero(m_located if platform is None else m_located & np.array(
            [platform in p for p in inputs.members_platforms], dtype=bool).reshape(-1))
        s_idx = np.arange(len(inputs.stations_xy))
        xy = np.concatenate([w_xy[w_idx], m_xy[m_idx], inputs.stations_xy[s_idx]])
        if len(xy) == 0 or len(zpos) == 0:
            continue
        points = geopandas.GeoDataFrame(
            geometry=geopandas.points_from_xy(xy[:, 0], xy[:, 1]), crs=4326)
        frame = geopandas.GeoDataFrame(geometry=geopandas.GeoSeries(geoms[zpos]), crs=4326)
        hit = zone_of_points(points, frame, engine=engine, scheduler=scheduler)
        found = hit.fillna(-1).to_numpy(dtype=np.int64)
        where = np.where(found >= 0, zpos[np.maximum(found, 0)], -1)
        a, b = len(w_idx), len(w_idx) + len(m_idx)
        w_zone[w_idx] = where[:a]
        m_hits.append((m_idx, where[a:b]))
        s_hits.append((s_idx, where[b:]))

    workers = np.bincount(w_zone[active & (w_zone >= 0)], minlength=n)
    members = np.zeros(n, dtype=np.int64)
    contact = np.zeros(n, dtype=np.int64)
    stations = np.zeros(n, dtype=np.int64)
    members_in_zones: set[int] = set()
    stations_in_zones: set[int] = set()
    for idx, pos in m_hits:
        ok = pos >= 0
        members += np.bincount(pos[ok], minlength=n)
        contact += np.bincount(pos[ok & inputs.members_recent[idx]], minlength=n)
        members_in_zones.update(idx[ok].tolist())
    for idx, pos in s_hits:
        ok = pos >= 0
        stations += np.bincount(pos[ok], minlength=n)
        stations_in_zones.update(idx[ok].tolist())

    out = []
    for i, z in enumerate(zones):
        w, m, c, s = int(workers[i]), int(members[i]), int(contact[i]), int(stations[i])
        out.append(z | {
            "workers": w, "members": m, "coverage_pct": _pct(m, w), "members_in_contact": c,
            "contact_pct": _pct(c, m), "effective_coverage_pct": _pct(c, w), "stations": s,
            "stations_per_1000_workers": round(1000.0 * s / w, 2) if w else None,
            "geometry": shapely.geometry.mapping(geoms[i])})
    sw, sm, sc = int(workers.sum()), int(members.sum()), int(contact.sum())
    totals = {
        "zones": n, "workers": int(active.sum()),
        "workers_in_zones": int((active & (w_zone >= 0)).sum()),
        "workers_outside_zones": int((active & (w_zone < 0)).sum()),
        "workers_inactive": int((~active).sum()),
        "members": len(m_located), "members_located": int(m_located.sum()),
        "members_unlocated": int((~m_located).sum()), "members_in_zones": len(members_in_zones),
        "members_in_contact": int(inputs.members_recent.sum()),
        "stations_in_zones": len(stations_in_zones),
        "coverage_pct": _pct(sm, sw), "contact_pct": _pct(sc, sm),
        "effective_coverage_pct": _pct(sc, sw),
    }
    return out, totals


def place(inputs: Inputs, *, engine: str, scheduler: str | None,
          min_active_days: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """`compute` on the chosen engine; an unreachable Dask scheduler is a 503, not a 500."""
    try:
        with dask_scheduler(engine, scheduler) as address:
            return compute(inputs, engine=engine, scheduler=address,
                           min_active_days=min_active_days)
    except OSError as exc:  # also TimeoutError; distributed raises OSError when connecting
        if engine != "dask":
            raise
        raise ServiceUnavailable(f"The Dask scheduler {scheduler or '(local cluster)'} cannot "
                                 f"be reached: {exc}", code="dask_unavailable") from exc


async def run(session: AsyncSession, *, federation_id: uuid.UUID, tenant_id: uuid.UUID,
              tenant_code: str, requested_by: str, rosters: list[RosterRef], zone_kind: str,
              engine: str, scheduler: str | None, contact_days: int, min_active_days: int,
              now: datetime) -> CensusRun:
    """Run a census of the session's scope and store it (nothing commits here)."""
    started = now
    clock_start = asyncio.get_running_loop().time()
    inputs = await gather(session, federation_id, zone_kind, rosters,
                          now - timedelta(days=contact_days))

    zones, totals = await asyncio.to_thread(place, inputs, engine=engine, scheduler=scheduler,
                                            min_active_days=min_active_days)
    totals["rosters"] = [{"partner": r.partner, "upload_id": str(r.id),
                          "uploaded_at": r.uploaded_at.isoformat(), "rows": r.rows}
                         for r in sorted(rosters, key=lambda r: r.partner)]
    elapsed = asyncio.get_running_loop().time() - clock_start
    census = CensusRun(
        id=uuid.uuid4(), federation_id=federation_id, tenant_id=tenant_id,
        requested_by=requested_by, engine=engine,
        params={"zone_kind": zone_kind, "scope": tenant_code, "contact_days": contact_days,
                "min_active_days": min_active_days, "as_of": now.isoformat(),
                "scheduler": scheduler if engine == "dask" else None},
        zones=zones, totals=totals, started_at=started,
        finished_at=started + timedelta(seconds=elapsed))
    session.add(census)
    await session.flush()
    return census


async def access_run(session: AsyncSession, run_id: uuid.UUID) -> CensusRun:
    """A run of the caller's subtree; another tenant's is 'not found', like a missing one."""
    found = await session.get(CensusRun, run_id)
    if found is None:
        raise NotFound("No such census run.", code="census_run_not_found")
    return found


async def list_runs(session: AsyncSession, *, after: tuple[datetime, uuid.UUID] | None,
                    limit: int) -> list[CensusRun]:
    from sqlalchemy import func, select
    from sqlalchemy.orm import defer

    query = select(CensusRun).options(defer(CensusRun.zones))
    if after is not None:
        query = query.where(func.row(CensusRun.started_at, CensusRun.id)
                            < func.row(after[0], after[1]))
    query = query.order_by(CensusRun.started_at.desc(), CensusRun.id.desc()).limit(limit)
    return list((await session.scalars(query)).all())


async def operator_run(session: AsyncSession, *, federation_code: str, tenant_code: str | None,
                       zone_kind: str, engine: str, scheduler: str | None, contact_days: int,
                       min_active_days: int, now: datetime) -> CensusRun:
    """`flexunion census run`: as the owner, narrowed to one tenant's subtree (the HQ's by
    default). The owner passes every row policy, so every query above names the scope."""
    from sqlalchemy import select

    from flexunion.db.engine import apply_scope
    from flexunion.db.scope import DbScope
    from flexunion.federation.models import Tenant

    hq = await session.scalar(select(Tenant).where(Tenant.code == federation_code))
    if hq is None or hq.kind != "hq":
        raise NotFound(f"no federation (hq) with code '{federation_code}'",
                       code="federation_not_found")
    tenant = hq
    if tenant_code and tenant_code != federation_code:
        tenant = await session.scalar(select(Tenant).where(
            Tenant.code == tenant_code, Tenant.federation_id == hq.id))
        if tenant is None:
            raise NotFound(f"no tenant '{tenant_code}' in federation '{federation_code}'",
                           code="tenant_not_found")
    await apply_scope(session, DbScope(tenant.id, "cli:operator"))
    rows = (await session.execute(text(LATEST_UPLOADS.replace("$1", ":fed")),
                                  {"fed": hq.id})).mappings().all()
    return await run(session, federation_id=hq.id, tenant_id=tenant.id, tenant_code=tenant.code,
                     requested_by="cli:operator", rosters=latest_rosters(rows),
                     zone_kind=zone_kind, engine=engine, scheduler=scheduler,
                     contact_days=contact_days, min_active_days=min_active_days, now=now)
