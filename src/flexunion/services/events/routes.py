"""系统衔接 over HTTP: a partner pushes events through its machine API
(/v1/partner/services/events, Idempotency-Key) and reads its own back; union staff read the
events of members in their subtree and load or read weather warnings
(/v1/admin/services/events, /v1/admin/services/weather-warnings). Codes: docs/services.md."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import Router, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import (
    BEARER,
    IDEMPOTENT,
    PARTNER,
    STAFF,
    UNION_ADMINS,
    IdempotencyKey,
    problems,
)
from flexunion.services.events import service
from flexunion.services.events.schemas import (
    BatchRead,
    EventBatch,
    PartnerEventRead,
    StaffEventRead,
    WarningRead,
    WarningsLoad,
    WarningsLoaded,
)

Kind = Annotated[Literal["worker_registered", "worker_deregistered", "shift_worked",
                         "injury_reported"] | None, QueryParameter(description="Only this kind")]
MemberFilter = Annotated[uuid.UUID | None, QueryParameter(description="Only this member's")]
Limit = Annotated[int, QueryParameter(ge=1, le=500, description="At most this many, newest first")]
PUSH_422 = ("event_id_repeated: an event_id twice in one batch; shift_hours_invalid: night or "
            "heat hours above the shift's hours, or lon without lat")


@post("/", opt=IDEMPOTENT,
      summary="推送事件 Push events (worker registered / deregistered, shift worked with night "
              "and high-temperature hours, injury reported); each `event_id` is stored once; "
              "Idempotency-Key",
      responses=problems({403: "partner_disabled", 422: PUSH_422}))
async def push(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
               clock: NamedDependency[Clock], idempotency_key: IdempotencyKey,
               data: JSONBody[EventBatch]) -> BatchRead:
    return await service.push(session, caller, data, now=clock.now())


@get("/", summary="我推送的事件 The events I pushed, newest first")
async def partner_events(session: NamedDependency[AsyncSession], kind: Kind = None,
                         limit: Limit = 100) -> list[PartnerEventRead]:
    return await service.partner_events(session, kind=kind, limit=limit)


@get("/events", summary="平台事件 Partners' events about members homed in my subtree (and, "
                        "for HQ, the unmatched ones), newest first")
async def staff_events(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                       kind: Kind = None, member: MemberFilter = None,
                       limit: Limit = 100) -> list[StaffEventRead]:
    return await service.staff_events(session, caller, kind=kind, member_id=member, limit=limit)


@get("/weather-warnings", summary="气象预警 Weather warnings loaded in my scope or by my region")
async def warnings(session: NamedDependency[AsyncSession],
                   limit: Limit = 100) -> list[WarningRead]:
    return await service.staff_warnings(session, limit)


@post("/weather-warnings", opt=UNION_ADMINS,
      summary="载入气象预警 Load official weather warnings (heat, cold, storm; area codes or a "
              "GeoJSON polygon; valid from/to); one per source_ref",
      responses=problems({409: "warning_conflict", 422: "warning_invalid"}))
async def load_warnings(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                        clock: NamedDependency[Clock],
                        data: JSONBody[WarningsLoad]) -> WarningsLoaded:
    return await service.staff_load_warnings(session, caller, data.warnings, now=clock.now())


router = Router("/", tags=["services-events 系统衔接"], route_handlers=[
    Router("/v1/partner/services/events", opt=PARTNER, security=BEARER,
           route_handlers=[push, partner_events]),
    Router("/v1/admin/services", opt=STAFF, security=BEARER,
           route_handlers=[staff_events, warnings, load_warnings]),
])
