"""Service areas: upsert checked features, list, export, delete — within the caller's
subtree; and what covers a point.

Who may own what: a `jurisdiction` belongs to a regional union (its territory); a
`delivery_zone` (配送片区) to any tenant of the subtree and names its platform; a
`station_coverage` to a station. Codes are unique per federation and kind. Row-level
security decides writes (owning subtree only); this module gives the clear answers.

Other domains ask here which delivery zones a partner has (`delivery_zone_codes`) and
whose a zone is (`zone_partner`), from the federation's snapshot.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import shapely
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.core.context import Caller, Role
from flexunion.core.errors import InvalidInput, NotFound
from flexunion.db import rls
from flexunion.federation import directory
from flexunion.federation.directory import DirectoryEntry
from flexunion.geo.areas import repository
from flexunion.geo.areas.models import AREA_KINDS, ServiceArea
from flexunion.geo.crs import Crs
from flexunion.geo.index import AreaHit
from flexunion.geo.registry import GeoSnapshot
from flexunion.geo.shapes import (
    AreaFeature,
    FeatureProblems,
    Problem,
    check_features,
    geojson_features,
)

OWNER_KINDS = {"jurisdiction": ("regional",), "delivery_zone": ("hq", "regional", "station"),
               "station_coverage": ("station",)}
EXPORT_MAX = 100_000
MAX_UPLOAD = 20 * 1024 * 1024  # bytes of one upload (the API's and the console's)


class AreaNotFound(NotFound):
    code, title, title_en = "area_not_found", "未找到该服务区域", "Area not found"


@dataclass
class UploadResult:
    features: list[AreaFeature]
    created: list[ServiceArea] = field(default_factory=list)
    updated: list[ServiceArea] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def feature_problems(problems: list[Problem]) -> InvalidInput:
    listed = "; ".join(f"#{p.feature} {p.code or ''} {p.problem}: {p.detail}"
                       for p in problems[:5])
    return InvalidInput(
        f"{len(problems)} 个要素未通过校验，本次上传未保存任何区域。{listed}",
        f"{len(problems)} feature(s) refused; nothing was stored. {listed}",
        code="invalid_features", extra={"errors": [p.as_dict() for p in problems[:100]]})


async def codes_by_id(session: AsyncSession, caller: Caller,
                      federation_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """Tenant and platform codes of the federation, by id (areas name both)."""
    tenants = await directory.my_directory(session, caller)
    return ({e.id: e.code for e in tenants.values()}
            | await directory.partner_codes(session, federation_id))


# ---- uploads --------------------------------------------------------------------------------


def _checked(caller: Caller, kind: str, doc: Any, crs: Crs, repair: bool) -> list[AreaFeature]:
    """The upload's features, each checked (422 `invalid_features` naming every problem)."""
    if caller.role is Role.STATION_OFFICER and kind != "station_coverage":
        raise InvalidInput("站点干部只能上传本站点的服务范围（station_coverage）。",
                           "A station officer uploads only its station_coverage.",
                           code="area_kind_not_allowed")
    try:
        return check_features(geojson_features(doc), crs, repair=repair)
    except FeatureProblems as exc:
        raise feature_problems(exc.problems) from exc


async def upload(session: AsyncSession, caller: Caller, kind: str, doc: Any, *, crs: Crs,
                 repair: bool, replace: bool, now: datetime,
                 via: str = "api") -> UploadResult:
    """Check a GeoJSON document of areas of one kind, then upsert them (see `upsert`);
    `via` names where it came from in the areas' source (api, console)."""
    features = _checked(caller, kind, doc, crs, repair)
    return await upsert(session, caller, kind, features, replace=replace,
                        source=f"{via}:{caller.principal}", now=now)


@dataclass
class UploadPlan:
    """What an upload would do, found by every check the upload itself makes."""

    kind: str
    features: list[AreaFeature]
    federation_id: uuid.UUID
    placed: list[tuple[AreaFeature, DirectoryEntry, uuid.UUID | None]]
    existing: dict[str, ServiceArea]
    gone: list[ServiceArea]

    @property
    def create(self) -> list[str]:
        return sorted(f.code for f, _, _ in self.placed if f.code not in self.existing)

    @property
    def update(self) -> list[str]:
        return sorted(f.code for f, _, _ in self.placed if f.code in self.existing)

    @property
    def delete(self) -> list[str]:
        return sorted(a.code for a in self.gone)


async def plan(session: AsyncSession, caller: Caller, kind: str, doc: Any, *, crs: Crs,
               repair: bool, replace: bool) -> UploadPlan:
    """上传预检: everything `upload` checks (422 `invalid_features` listing each feature's
    problem), and which areas it would create, update and delete — storing nothing. The
    console shows this before the officer confirms the upload."""
    features = _checked(caller, kind, doc, crs, repair)
    return await _plan(session, caller, kind, features, replace)


def _placement(f: AreaFeature, kind: str, caller: Caller, tenants: dict[str, DirectoryEntry],
               partners: dict[str, uuid.UUID], existing: dict[str, ServiceArea],
               scope: frozenset[uuid.UUID]) -> tuple[DirectoryEntry, uuid.UUID | None] | Problem:
    """The owner and platform of one feature, or why it cannot be stored."""
    owner = tenants.get(f.tenant or caller.tenant_code)
    if owner is None:
        return Problem(f.index, f.code, "bad_property",
                       f"tenant {f.tenant!r} is not in your part of the federation")
    if owner.kind not in OWNER_KINDS[kind]:
        return Problem(f.index, f.code, "bad_property",
                       f"a {kind} belongs to a {' or '.join(OWNER_KINDS[kind])} tenant,"
                       f" not to {owner.code} ({owner.kind})")
    partner_id = None
    if kind == "delivery_zone" or f.partner:
        partner_id = partners.get(f.partner or "")
        if partner_id is None:
            return Problem(f.index, f.code, "bad_property",
                           "a delivery_zone needs `partner`: a platform code of this "
                           f"federation (got {f.partner!r})")
    current = existing.get(f.code)
    if current is not None and current.tenant_id not in scope:
        return Problem(f.index, f.code, "bad_property",
                       f"code {f.code!r} is used by another tenant's {kind}")
    return owner, partner_id


async def _plan(session: AsyncSession, caller: Caller, kind: str,
                features: Sequence[AreaFeature], replace: bool) -> UploadPlan:
    federation_id = await directory.federation_of(session, caller)
    scope = await rls.scope_ids(session)
    tenants = {code: e for code, e in (await directory.my_directory(session, caller)).items()
               if e.id in scope}
    partners = {code: p.id for code, p in
                (await directory.partners(session, federation_id)).items()}
    existing = {a.code: a for a in await repository.of_kind(session, federation_id, kind)}
    problems: list[Problem] = []
    placed: list[tuple[AreaFeature, DirectoryEntry, uuid.UUID | None]] = []
    for f in features:
        where = _placement(f, kind, caller, tenants, partners, existing, scope)
        if isinstance(where, Problem):
            problems.append(where)
        else:
            placed.append((f, *where))
    if problems:
        raise feature_problems(problems)
    gone: list[ServiceArea] = []
    if replace:
        owners = {owner.id for _, owner, _ in placed} or {caller.tenant_id}
        keep = {f.code for f in features}
        gone = [a for a in existing.values() if a.tenant_id in owners and a.code not in keep]
    return UploadPlan(kind, list(features), federation_id, placed, existing, gone)


async def upsert(session: AsyncSession, caller: Caller, kind: str,
                 features: Sequence[AreaFeature], *, replace: bool, source: str,
                 now: datetime) -> UploadResult:
    """Create or update areas by code, all or nothing; with `replace`, also delete this
    kind's areas of the uploaded features' owners that the upload omits. Audited."""
    planned = await _plan(session, caller, kind, features, replace)
    existing = planned.existing
    result = UploadResult(features=list(features))
    for f, owner, partner_id in planned.placed:
        minx, miny, maxx, maxy = f.geom.bounds
        values: dict[str, Any] = dict(
            tenant_id=owner.id, name_zh=f.name_zh, name_en=f.name_en, partner_id=partner_id,
            geom_wkb=shapely.to_wkb(f.geom), min_lon=minx, min_lat=miny, max_lon=maxx,
            max_lat=maxy, area_m2=f.area_m2, vertices=f.vertices, source=source,
            repaired=f.repaired, updated_at=now)
        current = existing.get(f.code)
        if current is None:
            area = ServiceArea(id=uuid.uuid4(), federation_id=planned.federation_id, kind=kind,
                               code=f.code, created_at=now, **values)
            repository.add(session, area)
            result.created.append(area)
        else:
            for key, value in values.items():
                setattr(current, key, value)
            result.updated.append(current)
    if planned.gone:
        await repository.delete_all(session, (a.id for a in planned.gone))
        result.deleted = planned.delete
    await repository.flush(session)
    await audit.record(session, "geo.areas_uploaded", tenant_id=caller.tenant_id,
                       object_type="service_areas", object_id=kind,
                       payload={"kind": kind, "source": source,
                                "created": sorted(a.code for a in result.created),
                                "updated": sorted(a.code for a in result.updated),
                                "deleted": result.deleted,
                                "repaired": sorted(f.code for f in features if f.repaired)})
    return result


# ---- reading and deleting -------------------------------------------------------------------


async def page(session: AsyncSession, caller: Caller, *, kind: str | None, tenant: str | None,
               after: tuple[str, str] | None,
               limit: int) -> tuple[Sequence[ServiceArea], dict[uuid.UUID, str]]:
    """Areas of the caller's federation by kind and code (of one tenant, if named), and the
    codes their ids name."""
    federation_id = await directory.federation_of(session, caller)
    codes = await codes_by_id(session, caller, federation_id)
    tenant_id = None
    if tenant is not None:
        tenant_id = next((i for i, c in codes.items() if c == tenant), None)
        if tenant_id is None:
            return [], codes
    rows = await repository.page(session, federation_id, kind=kind, tenant_id=tenant_id,
                                 after=after, limit=limit)
    return rows, codes


async def subtree_areas(session: AsyncSession,
                        caller: Caller) -> tuple[list[ServiceArea], dict[uuid.UUID, str]]:
    """Every area owned in the caller's subtree — jurisdictions, then delivery zones, then
    station coverages, each by code — and the codes their ids name (the console's map)."""
    federation_id = await directory.federation_of(session, caller)
    rows = [a for kind in AREA_KINDS
            for a in await repository.in_scope(session, federation_id, kind)]
    return rows, await codes_by_id(session, caller, federation_id)


async def export(session: AsyncSession, caller: Caller,
                 kind: str) -> tuple[Sequence[ServiceArea], dict[uuid.UUID, str]]:
    """Every area of a kind in the caller's federation, and the codes their ids name."""
    return await page(session, caller, kind=kind, tenant=None, after=None, limit=EXPORT_MAX)


async def one(session: AsyncSession, caller: Caller, kind: str,
              code: str) -> tuple[ServiceArea, dict[uuid.UUID, str]]:
    federation_id = await directory.federation_of(session, caller)
    area = await repository.by_code(session, federation_id, kind, code)
    if area is None:
        raise AreaNotFound(f"没有编码为 {code} 的{kind}区域。", f"No {kind} with code {code!r}.")
    return area, await codes_by_id(session, caller, federation_id)


async def remove(session: AsyncSession, caller: Caller, kind: str, code: str) -> None:
    area, _ = await one(session, caller, kind, code)
    if not await repository.delete_one(session, area.id):
        # Visible to the federation, but not the caller's to delete.
        raise AreaNotFound(f"你的管辖范围内没有编码为 {code} 的{kind}区域。",
                           f"No {kind} with code {code!r} in your part of the federation.")
    await audit.record(session, "geo.area_deleted", tenant_id=caller.tenant_id,
                       object_type="service_area", object_id=area.id,
                       payload={"kind": kind, "code": code})


# ---- for the census and the federation's files ------------------------------------------------


async def census_zones(session: AsyncSession, federation_id: uuid.UUID,
                       kind: str) -> Sequence[ServiceArea]:
    """The zones of a census: areas of `kind` owned in the session's scope, by code."""
    return await repository.in_scope(session, federation_id, kind)


async def delivery_zones(session: AsyncSession,
                         federation_id: uuid.UUID) -> Sequence[ServiceArea]:
    """Every delivery zone of the federation (reference data for its staff)."""
    return await repository.of_kind(session, federation_id, "delivery_zone")


async def federation_areas(session: AsyncSession,
                           federation_id: uuid.UUID) -> Sequence[ServiceArea]:
    return await repository.of_federation(session, federation_id)


def add(session: AsyncSession, area: ServiceArea) -> None:
    repository.add(session, area)


async def flush(session: AsyncSession) -> None:
    """Write what `add` and changed rows hold (the provisioning plan, before its report)."""
    await repository.flush(session)


# ---- what covers a point (from the snapshot) ----------------------------------------------------


def jurisdiction_of(hits: list[AreaHit], prefer: uuid.UUID | None = None) -> AreaHit | None:
    """One jurisdiction for a point. Inside one: that one. On a shared border: the caller's
    own region if it is one of them (no flapping for a member riding along the line),
    else the lowest code, flagged `on_border` so nobody mistakes it for a clear answer."""
    jur = [h for h in hits if h.area.kind == "jurisdiction"]
    if not jur:
        return None
    inside = [h for h in jur if not h.on_border]
    if inside:
        return inside[0]
    for h in jur:
        if prefer is not None and h.area.tenant_id == prefer:
            return h
    return jur[0]


def delivery_zone_codes(snapshot: GeoSnapshot, partner_code: str) -> dict[str, int]:
    """This partner's delivery zones: code → position in the snapshot's area index."""
    return {ref.code: i for i, ref in enumerate(snapshot.areas.refs)
            if ref.kind == "delivery_zone" and ref.partner_code == partner_code}


def zone_partner(snapshot: GeoSnapshot, zone_code: str) -> str | None:
    """The partner code of the delivery zone `zone_code`; None if it is not one."""
    return next((ref.partner_code for ref in snapshot.areas.refs
                 if ref.kind == "delivery_zone" and ref.code == zone_code), None)
