"""需求清单 over HTTP, read: my cases (/v1/me/cases), the staff ledger and its working lists
(/v1/cases), and the cases addressed to a platform (/v1/partner/cases)."""

from __future__ import annotations

from typing import Annotated

from litestar import Router, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.ledger import service
from flexunion.cases.ledger.http import CASE_STAFF, STEP_404, CaseId
from flexunion.cases.ledger.schemas import (
    CaseRead,
    Category,
    Channel,
    QueueRow,
    Route,
    Status,
    Tier,
)
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import BEARER, PAGING, PARTNER, WORKER, Paging, problems
from flexunion.core.pagination import Page, decode_time_cursor, page_of, time_key


def _page(rows, size: int, reads) -> Page[CaseRead]:  # type: ignore[no-untyped-def]
    by_id = {r.id: r for r in reads}
    return page_of(rows, size, lambda c: by_id[c.id], lambda c: time_key(c.created_at, c.id))


@get("/", dependencies=PAGING, summary="我的诉求 My cases, newest first",
     responses=problems({422: "cursor_invalid"}))
async def my_cases(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                   paging: NamedDependency[Paging],
                   status: Annotated[Status | None, QueryParameter()] = None) -> Page[CaseRead]:
    rows = await service.mine(session, caller, status=status,
                              after=decode_time_cursor(paging.cursor), limit=paging.size + 1)
    reads = await service.reads(session, rows[:paging.size], audience="worker")
    return _page(rows, paging.size, reads)


@get("/{case_id:uuid}", summary="诉求详情 One of my cases, with its steps",
     responses=problems({404: "case_not_found"}))
async def my_case(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                  clock: NamedDependency[Clock], case_id: CaseId) -> CaseRead:
    case = await service.own_case(session, caller, case_id)
    return await service.read(session, case, audience="worker", now=clock.now())


@get("/", dependencies=PAGING,
     summary="需求台账 The ledger: my subtree's cases and those my units are assigned",
     responses=problems({422: "cursor_invalid"}))
async def ledger(session: NamedDependency[AsyncSession], paging: NamedDependency[Paging],
                 status: Annotated[Status | None, QueryParameter()] = None,
                 route: Annotated[Route | None, QueryParameter()] = None,
                 category: Annotated[Category | None, QueryParameter()] = None,
                 channel: Annotated[Channel | None, QueryParameter()] = None) -> Page[CaseRead]:
    rows = await service.ledger(session, status=status, route=route, category=category,
                                channel=channel, after=decode_time_cursor(paging.cursor),
                                limit=paging.size + 1)
    reads = await service.reads(session, rows[:paging.size], audience="staff")
    return _page(rows, paging.size, reads)


def _queue(rows: list[QueueRow], size: int, key: str) -> Page[QueueRow]:
    return page_of(rows, size, lambda r: r, lambda r: (getattr(r, key), r.id))


@get("/returned", dependencies=PAGING,
     summary="退回件 Returned cases in my scope, the latest return first, with its reason",
     responses=problems({422: "cursor_invalid"}))
async def returned_cases(session: NamedDependency[AsyncSession], paging: NamedDependency[Paging],
                         category: Annotated[Category | None, QueryParameter()] = None,
                         route: Annotated[Route | None, QueryParameter()] = None,
                         tier: Annotated[Tier | None, QueryParameter()] = None,
                         ) -> Page[QueueRow]:
    rows = await service.returned_list(session, category=category, route=route, tier=tier,
                                       after=decode_time_cursor(paging.cursor),
                                       limit=paging.size + 1)
    return _queue(rows, paging.size, "updated_at")


@get("/open", dependencies=PAGING,
     summary="在办件 Open cases in my scope with their status and handling unit, newest first",
     responses=problems({422: "cursor_invalid, unknown_unit"}))
async def open_cases(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                     paging: NamedDependency[Paging],
                     status: Annotated[Status | None, QueryParameter()] = None,
                     category: Annotated[Category | None, QueryParameter()] = None,
                     route: Annotated[Route | None, QueryParameter()] = None,
                     tier: Annotated[Tier | None, QueryParameter()] = None,
                     unit: Annotated[str | None, QueryParameter(
                         max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")] = None,
                     ) -> Page[QueueRow]:
    fed = await service.federation_of(session, caller)
    rows = await service.open_list(session, status=status, category=category, route=route,
                                   tier=tier, unit=unit, after=decode_time_cursor(paging.cursor),
                                   limit=paging.size + 1, federation_id=fed)
    return _queue(rows, paging.size, "created_at")


@get("/{case_id:uuid}", summary="诉求详情 One case with its assignments and steps",
     responses=problems({404: STEP_404}))
async def get_case(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                   case_id: CaseId) -> CaseRead:
    return await service.read(session, await service.access_case(session, case_id),
                              audience="staff", now=clock.now())


@get("/", dependencies=PAGING, summary="平台待办 Cases addressed to my platform",
     responses=problems({422: "cursor_invalid"}))
async def partner_cases(session: NamedDependency[AsyncSession], paging: NamedDependency[Paging],
                        status: Annotated[Status | None, QueryParameter()] = None,
                        ) -> Page[CaseRead]:
    rows = await service.addressed(session, status=status,
                                   after=decode_time_cursor(paging.cursor),
                                   limit=paging.size + 1)
    reads = await service.reads(session, rows[:paging.size], audience="partner")
    return _page(rows, paging.size, reads)


@get("/{case_id:uuid}", summary="平台诉求详情 A case addressed to my platform (worker masked)",
     responses=problems({404: "case_not_found"}))
async def partner_case(session: NamedDependency[AsyncSession], case_id: CaseId) -> CaseRead:
    case = await service.partner_case(session, case_id)
    return await service.read(session, case, audience="partner")


router = Router("/", route_handlers=[
    Router("/v1/me/cases", opt=WORKER, tags=["me 我的"], security=BEARER,
           route_handlers=[my_cases, my_case]),
    Router("/v1/cases", opt=CASE_STAFF, security=BEARER,
           route_handlers=[ledger, returned_cases, open_cases, get_case]),
    Router("/v1/partner/cases", opt=PARTNER, security=BEARER,
           route_handlers=[partner_cases, partner_case]),
])
