"""Opt-in location check-ins (位置打卡) and transfer suggestions (接转提示).

An active member who has granted the `location_checkin` consent (the latest consent row
for that purpose decides) may send positions. Each is stored in WGS84 with its local day
(Asia/Shanghai) and the union whose jurisdiction (工会辖区) holds it; only the worker reads
them (row-level security), `flexunion purge` deletes them after
`settings.geo.checkin_retention_days`, and withdrawing the consent erases them at once
(`erase_on_withdrawal`, registered with the consent hooks by create_app).

After each batch the suggestion rule (suggestions.py, without the database) may offer the
member a transfer to the region they now mostly work in: once, never while a suggestion
is open (one per member, a unique index), while a transfer is open, or within
`settings.geo.suggest_cooldown_days` of a decision on that region. Accepting asks for the
transfer through the transfer workflow.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.config import Settings
from flexunion.consent import service as consent
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from flexunion.federation import directory
from flexunion.federation.directory import DirectoryEntry
from flexunion.geo.areas.service import jurisdiction_of
from flexunion.geo.checkins import repository
from flexunion.geo.checkins.models import SUGGESTION_STATUSES, LocationCheckin, TransferSuggestion
from flexunion.geo.checkins.schemas import CheckinPoint, Unions
from flexunion.geo.checkins.suggestions import (
    MAX_VOTING_ACCURACY_M,
    daily_votes,
    decide,
    local_day,
    voting_regions,
)
from flexunion.geo.crs import AbsurdCoordinate, Crs, to_wgs84
from flexunion.geo.index import AreaHit
from flexunion.geo.registry import GeoRegistry, GeoSnapshot
from flexunion.membership import service as membership
from flexunion.membership.models import Member
from flexunion.transfers import service as transfers
from flexunion.transfers.models import Transfer

PURPOSE = "location_checkin"
MAX_FUTURE = timedelta(minutes=2)
MAX_AGE = timedelta(hours=24)
ACCEPT_REASON = "会员根据系统接转提示申请 (applied after a transfer suggestion)"


class SuggestionNotFound(NotFound):
    code, title, title_en = "suggestion_not_found", "未找到该接转提示", "Suggestion not found"


class SuggestionNotOpen(Conflict):
    code, title, title_en = "suggestion_not_open", "该接转提示已处理", "Suggestion already decided"


# ---- the member and their region ---------------------------------------------------------


@dataclass(slots=True)
class Home:
    member: Member
    region: uuid.UUID  # the regional union of the member's home (a station's parent)
    unions: dict[uuid.UUID, DirectoryEntry]  # the federation's tenants by id
    regions: dict[uuid.UUID, uuid.UUID | None]  # tenant id → its regional union

    def city_of(self, region: uuid.UUID) -> str | None:
        entry = self.unions.get(region)
        return entry.city if entry else None


async def unions(session: AsyncSession, federation_id: uuid.UUID) -> Unions:
    """The federation's tenants by id."""
    return (await directory.directory(session, federation_id)).by_id


async def active_home(session: AsyncSession, caller: Caller) -> Home:
    """The calling worker's active membership and its region (403 otherwise)."""
    member = await membership.require_active(session, caller)
    tenants = await directory.directory(session, member.federation_id)
    regions = {e.id: region.id if (region := tenants.region_of(e)) else None
               for e in tenants.values()}
    return Home(member, regions.get(member.tenant_id) or member.tenant_id, tenants.by_id,
                regions)


# ---- check-ins ---------------------------------------------------------------------------


@dataclass(slots=True)
class Stored:
    row: LocationCheckin
    crs: Crs
    hit: AreaHit | None


@dataclass(slots=True)
class Batch:
    """A stored batch: its points, the open suggestion, and what reading them back needs."""

    stored: list[Stored]
    suggestion: TransferSuggestion | None
    unions: Unions
    snapshot: GeoSnapshot


def _point(index: int, point: CheckinPoint, now: datetime) -> tuple[float, float, datetime]:
    """The point in WGS84 with its time, or a 422 naming the point (nothing is stored)."""
    where = {"index": index}
    try:
        lon, lat = to_wgs84(point.lon, point.lat, point.crs)
    except AbsurdCoordinate as exc:
        raise InvalidInput(f"第 {index} 个点的坐标不在地球上（经纬度是否颠倒？）。",
                           f"points[{index}]: {exc}", code="coordinate_out_of_range",
                           extra=where) from exc
    at = (point.recorded_at or now).astimezone(UTC)
    if at > now + MAX_FUTURE:
        raise InvalidInput(f"第 {index} 个点的记录时间在未来。",
                           f"points[{index}]: recorded_at lies in the future.",
                           code="recorded_at_in_future", extra=where)
    if at < now - MAX_AGE:
        raise InvalidInput(f"第 {index} 个点记录于 24 小时以前，已不再接收。",
                           f"points[{index}]: recorded_at is more than 24 hours ago; such "
                           "points are no longer accepted.", code="recorded_at_too_old",
                           extra=where)
    return lon, lat, at


def _key(at: datetime, lon: float, lat: float) -> tuple[datetime, float, float]:
    return at, round(lon, 7), round(lat, 7)


async def check_in(
    session: AsyncSession, caller: Caller, geo: GeoRegistry, points: Sequence[CheckinPoint], *,
    now: datetime, settings: Settings,
) -> Batch:
    """Store a batch (all or nothing), then apply the suggestion rule. A point already
    stored (same time and place, e.g. re-sent after a lost answer) is not stored again."""
    home = await active_home(session, caller)
    if not await consent.granted(session, caller, PURPOSE):
        raise Forbidden("请先同意位置打卡授权（POST /v1/me/consents）。",
                        "Grant the location_checkin consent first (POST /v1/me/consents).",
                        code="consent_required")
    prepared = [_point(i, p, now) for i, p in enumerate(points)]
    member = home.member
    snap = await geo.get(member.federation_id)
    times = sorted({at for _, _, at in prepared})
    seen = {_key(r.recorded_at, r.lon, r.lat): r
            for r in await repository.stored_at(session, member.id, times)}
    stored: list[Stored] = []
    for point, (lon, lat, at) in zip(points, prepared, strict=True):
        hit = jurisdiction_of(snap.areas.resolve(lon, lat), prefer=home.region)
        row = seen.get(_key(at, lon, lat))
        if row is None:
            row = LocationCheckin(
                id=uuid.uuid4(), federation_id=member.federation_id, tenant_id=member.tenant_id,
                member_id=member.id, worker_id=member.worker_id, recorded_at=at,
                local_day=local_day(at), lon=lon, lat=lat, accuracy_m=point.accuracy_m,
                jurisdiction_tenant_id=hit.area.tenant_id if hit else None)
            repository.add(session, row)
            seen[_key(at, lon, lat)] = row
        stored.append(Stored(row, point.crs, hit))
    await repository.flush(session)
    suggestion = await evaluate(session, home, snap, now=now, settings=settings)
    return Batch(stored, suggestion, home.unions, snap)


async def page(
    session: AsyncSession, caller: Caller, *, after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[LocationCheckin]:
    """The worker's own check-ins, newest first."""
    return await repository.page(session, uuid.UUID(caller.subject), caller.tenant_id,
                                 after=after, limit=limit)


async def erase(session: AsyncSession, caller: Caller, *, why: str) -> int:
    """Delete every check-in of the worker (audited by count, never by place)."""
    erased = await repository.erase(session, uuid.UUID(caller.subject))
    await audit.record(session, "location.checkins_erased", tenant_id=caller.tenant_id,
                       object_type="worker", object_id=caller.subject,
                       payload={"count": erased, "why": why})
    return erased


async def erase_on_withdrawal(session: AsyncSession, caller: Caller) -> None:
    """Withdrawing `location_checkin` erases the check-ins at once and closes an open
    suggestion (it was drawn from them): the consent hook, in the withdrawal's transaction."""
    await erase(session, caller, why="consent_withdrawn")
    await repository.dismiss_open(session, uuid.UUID(caller.subject))


# ---- suggestions -------------------------------------------------------------------------


async def evaluate(session: AsyncSession, home: Home, snap: GeoSnapshot, *, now: datetime,
                   settings: Settings) -> TransferSuggestion | None:
    """The member's open suggestion, offering a new one if the rule says so."""
    member = home.member
    current = await repository.open_suggestion(session, member.id)
    if current is not None:
        return current
    if await transfers.has_open(session, member.id):
        return None
    today = local_day(now)
    window = settings.geo.suggest_window_days
    rows = await repository.voting_points(
        session, member.id, after_day=today - timedelta(days=window), until_day=today,
        max_accuracy_m=MAX_VOTING_ACCURACY_M)
    cooling = await repository.decided_since(
        session, member.id, now - timedelta(days=settings.geo.suggest_cooldown_days))
    offer = decide(daily_votes(voting_regions(rows, snap, home=home.region,
                                              region_of=home.regions)),
                   home=home.region, min_days=settings.geo.suggest_min_days,
                   city_of=home.city_of, cooling=cooling)
    if offer is None:
        return None
    suggestion = TransferSuggestion(
        id=uuid.uuid4(), federation_id=member.federation_id, tenant_id=member.tenant_id,
        member_id=member.id, worker_id=member.worker_id, to_tenant_id=offer.region,
        days_away=offer.days, window_days=window, status="offered", offered_at=now)
    try:
        await repository.insert(session, suggestion)
    except IntegrityError:  # a concurrent batch of the same member offered first
        current = await repository.open_suggestion(session, member.id)
        if current is None:
            raise
        return current
    return suggestion


async def suggestions(session: AsyncSession, caller: Caller) -> Sequence[TransferSuggestion]:
    return await repository.suggestions(session, uuid.UUID(caller.subject), caller.tenant_id)


async def own_suggestion(session: AsyncSession, caller: Caller, suggestion_id: uuid.UUID, *,
                         lock: bool = False) -> TransferSuggestion:
    """Not there and not mine are the same 404."""
    found = await repository.suggestion(session, suggestion_id, uuid.UUID(caller.subject),
                                        caller.tenant_id, lock=lock)
    if found is None:
        raise SuggestionNotFound("没有这条接转提示。", "No such transfer suggestion.")
    return found


def _still_open(suggestion: TransferSuggestion) -> None:
    if suggestion.status != "offered":
        raise SuggestionNotOpen(
            f"这条接转提示已处理（{SUGGESTION_STATUSES[suggestion.status]}）。",
            f"This suggestion was already {suggestion.status}.",
            extra={"suggestion_status": suggestion.status})


async def accept(
    session: AsyncSession, caller: Caller, suggestion_id: uuid.UUID, *, reason: str | None,
    now: datetime, release_days: int,
) -> tuple[TransferSuggestion, Transfer]:
    """Ask for the transfer through the transfer workflow, and link it."""
    suggestion = await own_suggestion(session, caller, suggestion_id, lock=True)
    _still_open(suggestion)
    target = (await unions(session, suggestion.federation_id))[suggestion.to_tenant_id]
    transfer = await transfers.request(session, caller, to=target.code,
                                       reason=reason or ACCEPT_REASON, now=now,
                                       release_days=release_days)
    suggestion.status, suggestion.transfer_id, suggestion.decided_at = "accepted", transfer.id, now
    await repository.flush(session)
    return suggestion, transfer


async def dismiss(session: AsyncSession, caller: Caller, suggestion_id: uuid.UUID, *,
                  now: datetime) -> TransferSuggestion:
    suggestion = await own_suggestion(session, caller, suggestion_id, lock=True)
    _still_open(suggestion)
    suggestion.status, suggestion.decided_at = "dismissed", now
    await repository.flush(session)
    return suggestion
