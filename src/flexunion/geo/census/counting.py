"""The census arithmetic, without the database: where each point lies and what each zone
counts (CPU-bound: the service runs these in a thread).

- `owning_tenants` files roster entries under the tenant owning their place: this
  partner's delivery zone there, else the jurisdiction there; a place outside every area,
  or owned outside the uploader's subtree, falls back to the uploader's tenant.
- `compute` places roster workers, members and stations in the census's zones and counts
  them. Delivery zones belong to one platform each and those of two platforms overlap, so
  for delivery zones every platform is joined on its own: its roster workers, members who
  list that platform, and the stations, against that platform's zones only. Within one
  join a point counts in one zone (the lowest-coded on a shared border: `zone_of_points`).
- `place` runs `compute` on the chosen engine (pandas, or Dask on a cluster).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from flexunion.core.errors import ServiceUnavailable
from flexunion.geo.areas.service import delivery_zone_codes
from flexunion.geo.census.rosters import Checked
from flexunion.geo.registry import GeoSnapshot


def owning_tenants(snapshot: GeoSnapshot, partner_code: str, roster: Checked,
                   scope: frozenset[uuid.UUID],
                   fallback: uuid.UUID) -> tuple[list[uuid.UUID], int]:
    """Each entry's tenant, and how many fell back to the uploader's (CPU: run in a thread)."""
    import geopandas

    from flexunion.geo.census.spatial_join import zone_of_points

    refs = snapshot.areas.refs
    own_zones = delivery_zone_codes(snapshot, partner_code)
    owner: list[uuid.UUID | None] = [
        refs[own_zones[z]].tenant_id if z is not None else None for z in roster.zones]
    pending = [i for i, t in enumerate(owner) if t is None and roster.lons[i] is not None]
    for positions in (sorted(own_zones.values()),
                      [i for i, r in enumerate(refs) if r.kind == "jurisdiction"]):
        if not pending or not positions:
            continue
        points = geopandas.GeoDataFrame(geometry=geopandas.points_from_xy(
            [roster.lons[i] for i in pending], [roster.lats[i] for i in pending]), crs=4326)
        zones = geopandas.GeoDataFrame(
            geometry=geopandas.GeoSeries(snapshot.areas.geoms[np.asarray(positions)]), crs=4326)
        hits = zone_of_points(points, zones)
        missed = hits.isna().to_numpy()
        found = hits.fillna(-1).to_numpy(dtype=np.int64)
        for k, i in enumerate(pending):
            if not missed[k]:
                owner[i] = refs[positions[found[k]]].tenant_id
        pending = [i for k, i in enumerate(pending) if missed[k]]
    tenants = [t if t is not None and t in scope else fallback for t in owner]
    return tenants, sum(1 for t in owner if t is None or t not in scope)



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
    # A name of this version of the zones (a digest of their codes and WKB): the Dask
    # workers keep them under it, so a run does not digest the geometries again.
    zones_version: str | None = None


@contextlib.contextmanager
def dask_scheduler(engine: str, scheduler: str | None, workers: int = 2) -> Iterator[str | None]:
    """The scheduler address the dask engine uses: the configured one, or a local cluster
    started for this run (one cluster for all of the run's joins) and closed after it."""
    if engine != "dask" or scheduler:
        yield scheduler
        return
    from flexunion.geo.census.spatial_join import local_cluster

    with local_cluster(workers) as cluster:
        yield cluster.scheduler_address


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def compute(inputs: Inputs, *, engine: str, scheduler: str | None,
            min_active_days: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per-zone figures and totals (CPU-bound: run in a thread)."""
    import geopandas

    from flexunion.geo.census.spatial_join import zone_of_xy

    zones, geoms = inputs.zones, inputs.zone_geoms
    n = len(zones)
    delivery = bool(zones) and zones[0]["kind"] == "delivery_zone"
    active = inputs.workers_days >= min_active_days
    w_zone = np.full(len(active), -1, dtype=np.int64)
    w_xy = inputs.workers_xy.copy()
    by_code = {(z["platform"], z["zone_code"]): i for i, z in enumerate(zones)}
    for i, (partner, code) in enumerate(zip(inputs.workers_partner, inputs.workers_zone,
                                                strict=True)):
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
        # Coordinates straight in: the join builds the points where it runs (on the
        # workers with Dask), not here.
        frame = geopandas.GeoDataFrame(geometry=geopandas.GeoSeries(geoms[zpos]), crs=4326)
        # With Dask the workers keep these zones (by version) and these points (by a
        # digest of their coordinates: changed inputs are a new set, never a stale one).
        found = zone_of_xy(xy, frame, engine="dask" if engine == "dask" else "pandas",
                           scheduler=scheduler,
                           zones_key=f"{inputs.zones_version}:{platform}"
                           if inputs.zones_version else None)
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
        where = scheduler or "(local cluster)"
        raise ServiceUnavailable(f"无法连接 Dask 调度器 {where}：{exc}",
                                 f"The Dask scheduler {where} cannot be reached: {exc}",
                                 code="dask_unavailable") from exc
