"""意见收集二维码 over HTTP: the station's link as a QR code (staff), posting to it and
following a suggestion by its pick-up code (anyone, /v1/suggestions)."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter

from flexunion.cases.ledger.codes import STATUSES
from flexunion.cases.ledger.http import CASE_STAFF
from flexunion.cases.ledger.schemas import label
from flexunion.cases.suggestions import service as suggestions
from flexunion.cases.suggestions.schemas import (
    PickupCode,
    SuggestionCreate,
    SuggestionReceipt,
    SuggestionStatus,
    suggestion_status,
)
from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.http import BEARER, downloads, problems
from flexunion.core.uow import UnitOfWork
from flexunion.membership.cards.qr import qr_svg

StationCode = Annotated[str, PathParameter(max_length=64,
                                           pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


@get("/suggestion-links/{station:str}",
     responses=downloads("image/svg+xml", description="The QR code (SVG)")
     | problems({404: "station_not_found"}),
     summary="意见收集二维码 The station's anonymous suggestion link as a QR code (SVG)")
async def suggestion_qr(uow: NamedDependency[UnitOfWork], settings: NamedDependency[Settings],
                        station: StationCode) -> Response[bytes]:
    await suggestions.station_in_scope(uow, station)
    link = f"{(settings.issuer or '').rstrip('/')}/v1/suggestions/{station}"
    return Response(qr_svg(link).encode(), media_type="image/svg+xml",
                    headers={"X-Suggestion-Link": link})


# ---- anonymous suggestions -------------------------------------------------------------


@post("/{station:str}",
      summary="匿名意见 Leave an anonymous suggestion at a station: no identity is stored; "
              "keep the pick-up code (取件码) to follow it",
      responses=problems({404: "station_not_found",
                          429: "suggestions_rate_limited: 30 a station an hour; Retry-After"
                               " (and `retry_after`) is the seconds until a slot opens"}))
async def suggest(uow: NamedDependency[UnitOfWork], clock: NamedDependency[Clock],
                  station: StationCode, data: JSONBody[SuggestionCreate]) -> SuggestionReceipt:
    case, code = await suggestions.submit(uow, station, data, now=clock.now())
    return SuggestionReceipt(pickup_code=code, case_no=case.case_no,
                             status=label(STATUSES, case.status))


@post("/follow", status_code=200, summary="凭取件码查询 Follow a suggestion by its pick-up code",
      responses=problems({404: "pickup_code_unknown"}))
async def follow(uow: NamedDependency[UnitOfWork],
                 data: JSONBody[PickupCode]) -> SuggestionStatus:
    case = await suggestions.follow(uow, data.pickup_code)
    return suggestion_status(case, case.place.get("station", ""))


router = Router("/", route_handlers=[
    Router("/v1/cases", opt=CASE_STAFF, security=BEARER, route_handlers=[suggestion_qr]),
    Router("/v1/suggestions", route_handlers=[follow, suggest]),
])
