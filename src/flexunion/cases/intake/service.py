"""统一受理: a demand enters the ledger once, from any channel, with where the worker
actually works (what each caller may read of it: cases/ledger/).

Channels: the worker app (the worker's own token, Idempotency-Key), a station walk-in
(现场受理) or a cadre's visit (走访) entered by staff, a 12351 call entered by a hotline
operator, a 12351 work order pushed by the hotline platform's machine client (idempotent by
its order number: the same number and body give the same case, another body 409), and the
anonymous suggestion link (意见收集二维码, cases/suggestions/).

Where the worker works (the case's tenant, which handles it and whose ancestors see it):
the station named, the tenant owning the delivery zone named, or the jurisdiction the point
falls in (geo's spatial index); staff may leave it out for their own tenant. A duplicate —
another open case of the same worker and category — is never refused nor dropped: the 201
lists it in `duplicate_of`, and the explicit 并单 step (cases/handling/) joins them.

SLA clocks are not kept here: every step is a `case_events` row written by `record`, which
re-derives the case's clocks from its events in the same transaction (cases/clocks/)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.cases.intake import repository as intake_repository
from flexunion.cases.intake.schemas import (
    Demand,
    EnteredDemand,
    HotlineOrder,
    StaffCaseCreate,
    Where,
    WorkerCaseCreate,
)
from flexunion.cases.ledger import repository
from flexunion.cases.ledger.models import Case
from flexunion.cases.ledger.service import new_case_no, record, tell_worker, unknown
from flexunion.cases.policies import repository as policies_repository
from flexunion.core.context import ADMIN_ROLES, Caller
from flexunion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from flexunion.core.logs import mask_phone
from flexunion.db import rls
from flexunion.federation import directory
from flexunion.federation.directory import Directory, DirectoryEntry
from flexunion.geo.areas.service import jurisdiction_of
from flexunion.geo.crs import Crs, wgs84_point
from flexunion.geo.registry import GeoRegistry
from flexunion.membership import service as membership
from flexunion.membership.cards import service as cards
from flexunion.membership.identity import mask_name

# The cards service's check of a presented card, under the caller's scope (POST /v1/cards/verify
# and the console's card check use the same verifier of this instance).
CardCheck = Callable[[str], Awaitable[cards.Verdict]]


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
            raise unknown("站点", "station", "unknown_station", where.station)
        return station, {"station": station.code}, station.partner_code
    if where.zone is not None or where.point is not None:
        snapshot = await geo.get(tenants.hq.id)
        if where.zone is not None:
            ref = next((r for r in snapshot.areas.refs
                        if r.kind == "delivery_zone" and r.code == where.zone), None)
            if ref is None:
                raise unknown("配送片区", "delivery zone", "unknown_zone", where.zone)
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
                    actor: str | None = None, member_by: str | None = None) -> None:
    repository.add(session, case)
    await repository.flush(session)
    details: dict[str, Any] = {"channel": case.channel, "category": case.category,
                               "tier": case.tier, "place": case.place}
    if member_by is not None:  # 扫码识别会员: the member was named by the card they presented
        details["member_by"] = member_by
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
                        data: EnteredDemand, *, hotline: bool = False) -> dict[str, Any]:
    contact = _contact(data)
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


def _contact(data: EnteredDemand) -> dict[str, Any]:
    contact: dict[str, Any] = {}
    if data.contact_name:
        contact["name_masked"] = mask_name(data.contact_name)
    if data.contact_phone:
        contact["phone_masked"] = mask_phone(data.contact_phone)
    return contact


def card_refused(reason: str, status: str | None = None) -> InvalidInput:
    """A presented card the cards service did not accept: 422 `card_<reason>`, the verdict's
    own reason (docs/api.md, "Online verification"), nothing written."""
    zh, en = cards.REASONS[reason]
    return InvalidInput(f"会员卡未通过核验：{zh}。未录入台账。",
                        f"The membership card was refused: {en}. Nothing was entered.",
                        code=f"card_{reason}",
                        extra={"card_reason": reason, "reason_zh": zh}
                        | ({"member_status": status} if status else {}))


async def _card_fields(session: AsyncSession, caller: Caller, data: StaffCaseCreate,
                       check: CardCheck | None) -> dict[str, Any]:
    """扫码识别会员: the member a presented card names, anywhere in the federation. Only a card
    the cards service answers `ok` for (signed by this federation's key, in date, the holder
    active now) links; the case keeps what the card shows (masked name, home), nothing more."""
    assert data.card is not None
    if caller.role not in ADMIN_ROLES or check is None:  # as POST /v1/cards/verify
        raise Forbidden("12351 话务员不核验会员卡；请填写会员号。",
                        "A 12351 operator does not check membership cards; give the number.",
                        code="card_check_not_allowed")
    verdict = await check(data.card)
    if not verdict.valid:
        raise card_refused(verdict.reason, verdict.status)
    holder = verdict.holder
    assert holder is not None and verdict.member_id and verdict.federation_id
    if data.member_no is not None and data.member_no != holder.member_no:
        raise InvalidInput(f"会员号 {data.member_no} 与会员卡不符。",
                           f"Member number '{data.member_no}' is not the card's.",
                           code="card_member_mismatch", extra={"member_no": data.member_no})
    found = await membership.member_by_card(session, verdict.federation_id, verdict.member_id)
    if found is None:
        raise card_refused("unknown_member")
    worker_id, status = found
    if status != "active":  # changed since the check read it: the status now decides
        raise card_refused(cards.reason_of(status), status)
    return {"contact": _contact(data) | {"name_masked": holder.name_masked,
                                         "home": holder.home_code},
            "is_member": True, "member_id": verdict.member_id, "worker_id": worker_id}


async def intake_by_staff(session: AsyncSession, geo: GeoRegistry, caller: Caller,
                          data: StaffCaseCreate, *, now: datetime,
                          check_card: CardCheck | None = None) -> Case:
    """现场受理 / 走访 / 12351 热线, entered the same day by staff of the place of work's
    union (or above it). With a presented card (`check_card` verifies it) the member it names
    is linked wherever they are homed; their home then reads the case (`home_sight`, 0045)."""
    tenants = await directory.my_directory(session, caller)
    own = tenants.by_id[caller.tenant_id]
    tenant, place, implied = await work_place(session, geo, tenants, data, default=own)
    if not await rls.in_scope(session, tenant.id):
        raise InvalidInput("只能为本级或下级工会受理诉求；请转交该地工会。",
                           "You take demands for your own union or those below it.",
                           code="work_place_outside_subtree", extra={"tenant": tenant.code})
    partner_id = await _partner_id(session, tenants.hq.id, data.partner or implied)
    fields = (await _card_fields(session, caller, data, check_card) if data.card is not None
              else await _staff_fields(session, tenants.hq.id, data))
    case = _case(data, federation_id=tenants.hq.id, tenant=tenant, place=place,
                 partner_id=partner_id, channel=data.channel, actor=caller.principal, now=now,
                 **fields)
    await _received(session, case, now, member_by="card" if data.card is not None else None)
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
    if partner_id is None or await policies_repository.intake_partner(session, partner_id,
                                                             "hotline") is None:
        raise NotFound("该平台客户端不是登记的 12351 工单平台。",
                       "This client is not a registered 12351 hotline platform.",
                       code="hotline_platform_unknown")
    digest = _digest(data)
    found = await intake_repository.by_external_ref(session, partner_id, data.order_no)
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
        found = await intake_repository.by_external_ref(session, partner_id, data.order_no)
        if found is None:
            raise
        if found.intake_digest != digest:
            raise _order_conflict(data.order_no, found) from None
        return found
    return case


async def intake_by_contract(session: AsyncSession, *, federation_id: uuid.UUID,
                             tenant_id: uuid.UUID, partner_id: uuid.UUID, category: str,
                             description: str, contract: dict[str, Any],
                             now: datetime) -> Case:
    """协议核验违约: a checkpoint's breach (or its evidence missing past the date) enters the
    ledger at the agreement's tenant, addressed to the agreement's platform, opened by the
    contracts-breach job's principal; `contract` (the clause, checkpoint, evidence and the
    failed values) goes on the intake event. No worker: nobody's inbox is told."""
    actor = await rls.principal(session)
    case = Case(
        id=uuid.uuid4(), federation_id=federation_id, tenant_id=tenant_id,
        case_no=new_case_no(now), category=category, description=description,
        employment_form=None, tags=[], tier="general", channel="contract_breach", place={},
        partner_id=partner_id, status="received", route=None, route_details={},
        created_by=actor, created_at=now, updated_at=now, closings=0, reopens=0,
        worker_id=None, member_id=None, is_member=False, contact={})
    repository.add(session, case)
    await repository.flush(session)
    details: dict[str, Any] = {"channel": case.channel, "category": case.category,
                               "tier": case.tier, "place": case.place, "contract": contract}
    await record(session, case, "intake", now=now, details=details)
    await audit.record(session, "case.received", tenant_id=case.tenant_id, object_type="case",
                       object_id=case.id, payload={"case_no": case.case_no, **details})
    return case
