"""调解与法律援助衔接: each region's providers (调解组织, 法律援助站, 劳动人事争议仲裁院), the
nearest ones to where a worker works, and a case referred to one.

- A provider is kept by a region (`tenant_id`): HQ and regional admins create and change
  the providers of their own subtree; every staff member, partner and worker of the
  federation reads the directory (public information: where to go). It names the tenants it
  serves (inside its region's subtree), its opening hours (the stations' shape,
  geo/stations/hours.py) and, when it takes bookings, the length of a slot.
- `nearest`: the federation's active providers by geodesic distance (pyproj's WGS84
  ellipsoid over the rows: a federation keeps tens of providers, not the thousands of
  stations the geo index is built for), each saying whether it serves the point's
  jurisdiction.
- A referral of a case (staff of the case's handling union, whose subtree holds the case's
  tenant) books a slot — on the provider's grid of `slot_minutes` within its hours, in the
  future, once (a partial UNIQUE index: two bookings of one slot at once, one wins) — or
  records a hand-over (what was sent, to whom, when). Cancelling frees the slot. Every step
  is audited; the worker reads the referrals of its own case with where to go, and its
  inbox says where to go when the referral is made, and that it was cancelled (one notice
  per referral and per cancellation, in its transaction; an SMS after the commit when opted
  in).
- A provider logs in with a machine client of its own (cases/provider_desk/, migration 0041)
  and reads only the referrals made to it; its receipts show here, on each referral."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from pyproj import Geod
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.cases.ledger.models import Case
from flexunion.cases.ledger.service import access_case, own_case
from flexunion.cases.referrals import repository
from flexunion.cases.referrals.models import CaseReferral, ReferralProvider
from flexunion.cases.referrals.schemas import (
    NearestProvider,
    NearestProviders,
    ProviderCreate,
    ProviderRead,
    ProviderUpdate,
    ReferralCreate,
    ReferralRead,
    provider_read,
    referral_read,
)
from flexunion.core.clock import BEIJING
from flexunion.core.context import ADMIN_ROLES, Caller, Role
from flexunion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from flexunion.db import rls
from flexunion.federation import directory
from flexunion.federation.directory import Directory
from flexunion.geo.areas.service import jurisdiction_of
from flexunion.geo.crs import Crs, from_wgs84, wgs84_point
from flexunion.geo.registry import GeoRegistry
from flexunion.geo.stations import hours as h
from flexunion.geo.stations.service import checked_hours
from flexunion.inbox import service as inbox

GEOD = Geod(ellps="WGS84")
ENDED = frozenset({"closed", "merged"})
MANAGERS = frozenset({Role.HQ_ADMIN, Role.REGIONAL_ADMIN})


def _managers_only(caller: Caller) -> None:
    if caller.role not in MANAGERS:
        raise Forbidden("调解和法律援助机构由总部或地区工会维护。",
                        "HQ and regional admins keep the providers.", code="providers_admin_only")


def _unknown_provider(code: str) -> InvalidInput:
    return InvalidInput(f"没有编码为 {code} 的调解或法律援助机构。", f"No provider '{code}'.",
                        code="unknown_provider", extra={"provider": code})


def _ancestors(tenants: Directory, tenant_id: uuid.UUID) -> set[uuid.UUID]:
    """The tenant and every tenant above it."""
    out: set[uuid.UUID] = set()
    entry = tenants.by_id.get(tenant_id)
    while entry is not None and entry.id not in out:
        out.add(entry.id)
        entry = tenants.get(entry.parent_code) if entry.parent_code else None
    return out


def serves(tenants: Directory, provider: ReferralProvider, tenant_id: uuid.UUID) -> bool:
    return bool(_ancestors(tenants, tenant_id) & set(provider.serves))


async def _served(session: AsyncSession, tenants: Directory, region_id: uuid.UUID,
                  codes: Sequence[str]) -> list[uuid.UUID]:
    out: list[uuid.UUID] = []
    for code in dict.fromkeys(codes):
        entry = tenants.get(code)
        if entry is None or region_id not in _ancestors(tenants, entry.id):
            raise InvalidInput(f"{code} 不是该地区工会辖下的组织。",
                               f"'{code}' is not a tenant within the provider's region.",
                               code="served_tenant_unknown", extra={"tenant": code})
        out.append(entry.id)
    return out


def _point(lon: float, lat: float, crs: str) -> tuple[float, float]:
    return wgs84_point(lon, lat, Crs(crs))


async def _in_subtree(session: AsyncSession, tenant_id: uuid.UUID, code: str) -> None:
    if not await rls.in_scope(session, tenant_id):
        raise Forbidden(f"{code} 不在您的管辖范围内。", f"'{code}' is outside your subtree.",
                        code="provider_outside_subtree", extra={"tenant": code})


# ---- providers ---------------------------------------------------------------------------


async def create_provider(session: AsyncSession, caller: Caller, data: ProviderCreate, *,
                          now: datetime) -> ReferralProvider:
    _managers_only(caller)
    fed = await directory.federation_of(session, caller)
    tenants = await directory.directory(session, fed)
    region_code = data.region or caller.tenant_code
    region = tenants.get(region_code)
    if region is None:
        raise InvalidInput(f"{region_code} 不是本联合会的组织。",
                           f"'{region_code}' is not a tenant of this federation.",
                           code="unknown_region", extra={"region": region_code})
    await _in_subtree(session, region.id, region.code)
    lon, lat = _point(data.location.lon, data.location.lat, data.location.crs)
    row = ReferralProvider(
        id=uuid.uuid4(), federation_id=fed, tenant_id=region.id, code=data.code, kind=data.kind,
        name_zh=data.name_zh.strip(), name_en=data.name_en.strip(),
        address=data.address.strip(), lon=lon, lat=lat,
        serves=await _served(session, tenants, region.id, data.serves),
        opening_hours=checked_hours(data.opening_hours), phone=data.phone,
        slot_minutes=data.slot_minutes, active=True, created_by=caller.principal,
        created_at=now, updated_at=now)
    try:
        async with session.begin_nested():
            repository.add(session, row)
            await repository.flush(session)
    except IntegrityError as exc:
        raise Conflict(f"机构编码 {data.code} 已存在。", f"Provider '{data.code}' exists.",
                       code="provider_code_taken") from exc
    await audit.record(session, "referral_provider.created", tenant_id=region.id,
                       object_type="referral_provider", object_id=row.id,
                       payload={"code": row.code, "kind": row.kind})
    return row


async def _provider(session: AsyncSession, fed: uuid.UUID, code: str, *,
                    lock: bool = False) -> ReferralProvider:
    row = await repository.provider(session, fed, code, lock=lock)
    if row is None:
        raise NotFound("没有该调解或法律援助机构。", "No such provider.",
                       code="provider_not_found")
    return row


async def update_provider(session: AsyncSession, caller: Caller, code: str,
                          data: ProviderUpdate, *, now: datetime) -> ReferralProvider:
    _managers_only(caller)
    fed = await directory.federation_of(session, caller)
    tenants = await directory.directory(session, fed)
    row = await _provider(session, fed, code)
    region = tenants.by_id[row.tenant_id]
    await _in_subtree(session, row.tenant_id, region.code)
    row = await _provider(session, fed, code, lock=True)
    changed: list[str] = []
    for field in ("name_zh", "name_en", "address", "phone", "slot_minutes", "active"):
        value = getattr(data, field)
        if value is not None:
            setattr(row, field, value.strip() if isinstance(value, str) else value)
            changed.append(field)
    if data.location is not None:
        row.lon, row.lat = _point(data.location.lon, data.location.lat, data.location.crs)
        changed.append("location")
    if data.serves is not None:
        row.serves = await _served(session, tenants, row.tenant_id, data.serves)
        changed.append("serves")
    if data.opening_hours is not None:
        row.opening_hours = checked_hours(data.opening_hours)
        changed.append("opening_hours")
    row.updated_at = now
    await repository.flush(session)
    await audit.record(session, "referral_provider.updated", tenant_id=row.tenant_id,
                       object_type="referral_provider", object_id=row.id,
                       payload={"code": code, "fields": sorted(changed)})
    return row


async def providers(session: AsyncSession, caller: Caller, *, region: str | None,
                    kind: str | None) -> tuple[Sequence[ReferralProvider], Directory]:
    fed = await directory.federation_of(session, caller)
    tenants = await directory.directory(session, fed)
    tenant_id = None
    if region is not None:
        entry = tenants.get(region)
        if entry is None:
            raise InvalidInput(f"{region} 不是本联合会的组织。",
                               f"'{region}' is not a tenant of this federation.",
                               code="unknown_region", extra={"region": region})
        tenant_id = entry.id
    return await repository.providers(session, fed, tenant_id=tenant_id, kind=kind), tenants


def read_provider(row: ReferralProvider, tenants: Directory,
                  crs: Crs = Crs.WGS84) -> ProviderRead:
    codes = {e.id: e.code for e in tenants.by_id.values()}
    return provider_read(row, codes, point=from_wgs84(row.lon, row.lat, crs), crs=crs.value)


async def provider_view(session: AsyncSession, caller: Caller,
                        row: ReferralProvider) -> ProviderRead:
    return read_provider(row, await directory.directory(session, row.federation_id))


async def nearest(session: AsyncSession, geo: GeoRegistry, caller: Caller, *, lon: float,
                  lat: float, crs: Crs, kind: str | None, limit: int) -> NearestProviders:
    """The federation's active providers, nearest first (geodesic metres)."""
    x, y = wgs84_point(lon, lat, crs)
    fed = await directory.federation_of(session, caller)
    tenants = await directory.directory(session, fed)
    rows = list(await repository.providers(session, fed, kind=kind, active_only=True))
    snapshot = await geo.get(fed)
    hit = jurisdiction_of(snapshot.areas.resolve(x, y))
    here = hit.area.tenant_id if hit is not None else None
    found: list[tuple[float, ReferralProvider]] = []
    if rows:
        n = len(rows)
        _, _, dist = GEOD.inv([x] * n, [y] * n, [r.lon for r in rows], [r.lat for r in rows])
        found = sorted(zip((float(d) for d in dist), rows, strict=True),
                       key=lambda p: (p[0], p[1].code))
    return NearestProviders(
        jurisdiction=hit.area.code if hit is not None else None,
        providers=[NearestProvider(provider=read_provider(r, tenants, crs),
                                   distance_m=round(d, 1),
                                   serves_here=here is not None and serves(tenants, r, here))
                   for d, r in found[:limit]])


# ---- referrals ---------------------------------------------------------------------------


def _slot(provider: ReferralProvider, start: datetime, now: datetime) -> datetime:
    """The slot's end, if `start` is a future slot on the provider's grid within its hours."""
    if provider.slot_minutes is None:
        raise Conflict("该机构不接受预约，请记录移交。",
                       "This provider takes no bookings; record a hand-over.",
                       code="provider_takes_no_bookings", extra={"provider": provider.code})
    if start.tzinfo is None or start.utcoffset() is None:
        raise InvalidInput("预约时间须带时区。", "A slot's start carries a timezone.",
                           code="slot_invalid")
    if start <= now:
        raise InvalidInput("预约时间须在现在之后。", "A slot starts in the future.",
                           code="slot_in_past")
    local = start.astimezone(BEIJING)
    minute = local.hour * 60 + local.minute
    step = provider.slot_minutes
    for begin, end in (((int(a[:2]) * 60 + int(a[3:])),
                        (24 * 60 if b == "24:00" else int(b[:2]) * 60 + int(b[3:])))
                       for a, b in h.hours_on(provider.opening_hours, local.date())):
        if (local.second == 0 and local.microsecond == 0 and begin <= minute
                and minute + step <= end and (minute - begin) % step == 0):
            return start + timedelta(minutes=step)
    raise InvalidInput("该时段不在机构的开放时间或预约时段内。",
                       "The slot is not on the provider's grid within its opening hours.",
                       code="slot_outside_hours",
                       extra={"slot_minutes": step, "hours": h.hours_on(provider.opening_hours,
                                                                        local.date())})


async def _handling(session: AsyncSession, caller: Caller, case_id: uuid.UUID, *,
                    lock: bool = False) -> Case:
    if caller.role not in ADMIN_ROLES:
        raise Forbidden("转介由办理诉求的工会工作人员进行。",
                        "Staff of the handling union refer a case.", code="referral_staff_only")
    case = await access_case(session, case_id, lock=lock)
    if not await rls.in_scope(session, case.tenant_id):
        raise Forbidden("只有办理该诉求的工会可以转介。",
                        "Only the case's handling union refers it.",
                        code="case_not_handled_here")
    return case


async def refer(session: AsyncSession, caller: Caller, case_id: uuid.UUID,
                data: ReferralCreate, *, now: datetime) -> CaseReferral:
    if (data.booking is None) == (data.handover is None):
        raise InvalidInput("请选择预约时段或记录移交，二者选一。",
                           "Give exactly one of a booking or a hand-over.",
                           code="referral_mode_required")
    case = await _handling(session, caller, case_id, lock=True)
    if case.status in ENDED:
        raise Conflict("该诉求已结束，不能转介。", "The case has ended.",
                       code="case_not_open", extra={"case_status": case.status})
    tenants = await directory.directory(session, case.federation_id)
    provider = await repository.provider(session, case.federation_id, data.provider)
    if provider is None:
        raise _unknown_provider(data.provider)
    if not provider.active:
        raise Conflict("该机构已停用。", "The provider is inactive.", code="provider_inactive",
                       extra={"provider": provider.code})
    if not serves(tenants, provider, case.tenant_id):
        raise InvalidInput("该机构不服务此诉求的实际工作地。",
                           "The provider does not serve the case's place of work.",
                           code="provider_not_serving", extra={"provider": provider.code})
    row = CaseReferral(id=uuid.uuid4(), federation_id=case.federation_id,
                       tenant_id=case.tenant_id, case_id=case.id, provider_id=provider.id,
                       note=data.note, created_by=caller.principal, created_at=now)
    if data.booking is not None:
        row.mode, row.status = "booking", "booked"
        row.slot_end = _slot(provider, data.booking.start, now)
        row.slot_start = data.booking.start
    else:
        assert data.handover is not None
        sent_at = data.handover.sent_at
        if sent_at.tzinfo is None or sent_at.utcoffset() is None or \
                sent_at > now + timedelta(minutes=5):
            raise InvalidInput("移交时间须带时区，且不晚于现在。",
                               "A hand-over's time carries a timezone and is not in the future.",
                               code="handover_time_invalid")
        row.mode, row.status = "handover", "handed_over"
        row.sent_what, row.sent_to = data.handover.sent_what.strip(), data.handover.sent_to
        row.sent_at = sent_at
    try:
        async with session.begin_nested():
            repository.add(session, row)
            await repository.flush(session)
    except IntegrityError:  # the same slot booked at once: the first won
        raise Conflict("该时段已被预约。", "The slot is already booked.", code="slot_taken",
                       extra={"provider": provider.code,
                              "start": row.slot_start.isoformat() if row.slot_start
                              else None}) from None
    await audit.record(session, f"case.referral.{row.mode}", tenant_id=case.tenant_id,
                       object_type="case", object_id=case.id,
                       payload={"case_no": case.case_no, "referral_id": str(row.id),
                                "provider": provider.code,
                                "slot_start": row.slot_start.isoformat() if row.slot_start
                                else None, "sent_to": row.sent_to})
    if case.worker_id is not None:  # tell the worker where to go (an anonymous case: nobody)
        where_zh, where_en = where_to_go(provider, row)
        await inbox.case_referred(
            session, federation_id=case.federation_id, tenant_id=case.tenant_id,
            worker_id=case.worker_id, case_id=case.id, case_no=case.case_no,
            status=case.status, where_zh=where_zh, where_en=where_en, now=now)
    return row


def where_to_go(provider: ReferralProvider, row: CaseReferral) -> tuple[str, str]:
    """What the worker's inbox says of a referral: the provider, its address and phone, and
    the booked slot (Beijing time) or that the case was handed over to it."""
    phone_zh = f"，电话 {provider.phone}" if provider.phone else ""
    phone_en = f", phone {provider.phone}" if provider.phone else ""
    if row.slot_start is not None:
        at = row.slot_start.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
        return (f"请于 {at}（北京时间）前往{provider.name_zh}（{provider.address}{phone_zh}）",
                f"go to {provider.name_en} ({provider.address}{phone_en}) at {at} Beijing time")
    return (f"已移交{provider.name_zh}，请前往或致电联系（{provider.address}{phone_zh}）",
            f"handed over to {provider.name_en}; visit or call them ({provider.address}"
            f"{phone_en})")


async def cancel(session: AsyncSession, caller: Caller, case_id: uuid.UUID,
                 referral_id: uuid.UUID, reason: str, *, now: datetime) -> CaseReferral:
    case = await _handling(session, caller, case_id)
    row = await repository.referral(session, case.id, referral_id, lock=True)
    if row is None:
        raise NotFound("没有该转介记录。", "No such referral.", code="referral_not_found")
    if row.status == "cancelled":
        raise Conflict("该转介已取消。", "The referral is already cancelled.",
                       code="referral_cancelled")
    row.status, row.cancelled_by, row.cancelled_at = "cancelled", caller.principal, now
    row.cancel_reason = reason.strip()
    await repository.flush(session)
    await audit.record(session, "case.referral.cancelled", tenant_id=case.tenant_id,
                       object_type="case", object_id=case.id,
                       payload={"case_no": case.case_no, "referral_id": str(row.id),
                                "reason": row.cancel_reason})
    if case.worker_id is not None:  # the worker hears it (a booked slot of theirs is free)
        found = await repository.providers_by_id(session, [row.provider_id])
        p = found[row.provider_id]
        await inbox.referral_cancelled(
            session, federation_id=case.federation_id, tenant_id=case.tenant_id,
            worker_id=case.worker_id, case_id=case.id, case_no=case.case_no,
            status=case.status, provider_zh=p.name_zh, provider_en=p.name_en,
            reason=row.cancel_reason, now=now)
    return row


async def reads(session: AsyncSession, rows: Sequence[CaseReferral], federation_id: uuid.UUID,
                crs: Crs = Crs.WGS84) -> list[ReferralRead]:
    tenants = await directory.directory(session, federation_id)
    found = await repository.providers_by_id(session, [r.provider_id for r in rows])
    receipts = await repository.receipts_of(session, [r.id for r in rows])
    return [referral_read(r, read_provider(found[r.provider_id], tenants, crs), receipts[r.id])
            for r in rows]


async def read_one(session: AsyncSession, row: CaseReferral) -> ReferralRead:
    return (await reads(session, [row], row.federation_id))[0]


async def staff_list(session: AsyncSession, caller: Caller,
                     case_id: uuid.UUID) -> list[ReferralRead]:
    case = await access_case(session, case_id)
    return await reads(session, await repository.referrals(session, case.id), case.federation_id)


async def my_list(session: AsyncSession, caller: Caller, case_id: uuid.UUID,
                  crs: Crs) -> list[ReferralRead]:
    """The worker's own case's referrals: where to go (in the worker's map system)."""
    case = await own_case(session, caller, case_id)
    return await reads(session, await repository.referrals(session, case.id),
                       case.federation_id, crs)
