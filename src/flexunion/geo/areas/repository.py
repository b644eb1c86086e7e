"""Queries for service areas. Staff read every area of their federation (reference data);
row-level security lets them write only their subtree's, and `in_scope` narrows a read
to it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

# Re-exported for the service: the session calls every repository shares.
from flexunion.db.rows import add as add
from flexunion.db.rows import flush as flush
from flexunion.geo.areas.models import ServiceArea

# The scope as one value per query (an InitPlan), not a call per row.
_IN_SCOPE = text("service_areas.tenant_id"
                 " = ANY (CAST((SELECT flexunion_tenant_scope()) AS uuid[]))")


async def of_kind(session: AsyncSession, federation_id: uuid.UUID,
                  kind: str) -> Sequence[ServiceArea]:
    return (await session.scalars(select(ServiceArea).where(
        ServiceArea.federation_id == federation_id, ServiceArea.kind == kind))).all()


async def of_federation(session: AsyncSession, federation_id: uuid.UUID) -> Sequence[ServiceArea]:
    return (await session.scalars(select(ServiceArea).where(
        ServiceArea.federation_id == federation_id))).all()


async def in_scope(session: AsyncSession, federation_id: uuid.UUID,
                   kind: str) -> Sequence[ServiceArea]:
    """Areas of `kind` owned in the caller's subtree (the owner: in the scope it set), by code."""
    return (await session.scalars(select(ServiceArea).where(
        ServiceArea.federation_id == federation_id, ServiceArea.kind == kind, _IN_SCOPE)
        .order_by(ServiceArea.code))).all()


async def page(session: AsyncSession, federation_id: uuid.UUID, *, kind: str | None,
               tenant_id: uuid.UUID | None, after: tuple[str, str] | None,
               limit: int) -> Sequence[ServiceArea]:
    stmt = select(ServiceArea).where(ServiceArea.federation_id == federation_id)
    if kind:
        stmt = stmt.where(ServiceArea.kind == kind)
    if tenant_id:
        stmt = stmt.where(ServiceArea.tenant_id == tenant_id)
    if after:
        stmt = stmt.where(tuple_(ServiceArea.kind, ServiceArea.code) > tuple_(*after))
    return (await session.scalars(stmt.order_by(ServiceArea.kind, ServiceArea.code)
                                  .limit(limit))).all()


async def by_code(session: AsyncSession, federation_id: uuid.UUID, kind: str,
                  code: str) -> ServiceArea | None:
    return await session.scalar(select(ServiceArea).where(
        ServiceArea.federation_id == federation_id, ServiceArea.kind == kind,
        ServiceArea.code == code))


async def delete_all(session: AsyncSession, area_ids: Iterable[uuid.UUID]) -> None:
    await session.execute(delete(ServiceArea).where(ServiceArea.id.in_(list(area_ids))))


async def delete_one(session: AsyncSession, area_id: uuid.UUID) -> bool:
    """Whether the row went (row-level security keeps another subtree's)."""
    gone = await session.execute(delete(ServiceArea).where(ServiceArea.id == area_id)
                                 .returning(ServiceArea.id))
    return gone.first() is not None

