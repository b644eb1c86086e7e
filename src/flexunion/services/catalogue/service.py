"""服务目录 The rules: HQ keeps the federation-wide entries, a region adds its own (offered in
its subtree); staff and members read what applies to them; an `events` service has sessions
with places, taken one at a time under concurrency (flexunion_take_service_place)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.core.context import Caller, Role
from flexunion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from flexunion.db import rls
from flexunion.federation import directory
from flexunion.federation.directory import Directory
from flexunion.membership import service as membership
from flexunion.services.catalogue import repository
from flexunion.services.catalogue.models import ServiceEntry, ServiceEvent
from flexunion.services.catalogue.schemas import (
    JOIN_TRANSFER_LINKS,
    EntryError,
    EntrySave,
    EventSave,
    check_entry,
)


class ServiceNotFound(NotFound):
    code, title, title_en = "service_not_found", "未找到该服务", "Service not found"


class EventNotFound(NotFound):
    code, title, title_en = "service_event_not_found", "未找到该活动", "Event not found"


class EventFull(Conflict):
    code, title, title_en = "service_event_full", "名额已满", "No places left"


@dataclass(frozen=True)
class Offered:
    """An entry as one caller sees it: who keeps it."""

    row: ServiceEntry
    kept_by: str
    federation_wide: bool


def refused(exc: EntryError) -> InvalidInput:
    return InvalidInput(f"服务目录条目未通过校验（{exc.path}）：{exc.message}", exc.message,
                        code="service_invalid", extra={"path": exc.path})


async def _reach(session: AsyncSession, caller: Caller) -> tuple[uuid.UUID, Directory,
                                                                set[uuid.UUID]]:
    """The federation, its directory and the keepers whose entries reach the caller: HQ, the
    caller's region (a station's parent), and for staff every tenant in their subtree."""
    federation_id = await directory.federation_of(session, caller)
    found = await directory.directory(session, federation_id)
    keepers = {found.hq.id}
    if caller.role is Role.WORKER:
        member = await membership.own_member(session, caller)
        home = found.by_id.get(member.tenant_id) if member is not None else None
    else:
        home = found.by_id.get(caller.tenant_id)
        keepers |= set(await rls.scope_ids(session))
    region = found.region_of(home) if home is not None else None
    if region is not None:
        keepers.add(region.id)
    return federation_id, found, keepers


def _offered(row: ServiceEntry, found: Directory) -> Offered:
    keeper = found.by_id.get(row.tenant_id)
    return Offered(row, keeper.code if keeper else "?", row.tenant_id == found.hq.id)


async def listed(session: AsyncSession, caller: Caller, *,
                 active_only: bool = False) -> list[Offered]:
    """The entries that apply to the caller (HQ's first, then the region's)."""
    federation_id, found, keepers = await _reach(session, caller)
    rows = [r for r in await repository.entries(session, federation_id)
            if r.tenant_id in keepers and (r.active or not active_only)]
    rows.sort(key=lambda r: (r.tenant_id != found.hq.id, r.created_at, r.code))
    return [_offered(r, found) for r in rows]


async def entry(session: AsyncSession, caller: Caller, code: str) -> Offered:
    """One entry that applies to the caller, else 404 `service_not_found` (also for another
    region's own entry: it does not exist for this caller)."""
    federation_id, found, keepers = await _reach(session, caller)
    row = await repository.by_code(session, federation_id, code)
    if row is None or row.tenant_id not in keepers:
        raise ServiceNotFound(f"没有代码为 {code} 的服务。", f"No service '{code}'.")
    return _offered(row, found)


async def by_id(session: AsyncSession, entry_id: uuid.UUID) -> ServiceEntry | None:
    return await repository.by_id(session, entry_id)


def fields_of(data: EntrySave) -> dict[str, Any]:
    return {"kind": data.kind, "title_zh": data.title_zh, "title_en": data.title_en,
            "summary_zh": data.summary_zh,
            "eligibility": msgspec.to_builtins(data.eligibility),
            "materials": msgspec.to_builtins(data.materials),
            "reviewing_unit": data.reviewing_unit, "time_limit_days": data.time_limit_days,
            "apply_links": JOIN_TRANSFER_LINKS if data.kind == "join_transfer" else {},
            "active": data.active}


async def save(session: AsyncSession, caller: Caller, data: EntrySave, *,
               now: datetime) -> tuple[Offered, bool]:
    """HQ or a regional admin saves its own entry (keeper: the caller's tenant); another
    keeper's code is 403 `service_entry_not_yours`. Audited."""
    if caller.role not in (Role.HQ_ADMIN, Role.REGIONAL_ADMIN):
        raise Forbidden("服务目录由总部和区域工会维护。",
                        "HQ and regional unions keep the catalogue.",
                        code="service_entry_not_yours")
    try:
        check_entry(data)
    except EntryError as exc:
        raise refused(exc) from None
    federation_id = await directory.federation_of(session, caller)
    # Read first (a FOR UPDATE would hide another keeper's row behind the UPDATE policy).
    existing = await repository.by_code(session, federation_id, data.code)
    if existing is not None and existing.tenant_id != caller.tenant_id:
        raise Forbidden("该服务由其他单位维护，不能在此修改。",
                        "Another unit keeps this entry; it cannot be changed here.",
                        code="service_entry_not_yours")
    row, created = await upsert(session, federation_id, caller.tenant_id, data,
                                actor=await rls.principal(session), now=now)
    await audit.record(session, "services.entry_saved", tenant_id=caller.tenant_id,
                       object_type="service_entry", object_id=row.id,
                       payload={"code": row.code, "revision": row.revision})
    found = await directory.directory(session, federation_id)
    return _offered(row, found), created


async def upsert(session: AsyncSession, federation_id: uuid.UUID, keeper_id: uuid.UUID,
                 data: EntrySave, *, actor: str, now: datetime) -> tuple[ServiceEntry, bool]:
    """Write the (checked) entry; an unchanged one is left as it is. Also the file's path."""
    wanted = fields_of(data)
    row = await repository.by_code(session, federation_id, data.code, lock=True)
    if row is None:
        row = ServiceEntry(id=uuid.uuid4(), federation_id=federation_id, tenant_id=keeper_id,
                           code=data.code, revision=1, created_by=actor, created_at=now,
                           updated_at=now, **wanted)
        repository.add(session, row)
        await repository.flush(session)
        return row, True
    if any(getattr(row, k) != v for k, v in wanted.items()):
        for k, v in wanted.items():
            setattr(row, k, v)
        row.revision += 1
        row.updated_at = now
        await repository.flush(session)
    return row, False


# ---- events (文体活动 / 看护点) ------------------------------------------------------------


async def add_event(session: AsyncSession, caller: Caller, code: str, data: EventSave, *,
                    now: datetime) -> tuple[ServiceEvent, str]:
    """An admin adds a session with places to an `events` service that applies to it."""
    offered = await entry(session, caller, code)
    if offered.row.kind != "events":
        raise InvalidInput("只有报名类服务（文体活动、看护点）有场次。",
                           "Only an events service has sessions.", code="service_not_events")
    row = ServiceEvent(id=uuid.uuid4(), federation_id=offered.row.federation_id,
                       tenant_id=caller.tenant_id, service_id=offered.row.id,
                       title_zh=data.title_zh, title_en=data.title_en, place=data.place,
                       starts_on=data.starts_on, places=data.places, taken=0,
                       created_by=await rls.principal(session), created_at=now)
    repository.add(session, row)
    await repository.flush(session)
    await audit.record(session, "services.event_added", tenant_id=caller.tenant_id,
                       object_type="service_event", object_id=row.id,
                       payload={"service": code, "places": data.places})
    return row, code


async def events(session: AsyncSession, caller: Caller, code: str) -> Sequence[ServiceEvent]:
    """The sessions of a service that reach the caller (HQ's, its region's, its subtree's)."""
    offered = await entry(session, caller, code)
    _, _, keepers = await _reach(session, caller)
    return [e for e in await repository.events(session, offered.row.id)
            if e.tenant_id in keepers]


async def event_of(session: AsyncSession, caller: Caller, offered: Offered,
                   event_id: uuid.UUID) -> ServiceEvent:
    row = await repository.event(session, event_id)
    _, _, keepers = await _reach(session, caller)
    if row is None or row.service_id != offered.row.id or row.tenant_id not in keepers:
        raise EventNotFound("没有这个活动场次。", "No such event.")
    return row


async def take_place(session: AsyncSession, event: ServiceEvent) -> None:
    """One place of `event`, or 409 `service_event_full` (atomic: the cap holds)."""
    if not await repository.take_place(session, event.id):
        raise EventFull("该场次名额已满。", "This event has no places left.",
                        extra={"places": event.places})


async def release_place(session: AsyncSession, event_id: uuid.UUID) -> None:
    await repository.release_place(session, event_id)
