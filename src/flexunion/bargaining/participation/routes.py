"""流动议事 over HTTP. The worker reads their own participation grants; HQ and regional
admins list the grants of their regions, grant one by hand (with a note) and revoke one."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Router, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.participation import service
from flexunion.bargaining.participation.schemas import (
    GrantCreate,
    GrantRead,
    GrantRevoke,
    grant_read,
)
from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import BEARER, STAFF, UNION_ADMINS, WORKER, problems

GrantId = Annotated[uuid.UUID, PathParameter()]
RegionQ = Annotated[str | None, QueryParameter(max_length=64,
                                               description="授权区域 granted region code")]
ActiveQ = Annotated[bool, QueryParameter(description="只看有效授权 only active grants")]
LimitQ = Annotated[int, QueryParameter(ge=1, le=500, description="最多条数 at most this many")]


@get("/participation", summary="流动议事 My participation grants (other regions' boards)")
async def my_grants(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                    clock: NamedDependency[Clock]) -> list[GrantRead]:
    codes = await service.codes(session, caller)
    now = clock.now()
    return [grant_read(g, codes, now=now) for g in await service.mine(session, caller)]


@get("/participation", summary="参与授权 Grants of my regions (granted here or home here)",
     responses=problems({422: "unknown_region"}))
async def list_grants(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], region: RegionQ = None, active: ActiveQ = False,
    limit: LimitQ = 200,
) -> list[GrantRead]:
    now = clock.now()
    rows = await service.listed(session, caller, region=region,
                                active_at=now if active else None, limit=limit)
    codes = await service.codes(session, caller)
    return [grant_read(g, codes, now=now) for g in rows]


@post("/participation", summary="手工授权 Grant a member participation in one of my regions",
      responses=problems({
          403: "scope_not_yours: the region is not in your subtree",
          404: "member_not_found: no such active member in the federation",
          409: "participation_home_region: the region is the member's home already",
          422: "unknown_region"}))
async def create_grant(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], settings: NamedDependency[Settings],
    data: JSONBody[GrantCreate],
) -> GrantRead:
    now = clock.now()
    row = await service.grant(session, caller, data, now=now,
                              default_days=settings.bargaining.participation_expire_days)
    return grant_read(row, await service.codes(session, caller), now=now)


@post("/participation/{grant_id:uuid}/revoke", status_code=200,
      summary="撤销参与授权 Revoke a participation grant",
      responses=problems({404: "participation_grant_not_found",
                          409: "participation_revoked"}))
async def revoke_grant(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], grant_id: GrantId, data: JSONBody[GrantRevoke],
) -> GrantRead:
    now = clock.now()
    row = await service.revoke(session, grant_id, reason=data.reason, now=now)
    return grant_read(row, await service.codes(session, caller), now=now)


router = Router("/", tags=["bargaining 集体协商"], security=BEARER, route_handlers=[
    Router("/v1/me", opt=WORKER, route_handlers=[my_grants]),
    Router("/v1/admin/bargaining", opt=STAFF, route_handlers=[list_grants]),
    Router("/v1/admin/bargaining", opt=UNION_ADMINS, route_handlers=[create_grant,
                                                                     revoke_grant]),
])
