"""问题提报、骑手/司机代表与代表提案 — what callers send and see.

A representative's view of a report never names the reporter (no member, worker or
tenant of the reporter); staff see the reporter as a member number only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64,
                                   pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")]
TopicName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Body = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
MemberNo = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
RepKind = Literal["station", "zone", "platform"]
ProposalStatus = Literal["submitted", "taken", "declined"]
Grouping = Literal["ungrouped", "grouped", "on_item"]


# ---- worker reports (问题提报) -----------------------------------------------------------


class ReportCreate(msgspec.Struct, forbid_unknown_fields=True):
    """`topic` one of the board's topics; `partner` the platform's code; `details` the
    topic's structured fields (any subset, none required); station and zone optional."""

    topic: TopicName
    partner: Code
    title: Title
    body: Body
    details: dict[str, Any] | None = None
    station_code: Code | None = None
    zone_code: Code | None = None


class Label(msgspec.Struct):
    code: str
    zh: str
    en: str


class TraceEntry(msgspec.Struct):
    """An item the report fed, as it stands now (after following merges)."""

    item_id: uuid.UUID
    title: str
    status: Label
    via_items: list[uuid.UUID]  # the merged items passed on the way (oldest first)


class ReportRead(msgspec.Struct, kw_only=True):
    """One report as its reporter sees it."""

    id: uuid.UUID
    topic: Label
    partner: str
    station_code: str | None
    zone_code: str | None
    title: str
    body: str
    details: dict[str, Any]
    created_at: datetime
    trace: list[TraceEntry] | None = None  # only on GET /v1/bargaining/reports/{id}


class RemitReportRead(msgspec.Struct, kw_only=True):
    """A report as a representative sees it: what was reported, never by whom."""

    id: uuid.UUID
    topic: Label
    partner: str
    station_code: str | None
    zone_code: str | None
    title: str
    body: str
    details: dict[str, Any]
    created_at: datetime
    grouped: bool  # already in one of my (not declined) proposals


class ReportAdminRead(msgspec.Struct, kw_only=True):
    """A report as staff see it: the reporter only as the member number."""

    id: uuid.UUID
    tenant: str  # the reporter's home when reporting (code)
    region: str
    member_no: str | None
    topic: Label
    partner: str
    station_code: str | None
    zone_code: str | None
    title: str
    body: str
    details: dict[str, Any]
    created_at: datetime
    grouping: Grouping


# ---- representatives (骑手/司机代表) -------------------------------------------------------


class RepresentativeCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Designate a member: `ref_code` is a station code (kind station), a delivery-zone
    code (zone) or a platform partner code (platform)."""

    member_no: MemberNo
    kind: RepKind
    ref_code: Code


class RepresentativeEnd(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


class RepresentativeRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    kind: Label
    ref_code: str
    partner: str | None
    tenant: str  # the designating union (code)
    tenant_name_zh: str
    tenant_name_en: str
    started_at: datetime
    ended_at: datetime | None = None


class RepresentativeAdminRead(RepresentativeRead, kw_only=True):
    member_id: uuid.UUID
    member_no: str | None
    designated_by: str
    ended_by: str | None = None


# ---- representatives' proposals (代表提案) ------------------------------------------------


class ProposalCreate(msgspec.Struct, forbid_unknown_fields=True):
    representative_id: uuid.UUID
    topic: TopicName
    partner: Code
    title: Title
    body: Body
    report_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=200)]
    details: dict[str, Any] | None = None


class ProposalDecline(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


class ProposalRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    representative_id: uuid.UUID
    tenant: str
    topic: Label
    partner: str
    title: str
    body: str
    details: dict[str, Any]
    status: Label
    report_ids: list[uuid.UUID]
    created_at: datetime
    decided_at: datetime | None = None
    decision_reason: str | None = None


class ProposalAdminRead(ProposalRead, kw_only=True):
    representative_kind: str
    representative_ref: str
    representative_member_no: str | None
    decided_by: str | None = None
