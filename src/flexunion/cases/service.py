"""统一受理: a demand enters the ledger once, from any channel, with where the worker
actually works; and what each caller may read of it.

Channels: the worker app (the worker's own token, Idempotency-Key), a station walk-in
(现场受理) or a cadre's visit (走访) entered by staff, a 12351 call entered by a hotline
operator, a 12351 work order pushed by the hotline platform's machine client (idempotent by
its order number: the same number and body give the same case, another body 409), and the
anonymous suggestion link (意见收集二维码, cases/suggestions.py).

Where the worker works (the case's tenant, which handles it and whose ancestors see it):
the station named, the tenant owning the delivery zone named, or the jurisdiction the point
falls in (geo's spatial index); staff may leave it out for their own tenant. A duplicate —
another open case of the same worker and category — is never refused nor dropped: the 201
lists it in `duplicate_of`, and the explicit 并单 step (cases/steps.py) joins them.

SLA clocks are not kept here: every step is a `case_events` row written by `record`, which
re-derives the case's clocks from its events in the same transaction (cases/clocks/)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining.board import service as board
from flexunion.bargaining.board.lifecycle import STATUSES as ITEM_STATUSES
from flexunion.cases import repository
from flexunion.cases.clocks import service as clocks
from flexunion.cases.codes import STATUSES
from flexunion.cases.models import Case, CaseEvent
from flexunion.cases.schemas import (
    AgendaRef,
    Audience,
    CaseRead,
    Demand,
    HotlineOrder,
    Label,
    Names,
    QueueRow,
    StaffCaseCreate,
    Where,
    WorkerCaseCreate,
    case_read,
    queue_row,
)
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict, InvalidInput, NotFound
from flexunion.core.logs import mask_phone
from flexunion.db import rls
from flexunion.federation import directory
from flexunion.federation.directory import Directory, DirectoryEntry
from flexunion.geo.areas.service import jurisdiction_of
from flexunion.geo.crs import Crs, wgs84_point
from flexunion.geo.registry import GeoRegistry
from flexunion.inbox import service as inbox
from flexunion.membership import service as membership
from flexunion.membership.identity import mask_name

After = tuple[datetime, uuid.UUID] | None


class CaseNotFound(NotFound):
    code, title, title_en = "case_not_found", "未找到该诉求", "Case not found"


def no_such_case() -> CaseNotFound:
    return CaseNotFound("没有这条诉求，或不在你的管辖范围内。", "No such case.")


# ---- small pieces ---------------------------------------------------------------------------


async def names(session: AsyncSession, federation_id: uuid.UUID) -> Names:
    tenants = await directory.directory(session, federation_id)
    return Names(tenants={e.id: e.code for e in tenants.values()},
                 partners=await directory.partner_codes(session, federation_id))


def new_case_no(now: datetime) -> str:
    return f"{now:%Y%m%d}-{secrets.token_hex(4).upper()}"


async def record(session: AsyncSession, case: Case, kind: str, *, now: datetime,
                 reason: str | None = None, details: dict[str, Any] | None = None,
                 actor: str | None = None) -> CaseEvent:
    """One handling step on the case's event log; `actor` is the transaction's principal."""
    event = CaseEvent(id=uuid.uuid4(), federation_id=case.federation_id,
                      tenant_id=case.tenant_id, case_id=case.id, kind=kind, at=now,
                      actor=actor or await rls.principal(session), reason=reason,
                      details=details or {})
    repository.add(session, event)
    await repository.flush(session)
    await clocks.derive(session, case, now)  # the SLA clocks, re-derived from the events
    return event


async def tell_worker(session: AsyncSession, case: Case, now: datetime) -> None:
    """The worker's inbox gets the case's new status, in this transaction (and an SMS after
    the commit when they opted in). Anonymous suggestions have no worker: nothing."""
    if case.worker_id is None:
        return
    zh, en = STATUSES[case.status]
    await inbox.case_status_changed(
        session, federation_id=case.federation_id, tenant_id=case.tenant_id,
        worker_id=case.worker_id, case_id=case.id, case_no=case.case_no, status=case.status,
        status_zh=zh, status_en=en, now=now)


def _unknown(what_zh: str, what_en: str, code: str, value: str) -> InvalidInput:
    return InvalidInput(f"{value} 不是本联合会的{what_zh}。",
                        f"'{value}' is not a {what_en} of this federation.", code=code,
                        extra={"value": value})


async def work_place(
    session: AsyncSession, geo: GeoRegistry, tenants: Directory, where: Where, *,
    default: DirectoryEntry | None,
) -> tuple[DirectoryEntry, dict[str, Any], str | None]:
    """(the tenant where the worker works, the place as given, the partner code it implies)."""
    given = [x for x in (where.station, where.zone, where.point) if x is not None]
    if len(given) > 1:
        raise InvalidInput("工作地点只填一项：站点、配送片区或坐标。",
                           "Name one place of work: a station, a delivery zone or a point.",
                           code="work_place_ambiguous")
    if where.station is not None:
        station = tenants.get(where.station)
        if station is None or station.kind != "station":
            raise _unknown("站点", "station", "unknown_station", where.station)
        return station, {"station": station.code}, station.partner_code
    if where.zone is not None or where.point is not None:
        snapshot = await geo.get(tenants.hq.id)
        if where.zone is not None:
            ref = next((r for r in snapshot.areas.refs
                        if r.kind == "delivery_zone" and r.code == where.zone), None)
            if ref is None:
                raise _unknown("配送片区", "delivery zone", "unknown_zone", where.zone)
            return tenants.by_id[ref.tenant_id], {"zone": ref.code}, ref.partner_code
        assert where.point is not None
        lon, lat = wgs84_point(where.point.lon, where.point.lat, Crs(where.point.crs))
        hit = jurisdiction_of(snapshot.areas.resolve(lon, lat))
        if hit is None:
            raise InvalidInput("该坐标不在任何工会的服务区域内。",
                               "The point lies in no union's jurisdiction.",
                               code="point_outside_jurisdictions")
        place = {"point": {"lon": where.point.lon, "lat": where.point.lat,
                           "crs": where.point.crs}, "jurisdiction": hit.area.code,
                 "on_border": hit.on_border}
        return tenants.by_id[hit.area.tenant_id], place, None
    if default is None:
        raise InvalidInput("请填写工作地点：站点、配送片区或坐标。",
                           "Name where you work: a station, a delivery zone or a point.",
                           code="work_place_required")
    return default, {}, None


async def _partner_id(session: AsyncSession, federation_id: uuid.UUID,
                      code: str | None) -> uuid.UUID | None:
    if code is None:
        return None
    return (await directory.partner_by_code(session, federation_id, code)).id


def _case(data: Demand, *, federation_id: uuid.UUID, tenant: DirectoryEntry,
          place: dict[str, Any], partner_id: uuid.UUID | None, channel: str, actor: str,
          now: datetime, **extra: Any) -> Case:
    return Case(
        id=uuid.uuid4(), federation_id=federation_id, tenant_id=tenant.id,
        case_no=new_case_no(now), category=data.category, description=data.description.strip(),
        employment_form=data.employment_form, tags=sorted(set(data.tags)), tier=data.tier,
        channel=channel, place=place, partner_id=partner_id, status="received", route=None,
        route_details={}, created_by=actor, created_at=now, updated_at=now, closings=0,
        reopens=0,
        **({"worker_id": None, "member_id": None, "is_member": False, "contact": {}} | extra))


async def enter(session: AsyncSession, case: Case, now: datetime, *,
                actor: str | None = None) -> None:
    """A new case lands: its row, the intake event, the audit entry, the worker told."""
    await _received(session, case, now, actor=actor)


async def _received(session: AsyncSession, case: Case, now: datetime, *,
                    actor: str | None = None) -> None:
    repository.add(session, case)
    await repository.flush(session)
    details = {"channel": case.channel, "category": case.category, "tier": case.tier,
               "place": case.place}
    await record(session, case, "intake", now=now, details=details, actor=actor)
    await audit.record(session, "case.received", tenant_id=case.tenant_id, object_type="case",
                       object_id=case.id, payload={"case_no": case.case_no, **details})
    if case.channel != "app":  # entered for the worker by someone else: tell them
        await tell_worker(session, case, now)


# ---- intake ---------------------------------------------------------------------------------


async def intake_by_worker(session: AsyncSession, geo: GeoRegistry, caller: Caller,
                           data: WorkerCaseCreate, *, now: datetime) -> Case:
    """The worker's own demand from the app (member or not)."""
    tenants = await directory.directory(session, caller.tenant_id)
    member = await membership.own_member(session, caller)
    home = tenants.by_id.get(member.tenant_id) if member else None
    tenant, place, implied = await work_place(session, geo, tenants, data, default=None)
    partner_id = await _partner_id(session, tenants.hq.id, data.partner or implied)
    case = _case(data, federation_id=tenants.hq.id, tenant=tenant, place=place,
                 partner_id=partner_id, channel="app", actor=caller.principal, now=now,
                 worker_id=uuid.UUID(caller.subject),
                 member_id=member.id if member and member.status == "active" else None,
                 is_member=bool(member and member.status == "active"),
                 contact={"home": home.code} if home else {})
    await _received(session, case, now)
    return case


async def _staff_fields(session: AsyncSession, federation_id: uuid.UUID,
                        data: StaffCaseCreate, *, hotline: bool = False) -> dict[str, Any]:
    contact: dict[str, Any] = {}
    if data.contact_name:
        contact["name_masked"] = mask_name(data.contact_name)
    if data.contact_phone:
        contact["phone_masked"] = mask_phone(data.contact_phone)
    if data.member_no is None:
        return {"contact": contact, "is_member": False}
    if hotline:  # a platform reads no members: a registered 12351 platform links by number
        found = await membership.member_for_hotline(session, federation_id, data.member_no)
    else:
        member = await membership.member_by_number(session, federation_id, data.member_no)
        found = (member.id, member.worker_id, member.status, member.name_masked) if member \
            else None
    if found is None:
        raise InvalidInput(f"没有会员号 {data.member_no}（或不在你的管辖范围内）。",
                           f"No member '{data.member_no}' that you can see.",
                           code="unknown_member", extra={"member_no": data.member_no})
    member_id, worker_id, status, name_masked = found
    return {"contact": contact | {"name_masked": name_masked},
            "is_member": status == "active", "member_id": member_id, "worker_id": worker_id}


async def intake_by_staff(session: AsyncSession, geo: GeoRegistry, caller: Caller,
                          data: StaffCaseCreate, *, now: datetime) -> Case:
    """现场受理 / 走访 / 12351 热线, entered the same day by staff of the place of work's
    union (or above it)."""
    tenants = await directory.my_directory(session, caller)
    own = tenants.by_id[caller.tenant_id]
    tenant, place, implied = await work_place(session, geo, tenants, data, default=own)
    if not await rls.in_scope(session, tenant.id):
        raise InvalidInput("只能为本级或下级工会受理诉求；请转交该地工会。",
                           "You take demands for your own union or those below it.",
                           code="work_place_outside_subtree", extra={"tenant": tenant.code})
    partner_id = await _partner_id(session, tenants.hq.id, data.partner or implied)
    case = _case(data, federation_id=tenants.hq.id, tenant=tenant, place=place,
                 partner_id=partner_id, channel=data.channel, actor=caller.principal, now=now,
                 **await _staff_fields(session, tenants.hq.id, data))
    await _received(session, case, now)
    return case


def _digest(data: HotlineOrder) -> str:
    return hashlib.sha256(msgspec.json.encode(data, order="sorted")).hexdigest()


def _order_conflict(order_no: str, case: Case) -> Conflict:
    return Conflict(f"工单号 {order_no} 已用于另一内容的工单。",
                    f"Order number '{order_no}' was already used for a different order.",
                    code="hotline_order_conflict", extra={"case_id": str(case.id)})


async def intake_by_hotline(session: AsyncSession, geo: GeoRegistry, caller: Caller,
                            data: HotlineOrder, *, now: datetime) -> Case:
    """A 12351 work order from the hotline platform's machine client."""
    partner_id = await rls.current_partner(session)
    if partner_id is None or await repository.intake_partner(session, partner_id,
                                                             "hotline") is None:
        raise NotFound("该平台客户端不是登记的 12351 工单平台。",
                       "This client is not a registered 12351 hotline platform.",
                       code="hotline_platform_unknown")
    digest = _digest(data)
    found = await repository.by_external_ref(session, partner_id, data.order_no)
    if found is not None:
        if found.intake_digest != digest:
            raise _order_conflict(data.order_no, found)
        return found
    tenants = await directory.my_directory(session, caller)
    tenant, place, implied = await work_place(session, geo, tenants, data, default=None)
    fields = await _staff_fields(session, tenants.hq.id, data, hotline=True)
    case = _case(data, federation_id=tenants.hq.id, tenant=tenant, place=place,
                 partner_id=await _partner_id(session, tenants.hq.id, data.partner or implied),
                 channel="hotline_platform", actor=caller.principal, now=now,
                 intake_partner_id=partner_id, external_ref=data.order_no,
                 intake_digest=digest, **fields)
    case.route_details = {}
    try:
        async with session.begin_nested():
            await _received(session, case, now)
    except IntegrityError:  # the same order number pushed twice at once: the first won
        found = await repository.by_external_ref(session, partner_id, data.order_no)
        if found is None:
            raise
        if found.intake_digest != digest:
            raise _order_conflict(data.order_no, found) from None
        return found
    return case


# ---- reading --------------------------------------------------------------------------------


async def access_case(session: AsyncSession, case_id: uuid.UUID, *,
                      lock: bool = False) -> Case:
    """Not there and not visible are the same 404."""
    case = await repository.get(session, case_id, lock=lock)
    if case is None:
        raise no_such_case()
    return case


async def own_case(session: AsyncSession, caller: Caller, case_id: uuid.UUID) -> Case:
    case = await repository.get(session, case_id)
    if case is None or str(case.worker_id) != caller.subject:
        raise no_such_case()
    return case


async def partner_case(session: AsyncSession, case_id: uuid.UUID) -> Case:
    """A case addressed to the calling partner (an open assignment), or that it pushed."""
    partner = await rls.current_partner(session)
    case = await repository.get(session, case_id)
    if case is None or partner is None:
        raise no_such_case()
    return case


async def duplicates(session: AsyncSession, case: Case) -> Sequence[uuid.UUID]:
    return await repository.open_duplicates(session, case)


async def agenda_ref(session: AsyncSession, case: Case) -> AgendaRef | None:
    """The agenda item the case feeds, with its status (if the caller can see it)."""
    if case.agenda_item_id is None:
        return None
    items = await board.items_by_ids(session, [case.agenda_item_id])
    if not items:
        return None
    item = items[0]
    zh, en = ITEM_STATUSES[item.status]
    return AgendaRef(id=item.id, title=item.title, status=Label(code=item.status, zh=zh, en=en))


async def read(session: AsyncSession, case: Case, *, audience: Audience,
               detail: bool = True, duplicate_of: Sequence[uuid.UUID] = (),
               now: datetime | None = None) -> CaseRead:
    """The case as `audience` may see it; the detail adds assignments, events and the SLA
    clocks (live at `now`; without it as derived at the last event)."""
    found = await names(session, case.federation_id)
    member_no = None
    if case.member_id is not None and audience == "staff":
        numbers = await membership.member_numbers(session, [case.member_id])
        member_no = numbers.get(case.member_id)
    agenda = await agenda_ref(session, case) if audience != "partner" else None
    assignments = await repository.assignments(session, case.id) if detail else ()
    events = await repository.events(session, case.id) if detail else ()
    followups = (await repository.followups(session, case.id)
                 if detail and audience != "partner" else ())
    timed = await clocks.views(session, case, now) if detail and audience != "partner" else ()
    return case_read(case, found, audience=audience, member_no=member_no, agenda=agenda,
                     duplicate_of=duplicate_of, assignments=assignments, events=events,
                     followups=followups, clocks=timed)


async def reads(session: AsyncSession, rows: Sequence[Case], *,
                audience: Audience) -> list[CaseRead]:
    if not rows:
        return []
    found = await names(session, rows[0].federation_id)
    numbers: dict[uuid.UUID, str | None] = {}
    if audience == "staff":
        ids = [c.member_id for c in rows if c.member_id is not None]
        numbers = dict(await membership.member_numbers(session, ids)) if ids else {}
    return [case_read(c, found, audience=audience,
                      member_no=numbers.get(c.member_id) if c.member_id else None)
            for c in rows]


async def federation_of(session: AsyncSession, caller: Caller) -> uuid.UUID:
    return (await directory.my_directory(session, caller)).hq.id


async def ledger(session: AsyncSession, *, status: str | None, route: str | None,
                 category: str | None, channel: str | None, after: After,
                 limit: int, tier: str | None = None) -> Sequence[Case]:
    """需求台账: the staff caller's cases (its subtree's and its units'), newest first."""
    return await repository.page(session, status=status, route=route, category=category,
                                 channel=channel, tier=tier, after=after, limit=limit)


async def awaiting_acceptance(session: AsyncSession, caller: Caller, *,
                              limit: int) -> Sequence[Case]:
    """待接单: cases assigned to the caller's own unit as lead, not yet accepted."""
    return await repository.awaiting_acceptance(session, caller.tenant_id, limit=limit)


async def mine(session: AsyncSession, caller: Caller, *, status: str | None, after: After,
               limit: int) -> Sequence[Case]:
    return await repository.page(session, worker_id=uuid.UUID(caller.subject), status=status,
                                 after=after, limit=limit)


async def addressed(session: AsyncSession, *, status: str | None, after: After,
                    limit: int) -> Sequence[Case]:
    """The calling partner's cases: those with an open assignment to it."""
    ids = await repository.partner_case_ids(session)
    return await repository.page(session, only=ids, status=status, after=after, limit=limit)


def status_label(status: str) -> tuple[str, str]:
    return STATUSES[status]


async def returned_list(session: AsyncSession, *, category: str | None, route: str | None,
                        tier: str | None, after: After, limit: int) -> list[QueueRow]:
    """退回件 in the caller's scope, the latest return first (`limit` rows, the cursor's +1)."""
    rows = await repository.returned(session, category=category, route=route, tier=tier,
                                     after=after, limit=limit)
    if not rows:
        return []
    found = await names(session, rows[0].federation_id)
    reasons = await repository.return_reasons(session, [c.id for c in rows])
    return [queue_row(c, found, None, reasons.get(c.id)) for c in rows]


async def open_list(session: AsyncSession, *, status: str | None, category: str | None,
                    route: str | None, tier: str | None, unit: str | None, after: After,
                    limit: int, federation_id: uuid.UUID) -> list[QueueRow]:
    """Open cases in the caller's scope with their status and handling unit, newest first."""
    found = await names(session, federation_id)
    unit_id = None
    if unit is not None:
        unit_id = next((i for i, code in found.tenants.items() if code == unit), None)
        if unit_id is None:
            raise _unknown("组织", "tenant", "unknown_unit", unit)
    rows = await repository.open_cases(session, status=status, category=category, route=route,
                                       tier=tier, unit=unit_id, after=after, limit=limit)
    return [queue_row(c, found, u) for c, u in rows]
