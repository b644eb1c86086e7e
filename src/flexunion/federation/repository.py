"""Queries for the federation tree. Tenant rows are read under row-level security (the
caller's subtree; the owner sees all); the directory and partner list through the owner's
SECURITY DEFINER functions, which answer anyone in the federation."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import RowMapping, select, text
from sqlalchemy.ext.asyncio import AsyncSession

# Re-exported for the service: the session calls every repository shares.
from flexunion.db.rows import add as add
from flexunion.db.rows import flush as flush
from flexunion.federation.models import PlatformPartner, Tenant

_DIRECTORY = text("SELECT * FROM flexunion_directory(:f)")
_CALLER_DIRECTORY = text("SELECT * FROM flexunion_directory(flexunion_federation())")
_PARTNERS = text("SELECT id, code, name_zh, name_en FROM flexunion_partners(:f)")
_FEDERATION_BY_CODE = text("SELECT flexunion_federation_by_code(:c)")


async def directory_rows(session: AsyncSession, federation_id: uuid.UUID) -> Sequence[RowMapping]:
    return (await session.execute(_DIRECTORY, {"f": federation_id})).mappings().all()


async def caller_directory_rows(session: AsyncSession) -> Sequence[RowMapping]:
    """The directory of the scope's federation (staff and partners), in one statement."""
    return (await session.execute(_CALLER_DIRECTORY)).mappings().all()


async def partner_rows(session: AsyncSession, federation_id: uuid.UUID) -> Sequence[RowMapping]:
    return (await session.execute(_PARTNERS, {"f": federation_id})).mappings().all()


async def federation_id_by_code(session: AsyncSession, code: str) -> uuid.UUID | None:
    return (await session.execute(_FEDERATION_BY_CODE, {"c": code})).scalar_one_or_none()


async def tenant_page(
    session: AsyncSession, *, kind: str | None, after_code: str | None, limit: int
) -> Sequence[tuple[Tenant, str | None]]:
    stmt = (
        select(Tenant, PlatformPartner.code)
        .outerjoin(PlatformPartner, PlatformPartner.id == Tenant.partner_id)
        .order_by(Tenant.code)
        .limit(limit)
    )
    if kind:
        stmt = stmt.where(Tenant.kind == kind)
    if after_code is not None:
        stmt = stmt.where(Tenant.code > after_code)
    return [(t, p) for t, p in (await session.execute(stmt)).all()]


async def tenant_with_partner(session: AsyncSession, code: str) -> tuple[Tenant, str | None] | None:
    stmt = (
        select(Tenant, PlatformPartner.code)
        .outerjoin(PlatformPartner, PlatformPartner.id == Tenant.partner_id)
        .where(Tenant.code == code)
    )
    row = (await session.execute(stmt)).first()
    return (row[0], row[1]) if row is not None else None


async def tenant_by_code(session: AsyncSession, code: str, *, lock: bool = False) -> Tenant | None:
    stmt = select(Tenant).where(Tenant.code == code)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def tenant_by_id(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant | None:
    return await session.get(Tenant, tenant_id)


async def tenants_by_code(session: AsyncSession, codes: Iterable[str]) -> dict[str, Tenant]:
    rows = await session.scalars(select(Tenant).where(Tenant.code.in_(list(codes))))
    return {t.code: t for t in rows}


async def tenants_of(session: AsyncSession, federation_id: uuid.UUID) -> Sequence[Tenant]:
    return (await session.scalars(select(Tenant).where(Tenant.federation_id == federation_id)
                                  .order_by(Tenant.code))).all()


async def visible_tenants(session: AsyncSession) -> Sequence[Tenant]:
    """The caller's subtree (row-level security decides)."""
    return (await session.scalars(select(Tenant).order_by(Tenant.code))).all()


async def visible_partners(session: AsyncSession) -> Sequence[PlatformPartner]:
    return (await session.scalars(select(PlatformPartner).order_by(PlatformPartner.code))).all()


async def partners_of(session: AsyncSession,
                      federation_id: uuid.UUID) -> dict[str, PlatformPartner]:
    rows = await session.scalars(select(PlatformPartner)
                                 .where(PlatformPartner.tenant_id == federation_id))
    return {p.code: p for p in rows}


async def federation_ids(session: AsyncSession, *, ids: Iterable[uuid.UUID] | None = None
                         ) -> Sequence[uuid.UUID]:
    """The federations (HQ rows), by code order; only `ids` when given."""
    stmt = select(Tenant.id).where(Tenant.kind == "hq").order_by(Tenant.code)
    if ids is not None:
        stmt = stmt.where(Tenant.id.in_(list(ids)))
    return (await session.scalars(stmt)).all()


