"""Partner rosters (花名册) in, the coverage census (摸清人员底数) out: zone by zone, how
many platform workers there are, how many are members, and how many members the union is
really in touch with (避免名义覆盖而实际失联).

Rosters: a partner uploads by machine API (JSON or CSV); a regional or HQ admin may upload
a CSV on behalf of a partner without API access (audited either way). Checked whole
(rosters.py), then each entry is filed under the tenant owning its place (counting.py), so
that a regional union's census (row-level security: its subtree) sees the workers in its
zones.

A census, for a scope (an admin's subtree) and a zone kind:
- zones: service areas of that kind owned in the scope;
- workers: entries of each partner's newest roster that are filed in the scope, with at
  least `min_active_days`; placed by their zone code (delivery zones of their partner) or
  by their location (spatial join);
- members: active members homed in the scope (`flexunion_census_members`), placed by
  their latest opt-in check-in; "in contact" when that check-in is within
  `settings.geo.census_contact_days`. Members who never checked in cannot be placed: they
  are counted in `totals.members_unlocated` only;
- stations: active service points inside the zone.
Nothing here commits.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import shapely
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.auth.partners import service as auth
from flexunion.core.context import Caller
from flexunion.core.errors import DomainError, InvalidInput, NotFound
from flexunion.db import rls
from flexunion.db.engine import apply_scope
from flexunion.db.scope import DbScope
from flexunion.federation import directory
from flexunion.geo.areas import service as areas
from flexunion.geo.census import repository, rosters
from flexunion.geo.census.counting import Inputs, owning_tenants, place
from flexunion.geo.census.models import CensusRun, RosterUpload
from flexunion.geo.census.schemas import RosterUploadRead, upload_read
from flexunion.geo.crs import Crs
from flexunion.geo.registry import GeoRegistry, GeoSnapshot
from flexunion.geo.stations import service as stations

CSV_MEDIA = "text/csv"
BATCH = 20_000  # roster entries per INSERT
OPERATOR = "cli:operator"


class UnsupportedMediaType(DomainError):
    status, code, title, title_en = (415, "unsupported_media_type", "不支持的内容类型",
                                     "Unsupported media type")


# ---- rosters --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Uploader:
    """The partner, and the principal and tenant acting for it."""

    partner_id: uuid.UUID
    partner_code: str
    principal: str
    tenant_id: uuid.UUID
    federation_id: uuid.UUID


async def uploader_for_client(session: AsyncSession, caller: Caller) -> Uploader:
    """The calling partner client's partner."""
    federation_id = await directory.federation_of(session, caller)
    partner_id, code = await auth.client_partner(session, caller.subject)
    return Uploader(partner_id, code, caller.principal, caller.tenant_id, federation_id)


async def uploader_for_partner(session: AsyncSession, caller: Caller,
                               partner_code: str) -> Uploader:
    """A union admin uploading for partner `partner_code` (422 `unknown_partner`)."""
    federation_id = await directory.federation_of(session, caller)
    partner = await directory.partner_by_code(session, federation_id, partner_code)
    return Uploader(partner.id, partner.code, caller.principal, caller.tenant_id, federation_id)


async def ingest(session: AsyncSession, geo: GeoRegistry, who: Uploader, *, media: str,
                 body: bytes, crs: Crs | None, now: datetime,
                 action: str = "roster.uploaded") -> RosterUploadRead:
    """Read a roster body (JSON, or CSV in `crs`), check it whole, store it; audited."""
    snapshot = await geo.get(who.federation_id)
    zone_codes = areas.delivery_zone_codes(snapshot, who.partner_code)
    errors: rosters.RowErrors | None
    rows: Sequence[rosters.Row | None]
    if media == "application/json":
        body_crs, rows = rosters.parse_json(body)
        if crs is not None and crs is not body_crs:
            raise InvalidInput(f"查询参数 crs={crs.value} 与请求体中的 {body_crs.value} 不一致。",
                               f"The query says crs={crs.value} but the body says "
                               f"{body_crs.value}.", code="crs_conflict")
        crs, errors, source = body_crs, None, "api"
    elif media == CSV_MEDIA:
        rows, errors = rosters.parse_csv(body)
        crs, source = crs or Crs.WGS84, "csv"
    else:
        raise UnsupportedMediaType("请以 application/json 或 text/csv 上传花名册。",
                                   "Send the roster as application/json or text/csv.")
    checked = await asyncio.to_thread(rosters.check_rows, list(rows), crs, who.partner_code,
                                      zone_codes, errors)
    result = await store(session, who, snapshot, checked, source=source, crs=crs, now=now)
    await audit.record(session, action, tenant_id=who.tenant_id,
                       object_type="roster_upload", object_id=result.id,
                       payload={"partner": who.partner_code, "rows": result.rows,
                                "source": source, "by": who.principal})
    return result


async def store(session: AsyncSession, who: Uploader, snapshot: GeoSnapshot,
                roster: rosters.Checked, *, source: str, crs: Crs,
                now: datetime) -> RosterUploadRead:
    """Write the upload and its entries, each filed under the tenant owning its place."""
    scope = await rls.scope_ids(session)
    tenants, fell_back = await asyncio.to_thread(
        owning_tenants, snapshot, who.partner_code, roster, scope, who.tenant_id)
    upload = RosterUpload(id=uuid.uuid4(), federation_id=who.federation_id,
                          tenant_id=who.tenant_id, partner_id=who.partner_id, source=source,
                          crs=crs.value, rows=len(roster.refs), uploaded_by=who.principal,
                          uploaded_at=now)
    await repository.add_upload(session, upload)
    for start in range(0, len(roster.refs), BATCH):
        part = slice(start, start + BATCH)
        await repository.insert_entries(
            session, upload, tenants=tenants[part], refs=roster.refs[part],
            platforms=roster.platforms[part], lons=roster.lons[part], lats=roster.lats[part],
            zones=roster.zones[part], days=roster.days[part])
    by_point = sum(1 for x in roster.lons if x is not None)
    return upload_read(upload, who.partner_code, current=True, located_by_point=by_point,
                       located_by_zone=upload.rows - by_point, outside_areas=fell_back)


async def uploads(session: AsyncSession, caller: Caller, *,
                  after: tuple[datetime, uuid.UUID] | None,
                  limit: int) -> list[RosterUploadRead]:
    """The calling partner's uploads, newest first; `current` marks the one a census uses."""
    partner_id, code = await auth.client_partner(session, caller.subject)
    newest = await repository.newest_upload(session, partner_id)
    return [upload_read(u, code, current=u.id == newest)
            for u in await repository.uploads(session, partner_id, after=after, limit=limit)]


# ---- the census -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RosterRef:
    id: uuid.UUID
    partner: str
    uploaded_at: datetime
    rows: int


def _rosters(rows: Sequence[Any], partner_codes: Mapping[uuid.UUID, str]) -> list[RosterRef]:
    return [RosterRef(r["id"], partner_codes[r["partner_id"]], r["uploaded_at"], r["rows"])
            for r in rows]


def _xy(rows: Sequence[Any]) -> np.ndarray:
    return np.array([(r.lon if r.lon is not None else np.nan,
                      r.lat if r.lat is not None else np.nan) for r in rows],
                    dtype=float).reshape(-1, 2)


def _zones_version(zones: Sequence[tuple[uuid.UUID, str, bytes]]) -> str:
    """A digest of the zones' ids, codes and WKB, in census order: the name the Dask
    workers keep them under (~0.1 s per 100k zones; run in a thread)."""
    digest = hashlib.blake2b(digest_size=20)
    for zone_id, code, wkb in zones:
        digest.update(f"{zone_id}:{code}:{len(wkb)}:".encode())
        digest.update(wkb)
    return "zones:" + digest.hexdigest()


async def gather(session: AsyncSession, federation_id: uuid.UUID, kind: str,
                 latest: list[RosterRef], contact_since: datetime) -> Inputs:
    """Read everything the census needs, within the session's scope."""
    tenants = await directory.directory(session, federation_id)
    partners = await directory.partner_codes(session, federation_id)
    zones = await areas.census_zones(session, federation_id, kind)
    inputs = Inputs(
        zones=[{"zone_code": z.code, "name_zh": z.name_zh, "name_en": z.name_en,
                "kind": z.kind, "tenant": tenants.by_id[z.tenant_id].code,
                "platform": partners.get(z.partner_id) if z.partner_id else None,
                "area_km2": round(z.area_m2 / 1e6, 4)} for z in zones],
        zone_geoms=shapely.from_wkb([z.geom_wkb for z in zones]) if zones
        else np.empty(0, dtype=object),
        zones_version=await asyncio.to_thread(
            _zones_version, [(z.id, z.code, z.geom_wkb) for z in zones]))
    partner_of = {r.id: r.partner for r in latest}
    if latest:
        rows = await repository.roster_workers(session, list(partner_of))
        inputs.workers_partner = [partner_of[r.upload_id] for r in rows]
        inputs.workers_xy = _xy(rows)
        inputs.workers_zone = [r.zone_code for r in rows]
        inputs.workers_days = np.array([r.active_days for r in rows], dtype=np.int64)
        if kind != "delivery_zone" and any(z is not None for z in inputs.workers_zone):
            for d in await areas.delivery_zones(session, federation_id):
                if d.partner_id in partners:
                    p = shapely.from_wkb(d.geom_wkb).representative_point()
                    inputs.zone_points[(partners[d.partner_id], d.code)] = (p.x, p.y)
    members = await repository.census_members(session)
    inputs.members_xy = _xy(members)
    inputs.members_recent = np.array([m.seen_at is not None and m.seen_at >= contact_since
                                      for m in members], dtype=bool)
    inputs.members_platforms = [frozenset(str(p["partner"]) for p in (m.platforms or ())
                                          if isinstance(p, dict) and p.get("partner"))
                                for m in members]
    inputs.stations_xy = np.array(await stations.active_positions(session, federation_id),
                                  dtype=float).reshape(-1, 2)
    return inputs


async def run(session: AsyncSession, *, federation_id: uuid.UUID, tenant_id: uuid.UUID,
              tenant_code: str, requested_by: str, latest: list[RosterRef], zone_kind: str,
              engine: str, scheduler: str | None, contact_days: int, min_active_days: int,
              now: datetime) -> CensusRun:
    """Run a census of the session's scope and store it (nothing commits here)."""
    started = now
    clock_start = asyncio.get_running_loop().time()
    inputs = await gather(session, federation_id, zone_kind, latest,
                          now - timedelta(days=contact_days))
    zones, totals = await asyncio.to_thread(place, inputs, engine=engine, scheduler=scheduler,
                                            min_active_days=min_active_days)
    totals["rosters"] = [{"partner": r.partner, "upload_id": str(r.id),
                          "uploaded_at": r.uploaded_at.isoformat(), "rows": r.rows}
                         for r in sorted(latest, key=lambda r: r.partner)]
    elapsed = asyncio.get_running_loop().time() - clock_start
    census = CensusRun(
        id=uuid.uuid4(), federation_id=federation_id, tenant_id=tenant_id,
        requested_by=requested_by, engine=engine,
        params={"zone_kind": zone_kind, "scope": tenant_code, "contact_days": contact_days,
                "min_active_days": min_active_days, "as_of": now.isoformat(),
                "scheduler": scheduler if engine == "dask" else None},
        zones=zones, totals=totals, started_at=started,
        finished_at=started + timedelta(seconds=elapsed))
    await repository.add_run(session, census)
    return census


async def run_for(session: AsyncSession, caller: Caller, geo: GeoRegistry, *, zone_kind: str,
                  engine: str, scheduler: str | None, contact_days: int, min_active_days: int,
                  now: datetime) -> CensusRun:
    """An admin's census of their subtree. Which roster is each partner's newest is
    federation-wide (upload ids and times only); the entries themselves are then read
    within the caller's subtree."""
    federation_id = await directory.federation_of(session, caller)
    async with geo.federation_reader(federation_id, principal="system:census") as conn:
        rows = await repository.latest_uploads(conn, federation_id)
    latest = _rosters(rows, await directory.partner_codes(session, federation_id))
    return await run(session, federation_id=federation_id, tenant_id=caller.tenant_id,
                     tenant_code=caller.tenant_code, requested_by=caller.principal,
                     latest=latest, zone_kind=zone_kind, engine=engine, scheduler=scheduler,
                     contact_days=contact_days, min_active_days=min_active_days, now=now)


async def operator_run(session: AsyncSession, *, federation_code: str, tenant_code: str | None,
                       zone_kind: str, engine: str, scheduler: str | None, contact_days: int,
                       min_active_days: int, now: datetime) -> CensusRun:
    """`flexunion census run`: as the owner, narrowed to one tenant's subtree (the HQ's by
    default). The owner passes every row policy, so every query of a census names the scope."""
    federation_id = await directory.find_federation(session, federation_code)
    if federation_id is None:
        raise NotFound(f"没有编码为 {federation_code} 的联合会（总工会）。",
                       f"no federation (hq) with code '{federation_code}'",
                       code="federation_not_found")
    tenants = await directory.directory(session, federation_id)
    tenant = tenants.hq
    if tenant_code and tenant_code != federation_code:
        found = tenants.get(tenant_code)
        if found is None:
            raise NotFound(f"联合会 {federation_code} 中没有组织 {tenant_code}。",
                           f"no tenant '{tenant_code}' in federation '{federation_code}'",
                           code="tenant_not_found")
        tenant = found
    await apply_scope(session, DbScope(tenant.id, OPERATOR))
    rows = await repository.latest_uploads_as_owner(session, federation_id)
    latest = _rosters(rows, await directory.partner_codes(session, federation_id))
    return await run(session, federation_id=federation_id, tenant_id=tenant.id,
                     tenant_code=tenant.code, requested_by=OPERATOR, latest=latest,
                     zone_kind=zone_kind, engine=engine, scheduler=scheduler,
                     contact_days=contact_days, min_active_days=min_active_days, now=now)


async def access_run(session: AsyncSession, run_id: uuid.UUID) -> CensusRun:
    """A run of the caller's subtree; another tenant's is 'not found', like a missing one."""
    found = await repository.run(session, run_id)
    if found is None:
        raise NotFound("没有这次摸底记录。", "No such census run.", code="census_run_not_found")
    return found


async def runs(session: AsyncSession, *, after: tuple[datetime, uuid.UUID] | None,
               limit: int) -> Sequence[CensusRun]:
    """Runs of the caller's subtree, newest first (without their zones)."""
    return await repository.runs(session, after=after, limit=limit)
