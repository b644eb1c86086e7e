"""统一受理 — what a filing sends: the demand and where the worker works."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from flexunion.cases.ledger.schemas import Category, Code, Short, Tag, Text, Tier

StaffChannel = Literal["station", "visit", "hotline"]
EmploymentForm = Literal["dedicated", "crowdsourced", "franchise", "direct", "outsourced"]
CrsName = Literal["wgs84", "gcj02", "bd09"]
Lon = Annotated[float, msgspec.Meta(ge=-180, le=180)]
Lat = Annotated[float, msgspec.Meta(ge=-90, le=90)]


class Point(msgspec.Struct, forbid_unknown_fields=True):
    lon: Lon
    lat: Lat
    crs: CrsName = "wgs84"


class Where(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Where the worker actually works: one of a station (its code), a delivery zone the
    worker names, or a point resolved to its jurisdiction."""

    station: Code | None = None
    zone: Code | None = None
    point: Point | None = None


class Demand(Where, kw_only=True):
    category: Category
    description: Text
    partner: Code | None = None
    employment_form: EmploymentForm | None = None
    tags: Annotated[list[Tag], msgspec.Meta(max_length=5)] = []
    tier: Tier = "general"


class WorkerCaseCreate(Demand, kw_only=True):
    """A worker's own demand from the app (needs Idempotency-Key)."""


class EnteredDemand(Demand, kw_only=True):
    """A demand entered for a worker: a member by number, or anyone by name and phone (kept
    masked only)."""

    channel: StaffChannel
    member_no: Short | None = None
    contact_name: Short | None = None
    contact_phone: Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9]{7,15}$")] | None = None


PresentedCard = Annotated[str, msgspec.Meta(
    min_length=1, max_length=4096,
    description="The worker's membership card as presented (the compact JWS its QR code "
                "carries): verified like POST /v1/cards/verify, and the member it names is "
                "linked to the case wherever in the federation they are homed")]


class StaffCaseCreate(EnteredDemand, kw_only=True):
    """现场受理 / 走访 / 12351 热线: entered by staff for a worker — a member by number or by
    the card they present (扫码识别会员), or anyone by name and phone (kept masked only)."""

    card: PresentedCard | None = None


class HotlineOrder(EnteredDemand, kw_only=True):
    """A 12351 work order pushed by the hotline platform; `order_no` makes it idempotent."""

    order_no: Short
    channel: StaffChannel = "hotline"
