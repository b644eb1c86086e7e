"""分层分类 over HTTP: union staff read the groups and a list per group and place, as JSON or
CSV (/v1/admin/services/groups); a worker reads the services offered to them
(/v1/me/services/offered), never the group. Codes: docs/services.md."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, Router, get
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import BEARER, PAGING, STAFF, WORKER, Paging, downloads, problems
from flexunion.core.pagination import decode_time_cursor
from flexunion.services.groups import service
from flexunion.services.groups.schemas import GroupListRead, GroupRead, OfferedRead, csv_bytes

GroupCode = Annotated[str, PathParameter(pattern=r"^[a-z][a-z-]{1,40}$", max_length=41)]
Place = Annotated[str | None, QueryParameter(
    max_length=63, description="A region or station code: members homed in its subtree")]
Zone = Annotated[str | None, QueryParameter(
    max_length=64, description="A delivery zone code: members with a shift there in 30 days")]
LIST = {404: "service_group_not_found", 422: "place_unknown"}


@get("/", summary="服务分组 The federation's service groups: rule parameters, the services "
                  "each offers, and how many members I can see in each")
async def groups(session: NamedDependency[AsyncSession],
                 caller: NamedDependency[Caller]) -> list[GroupRead]:
    return await service.groups(session, caller)


@get("/{code:str}/members", summary="分类清单 The members of a group, by place (region, "
                                    "station) or delivery zone; masked; a page at a time "
                                    "(oldest in the group first, `next_cursor`)",
     dependencies=PAGING, responses=problems(LIST | {422: "place_unknown, cursor_invalid"}))
async def group_list(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                     clock: NamedDependency[Clock], paging: NamedDependency[Paging],
                     code: GroupCode, place: Place = None, zone: Zone = None) -> GroupListRead:
    return await service.group_list(session, caller, code, place=place, zone=zone,
                                    today=service.local_day(clock.now()), limit=paging.size,
                                    after=decode_time_cursor(paging.cursor))


@get("/{code:str}/members.csv", summary="导出分类清单 The whole list as CSV (UTF-8 with BOM; at "
                                        "most 100,000 rows)",
     responses=downloads("text/csv", description="分类清单 CSV") | problems(LIST))
async def group_csv(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                    clock: NamedDependency[Clock], code: GroupCode, place: Place = None,
                    zone: Zone = None) -> Response[bytes]:
    read = await service.group_export(session, caller, code, place=place, zone=zone,
                                      today=service.local_day(clock.now()))
    return Response(csv_bytes(read), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="service-group-{code}.csv"'})


@get("/", summary="为我推荐的服务 The services offered to me (codes and names only)",
     responses=problems({403: "membership_required, member_not_active"}))
async def offered(session: NamedDependency[AsyncSession],
                  caller: NamedDependency[Caller]) -> OfferedRead:
    return await service.my_offers(session, caller)


router = Router("/", tags=["services-groups 分层分类"], route_handlers=[
    Router("/v1/admin/services/groups", opt=STAFF, security=BEARER,
           route_handlers=[groups, group_list, group_csv]),
    Router("/v1/me/services/offered", opt=WORKER, security=BEARER, route_handlers=[offered]),
])
