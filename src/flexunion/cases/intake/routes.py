"""统一受理 over HTTP: filing from the app, entering by staff, a platform's 12351 work order."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, post
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
from flexunion.core.uow import UnitOfWork
from flexunion.geo.registry import GeoRegistry
from flexunion.membership.cards import service as cards

INTAKE_422 = ("work_place_required, work_place_ambiguous, unknown_station, unknown_zone, "
              "point_outside_jurisdictions, coordinate_out_of_range, unknown_partner")
# A presented card refused by the cards service: its verdict's own reason (docs/api.md).
CARD_422 = ", ".join(f"card_{reason}" for reason in cards.REASONS if reason != "ok") + (
    ": the presented card was refused (its verdict's reason), nothing written; "
    "card_member_mismatch: `member_no` is not the card's")


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
      description="The worker is named by 会员号 (a member the caller sees: its subtree), by "
                  "the membership card they present (`card`, the compact JWS of its QR code: "
                  "verified as POST /v1/cards/verify does, and only a card answering `ok` "
                  "links its member, wherever in the federation they are homed; the home union "
                  "then reads the case), or by a contact name and phone (stored masked).",
      responses=problems({
          403: "card_check_not_allowed: a 12351 operator does not check cards",
          422: INTAKE_422 + ", work_place_outside_subtree, unknown_member; " + CARD_422}))
async def enter_case(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                     caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                     geo: NamedDependency[GeoRegistry], uow: NamedDependency[UnitOfWork],
                     data: JSONBody[StaffCaseCreate]) -> CaseRead:
    verifier = cards.desk_of(request.app.state).verifier

    async def check_card(card: str) -> cards.Verdict:
        return await verifier.verify(uow, caller.tenant_id, card)

    case = await intake.intake_by_staff(session, geo, caller, data, now=clock.now(),
                                         check_card=check_card)
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
