"""系统衔接: facts pushed by platform partners, and official weather warnings.

A partner pushes a batch of events through its machine API (Idempotency-Key on the request,
and each event's own `event_id`, unique per partner: a batch re-sent ten times stores each
event once — a known `event_id` is answered `duplicate` and ignored). The worker is named as
the partner knows them (`rider_id`, the `platform_worker_id` of a member's platform link):
`flexunion_partner_rider` (migration 0054) finds the member without letting the partner read
members; an unknown rider is stored unmatched (at the federation), never refused. The answer
never says whether a rider is a member.

A shift of a matched member writes its work signal (day, hours, night, heat, zone) in the
event's transaction; every stored event of a matched member queues the service groups'
re-evaluation of that member (job `service-groups`, in the same transaction: a rolled-back
batch queues nothing). Events are append-only (no UPDATE or DELETE grant).

Weather warnings (heat, cold, storm) are loaded by a region's admins through the staff API
or the `flexunion services load-warnings` command from a file; nothing is fetched from
outside. A warning is kept once per (tenant, source_ref)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from shapely.geometry import shape
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.core import queue
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict, Forbidden, InvalidInput
from flexunion.db import rls
from flexunion.federation import directory
from flexunion.services.events import repository
from flexunion.services.events.models import PlatformEvent, WeatherWarning, WorkSignal
from flexunion.services.events.schemas import (
    BatchRead,
    EventBatch,
    EventOutcome,
    PartnerEventRead,
    ShiftWorked,
    StaffEventRead,
    WarningCreate,
    WarningRead,
    WarningsLoaded,
    event_payload,
    partner_read,
    staff_read,
    warning_read,
)

GROUPS_JOB = "service-groups"  # services/groups: re-evaluate these members
TRIGGERS_JOB = "service-triggers"  # services/triggers: the rules on these events / warnings
JOB_CHUNK = 80  # member ids per queued job (a job's payload stays small)


def _check(batch: EventBatch) -> None:
    seen: set[str] = set()
    for i, event in enumerate(batch.events):
        if event.event_id in seen:
            raise InvalidInput(f"第 {i + 1} 个事件的 event_id 在本批中重复。",
                               f"events[{i}].event_id appears twice in the batch.",
                               code="event_id_repeated", extra={"index": i})
        seen.add(event.event_id)
        if isinstance(event, ShiftWorked) and (
                event.night_hours > event.hours or event.heat_hours > event.hours):
            raise InvalidInput(f"第 {i + 1} 个班次的夜间或高温时长超过了总时长。",
                               f"events[{i}]: night or heat hours exceed the shift's hours.",
                               code="shift_hours_invalid", extra={"index": i})
        if isinstance(event, ShiftWorked) and (event.lon is None) != (event.lat is None):
            raise InvalidInput(f"第 {i + 1} 个班次的经纬度须成对给出。",
                               f"events[{i}]: give both lon and lat, or neither.",
                               code="shift_hours_invalid", extra={"index": i})


async def queue_groups(session: AsyncSession, federation_id: uuid.UUID,
                       member_ids: Sequence[uuid.UUID]) -> None:
    """Queue the groups' re-evaluation of `member_ids` in the caller's transaction."""
    wanted = sorted(set(member_ids))
    for at in range(0, len(wanted), JOB_CHUNK):
        await queue.enqueue(session, GROUPS_JOB,
                            {"members": [str(m) for m in wanted[at:at + JOB_CHUNK]]},
                            federation_id=federation_id)


async def queue_triggers(session: AsyncSession, federation_id: uuid.UUID, source: str,
                         ids: Sequence[uuid.UUID]) -> None:
    """Queue the trigger rules on the new `events` / `warnings` (`source`), in the caller's
    transaction: a rolled-back batch queues nothing, a duplicate is never queued again."""
    for at in range(0, len(ids), JOB_CHUNK):
        await queue.enqueue(session, TRIGGERS_JOB,
                            {source: [str(i) for i in ids[at:at + JOB_CHUNK]]},
                            federation_id=federation_id)


async def push(session: AsyncSession, caller: Caller, batch: EventBatch, *,
               now: datetime) -> BatchRead:
    """Store the batch's new events (and their signals); known event ids are duplicates."""
    _check(batch)
    partner_id = await rls.current_partner(session)
    federation_id = await rls.current_federation(session)
    if partner_id is None or federation_id is None:
        raise Forbidden("该接入方已停用。", "This partner client is disabled.",
                        code="partner_disabled")
    principal = await rls.principal(session)
    known = await repository.known_event_ids(session, partner_id,
                                             (e.event_id for e in batch.events))
    outcomes: list[EventOutcome] = []
    touched: list[uuid.UUID] = []
    stored_ids: list[uuid.UUID] = []
    for event in batch.events:
        if event.event_id in known:
            outcomes.append(EventOutcome(event.event_id, "duplicate"))
            continue
        found = await repository.rider_member(session, event.rider_id)
        member_id, tenant_id = found if found else (None, federation_id)
        row = PlatformEvent(id=uuid.uuid4(), federation_id=federation_id, tenant_id=tenant_id,
                           partner_id=partner_id, event_id=event.event_id,
                           kind=type(event).__struct_config__.tag, rider_id=event.rider_id,
                           member_id=member_id, occurred_at=event.occurred_at,
                           payload=event_payload(event), received_by=principal,
                           received_at=now)
        try:
            async with session.begin_nested():
                repository.add(session, row)
                await repository.flush(session)
        except IntegrityError:  # the same event, pushed at the same moment by another request
            outcomes.append(EventOutcome(event.event_id, "duplicate"))
            continue
        if member_id is not None and isinstance(event, ShiftWorked):
            repository.add(session, WorkSignal(
                id=uuid.uuid4(), federation_id=federation_id, tenant_id=tenant_id,
                member_id=member_id, partner_id=partner_id, event_ref=row.id, day=event.day,
                hours=Decimal(str(event.hours)), night_hours=Decimal(str(event.night_hours)),
                heat_hours=Decimal(str(event.heat_hours)), zone_code=event.zone_code))
            await repository.flush(session)
        if member_id is not None:
            touched.append(member_id)
        known.add(event.event_id)
        stored_ids.append(row.id)
        outcomes.append(EventOutcome(event.event_id, "stored"))
    await queue_groups(session, federation_id, touched)
    await queue_triggers(session, federation_id, "events", stored_ids)
    stored = sum(o.status == "stored" for o in outcomes)
    return BatchRead(stored=stored, duplicates=len(outcomes) - stored, events=outcomes)


async def partner_events(session: AsyncSession, *, kind: str | None,
                         limit: int) -> list[PartnerEventRead]:
    return [partner_read(r) for r in await repository.events(session, kind=kind,
                                                              member_id=None, limit=limit)]


async def staff_events(session: AsyncSession, caller: Caller, *, kind: str | None,
                       member_id: uuid.UUID | None, limit: int) -> list[StaffEventRead]:
    codes = await directory.partner_codes(session, await directory.federation_of(session, caller))
    return [staff_read(r, codes) for r in await repository.events(
        session, kind=kind, member_id=member_id, limit=limit)]


# ---- weather warnings ------------------------------------------------------------------------


def _check_warning(i: int, w: WarningCreate) -> None:
    if w.valid_to <= w.valid_from:
        raise InvalidInput(f"第 {i + 1} 条预警的结束时间须晚于开始时间。",
                           f"warnings[{i}]: valid_to must be after valid_from.",
                           code="warning_invalid", extra={"index": i})
    if not w.area_codes and w.polygon is None:
        raise InvalidInput(f"第 {i + 1} 条预警须给出区域编码或多边形。",
                           f"warnings[{i}]: give area_codes or a polygon.",
                           code="warning_invalid", extra={"index": i})
    if w.polygon is not None:
        try:
            geom = shape(w.polygon)
            ok = geom.geom_type in ("Polygon", "MultiPolygon") and geom.is_valid
        except Exception:
            ok = False
        if not ok:
            raise InvalidInput(f"第 {i + 1} 条预警的多边形无效（须为 GeoJSON Polygon）。",
                               f"warnings[{i}]: the polygon is not a valid GeoJSON Polygon.",
                               code="warning_invalid", extra={"index": i})


async def load_warnings(session: AsyncSession, tenant_id: uuid.UUID, federation_id: uuid.UUID,
                        warnings: Sequence[WarningCreate], *, loaded_by: str,
                        now: datetime) -> WarningsLoaded:
    """Keep each warning once per (tenant, source_ref): a re-loaded file changes nothing."""
    refs = [w.source_ref for w in warnings]
    if len(set(refs)) != len(refs):
        raise InvalidInput("同一批预警中 source_ref 重复。", "A source_ref appears twice.",
                           code="warning_invalid")
    for i, w in enumerate(warnings):
        _check_warning(i, w)
    known = await repository.warning_refs(session, tenant_id, refs)
    created: list[uuid.UUID] = []
    for w in warnings:
        if w.source_ref in known:
            continue
        created.append(uuid.uuid4())
        repository.add(session, WeatherWarning(
            id=created[-1], federation_id=federation_id, tenant_id=tenant_id,
            source_ref=w.source_ref, kind=w.kind, level=w.level, title_zh=w.title_zh.strip(),
            area_codes=list(w.area_codes), polygon=w.polygon, valid_from=w.valid_from,
            valid_to=w.valid_to, loaded_by=loaded_by, loaded_at=now))
    try:
        async with session.begin_nested():
            await repository.flush(session)
    except IntegrityError as exc:
        raise Conflict("预警刚刚被另一请求载入，请重试。", "Loaded by another request; retry.",
                       code="warning_conflict") from exc
    await queue_triggers(session, federation_id, "warnings", created)
    return WarningsLoaded(created=len(created), unchanged=len(warnings) - len(created))


async def staff_load_warnings(session: AsyncSession, caller: Caller,
                              warnings: Sequence[WarningCreate], *,
                              now: datetime) -> WarningsLoaded:
    return await load_warnings(session, caller.tenant_id,
                               await directory.federation_of(session, caller), warnings,
                               loaded_by=await rls.principal(session), now=now)


async def staff_warnings(session: AsyncSession, limit: int) -> list[WarningRead]:
    return [warning_read(w) for w in await repository.warnings(session, limit)]


# ---- for the triggers -----------------------------------------------------------------------


async def event_by_id(session: AsyncSession, event_id: uuid.UUID) -> PlatformEvent | None:
    """A stored partner event, as far as the caller may see it."""
    return await repository.event(session, event_id)


async def warning_by_id(session: AsyncSession, warning_id: uuid.UUID) -> WeatherWarning | None:
    """A loaded weather warning, as far as the caller may see it."""
    return await repository.warning(session, warning_id)


# ---- for the service groups ------------------------------------------------------------------


async def work_since(session: AsyncSession, member_ids: Sequence[uuid.UUID],
                     since: date) -> dict[uuid.UUID, tuple[float, float, set[str]]]:
    """Per member since `since`: (night hours, heat hours, zone codes worked)."""
    return await repository.signals_since(session, member_ids, since)


async def registrations(session: AsyncSession,
                        member_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, date]:
    """The day of each member's latest platform registration event."""
    return await repository.first_registration(session, member_ids)


async def members_in_zone(session: AsyncSession, zone_code: str,
                          since: date) -> set[uuid.UUID]:
    """Members with a shift in delivery zone `zone_code` since `since`."""
    return await repository.members_in_zone(session, zone_code, since)
