"""The federation tree over HTTP: staff see their subtree, partners the tenants their client
is anchored in, workers the public directory of unions and stations they may join."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Router, get
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.core.context import Caller
from flexunion.core.http import BEARER, PAGING, PARTNER, STAFF, WORKER, Paging, problems
from flexunion.core.pagination import Page
from flexunion.federation import directory, service
from flexunion.federation.schemas import DirectoryItem, PartnerRead, TenantRead

TenantCode = Annotated[str, PathParameter(
    pattern=r"^[a-z0-9][a-z0-9-]{1,62}(?!\n)$", max_length=63)]


@get("/tenants", summary="本级及下级组织 Tenants in my subtree", dependencies=PAGING,
     responses=problems({422: "cursor_invalid"}))
async def list_tenants(
    session: NamedDependency[AsyncSession], paging: NamedDependency[Paging],
    kind: Annotated[Literal["hq", "regional", "station"] | None, QueryParameter()] = None,
) -> Page[TenantRead]:
    return await service.list_tenants(session, kind=kind, cursor=paging.cursor, limit=paging.size)


@get("/tenants/{code:str}", summary="组织详情 One tenant (404 when not in my subtree)",
     responses=problems({404: "tenant_not_found (also a tenant outside my subtree)"}))
async def get_tenant(session: NamedDependency[AsyncSession], code: TenantCode) -> TenantRead:
    return await service.access_tenant_by_code(session, code)


@get("/partners", summary="合作平台企业 Platform partners of my federation")
async def list_partners(session: NamedDependency[AsyncSession]) -> list[PartnerRead]:
    return await service.list_partners(session)


@get("/tenants/{code:str}", summary="平台查看所属组织 A tenant visible to my partner client",
     responses=problems({404: "tenant_not_found"}))
async def partner_get_tenant(session: NamedDependency[AsyncSession],
                             code: TenantCode) -> TenantRead:
    return await service.access_tenant_by_code(session, code)


@get("/federation/tenants",
     summary="可加入的工会与站点 Regional unions and stations of my federation")
async def federation_directory(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    city: Annotated[str | None, QueryParameter(max_length=40)] = None,
) -> list[DirectoryItem]:
    entries = await directory.directory(session, caller.tenant_id)
    return [
        DirectoryItem(code=e.code, kind=e.kind, name_zh=e.name_zh, name_en=e.name_en,
                      city=e.city, parent_code=e.parent_code, partner_code=e.partner_code)
        for e in sorted(entries.values(), key=lambda e: (e.city or "", e.code))
        if e.kind != "hq" and (city is None or e.city == city)
    ]


_TAGS = ["federation 联合会"]
router = Router("/", route_handlers=[
    Router("/v1/admin", opt=STAFF, tags=_TAGS, security=BEARER,
           route_handlers=[list_tenants, get_tenant, list_partners]),
    Router("/v1/partner", opt=PARTNER, tags=_TAGS, security=BEARER,
           route_handlers=[partner_get_tenant]),
    Router("/v1/me", opt=WORKER, tags=["me 我的"], security=BEARER,
           route_handlers=[federation_directory]),
])


