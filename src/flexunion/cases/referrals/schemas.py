"""调解与法律援助衔接 — what staff send about providers and referrals, and what everyone reads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from flexunion.cases.ledger.schemas import Code, Label, Reason, Short
from flexunion.cases.referrals.models import CaseReferral, ReferralProvider, ReferralReceipt

Kind = Literal["mediation", "legal_aid", "arbitration"]
KINDS: dict[str, tuple[str, str]] = {
    "mediation": ("调解组织", "Mediation organisation"),
    "legal_aid": ("法律援助站", "Legal aid station"),
    "arbitration": ("劳动人事争议仲裁院", "Labour dispute arbitration"),
}
MODES: dict[str, tuple[str, str]] = {
    "booking": ("预约时段", "Booked slot"),
    "handover": ("移交", "Hand-over"),
}
STATUSES: dict[str, tuple[str, str]] = {
    "booked": ("已预约", "Booked"),
    "handed_over": ("已移交", "Handed over"),
    "cancelled": ("已取消", "Cancelled"),
}
# 机构回执: what a provider records of a referral it received (migration 0041).
RECEIPTS: dict[str, tuple[str, str]] = {
    "received": ("已接收", "Received"),
    "accepted": ("已受理", "Accepted"),
    "declined": ("不予受理", "Declined"),
    "closed": ("已办结", "Closed"),
}
CrsName = Literal["wgs84", "gcj02", "bd09"]
Lon = Annotated[float, msgspec.Meta(ge=-180, le=180)]
Lat = Annotated[float, msgspec.Meta(ge=-90, le=90)]
SlotMinutes = Annotated[int, msgspec.Meta(ge=10, le=480)]
Phone = Annotated[str, msgspec.Meta(min_length=3, max_length=40, pattern=r"^[0-9+\- ()]+$")]
Codes = Annotated[list[Code], msgspec.Meta(min_length=1, max_length=200)]


def _label(table: dict[str, tuple[str, str]], code: str) -> Label:
    zh, en = table[code]
    return Label(code=code, zh=zh, en=en)


class Location(msgspec.Struct, forbid_unknown_fields=True):
    lon: Lon
    lat: Lat
    crs: CrsName = "wgs84"


class ProviderCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A provider of a region (default: my own tenant); `serves` are tenant codes of the
    federation inside that region's subtree; `slot_minutes` set: it takes bookings of that
    length within its hours; unset: referrals to it are hand-overs only."""

    code: Code
    kind: Kind
    name_zh: Short
    name_en: Short
    address: Short
    location: Location
    serves: Codes
    opening_hours: dict[str, Any]
    region: Code | None = None
    phone: Phone | None = None
    slot_minutes: SlotMinutes | None = None


class ProviderUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name_zh: Short | None = None
    name_en: Short | None = None
    address: Short | None = None
    location: Location | None = None
    serves: Codes | None = None
    opening_hours: dict[str, Any] | None = None
    phone: Phone | None = None
    slot_minutes: SlotMinutes | None = None
    active: bool | None = None


class MapPoint(msgspec.Struct):
    lon: float
    lat: float
    crs: str


class ProviderRead(msgspec.Struct):
    id: uuid.UUID
    code: str
    kind: Label
    name_zh: str
    name_en: str
    address: str
    location: MapPoint
    region: str
    serves: list[str]
    opening_hours: dict[str, Any]
    phone: str | None
    slot_minutes: int | None
    active: bool


class NearestProvider(msgspec.Struct):
    provider: ProviderRead
    distance_m: float
    serves_here: bool


class NearestProviders(msgspec.Struct):
    """Nearest first by geodesic distance; `serves_here` when the point's jurisdiction is
    one the provider serves (or lies below one)."""

    jurisdiction: str | None
    providers: list[NearestProvider]


class Booking(msgspec.Struct, forbid_unknown_fields=True):
    """A slot: its start (with a timezone), on the provider's slot grid within its hours."""

    start: datetime


class Handover(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What was sent, to whom, when."""

    sent_what: Reason
    sent_to: Short
    sent_at: datetime


class ReferralCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Exactly one of `booking` or `handover`."""

    provider: Code
    booking: Booking | None = None
    handover: Handover | None = None
    note: Reason | None = None


class CancelCreate(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


class ReceiptRead(msgspec.Struct):
    """One receipt of the provider: its step, a decline's reason, a closing's outcome."""

    seq: int
    status: Label
    reason: str | None
    outcome: str | None
    note: str | None
    recorded_at: str


class ReferralRead(msgspec.Struct):
    """Where to go: the provider's address, hours and map point, and the slot or hand-over;
    the provider's receipts, oldest first, and the latest one's step (`provider_status`)."""

    id: uuid.UUID
    case_id: uuid.UUID
    mode: Label
    status: Label
    provider: ProviderRead
    slot_start: str | None
    slot_end: str | None
    sent_what: str | None
    sent_to: str | None
    sent_at: str | None
    note: str | None
    created_at: str
    cancelled_at: str | None
    cancel_reason: str | None
    provider_status: Label | None = None
    receipts: list[ReceiptRead] = []


def provider_read(row: ReferralProvider, codes: dict[uuid.UUID, str], *,
                  point: tuple[float, float], crs: str) -> ProviderRead:
    return ProviderRead(
        id=row.id, code=row.code, kind=_label(KINDS, row.kind), name_zh=row.name_zh,
        name_en=row.name_en, address=row.address,
        location=MapPoint(lon=point[0], lat=point[1], crs=crs),
        region=codes.get(row.tenant_id, ""), serves=sorted(codes.get(t, str(t))
                                                           for t in row.serves),
        opening_hours=row.opening_hours, phone=row.phone, slot_minutes=row.slot_minutes,
        active=row.active)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def receipt_read(row: ReferralReceipt) -> ReceiptRead:
    return ReceiptRead(seq=row.seq, status=_label(RECEIPTS, row.status), reason=row.reason,
                       outcome=row.outcome, note=row.note,
                       recorded_at=row.recorded_at.isoformat())


def referral_read(row: CaseReferral, provider: ProviderRead,
                  receipts: Sequence[ReferralReceipt] = ()) -> ReferralRead:
    return ReferralRead(
        id=row.id, case_id=row.case_id, mode=_label(MODES, row.mode),
        status=_label(STATUSES, row.status), provider=provider,
        slot_start=_iso(row.slot_start), slot_end=_iso(row.slot_end), sent_what=row.sent_what,
        sent_to=row.sent_to, sent_at=_iso(row.sent_at), note=row.note,
        created_at=row.created_at.isoformat(), cancelled_at=_iso(row.cancelled_at),
        cancel_reason=row.cancel_reason,
        provider_status=_label(RECEIPTS, receipts[-1].status) if receipts else None,
        receipts=[receipt_read(r) for r in receipts])
