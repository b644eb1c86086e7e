"""Queries on the tree. Row-level security already limits every query to the caller's
subtree; these filters only shape the answer."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.federation.models import PlatformPartner, Tenant


class TenantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self, *, kind: str | None, after_code: str | None, limit: int
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
        return (await self.session.execute(stmt)).all()  # type: ignore[return-value]

    async def by_code(self, code: str) -> tuple[Tenant, str | None] | None:
        stmt = (
            select(Tenant, PlatformPartner.code)
            .outerjoin(PlatformPartner, PlatformPartner.id == Tenant.partner_id)
            .where(Tenant.code == code)
        )
        return (await self.session.execute(stmt)).first()  # type: ignore[return-value]

    async def by_id(self, tenant_id: uuid.UUID) -> Tenant | None:
        return await self.session.get(Tenant, tenant_id)

    async def partners(self) -> Sequence[PlatformPartner]:
        return (await self.session.scalars(select(PlatformPartner).order_by(PlatformPartner.code))).all()
