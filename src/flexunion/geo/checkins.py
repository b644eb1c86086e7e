"""Opt-in location check-ins (位置打卡) and transfer suggestions (接转提示).

A member who has granted the `location_checkin` consent (the latest consent row for
that purpose decides) may send positions. Each is stored in WGS84 with its local day
(Asia/Shanghai) and the union whose jurisdiction (工会辖区) holds it; only the worker
reads them (row-level security), `flexunion purge` deletes them after
`checkin_retention_days`, and withdrawing the consent erases them at once.

The suggestion rule, over the last `suggest_window_days` local days:
- only points accurate to 200 m vote; a point within max(100 m, its accuracy) of a
  jurisdiction of the member's home region counts for home (GPS jitter on a border);
- each day votes for the region holding a strict majority of that day's voting points
  (a tie, or a majority in no known jurisdiction, is no vote);
- a region that is not home, lies in another city and has ≥ `suggest_min_days` votes is
  offered, once: never while a suggestion is open (one per member, a unique index), while
  a transfer is open, or within `suggest_cooldown_days` of a decision on that region.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import shapely
from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.config import Settings
from flexunion.consent import service as consent
from flexunion.core.clock import BEIJING
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from flexunion.federation import directory as fed_directory
from flexunion.federation.directory import DirectoryEntry
from flexunion.geo.checkin_schemas import CheckinPoint
from flexunion.geo.crs import AbsurdCoordinate, Crs, to_wgs84
from flexunion.geo.index import GEOD, AreaHit
from flexunion.geo.models import LocationCheckin, TransferSuggestion
from flexunion.geo.registry import GeoRegistry, GeoSnapshot
from flexunion.geo.service import jurisdiction_of
from flexunion.membership import service as membership
from flexunion.membership.models import Member
from flexunion.transfers import service as transfers
from flexunion.transfers.models import OPEN as OPEN_TRANSFERS
from flexunion.transfers.models import Transfer

PURPOSE = "location_checkin"
MAX_VOTING_ACCURACY_M = 200.0
BORDER_BAND_M = 100.0
MAX_FUTURE = timedelta(minutes=2)
MAX_AGE = timedelta(hours=24)
ACCEPT_REASON = "会员根据系统接转提示申请 (applied after a transfer suggestion)"

Unions = Mapping[uuid.UUID, DirectoryEntry]


class SuggestionNotFound(NotFound):
    code, title, title_en = "suggestion_not_found", "未找到该接转提示", "Suggestion not found"


class SuggestionNotOpen(Conflict):
    code, title, title_en = "suggestion_not_open", "该接转提示已处理", "Suggestion already decided"


def local_day(at: datetime) -> date:
    return at.astimezone(BEIJING).date()


def votes(accuracy_m: float | None) -> bool:
    return accuracy_m is None or accuracy_m <= MAX_VOTING_ACCURACY_M


# ---- the rule, without the database ----------------------------------------------------


def daily_votes(points: Iterable[tuple[date, uuid.UUID | None]]) -> dict[date, uuid.UUID]:
    """(local day, region or None) of each voting point → the region each day votes for."""
    per_day: dict[date, Counter[uuid.UUID | None]] = defaultdict(Counter)
    for day, region in points:
        per_day[day][region] += 1
    result: dict[date, uuid.UUID] = {}
    for day, counts in per_day.items():
        region, n = counts.most_common(1)[0]
        if region is not None and 2 * n > counts.total():
            result[day] = region
    return result


@dataclass(frozen=True, slots=True)
class Offer:
    region: uuid.UUID
    days: int


def decide(day_votes: Mapping[date, uuid.UUID], *, home: uuid.UUID, min_days: int,
           city_of: Callable[[uuid.UUID], str | None],
           cooling: Collection[uuid.UUID] = ()) -> Offer | None:
    """The region to offer, if any: not home, not in home's city, not cooling down after a
    decision, with at least `min_days` day votes. Two regions tied at the top: none."""
    home_city = city_of(home)
    tally = Counter(day_votes.values())
    candidates = sorted(((n, r) for r, n in tally.items()
                         if r != home and r not in cooling and n >= min_days
                         and not (home_city is not None and city_of(r) == home_city)),
                        key=lambda c: c[0], reverse=True)
    if not candidates or (len(candidates) > 1 and candidates[0][0] == candidates[1][0]):
        return None
    return Offer(region=candidates[0][1], days=candidates[0][0])


def near_home(snap: GeoSnapshot, home_jurisdictions: Sequence[int],
              lonlat: Sequence[tuple[float, float]], band_m: Sequence[float]) -> np.ndarray:
    """Which points lie within their band (metres, geodesic) of the home jurisdictions."""
    if not home_jurisdictions or not lonlat:
        return np.zeros(len(lonlat), dtype=bool)
    home = shapely.union_all(snap.areas.geoms[list(home_jurisdictions)])
    lines = shapely.shortest_line(home, shapely.points(np.asarray(lonlat, dtype=float)))
    ends = shapely.get_coordinates(lines).reshape(-1, 2, 2)
    _, _, dist = GEOD.inv(ends[:, 0, 0], ends[:, 0, 1], ends[:, 1, 0], ends[:, 1, 1])
    return np.asarray(dist) <= np.asarray(band_m, dtype=float)


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


async def unions_by_id(session: AsyncSession, federation_id: uuid.UUID) -> dict:
    return {e.id: e for e in (await fed_directory.directory(session, federation_id)).values()}


def _regions(unions: Unions) -> dict[uuid.UUID, uuid.UUID | None]:
    by_code = {e.code: e for e in unions.values()}
    out: dict[uuid.UUID, uuid.UUID | None] = {}
    for e in unions.values():
        parent = by_code.get(e.parent_code or "")
        out[e.id] = (e.id if e.kind == "regional" else
                     parent.id if e.kind == "station" and parent and parent.kind == "regional"
                     else None)
    return out


async def active_home(session: AsyncSession, caller: Caller) -> Home:
    member = await membership.own_member(session, caller)
    if member is None:
        raise Forbidden("Location check-ins are for members; join first.",
                        code="membership_required")
    if member.status != "active":
        raise Conflict(f"A membership that is '{member.status}' takes no check-ins.",
                       code="member_not_active", extra={"member_status": member.status})
    unions = await unions_by_id(session, member.federation_id)
    regions = _regions(unions)
    return Home(member, regions.get(member.tenant_id) or member.tenant_id, unions, regions)


async def consented(session: AsyncSession, caller: Caller) -> bool:
    """The latest `location_checkin` consent decides."""
    return await consent.granted(session, caller, PURPOSE)


# ---- check-ins ---------------------------------------------------------------------------


@dataclass(slots=True)
class Stored:
    row: LocationCheckin
    crs: Crs
    hit: AreaHit | None


def _point(index: int, point: CheckinPoint, now: datetime) -> tuple[float, float, datetime]:
    """The point in WGS84 with its time, or a 422 naming the point (nothing is stored)."""
    where = {"index": index}
    try:
        lon, lat = to_wgs84(point.lon, point.lat, point.crs)
    except AbsurdCoordinate as exc:
        raise InvalidInput(f"points[{index}]: {exc}", code="coordinate_out_of_range",
                           extra=where) from exc
    at = (point.recorded_at or now).astimezone(UTC)
    if at > now + MAX_FUTURE:
        raise InvalidInput(f"points[{index}]: recorded_at lies in the future.",
                           code="recorded_at_in_future", extra=where)
    if at < now - MAX_AGE:
        raise InvalidInput(f"points[{index}]: recorded_at is more than 24 hours ago; such "
                           "points are no longer accepted.", code="recorded_at_too_old",
                           extra=where)
    return lon, lat, at


def _key(at: datetime, lon: float, lat: float) -> tuple[datetime, float, float]:
    return at, round(lon, 7), round(lat, 7)


async def check_in(
    session: AsyncSession, caller: Caller, geo: GeoRegistry, points: Sequence[CheckinPoint], *,
    now: datetime, settings: Settings,
) -> tuple[list[Stored], TransferSuggestion | None, Home, GeoSnapshot]:
    """Store a batch (all or nothing), then apply the suggestion rule. A point already
    stored (same time and place, e.g. re-sent after a lost answer) is not stored again."""
    home = await active_home(session, caller)
    if not await consented(session, caller):
        raise Forbidden("Grant the location_checkin consent first (POST /v1/me/consents).",
                        code="consent_required")
    prepared = [_point(i, p, now) for i, p in enumerate(points)]
    member = home.member
    snap = await geo.get(member.federation_id)
    times = sorted({at for _, _, at in prepared})
    seen = {_key(r.recorded_at, r.lon, r.lat): r for r in (await session.scalars(
        select(LocationCheckin).where(LocationCheckin.member_id == member.id,
                                      LocationCheckin.recorded_at.in_(times)))).all()}
    stored: list[Stored] = []
    for point, (lon, lat, at) in zip(points, prepared):
        hit = jurisdiction_of(snap.areas.resolve(lon, lat), prefer=home.region)
        row = seen.get(_key(at, lon, lat))
        if row is None:
            row = LocationCheckin(
                id=uuid.uuid4(), federation_id=member.federation_id, tenant_id=member.tenant_id,
                member_id=member.id, worker_id=member.worker_id, recorded_at=at,
                local_day=local_day(at), lon=lon, lat=lat, accuracy_m=point.accuracy_m,
                jurisdiction_tenant_id=hit.area.tenant_id if hit else None)
            session.add(row)
            seen[_key(at, lon, lat)] = row
        stored.append(Stored(row, point.crs, hit))
    await session.flush()
    suggestion = await evaluate(session, home, snap, now=now, settings=settings)
    return stored, suggestion, home, snap


async def page(
    session: AsyncSession, caller: Caller, *, after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[LocationCheckin]:
    """The worker's own check-ins, newest first."""
    stmt = (select(LocationCheckin)
            .where(LocationCheckin.worker_id == uuid.UUID(caller.subject),
                   LocationCheckin.federation_id == caller.tenant_id)
            .order_by(LocationCheckin.recorded_at.desc(), LocationCheckin.id.desc())
            .limit(limit))
    if after:
        stmt = stmt.where(tuple_(LocationCheckin.recorded_at, LocationCheckin.id) < tuple_(*after))
    return (await session.scalars(stmt)).all()


async def erase(session: AsyncSession, caller: Caller, *, why: str) -> int:
    """Delete every check-in of the worker (audited by count, never by place)."""
    result = await session.execute(
        delete(LocationCheckin).where(LocationCheckin.worker_id == uuid.UUID(caller.subject))
        .execution_options(synchronize_session=False))
    erased = result.rowcount or 0  # type: ignore[attr-defined]
    await audit.record(session, "location.checkins_erased", tenant_id=caller.tenant_id,
                       object_type="worker", object_id=caller.subject,
                       payload={"count": erased, "why": why})
    return erased


async def consent_withdrawn(session: AsyncSession, caller: Caller) -> None:
    """Withdrawing `location_checkin` erases the check-ins at once and closes an open
    suggestion (it was drawn from them)."""
    await erase(session, caller, why="consent_withdrawn")
    await session.execute(
        update(TransferSuggestion)
        .where(TransferSuggestion.worker_id == uuid.UUID(caller.subject),
               TransferSuggestion.status == "offered")
        .values(status="dismissed", decided_at=func.now())
        .execution_options(synchronize_session=False))


# ---- suggestions -------------------------------------------------------------------------


async def _open_suggestion(session: AsyncSession,
                           member_id: uuid.UUID) -> TransferSuggestion | None:
    return await session.scalar(select(TransferSuggestion).where(
        TransferSuggestion.member_id == member_id, TransferSuggestion.status == "offered"))


def _voting_regions(rows: Sequence, home: Home,
                    snap: GeoSnapshot) -> list[tuple[date, uuid.UUID | None]]:
    """Each voting point's region; near a home jurisdiction's edge, home's."""
    regions = [home.regions.get(r.jurisdiction_tenant_id) if r.jurisdiction_tenant_id else None
               for r in rows]
    away = [i for i, region in enumerate(regions) if region != home.region]
    mine = [i for i, ref in enumerate(snap.areas.refs)
            if ref.kind == "jurisdiction" and home.regions.get(ref.tenant_id) == home.region]
    near = near_home(snap, mine, [(rows[i].lon, rows[i].lat) for i in away],
                     [max(BORDER_BAND_M, rows[i].accuracy_m or 0.0) for i in away])
    for i, is_near in zip(away, near.tolist()):
        if is_near:
            regions[i] = home.region
    return [(r.local_day, region) for r, region in zip(rows, regions)]


async def evaluate(session: AsyncSession, home: Home, snap: GeoSnapshot, *, now: datetime,
                   settings: Settings) -> TransferSuggestion | None:
    """The member's open suggestion, offering a new one if the rule says so."""
    member = home.member
    current = await _open_suggestion(session, member.id)
    if current is not None:
        return current
    if any(t.status in OPEN_TRANSFERS for t in await transfers.history(session, member.id)):
        return None
    today = local_day(now)
    rows = (await session.execute(
        select(LocationCheckin.local_day, LocationCheckin.jurisdiction_tenant_id,
               LocationCheckin.lon, LocationCheckin.lat, LocationCheckin.accuracy_m)
        .where(LocationCheckin.member_id == member.id,
               LocationCheckin.local_day > today - timedelta(days=settings.geo.suggest_window_days),
               LocationCheckin.local_day <= today,
               (LocationCheckin.accuracy_m.is_(None))
               | (LocationCheckin.accuracy_m <= MAX_VOTING_ACCURACY_M)))).all()
    cooling = set((await session.scalars(
        select(TransferSuggestion.to_tenant_id).where(
            TransferSuggestion.member_id == member.id,
            TransferSuggestion.status.in_(("dismissed", "accepted")),
            TransferSuggestion.decided_at > now - timedelta(days=settings.geo.suggest_cooldown_days))
    )).all())
    offer = decide(daily_votes(_voting_regions(rows, home, snap)), home=home.region,
                   min_days=settings.geo.suggest_min_days, city_of=home.city_of, cooling=cooling)
    if offer is None:
        return None
    suggestion = TransferSuggestion(
        id=uuid.uuid4(), federation_id=member.federation_id, tenant_id=member.tenant_id,
        member_id=member.id, worker_id=member.worker_id, to_tenant_id=offer.region,
        days_away=offer.days, window_days=settings.geo.suggest_window_days, status="offered",
        offered_at=now)
    try:
        async with session.begin_nested():
            session.add(suggestion)
            await session.flush()
    except IntegrityError:  # a concurrent batch of the same member offered first
        current = await _open_suggestion(session, member.id)
        if current is None:
            raise
        return current
    return suggestion


async def suggestions(session: AsyncSession, caller: Caller) -> Sequence[TransferSuggestion]:
    return (await session.scalars(
        select(TransferSuggestion)
        .where(TransferSuggestion.worker_id == uuid.UUID(caller.subject),
               TransferSuggestion.federation_id == caller.tenant_id)
        .order_by(TransferSuggestion.offered_at.desc(), TransferSuggestion.id))).all()


async def own_suggestion(session: AsyncSession, caller: Caller, suggestion_id: uuid.UUID, *,
                         lock: bool = False) -> TransferSuggestion:
    """Not there and not mine are the same 404."""
    stmt = select(TransferSuggestion).where(
        TransferSuggestion.id == suggestion_id,
        TransferSuggestion.worker_id == uuid.UUID(caller.subject),
        TransferSuggestion.federation_id == caller.tenant_id)
    suggestion = await session.scalar(stmt.with_for_update() if lock else stmt)
    if suggestion is None:
        raise SuggestionNotFound("No such transfer suggestion.")
    return suggestion


def _still_open(suggestion: TransferSuggestion) -> None:
    if suggestion.status != "offered":
        raise SuggestionNotOpen(f"This suggestion was already {suggestion.status}.",
                                extra={"suggestion_status": suggestion.status})


async def accept(
    session: AsyncSession, caller: Caller, suggestion_id: uuid.UUID, *, reason: str | None,
    now: datetime, release_days: int,
) -> tuple[TransferSuggestion, Transfer]:
    """Ask for the transfer through the transfer workflow, and link it."""
    suggestion = await own_suggestion(session, caller, suggestion_id, lock=True)
    _still_open(suggestion)
    target = (await unions_by_id(session, suggestion.federation_id))[suggestion.to_tenant_id]
    transfer = await transfers.request(session, caller, to=target.code,
                                       reason=reason or ACCEPT_REASON, now=now,
                                       release_days=release_days)
    suggestion.status, suggestion.transfer_id, suggestion.decided_at = "accepted", transfer.id, now
    await session.flush()
    return suggestion, transfer


async def dismiss(session: AsyncSession, caller: Caller, suggestion_id: uuid.UUID, *,
                  now: datetime) -> TransferSuggestion:
    suggestion = await own_suggestion(session, caller, suggestion_id, lock=True)
    _still_open(suggestion)
    suggestion.status, suggestion.decided_at = "dismissed", now
    await session.flush()
    return suggestion

