"""The worker's opt-in location check-ins (位置打卡) and transfer suggestions (接转提示)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import delete, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import AUDIENCE_MOBILE, Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller, Role
from flexunion.core.pagination import Page, clamp, decode_time_cursor, encode_cursor
from flexunion.core.problems import PROBLEM_JSON, Problem
from flexunion.federation.directory import DirectoryEntry
from flexunion.geo import checkins as service
from flexunion.geo.area_schemas import ResolvedArea, UnionRef
from flexunion.geo.checkin_schemas import (
    CheckinBatch,
    CheckinBatchRead,
    CheckinJurisdiction,
    CheckinRead,
    CheckinsErased,
    SuggestionAccept,
    SuggestionRead,
)
from flexunion.geo.crs import Crs, from_wgs84
from flexunion.geo.index import AreaHit
from flexunion.geo.models import SUGGESTION_STATUSES, LocationCheckin, TransferSuggestion
from flexunion.geo.registry import GeoRegistry, GeoSnapshot

WORKER = {"audiences": (AUDIENCE_MOBILE,), "roles": {Role.WORKER}}
WRITE = {**WORKER, "idempotent": True}
TAGS = ["me 我的", "geo 服务区域"]
SECURITY = [{"bearer": []}]
IdempotencyKey = Annotated[str, HeaderParameter(name="Idempotency-Key", min_length=1,
                                                max_length=255)]
SuggestionId = Annotated[uuid.UUID, PathParameter()]
CrsParam = Annotated[Crs, QueryParameter(description="coordinates out: wgs84 | gcj02 | bd09")]


def _problems(codes: dict[int, str]) -> dict[int, ResponseSpec]:
    return {status: ResponseSpec(Problem, description=text, media_type=PROBLEM_JSON)
            for status, text in codes.items()}


_KEY = {400: "idempotency_key_required, idempotency_key_invalid, malformed_request",
        401: "token_missing, token_expired … (the bearer token)"}
CHECKIN_PROBLEMS = _problems(_KEY | {
    403: "membership_required: not a member; consent_required: the latest location_checkin "
         "consent is not granted",
    409: "member_not_active: the membership is not active; idempotency_in_flight",
    422: "validation_failed (1–100 points, known crs, accuracy_m ≥ 0, recorded_at with a "
         "time zone), coordinate_out_of_range, recorded_at_in_future, recorded_at_too_old "
         "(`index` names the point; nothing is stored), idempotency_key_reused"})
SUGGESTION_PROBLEMS = _problems(_KEY | {
    404: "suggestion_not_found (also another worker's suggestion)",
    409: "suggestion_not_open: already accepted or dismissed; on accept also "
         "transfer_already_open, member_not_transferable",
    422: "on accept: transfer_same_region (the home already moved there)"})


# ---- views -------------------------------------------------------------------------------


def _union(entry: DirectoryEntry) -> UnionRef:
    return UnionRef(code=entry.code, name_zh=entry.name_zh, name_en=entry.name_en,
                    city=entry.city)


def _area(hit: AreaHit) -> ResolvedArea:
    a = hit.area
    return ResolvedArea(kind=a.kind, code=a.code, name_zh=a.name_zh, name_en=a.name_en,
                        tenant=a.tenant_code, partner=a.partner_code, on_border=hit.on_border)


def _checkin(row: LocationCheckin, crs: Crs, unions: service.Unions, snap: GeoSnapshot,
             hit: AreaHit | None = None, *, resolve: bool = False) -> CheckinRead:
    jurisdiction = None
    union = unions.get(row.jurisdiction_tenant_id) if row.jurisdiction_tenant_id else None
    if hit is not None and hit.area.tenant_id != row.jurisdiction_tenant_id:
        hit = None  # a re-sent point stored before the areas changed: keep what was stored
    if union is not None:
        if resolve:  # listing: the polygon it fell in, if the federation still has it
            hit = next((h for h in snap.areas.resolve(row.lon, row.lat)
                        if h.area.kind == "jurisdiction"
                        and h.area.tenant_id == row.jurisdiction_tenant_id), None)
        jurisdiction = CheckinJurisdiction(union=_union(union), area=_area(hit) if hit else None,
                                           on_border=bool(hit and hit.on_border))
    lon, lat = from_wgs84(row.lon, row.lat, crs)
    return CheckinRead(id=row.id, recorded_at=row.recorded_at, local_day=row.local_day,
                       lon=lon, lat=lat, crs=crs.value, accuracy_m=row.accuracy_m,
                       votes=service.votes(row.accuracy_m), jurisdiction=jurisdiction)


def _message(suggestion: TransferSuggestion,
             to: DirectoryEntry) -> tuple[str, str]:
    """The suggestion in words, Chinese first."""
    days, window = suggestion.days_away, suggestion.window_days
    place = to.city or to.name_zh
    zh = (f"您近{window}天中有{days}天主要在{place}（{to.name_zh}辖区）活动。"
          f"如您已在当地长期工作，可申请将工会会籍接转到{to.name_zh}。")
    en = (f"On {days} of the last {window} days you were mostly in {place} ({to.name_en}). "
          f"If you now work there, you can move your membership to {to.name_en}.")
    return zh, en


def _suggestion(s: TransferSuggestion, unions: service.Unions) -> SuggestionRead:
    to = unions[s.to_tenant_id]
    zh, en = _message(s, to)
    return SuggestionRead(id=s.id, status=s.status,  # type: ignore[arg-type]
                          status_zh=SUGGESTION_STATUSES[s.status], to=_union(to),
                          days_away=s.days_away, window_days=s.window_days, message_zh=zh,
                          message_en=en, offered_at=s.offered_at, decided_at=s.decided_at,
                          transfer_id=s.transfer_id)


# ---- check-ins ---------------------------------------------------------------------------


@post("/v1/me/checkins", opt=WRITE, tags=TAGS, security=SECURITY, responses=CHECKIN_PROBLEMS,
      summary="位置打卡 Send my positions, 1–100 at a time (active members who granted the "
              "location_checkin consent; needs Idempotency-Key)")
async def check_in(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], settings: NamedDependency[Settings],
    geo: NamedDependency[GeoRegistry], data: JSONBody[CheckinBatch],
    idempotency_key: IdempotencyKey,
) -> CheckinBatchRead:
    stored, suggestion, home, snap = await service.check_in(
        session, caller, geo, data.points, now=clock.now(), settings=settings)
    return CheckinBatchRead(
        items=[_checkin(s.row, s.crs, home.unions, snap, s.hit) for s in stored],
        suggestion=_suggestion(suggestion, home.unions) if suggestion else None)


@get("/v1/me/checkins", opt=WORKER, tags=TAGS, security=SECURITY,
     responses=_problems({422: "validation_failed (crs), cursor_invalid"}),
     summary="我的位置打卡 My check-ins, newest first")
async def my_checkins(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    settings: NamedDependency[Settings], geo: NamedDependency[GeoRegistry],
    crs: CrsParam = Crs.WGS84,
    cursor: Annotated[str | None, QueryParameter(max_length=512)] = None,
    limit: Annotated[int | None, QueryParameter()] = None,
) -> Page[CheckinRead]:
    size = clamp(limit, settings.api.page_size_default, settings.api.page_size_max)
    rows = await service.page(session, caller, after=decode_time_cursor(cursor), limit=size + 1)
    if not rows:
        return Page(items=[])
    unions = await service.unions_by_id(session, caller.tenant_id)
    snap = await geo.get(caller.tenant_id)
    last = rows[size - 1] if len(rows) > size else None
    return Page(items=[_checkin(r, crs, unions, snap, resolve=True) for r in rows[:size]],
                next_cursor=encode_cursor(last.recorded_at.isoformat(), last.id) if last else None)


@delete("/v1/me/checkins", opt=WRITE, tags=TAGS, security=SECURITY, status_code=200,
        responses=_problems(_KEY),
        summary="删除我的全部位置打卡 Erase all my check-ins (needs Idempotency-Key)")
async def erase_checkins(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    idempotency_key: IdempotencyKey,
) -> CheckinsErased:
    return CheckinsErased(erased=await service.erase(session, caller, why="requested"))


# ---- transfer suggestions ----------------------------------------------------------------


@get("/v1/me/transfer-suggestions", opt=WORKER, tags=TAGS + ["transfers 接转"],
     security=SECURITY, summary="接转提示 Transfer suggestions drawn from my check-ins, newest "
                                "first (at most one open)")
async def my_suggestions(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
) -> list[SuggestionRead]:
    rows = await service.suggestions(session, caller)
    if not rows:
        return []
    unions = await service.unions_by_id(session, caller.tenant_id)
    return [_suggestion(s, unions) for s in rows]


@post("/v1/me/transfer-suggestions/{suggestion_id:uuid}/accept", opt=WRITE,
      tags=TAGS + ["transfers 接转"], security=SECURITY, status_code=200,
      responses=SUGGESTION_PROBLEMS,
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
    return _suggestion(suggestion, await service.unions_by_id(session, caller.tenant_id))


@post("/v1/me/transfer-suggestions/{suggestion_id:uuid}/dismiss", opt=WRITE,
      tags=TAGS + ["transfers 接转"], security=SECURITY, status_code=200,
      responses=SUGGESTION_PROBLEMS,
      summary="忽略接转提示 Dismiss (not offered again for that union during the cool-down; "
              "needs Idempotency-Key)")
async def dismiss_suggestion(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], suggestion_id: SuggestionId, idempotency_key: IdempotencyKey,
) -> SuggestionRead:
    suggestion = await service.dismiss(session, caller, suggestion_id, now=clock.now())
    return _suggestion(suggestion, await service.unions_by_id(session, caller.tenant_id))


ROUTES = [check_in, my_checkins, erase_checkins, my_suggestions, accept_suggestion,
          dismiss_suggestion]
