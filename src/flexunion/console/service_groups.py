"""分类清单: the members of a service group in a place — a region or station (its subtree) or
a delivery zone worked in the last 30 days — masked (会员号, the masked name, the home, since
when and why), with the services the group is offered and the CSV. The same service and
row-level security as /v1/admin/services/groups: hardship (困难会员) lists only for the
member's home region."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, Router, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.console.render import html
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.errors import DomainError
from flexunion.core.pagination import decode_time_cursor
from flexunion.services.groups import service
from flexunion.services.groups.schemas import csv_bytes

Text = Annotated[str | None, QueryParameter(max_length=64)]
Cursor = Annotated[str | None, QueryParameter(max_length=200)]
PAGE = 100


@get("/", include_in_schema=False)
async def groups_page(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                      caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                      group: Text = None, place: Text = None, zone: Text = None,
                      cursor: Cursor = None) -> Response[str]:
    groups = await service.groups(session, caller)
    chosen = group if any(g.code == group for g in groups) else (
        groups[0].code if groups else None)
    read, problem = None, None
    if chosen is not None:
        try:
            read = await service.group_list(session, caller, chosen, place=place or None,
                                            zone=zone or None,
                                            today=service.local_day(clock.now()), limit=PAGE,
                                            after=decode_time_cursor(cursor or None))
        except DomainError as exc:
            problem = exc.detail
    return html(request, "service_groups/list.html", menu="groups", groups=groups,
                chosen=chosen, place=place or "", zone=zone or "", read=read, problem=problem,
                names=await service.service_names(session, caller))


@get("/export", include_in_schema=False)
async def groups_csv(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                     clock: NamedDependency[Clock], group: Text = None, place: Text = None,
                     zone: Text = None) -> Response[bytes]:
    read = await service.group_export(session, caller, group or "", place=place or None,
                                      zone=zone or None, today=service.local_day(clock.now()))
    return Response(csv_bytes(read), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="service-group-{read.group}.csv"',
        "Cache-Control": "no-store"})


router = Router("/service-groups", route_handlers=[groups_page, groups_csv])
