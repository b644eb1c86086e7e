"""服务目录 over HTTP: members read the services that apply to them and an event's places;
staff read the catalogue; HQ and regional admins save their own entries and add sessions."""

from __future__ import annotations

from typing import Annotated

from litestar import Router, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import BEARER, STAFF, UNION_ADMINS, WORKER, problems
from flexunion.services.catalogue import service
from flexunion.services.catalogue.schemas import (
    EntryRead,
    EntrySave,
    EventRead,
    EventSave,
    entry_read,
    event_read,
)

ServiceCode = Annotated[str, PathParameter(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$",
                                                  max_length=64)]


def _read(o: service.Offered) -> EntryRead:
    return entry_read(o.row, o.kept_by, o.federation_wide)


@get("/", summary="服务目录 The services offered to me (HQ's and my region's)")
async def my_services(session: NamedDependency[AsyncSession],
                      caller: NamedDependency[Caller]) -> list[EntryRead]:
    return [_read(o) for o in await service.listed(session, caller, active_only=True)]


@get("/{code:str}/events", summary="活动场次 An events service's sessions and places left",
     responses=problems({404: "service_not_found"}))
async def my_events(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                    code: ServiceCode) -> list[EventRead]:
    return [event_read(e, code) for e in await service.events(session, caller, code)]


@get("/", summary="服务目录 The catalogue as it applies to my unit")
async def staff_services(session: NamedDependency[AsyncSession],
                         caller: NamedDependency[Caller]) -> list[EntryRead]:
    return [_read(o) for o in await service.listed(session, caller)]


@get("/{code:str}", summary="服务目录 One entry", responses=problems({404: "service_not_found"}))
async def staff_service(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                        code: ServiceCode) -> EntryRead:
    return _read(await service.entry(session, caller, code))


@get("/{code:str}/events", summary="活动场次 An events service's sessions",
     responses=problems({404: "service_not_found"}))
async def staff_events(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                       code: ServiceCode) -> list[EventRead]:
    return [event_read(e, code) for e in await service.events(session, caller, code)]


@post("/", status_code=200,
      summary="保存服务 Save my unit's entry (HQ: federation-wide; a region: its subtree)",
      responses=problems({403: "service_entry_not_yours",
                          422: "service_invalid (with `path`)"}))
async def save_service(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                       clock: NamedDependency[Clock], data: JSONBody[EntrySave]) -> EntryRead:
    offered, _ = await service.save(session, caller, data, now=clock.now())
    return _read(offered)


@post("/{code:str}/events", summary="新增场次 Add a session with places to an events service",
      responses=problems({404: "service_not_found", 422: "service_not_events"}))
async def add_event(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                    clock: NamedDependency[Clock], code: ServiceCode,
                    data: JSONBody[EventSave]) -> EventRead:
    row, _ = await service.add_event(session, caller, code, data, now=clock.now())
    return event_read(row, code)


router = Router("/", route_handlers=[
    Router("/v1/me/services", opt=WORKER, tags=["me 我的"], security=BEARER,
           route_handlers=[my_services, my_events]),
    Router("/v1/admin/services", tags=["services 服务"], security=BEARER, route_handlers=[
        Router("/", opt=STAFF, route_handlers=[staff_services, staff_service, staff_events]),
        Router("/", opt=UNION_ADMINS, route_handlers=[save_service, add_event]),
    ]),
])
