"""问题提报、骑手/司机代表与代表提案 — what callers send and see, and the pure mappings
from rows to it.

A representative's view of a report never names the reporter (no member, worker or
tenant of the reporter); staff see the reporter as a member number only."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from flexunion.bargaining.board.lifecycle import STATUSES
from flexunion.bargaining.board.models import AgendaItem
from flexunion.bargaining.board.topics import TOPICS
from flexunion.bargaining.reports.models import (
    PROPOSAL_STATUSES,
    REP_KINDS,
    ProblemReport,
    RepProposal,
    WorkerRepresentative,
)
from flexunion.federation.directory import DirectoryEntry

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64,
                                   pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}(?!\n)$")]
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


# ---- reading rows --------------------------------------------------------------------------


def _label(code: str, names: Mapping[str, tuple[str, str]]) -> Label:
    zh, en = names[code]
    return Label(code=code, zh=zh, en=en)


def topic_label(topic: str) -> Label:
    return _label(topic, TOPICS)


def trace_read(found: list[tuple[AgendaItem, list[uuid.UUID]]]) -> list[TraceEntry]:
    return [TraceEntry(item_id=item.id, title=item.title, status=_label(item.status, STATUSES),
                       via_items=passed) for item, passed in found]


def _report_fields(r: ProblemReport, codes: Mapping[uuid.UUID, str]) -> dict[str, Any]:
    return {"id": r.id, "topic": topic_label(r.topic), "partner": codes.get(r.partner_id, ""),
            "station_code": r.station_code, "zone_code": r.zone_code, "title": r.title,
            "body": r.body, "details": r.details, "created_at": r.created_at}


def report_read(r: ProblemReport, codes: Mapping[uuid.UUID, str],
                trace: list[TraceEntry] | None = None) -> ReportRead:
    return ReportRead(**_report_fields(r, codes), trace=trace)


def remit_read(r: ProblemReport, codes: Mapping[uuid.UUID, str], *,
               grouped: bool) -> RemitReportRead:
    return RemitReportRead(**_report_fields(r, codes), grouped=grouped)


def report_admin_read(r: ProblemReport, member_no: str | None, grouping: Grouping,
                      tenants: Mapping[uuid.UUID, DirectoryEntry],
                      codes: Mapping[uuid.UUID, str]) -> ReportAdminRead:
    home, region = tenants.get(r.tenant_id), tenants.get(r.region_id)
    return ReportAdminRead(**_report_fields(r, codes), tenant=home.code if home else "",
                           region=region.code if region else "", member_no=member_no,
                           grouping=grouping)


def rep_read(rep: WorkerRepresentative, tenants: Mapping[uuid.UUID, DirectoryEntry],
             codes: Mapping[uuid.UUID, str]) -> RepresentativeRead:
    tenant = tenants[rep.tenant_id]
    return RepresentativeRead(
        id=rep.id, kind=_label(rep.kind, REP_KINDS), ref_code=rep.ref_code,
        partner=codes.get(rep.partner_id) if rep.partner_id else None, tenant=tenant.code,
        tenant_name_zh=tenant.name_zh, tenant_name_en=tenant.name_en,
        started_at=rep.started_at, ended_at=rep.ended_at)


def rep_admin_read(rep: WorkerRepresentative, member_no: str | None,
                   tenants: Mapping[uuid.UUID, DirectoryEntry],
                   codes: Mapping[uuid.UUID, str]) -> RepresentativeAdminRead:
    base = rep_read(rep, tenants, codes)
    return RepresentativeAdminRead(
        **{f: getattr(base, f) for f in base.__struct_fields__}, member_id=rep.member_id,
        member_no=member_no, designated_by=rep.designated_by, ended_by=rep.ended_by)


def proposal_read(p: RepProposal, report_ids: list[uuid.UUID], tenant_code: str,
                  codes: Mapping[uuid.UUID, str]) -> ProposalRead:
    return ProposalRead(
        id=p.id, representative_id=p.representative_id, tenant=tenant_code,
        topic=topic_label(p.topic), partner=codes.get(p.partner_id, ""), title=p.title,
        body=p.body, details=p.details, status=_label(p.status, PROPOSAL_STATUSES),
        report_ids=report_ids, created_at=p.created_at, decided_at=p.decided_at,
        decision_reason=p.decision_reason)


def proposal_admin_read(p: RepProposal, rep: WorkerRepresentative, member_no: str | None,
                        report_ids: list[uuid.UUID], tenant_code: str,
                        codes: Mapping[uuid.UUID, str]) -> ProposalAdminRead:
    base = proposal_read(p, report_ids, tenant_code, codes)
    return ProposalAdminRead(
        **{f: getattr(base, f) for f in base.__struct_fields__}, representative_kind=rep.kind,
        representative_ref=rep.ref_code, representative_member_no=member_no,
        decided_by=p.decided_by)
