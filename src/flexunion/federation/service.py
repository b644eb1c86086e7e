"""The federation tree as staff and partners read it, and the few things staff change on a
tenant (the join rule). Tenants are created and renamed only by the files in tenants/
(provisioning/)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.core.errors import InvalidInput
from flexunion.core.pagination import Page, decode_cursor, page_of
from flexunion.federation import directory, repository
from flexunion.federation.models import Tenant
from flexunion.federation.schemas import PartnerRead, TenantRead


def to_read(tenant: Tenant, partner_code: str | None) -> TenantRead:
    return TenantRead(
        id=tenant.id, code=tenant.code, kind=tenant.kind,
        name_zh=tenant.name_zh, name_en=tenant.name_en, federation_id=tenant.federation_id,
        parent_id=tenant.parent_id, adcode=tenant.adcode, city=tenant.city,
        partner_code=partner_code, address=tenant.address,
    )


async def list_tenants(
    session: AsyncSession, *, kind: str | None, cursor: str | None, limit: int
) -> Page[TenantRead]:
    after = decode_cursor(cursor, 1)
    rows = await repository.tenant_page(session, kind=kind,
                                        after_code=after[0] if after else None, limit=limit + 1)
    return page_of(rows, limit, lambda row: to_read(*row), lambda row: (row[0].code,))


async def access_tenant_by_code(session: AsyncSession, code: str) -> TenantRead:
    """Not there and not yours are the same answer."""
    row = await repository.tenant_with_partner(session, code)
    if row is None:
        raise directory.TenantNotFound(f"没有组织 {code}，或不在你的管辖范围内。",
                                       f"No tenant '{code}'.")
    return to_read(*row)


async def list_partners(session: AsyncSession) -> list[PartnerRead]:
    return [
        PartnerRead(id=p.id, code=p.code, name_zh=p.name_zh, name_en=p.name_en)
        for p in await repository.visible_partners(session)
    ]


async def set_join_rule(session: AsyncSession, code: str, *, auto_approve: bool) -> Tenant:
    """入会审批规则: joins to this union (and its stations) are approved at once, or wait for
    staff. Only a regional union or a station carries the rule."""
    tenant = await directory.tenant_by_code(session, code, lock=True)
    if tenant.kind == "hq":
        raise InvalidInput("会员加入的是区域工会或站点，总部不设入会规则。",
                           "Members join a regional union or a station.",
                           code="join_target_invalid")
    tenant.auto_approve_joins = auto_approve
    await repository.flush(session)
    await audit.record(session, "membership.join_rule_set", tenant_id=tenant.id,
                       object_type="tenant", object_id=tenant.code,
                       payload={"auto_approve": auto_approve})
    return tenant
