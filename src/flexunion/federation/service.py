from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.core.errors import NotFound
from flexunion.core.pagination import Page, decode_cursor, encode_cursor
from flexunion.federation.models import Tenant
from flexunion.federation.repository import TenantRepository
from flexunion.federation.schemas import PartnerRead, TenantRead


def to_read(tenant: Tenant, partner_code: str | None) -> TenantRead:
    return TenantRead(
        id=tenant.id, code=tenant.code, kind=tenant.kind,  # type: ignore[arg-type]
        name_zh=tenant.name_zh, name_en=tenant.name_en, federation_id=tenant.federation_id,
        parent_id=tenant.parent_id, adcode=tenant.adcode, city=tenant.city,
        partner_code=partner_code, address=tenant.address,
    )


async def list_tenants(
    session: AsyncSession, *, kind: str | None, cursor: str | None, limit: int
) -> Page[TenantRead]:
    after = decode_cursor(cursor, 1)
    rows = await TenantRepository(session).page(
        kind=kind, after_code=after[0] if after else None, limit=limit + 1
    )
    items = [to_read(t, p) for t, p in rows[:limit]]
    next_cursor = encode_cursor(items[-1].code) if len(rows) > limit else None
    return Page(items=items, next_cursor=next_cursor)


async def access_tenant_by_code(session: AsyncSession, code: str) -> TenantRead:
    """Not there and not yours are the same answer."""
    row = await TenantRepository(session).by_code(code)
    if row is None:
        raise NotFound(f"No tenant '{code}'.", code="tenant_not_found")
    return to_read(*row)


async def list_partners(session: AsyncSession) -> list[PartnerRead]:
    return [
        PartnerRead(id=p.id, code=p.code, name_zh=p.name_zh, name_en=p.name_en)
        for p in await TenantRepository(session).partners()
    ]
