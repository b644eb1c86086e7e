from __future__ import annotations

from typing import Annotated, Literal

from litestar import get
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import AUDIENCE_ADMIN, AUDIENCE_PARTNER, Settings
from flexunion.core.context import ADMIN_ROLES, Role
from flexunion.core.pagination import Page, clamp
from flexunion.federation import service
from flexunion.federation.schemas import PartnerRead, TenantRead

ADMIN = {"audiences": (AUDIENCE_ADMIN,), "roles": ADMIN_ROLES}
TAGS = ["federation 联合会"]
TenantCode = Annotated[str, PathParameter(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", max_length=63)]


@get("/v1/admin/tenants", opt=ADMIN, tags=TAGS, security=[{"bearer": []}],
     summary="本级及下级组织 Tenants in my subtree")
async def list_tenants(
    session: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
    kind: Annotated[Literal["hq", "regional", "station"] | None, QueryParameter()] = None,
    cursor: Annotated[str | None, QueryParameter(max_length=512)] = None,
    limit: Annotated[int | None, QueryParameter()] = None,
) -> Page[TenantRead]:
    size = clamp(limit, settings.api.page_size_default, settings.api.page_size_max)
    return await service.list_tenants(session, kind=kind, cursor=cursor, limit=size)


@get("/v1/admin/tenants/{code:str}", opt=ADMIN, tags=TAGS, security=[{"bearer": []}],
     summary="组织详情 One tenant (404 when not in my subtree)")
async def get_tenant(session: NamedDependency[AsyncSession], code: TenantCode) -> TenantRead:
    return await service.access_tenant_by_code(session, code)


@get("/v1/admin/partners", opt=ADMIN, tags=TAGS, security=[{"bearer": []}],
     summary="合作平台企业 Platform partners of my federation")
async def list_partners(session: NamedDependency[AsyncSession]) -> list[PartnerRead]:
    return await service.list_partners(session)


@get("/v1/partner/tenants/{code:str}",
     opt={"audiences": (AUDIENCE_PARTNER,), "roles": {Role.PARTNER}}, tags=TAGS,
     security=[{"bearer": []}], summary="平台查看所属组织 A tenant visible to my partner client")
async def partner_get_tenant(session: NamedDependency[AsyncSession], code: TenantCode) -> TenantRead:
    return await service.access_tenant_by_code(session, code)


ROUTES = [list_tenants, get_tenant, list_partners, partner_get_tenant]
