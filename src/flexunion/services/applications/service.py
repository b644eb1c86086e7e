"""服务申请 The rules (docs/services.md): a member applies once (in the app, or at a station's
window: walk-in), with materials; the reviewing unit the service names (station / region /
hq, resolved from the member's home or the filing station) reviews it within the service's
time limit in working days (calendars.service.deadline_after). 补件 pauses the clock (a
returned item is never overdue); the worker's upload of every requested material answers it
and the clock RESTARTS from that day (补正后重新计算). Approve, or refuse with a reason; each
decision audited in its transaction, the worker told in the inbox."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining.evidence.schemas import Upload
from flexunion.bargaining.evidence.service import AttachmentNotFound, put_checked
from flexunion.bargaining.evidence.store import EvidenceStore
from flexunion.calendars import service as calendars
from flexunion.core.context import Caller, Role
from flexunion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from flexunion.db import rls
from flexunion.federation import directory
from flexunion.inbox import service as inbox
from flexunion.membership import service as membership
from flexunion.membership.models import Member
from flexunion.services.applications import repository
from flexunion.services.applications.models import ServiceApplication, ServiceMaterial
from flexunion.services.applications.schemas import (
    STATUSES,
    ApplicationCreate,
    MoreRequest,
    WalkInCreate,
)
from flexunion.services.catalogue import service as catalogue
from flexunion.services.catalogue.models import ServiceEntry
from flexunion.services.groups import service as groups


class ApplicationNotFound(NotFound):
    code, title, title_en = "application_not_found", "未找到该申请", "Application not found"


class ApplicationDecided(Conflict):
    code, title, title_en = "application_decided", "申请已办结", "Application already decided"


def _own_flow(entry: ServiceEntry) -> Conflict:
    return Conflict("入会、转会请走入会转会流程。", "Joining and transferring have their own flow.",
                    code="service_has_own_flow", extra={"links": entry.apply_links})


def _not_offered() -> Forbidden:
    return Forbidden("该服务不面向你所在的群体。", "This service is not offered to you.",
                     code="service_not_offered")


async def _unit(session: AsyncSession, entry: ServiceEntry, member: Member,
                filed_at: uuid.UUID | None) -> uuid.UUID:
    """The reviewing unit's tenant: a station service goes to the filing station (walk-in) or
    the member's home station (its region when the home is a region); region → the home's
    region; hq → HQ."""
    found = await directory.directory(session, member.federation_id)
    home = found.by_id[member.tenant_id]
    if entry.reviewing_unit == "hq":
        return found.hq.id
    region = found.region_of(home)
    if entry.reviewing_unit == "station":
        if filed_at is not None and filed_at in found.by_id:
            return filed_at
        return home.id if home.kind in ("station", "regional") else found.hq.id
    return region.id if region is not None else found.hq.id


async def _eligible(session: AsyncSession, caller: Caller, entry: ServiceEntry,
                    member: Member) -> bool:
    """Who may apply (the entry's `eligibility.who`): `any_member` every active member;
    `women` a member whose resident ID says female (members.sex, derived at join) or who is in
    the `women` service group; `groups` a member whose open service groups offer this
    service — the groups file (service-groups.yaml, `offers`) is the one place that says
    which group gets what, so the entry's `groups` list is what the catalogue shows."""
    who = entry.eligibility.get("who", "any_member")
    if who == "any_member":
        return True
    offered = await groups.offered_codes(session, caller, member)
    if who == "women":
        return member.sex == "F" or entry.code in offered
    return who == "groups" and entry.code in offered


async def _file(session: AsyncSession, caller: Caller, member: Member, data: ApplicationCreate,
                *, channel: str, filed_at: uuid.UUID | None, now: datetime) -> ServiceApplication:
    offered = await catalogue.entry(session, caller, data.service)
    entry = offered.row
    if not entry.active:
        raise catalogue.ServiceNotFound("该服务已停办。", "This service is not offered now.")
    if entry.kind == "join_transfer":
        raise _own_flow(entry)
    if not await _eligible(session, caller, entry, member):
        raise _not_offered()
    if entry.kind == "events" and data.event_id is None:
        raise InvalidInput("报名活动请选择场次。", "Choose an event to sign up for.",
                           code="service_event_required", extra={"path": "event_id"})
    if entry.kind != "events" and data.event_id is not None:
        raise InvalidInput("该服务没有场次。", "This service has no events.",
                           code="service_not_events", extra={"path": "event_id"})
    event = None
    if data.event_id is not None:
        event = await catalogue.event_of(session, caller, offered, data.event_id)
        if await repository.signed_up(session, event.id, member.worker_id):
            raise Conflict("你已报名该场次。", "Already signed up for this event.",
                           code="service_already_signed_up")
        await catalogue.take_place(session, event)
    tenant_id = await _unit(session, entry, member, filed_at)
    deadline = await calendars.deadline_after(session, tenant_id, now, entry.time_limit_days,
                                              federation_id=member.federation_id)
    app_id = uuid.uuid4()
    row = ServiceApplication(
        id=app_id, federation_id=member.federation_id, tenant_id=tenant_id,
        number=f"FW{now:%Y%m%d}-{app_id.hex[:8].upper()}", service_id=entry.id,
        event_id=event.id if event else None, worker_id=member.worker_id, member_id=member.id,
        channel=channel, filed_at=filed_at, filed_by=await rls.principal(session),
        note=data.note, status="submitted", requested=[], request_note=None,
        requested_at=None, clock_started_at=now, deadline_at=deadline.at, decided_by=None,
        decided_at=None, reason=None, created_at=now, updated_at=now)
    repository.add(session, row)
    await repository.flush(session)
    await audit.record(session, "services.application_filed", tenant_id=tenant_id,
                       object_type="service_application", object_id=row.id,
                       payload={"service": entry.code, "channel": channel,
                                "event_id": str(event.id) if event else None,
                                "deadline_at": deadline.at.isoformat()})
    return row


async def apply(session: AsyncSession, caller: Caller, data: ApplicationCreate, *,
                now: datetime) -> ServiceApplication:
    """The worker applies in the app (the route holds the Idempotency-Key)."""
    member = await membership.require_active(session, caller)
    return await _file(session, caller, member, data, channel="app", filed_at=None, now=now)


async def walk_in(session: AsyncSession, caller: Caller, data: WalkInCreate, *,
                  now: datetime) -> ServiceApplication:
    """窗口代办: station staff file for a member in front of them (channel walk_in, the staff
    principal recorded as `filed_by`)."""
    federation_id = await directory.federation_of(session, caller)
    member = await membership.member_by_number(session, federation_id, data.member_no)
    if member is None or member.worker_id is None:
        raise membership.MemberNotFound("没有这位会员，或不在你的管辖范围内。", "No such member.")
    if member.status != "active":
        raise Forbidden("只有正常会员可以申请服务。", "Only an active member can apply.",
                        code="member_not_active", extra={"member_status": member.status})
    return await _file(session, caller, member, data, channel="walk_in",
                       filed_at=caller.tenant_id, now=now)


# ---- reading ------------------------------------------------------------------------------


async def own(session: AsyncSession, caller: Caller, application_id: uuid.UUID, *,
              lock: bool = False) -> ServiceApplication:
    row = await repository.application(session, application_id, lock=lock)
    if row is None or row.worker_id != uuid.UUID(caller.subject):
        raise ApplicationNotFound("没有这份申请。", "No such application.")
    return row


async def mine(session: AsyncSession, caller: Caller) -> Sequence[ServiceApplication]:
    return await repository.mine(session, uuid.UUID(caller.subject))


async def access(session: AsyncSession, application_id: uuid.UUID, *,
                 lock: bool = False) -> ServiceApplication:
    """An application the staff caller sees (reviewer or filing station), else 404."""
    row = await repository.application(session, application_id, lock=lock)
    if row is None:
        raise ApplicationNotFound("没有这份申请，或不在你的管辖范围内。", "No such application.")
    return row


async def window(session: AsyncSession, tab: str, *, now: datetime,
                 limit: int = 200) -> Sequence[ServiceApplication]:
    return await repository.window(session, tab, now, limit)


async def entry_of(session: AsyncSession, row: ServiceApplication) -> ServiceEntry:
    entry = await catalogue.by_id(session, row.service_id)
    assert entry is not None  # the FK holds; the catalogue is read by whoever sees the row
    return entry


async def files(session: AsyncSession, row: ServiceApplication) -> list[ServiceMaterial]:
    return list(await repository.materials(session, row.id))


async def file_of(session: AsyncSession, row: ServiceApplication,
                  material_id: uuid.UUID) -> ServiceMaterial:
    found = next((f for f in await files(session, row) if f.id == material_id), None)
    if found is None:
        raise AttachmentNotFound("没有这个材料文件。", "No such material file.")
    return found


# ---- materials ----------------------------------------------------------------------------


async def attach(session: AsyncSession, store: EvidenceStore, row: ServiceApplication,
                 material: str, upload: Upload, *, max_bytes: int,
                 now: datetime) -> ServiceMaterial:
    """One file for a material of the list: bytes to the store, then the row (the bytes go
    again if the row fails). The last requested material answers a 补件: the application is
    back under review and its clock restarts."""
    if row.status in ("approved", "refused"):
        raise ApplicationDecided("申请已办结，不能再补充材料。", "The application is decided.")
    entry = await entry_of(session, row)
    if material not in {m["code"] for m in entry.materials}:
        raise InvalidInput(f"材料清单里没有 {material}。", f"No material '{material}' in the list.",
                           code="material_unknown", extra={"path": "material"})
    filename, content_type, key = await put_checked(store, upload, max_bytes=max_bytes)
    try:
        file = ServiceMaterial(
            id=uuid.uuid4(), federation_id=row.federation_id, tenant_id=row.tenant_id,
            application_id=row.id, material=material, storage_key=key, filename=filename,
            content_type=content_type, size_bytes=len(upload.data),
            sha256=hashlib.sha256(upload.data).hexdigest(),
            uploaded_by=await rls.principal(session), created_at=now)
        repository.add(session, file)
        await repository.flush(session)
        await audit.record(session, "services.material_added", tenant_id=row.tenant_id,
                           object_type="service_application", object_id=row.id,
                           payload={"material": material, "sha256": file.sha256,
                                    "material_id": str(file.id)})
        if row.status == "returned":
            await _maybe_answered(session, row, entry, now=now)
    except BaseException:
        await store.delete(key)
        raise
    return file


async def _maybe_answered(session: AsyncSession, row: ServiceApplication, entry: ServiceEntry,
                          *, now: datetime) -> None:
    since = row.requested_at or row.created_at
    fresh = {f.material for f in await files(session, row) if f.created_at >= since}
    if not set(row.requested) <= fresh:
        return
    deadline = await calendars.deadline_after(session, row.tenant_id, now, entry.time_limit_days,
                                              federation_id=row.federation_id)
    row.status, row.clock_started_at, row.deadline_at = "submitted", now, deadline.at
    row.updated_at = now
    await repository.flush(session)
    await audit.record(session, "services.materials_answered", tenant_id=row.tenant_id,
                       object_type="service_application", object_id=row.id,
                       payload={"requested": list(row.requested),
                                "deadline_at": deadline.at.isoformat()})


# ---- the window's decisions ---------------------------------------------------------------


async def _reviewable(session: AsyncSession, caller: Caller,
                      application_id: uuid.UUID) -> ServiceApplication:
    row = await access(session, application_id, lock=True)
    if caller.role is Role.WORKER or not await rls.in_scope(session, row.tenant_id):
        raise Forbidden("该申请由其他单位审核。", "Another unit reviews this application.",
                        code="application_not_reviewer")
    if row.status in ("approved", "refused"):
        raise ApplicationDecided("申请已办结。", "The application is already decided.",
                                 extra={"application_status": row.status})
    return row


async def _decided(session: AsyncSession, row: ServiceApplication, entry: ServiceEntry,
                   action: str, payload: dict[str, object], *, now: datetime) -> None:
    row.updated_at = now
    await repository.flush(session)
    await audit.record(session, f"services.application_{action}", tenant_id=row.tenant_id,
                       object_type="service_application", object_id=row.id,
                       payload={"service": entry.code, **payload})
    zh, en = STATUSES[row.status]
    extra_zh = f"，需补充材料：{'、'.join(row.requested)}" if row.status == "returned" else ""
    await inbox.service_decided(
        session, federation_id=row.federation_id, tenant_id=row.tenant_id,
        worker_id=row.worker_id, application_id=row.id, number=row.number, status=row.status,
        title_zh=f"{entry.title_zh}申请 {row.number}：{zh}{extra_zh}",
        title_en=f"{entry.title_en} application {row.number}: {en}", now=now)


async def request_more(session: AsyncSession, caller: Caller, application_id: uuid.UUID,
                       data: MoreRequest, *, now: datetime) -> ServiceApplication:
    """补件: the clock pauses (a returned item is never overdue) until the worker answers."""
    row = await _reviewable(session, caller, application_id)
    if row.status != "submitted":
        raise ApplicationDecided("已在等待补件。", "Already awaiting materials.",
                                 code="application_returned")
    entry = await entry_of(session, row)
    known = {m["code"] for m in entry.materials}
    unknown = [m for m in data.materials if m not in known]
    if unknown:
        raise InvalidInput(f"材料清单里没有：{'、'.join(unknown)}。", "Unknown material codes.",
                           code="material_unknown", extra={"path": "materials", "codes": unknown})
    row.status, row.requested, row.request_note = "returned", sorted(set(data.materials)), data.note
    row.requested_at = now
    await _decided(session, row, entry, "returned",
                   {"materials": row.requested, "note": data.note}, now=now)
    return row


async def approve(session: AsyncSession, caller: Caller, application_id: uuid.UUID,
                  note: str | None, *, now: datetime) -> ServiceApplication:
    row = await _reviewable(session, caller, application_id)
    entry = await entry_of(session, row)
    missing = _missing(entry, await files(session, row))
    if row.status != "submitted" or missing:
        raise Conflict("还缺必需材料，不能同意。", "Required materials are missing.",
                       code="application_incomplete", extra={"missing": missing})
    row.status, row.decided_by, row.decided_at = "approved", await rls.principal(session), now
    await _decided(session, row, entry, "approved", {"note": note}, now=now)
    return row


async def refuse(session: AsyncSession, caller: Caller, application_id: uuid.UUID,
                 reason: str, *, now: datetime) -> ServiceApplication:
    row = await _reviewable(session, caller, application_id)
    entry = await entry_of(session, row)
    row.status, row.reason = "refused", reason
    row.decided_by, row.decided_at = await rls.principal(session), now
    if row.event_id is not None:
        await catalogue.release_place(session, row.event_id)
    await _decided(session, row, entry, "refused", {"reason": reason}, now=now)
    return row


def _missing(entry: ServiceEntry, have: list[ServiceMaterial]) -> list[str]:
    got = {f.material for f in have}
    return [m["code"] for m in entry.materials if m.get("required", True) and m["code"] not in got]


async def members_of(session: AsyncSession, rows: Sequence[ServiceApplication],
                     ) -> dict[uuid.UUID, tuple[str | None, str]]:
    """(会员号, masked name) of each application's member the caller may see, by member id."""
    return await membership.member_labels(session, [r.member_id for r in rows])
