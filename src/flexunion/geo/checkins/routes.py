"""The worker's opt-in location check-ins (位置打卡) and transfer suggestions (接转提示)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Router, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import BEARER, IDEMPOTENT, PAGING, WORKER, IdempotencyKey, Paging, problems
from flexunion.core.pagination import Page, decode_time_cursor, page_of, time_key
from flexunion.geo.checkins import service
from flexunion.geo.checkins.schemas import (
    CheckinBatch,
    CheckinBatchRead,
    CheckinRead,
    CheckinsErased,
    SuggestionAccept,
    SuggestionRead,
    checkin_read,
    suggestion_read,
)
from flexunion.geo.crs import Crs
from flexunion.geo.registry import GeoRegistry

SuggestionId = Annotated[uuid.UUID, PathParameter()]
CrsParam = Annotated[Crs, QueryParameter(description="coordinates out: wgs84 | gcj02 | bd09")]

CHECKIN_PROBLEMS = problems({
    403: "membership_required: not a member; member_not_active: the membership is not "
         "active (`member_status` says what it is); consent_required: the latest "
         "location_checkin consent is not granted",
    422: "validation_failed (1–100 points, known crs, accuracy_m ≥ 0, recorded_at with a "
         "time zone), coordinate_out_of_range, recorded_at_in_future, recorded_at_too_old "
         "(`index` names the point; nothing is stored)"})
SUGGESTION_PROBLEMS = {
    404: "suggestion_not_found (also another worker's suggestion)",
    409: "suggestion_not_open: already accepted or dismissed"}


# ---- check-ins ---------------------------------------------------------------------------


@post("/", opt=IDEMPOTENT, responses=CHECKIN_PROBLEMS,
      summary="位置打卡 Send my positions, 1–100 at a time (active members who granted the "
              "location_checkin consent; needs Idempotency-Key)")
async def check_in(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], settings: NamedDependency[Settings],
    geo: NamedDependency[GeoRegistry], data: JSONBody[CheckinBatch],
    idempotency_key: IdempotencyKey,
) -> CheckinBatchRead:
    batch = await service.check_in(session, caller, geo, data.points, now=clock.now(),
                                   settings=settings)
    return CheckinBatchRead(
        items=[checkin_read(s.row, s.crs, batch.unions, batch.snapshot, s.hit)
               for s in batch.stored],
        suggestion=suggestion_read(batch.suggestion, batch.unions) if batch.suggestion
        else None)


@get("/", dependencies=PAGING, responses=problems({422: "cursor_invalid"}),
     summary="我的位置打卡 My check-ins, newest first")
async def my_checkins(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    paging: NamedDependency[Paging], geo: NamedDependency[GeoRegistry],
    crs: CrsParam = Crs.WGS84,
) -> Page[CheckinRead]:
    rows = await service.page(session, caller, after=decode_time_cursor(paging.cursor),
                              limit=paging.size + 1)
    if not rows:
        return Page(items=[])
    unions = await service.unions(session, caller.tenant_id)
    snap = await geo.get(caller.tenant_id)
    return page_of(rows, paging.size, lambda r: checkin_read(r, crs, unions, snap, resolve=True),
                   lambda r: time_key(r.recorded_at, r.id))


@delete("/", opt=IDEMPOTENT, status_code=200,
        summary="删除我的全部位置打卡 Erase all my check-ins (needs Idempotency-Key)")
async def erase_checkins(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    idempotency_key: IdempotencyKey,
) -> CheckinsErased:
    return CheckinsErased(erased=await service.erase(session, caller, why="requested"))


# ---- transfer suggestions ----------------------------------------------------------------


@get("/", summary="接转提示 Transfer suggestions drawn from my check-ins, newest first (at most "
                  "one open)")
async def my_suggestions(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
) -> list[SuggestionRead]:
    rows = await service.suggestions(session, caller)
    if not rows:
        return []
    unions = await service.unions(session, caller.tenant_id)
    return [suggestion_read(s, unions) for s in rows]


@post("/{suggestion_id:uuid}/accept", opt=IDEMPOTENT, status_code=200,
      responses=problems(SUGGESTION_PROBLEMS | {
          404: "suggestion_not_found (also another worker's suggestion), not_a_member",
          409: "suggestion_not_open: already accepted or dismissed; transfer_already_open, "
               "member_not_transferable",
          422: "transfer_same_region (the home already moved there), "
               "transfer_target_invalid"}),
      summary="接受接转提示 Accept: ask for the transfer to that union (needs Idempotency-Key)")
async def accept_suggestion(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], settings: NamedDependency[Settings],
    suggestion_id: SuggestionId, idempotency_key: IdempotencyKey,
    data: JSONBody[SuggestionAccept | None] = None,
) -> SuggestionRead:
    suggestion, _ = await service.accept(
        session, caller, suggestion_id, reason=data.reason if data else None, now=clock.now(),
        release_days=settings.transfers.release_working_days)
    return suggestion_read(suggestion, await service.unions(session, caller.tenant_id))


@post("/{suggestion_id:uuid}/dismiss", opt=IDEMPOTENT, status_code=200,
      responses=problems(SUGGESTION_PROBLEMS),
      summary="忽略接转提示 Dismiss (not offered again for that union during the cool-down; "
              "needs Idempotency-Key)")
async def dismiss_suggestion(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], suggestion_id: SuggestionId, idempotency_key: IdempotencyKey,
) -> SuggestionRead:
    suggestion = await service.dismiss(session, caller, suggestion_id, now=clock.now())
    return suggestion_read(suggestion, await service.unions(session, caller.tenant_id))


router = Router("/", tags=["me 我的", "geo 服务区域"], security=BEARER, opt=WORKER,
                route_handlers=[
    Router("/v1/me/checkins", route_handlers=[check_in, my_checkins, erase_checkins]),
    Router("/v1/me/transfer-suggestions", tags=["transfers 接转"],
           route_handlers=[my_suggestions, accept_suggestion, dismiss_suggestion]),
])
