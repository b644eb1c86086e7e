"""SLA clocks over HTTP (staff): pause, resume, extension request and decision on a case
(/v1/cases/{id}/…), and the overdue list (超期件, /v1/cases/overdue). Codes: docs/cases.md."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Router, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.clocks import pauses
from flexunion.cases.clocks import service as clocks
from flexunion.cases.clocks.schemas import (
    EscalationRead,
    ExtensionDecisionCreate,
    ExtensionRequestCreate,
    OverdueRead,
    PauseCreate,
    ResumeCreate,
    clock_key,
    escalation_key,
    escalation_read,
    overdue_read,
)
from flexunion.cases.ledger import service as cases
from flexunion.cases.ledger.http import STEP_409
from flexunion.cases.ledger.schemas import CaseRead
from flexunion.config import AUDIENCE_ADMIN
from flexunion.core.clock import Clock
from flexunion.core.context import ADMIN_ROLES, Caller, Role
from flexunion.core.http import BEARER, PAGING, Paging, access, problems
from flexunion.core.pagination import Page, decode_time_cursor, page_of

CLOCK_STAFF = access(AUDIENCE_ADMIN, roles={*ADMIN_ROLES, Role.HOTLINE_OPERATOR})
CaseId = Annotated[uuid.UUID, PathParameter()]
NOT_FOUND = "case_not_found (also a case outside my scope)"
NOT_YOURS = "case_step_not_yours: only the case's union or its lead unit"


async def _read(session: AsyncSession, case) -> CaseRead:  # type: ignore[no-untyped-def]
    return await cases.read(session, case, audience="staff")


@post("/{case_id:uuid}/pause", status_code=200,
      summary="暂停计时 Pause the case's SLA clocks: waiting for the worker or the partner's data",
      responses=problems({403: NOT_YOURS, 404: NOT_FOUND,
                          409: f"{STEP_409}, clock_already_paused"}))
async def pause_case(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                     case_id: CaseId, data: JSONBody[PauseCreate]) -> CaseRead:
    return await _read(session, await pauses.pause(session, case_id, data, now=clock.now()))


@post("/{case_id:uuid}/resume", status_code=200, summary="恢复计时 Resume the paused clocks",
      responses=problems({403: NOT_YOURS, 404: NOT_FOUND, 409: f"{STEP_409}, "
                          "clock_not_paused"}))
async def resume_case(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                      case_id: CaseId, data: JSONBody[ResumeCreate]) -> CaseRead:
    return await _read(session, await pauses.resume(session, case_id, data, now=clock.now()))


@post("/{case_id:uuid}/extension-request", status_code=200,
      summary="申请延期 Ask a superior for N more working days on the resolution deadline",
      responses=problems({403: NOT_YOURS, 404: NOT_FOUND,
                          409: f"{STEP_409}, extension_not_applicable, "
                               "extension_too_late, extension_pending"}))
async def request_extension(session: NamedDependency[AsyncSession],
                            clock: NamedDependency[Clock], case_id: CaseId,
                            data: JSONBody[ExtensionRequestCreate]) -> CaseRead:
    return await _read(session, await pauses.request_extension(session, case_id, data,
                                                               now=clock.now()))


@post("/{case_id:uuid}/extension-decision", status_code=200,
      summary="审批延期 Approve or refuse the pending extension (a union above the handling "
              "unit)",
      responses=problems({403: "extension_not_superior", 404: NOT_FOUND,
                          409: f"{STEP_409}, no_extension_pending, extension_too_late"}))
async def decide_extension(session: NamedDependency[AsyncSession],
                           caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                           case_id: CaseId, data: JSONBody[ExtensionDecisionCreate]) -> CaseRead:
    return await _read(session, await pauses.decide_extension(session, caller, case_id, data,
                                                              now=clock.now()))


@get("/overdue", dependencies=PAGING,
     summary="超期件 Open cases in my scope with a clock past its deadline, oldest first",
     responses=problems({422: "cursor_invalid"}))
async def overdue_list(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                       paging: NamedDependency[Paging]) -> Page[OverdueRead]:
    now = clock.now()
    rows = await clocks.overdue(session, now, after=decode_time_cursor(paging.cursor),
                                limit=paging.size + 1)
    shown = rows[:paging.size]
    found = await clocks.cases_of(session, shown)
    names = await cases.names(session, shown[0].federation_id) if shown else None

    def one(row):  # type: ignore[no-untyped-def]
        case = found[row.case_id]
        return overdue_read(row, case_no=case.case_no, status=case.status,
                            category=case.category, route=case.route,
                            work_tenant=names.tenants.get(case.tenant_id, "?") if names else "?",
                            now=now)

    return page_of(rows, paging.size, one, clock_key)


@get("/escalated", dependencies=PAGING,
     summary="督办 Clocks escalated past their deadline to a unit of my subtree (超期升级), "
             "newest first",
     responses=problems({422: "cursor_invalid"}))
async def escalated_list(session: NamedDependency[AsyncSession],
                         paging: NamedDependency[Paging]) -> Page[EscalationRead]:
    events, found = await clocks.escalated_to_my_subtree(
        session, after=decode_time_cursor(paging.cursor), limit=paging.size + 1)
    shown = events[:paging.size]  # an event is visible only with its case (RLS)
    names = await cases.names(session, shown[0].federation_id) if shown else None

    def one(event):  # type: ignore[no-untyped-def]
        case = found[event.case_id]
        return escalation_read(event, case_no=case.case_no, status=case.status,
                               category=case.category,
                               work_tenant=names.tenants.get(case.tenant_id, "?")
                               if names else "?")

    return page_of(list(events), paging.size, one, escalation_key)


router = Router("/v1/cases", opt=CLOCK_STAFF, security=BEARER, tags=["cases 需求清单"],
                route_handlers=[overdue_list, escalated_list, pause_case, resume_case,
                                request_extension, decide_extension])
