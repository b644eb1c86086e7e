"""Service areas: upsert checked features, list, export, delete — within the caller's subtree.

Who may own what: a `jurisdiction` belongs to a regional union (its territory);
a `delivery_zone` (配送片区) to any tenant of the subtree and names its platform;
a `station_coverage` to a station. Codes are unique per federation and kind.
RLS decides writes (owning subtree only); this module gives the clear answers.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import shapely
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.core.context import Caller
from flexunion.core.errors import InvalidInput, NotFound
from flexunion.federation import directory as fed_directory
from flexunion.federation.models import PlatformPartner, Tenant
from flexunion.geo.models import ServiceArea
from flexunion.geo.shapes import AreaFeature, Problem

OWNER_KINDS = {"jurisdiction": ("regional",), "delivery_zone": ("hq", "regional", "station"),
               "station_coverage": ("station",)}


@dataclass
class UploadResult:
    created: list[ServiceArea] = field(default_factory=list)
    updated: list[ServiceArea] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def feature_problems(problems: list[Problem]) -> InvalidInput:
    return InvalidInput(
        f"{len(problems)} feature(s) refused; nothing was stored. "
        + "; ".join(f"#{p.feature} {p.code or ''} {p.problem}: {p.detail}" for p in problems[:5]),
        code="invalid_features", extra={"errors": [p.as_dict() for p in problems[:100]]})


async def _visible_tenants(session: AsyncSession) -> dict[str, Tenant]:
    """Tenants in the caller's subtree (RLS: tenants are read by scope only)."""
    return {t.code: t for t in (await session.scalars(select(Tenant))).all()}


async def _partners(session: AsyncSession, federation_id: uuid.UUID) -> dict[str, uuid.UUID]:
    rows = await session.execute(select(PlatformPartner.code, PlatformPartner.id)
                                 .where(PlatformPartner.tenant_id == federation_id))
    return {code: pid for code, pid in rows}


async def upsert(session: AsyncSession, caller: Caller, federation_id: uuid.UUID, kind: str,
                 features: Sequence[AreaFeature], *, replace: bool, source: str,
                 now: datetime) -> UploadResult:
    tenants = await _visible_tenants(session)
    partners = await _partners(session, federation_id)
    existing = {a.code: a for a in (await session.scalars(
        select(ServiceArea).where(ServiceArea.federation_id == federation_id,
                                  ServiceArea.kind == kind))).all()}
    in_scope = {t.id for t in tenants.values()}
    problems: list[Problem] = []
    plan: list[tuple[AreaFeature, Tenant, uuid.UUID | None]] = []
    for f in features:
        owner = tenants.get(f.tenant or caller.tenant_code)
        if owner is None:
            problems.append(Problem(f.index, f.code, "bad_property",
                                    f"tenant {f.tenant!r} is not in your part of the federation"))
            continue
        if owner.kind not in OWNER_KINDS[kind]:
            problems.append(Problem(f.index, f.code, "bad_property",
                                    f"a {kind} belongs to a {' or '.join(OWNER_KINDS[kind])} tenant,"
                                    f" not to {owner.code} ({owner.kind})"))
            continue
        partner_id = None
        if kind == "delivery_zone" or f.partner:
            partner_id = partners.get(f.partner or "")
            if partner_id is None:
                problems.append(Problem(f.index, f.code, "bad_property",
                                        "a delivery_zone needs `partner`: a platform code of "
                                        f"this federation (got {f.partner!r})"))
                continue
        current = existing.get(f.code)
        if current is not None and current.tenant_id not in in_scope:
            problems.append(Problem(f.index, f.code, "bad_property",
                                    f"code {f.code!r} is used by another tenant's {kind}"))
            continue
        plan.append((f, owner, partner_id))
    if problems:
        raise feature_problems(problems)

    result = UploadResult()
    for f, owner, partner_id in plan:
        minx, miny, maxx, maxy = f.geom.bounds
        values = dict(tenant_id=owner.id, name_zh=f.name_zh, name_en=f.name_en,
                      partner_id=partner_id, geom_wkb=shapely.to_wkb(f.geom), min_lon=minx,
                      min_lat=miny, max_lon=maxx, max_lat=maxy, area_m2=f.area_m2,
                      vertices=f.vertices, source=source, repaired=f.repaired, updated_at=now)
        current = existing.get(f.code)
        if current is None:
            area = ServiceArea(id=uuid.uuid4(), federation_id=federation_id, kind=kind,
                               code=f.code, created_at=now, **values)
            session.add(area)
            result.created.append(area)
        else:
            for key, value in values.items():
                setattr(current, key, value)
            result.updated.append(current)
    if replace:
        owners = {owner.id for _, owner, _ in plan} or {caller.tenant_id}
        keep = {f.code for f in features}
        gone = [a for a in existing.values()
                if a.tenant_id in owners and a.code not in keep]
        if gone:
            await session.execute(delete(ServiceArea).where(
                ServiceArea.id.in_([a.id for a in gone])))
            result.deleted = sorted(a.code for a in gone)
    await session.flush()
    await audit.record(session, "geo.areas_uploaded", tenant_id=caller.tenant_id,
                       object_type="service_areas", object_id=kind,
                       payload={"kind": kind, "source": source,
                                "created": sorted(a.code for a in result.created),
                                "updated": sorted(a.code for a in result.updated),
                                "deleted": result.deleted,
                                "repaired": sorted(f.code for f in features if f.repaired)})
    return result


async def page(session: AsyncSession, federation_id: uuid.UUID, *, kind: str | None,
               tenant_id: uuid.UUID | None, after: tuple[str, str] | None,
               limit: int) -> Sequence[ServiceArea]:
    q = select(ServiceArea).where(ServiceArea.federation_id == federation_id)
    if kind:
        q = q.where(ServiceArea.kind == kind)
    if tenant_id:
        q = q.where(ServiceArea.tenant_id == tenant_id)
    if after:
        q = q.where((ServiceArea.kind, ServiceArea.code) > after)  # type: ignore[operator]
    return (await session.scalars(q.order_by(ServiceArea.kind, ServiceArea.code)
                                  .limit(limit))).all()


async def one(session: AsyncSession, federation_id: uuid.UUID, kind: str,
              code: str) -> ServiceArea:
    area = await session.scalar(select(ServiceArea).where(
        ServiceArea.federation_id == federation_id, ServiceArea.kind == kind,
        ServiceArea.code == code))
    if area is None:
        raise NotFound(f"No {kind} with code {code!r}.", code="area_not_found")
    return area


async def remove(session: AsyncSession, caller: Caller, federation_id: uuid.UUID, kind: str,
                 code: str) -> None:
    area = await one(session, federation_id, kind, code)
    gone = await session.execute(delete(ServiceArea).where(ServiceArea.id == area.id)
                                 .returning(ServiceArea.id))
    if gone.first() is None:  # visible to the federation, but not the caller's to delete
        raise NotFound(f"No {kind} with code {code!r} in your part of the federation.",
                       code="area_not_found")
    await audit.record(session, "geo.area_deleted", tenant_id=caller.tenant_id,
                       object_type="service_area", object_id=area.id,
                       payload={"kind": kind, "code": code})


async def codes_by_id(session: AsyncSession, federation_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """Tenant and platform codes of the federation, by id (areas name both)."""
    tenants = await fed_directory.directory(session, federation_id)
    partners = await session.execute(select(PlatformPartner.id, PlatformPartner.code)
                                     .where(PlatformPartner.tenant_id == federation_id))
    return {e.id: code for code, e in tenants.items()} | {pid: code for pid, code in partners}
