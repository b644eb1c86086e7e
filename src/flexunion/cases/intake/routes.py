"""统一受理 over HTTP: filing from the app, entering by staff, a platform's 12351 work order."""

from __future__ import annotations

from litestar import Router, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.intake import service as intake
from flexunion.cases.intake.schemas import HotlineOrder, StaffCaseCreate, WorkerCaseCreate
from flexunion.cases.ledger import service
from flexunion.cases.ledger.http import CASE_STAFF
from flexunion.cases.ledger.schemas import CaseRead
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import BEARER, IDEMPOTENT, PARTNER, WORKER, IdempotencyKey, problems
from flexunion.geo.registry import GeoRegistry

INTAKE_422 = ("work_place_required, work_place_ambiguous, unknown_station, unknown_zone, "
              "point_outside_jurisdictions, coordinate_out_of_range, unknown_partner")


# ---- the worker --------------------------------------------------------------------------


@post("/", opt=IDEMPOTENT,
      summary="提交诉求 File a demand from the app (needs Idempotency-Key); `duplicate_of` "
              "lists my open cases of the same category (并单 is offered, never forced)",
      responses=problems({422: INTAKE_422}))
async def file_case(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                    clock: NamedDependency[Clock], geo: NamedDependency[GeoRegistry],
                    data: JSONBody[WorkerCaseCreate],
                    idempotency_key: IdempotencyKey) -> CaseRead:
    case = await intake.intake_by_worker(session, geo, caller, data,
                                          now=clock.now())
    return await service.read(session, case, audience="worker",
                              duplicate_of=await service.duplicates(session, case))


# ---- staff: intake, the ledger, the steps ---------------------------------------------------


@post("/", summary="受理诉求 Enter a demand: station walk-in (现场受理), visit (走访) or "
                   "12351 call; `duplicate_of` lists the worker's open cases of the category",
      responses=problems({422: INTAKE_422 + ", work_place_outside_subtree, unknown_member"}))
async def enter_case(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                     clock: NamedDependency[Clock], geo: NamedDependency[GeoRegistry],
                     data: JSONBody[StaffCaseCreate]) -> CaseRead:
    case = await intake.intake_by_staff(session, geo, caller, data,
                                         now=clock.now())
    return await service.read(session, case, audience="staff",
                              duplicate_of=await service.duplicates(session, case))


# ---- partners: cases addressed to them, 12351 work orders --------------------------------


@post("/hotline-orders",
      summary="推送 12351 工单 Push a hotline work order; the same order number and body "
              "return the same case, another body under that number is 409",
      responses=problems({404: "hotline_platform_unknown", 409: "hotline_order_conflict",
                          422: INTAKE_422 + ", unknown_member"}))
async def hotline_order(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                        clock: NamedDependency[Clock], geo: NamedDependency[GeoRegistry],
                        data: JSONBody[HotlineOrder]) -> CaseRead:
    case = await intake.intake_by_hotline(session, geo, caller, data,
                                           now=clock.now())
    return await service.read(session, case, audience="partner", detail=False)


router = Router("/", route_handlers=[
    Router("/v1/me/cases", opt=WORKER, tags=["me 我的"], security=BEARER,
           route_handlers=[file_case]),
    Router("/v1/cases", opt=CASE_STAFF, security=BEARER, route_handlers=[enter_case]),
    Router("/v1/partner/cases", opt=PARTNER, security=BEARER, route_handlers=[hotline_order]),
])
