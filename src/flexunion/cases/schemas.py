"""需求清单 — what callers send and see, and the pure mappings from rows to it.

Who sees what of the worker: staff see the member number, whether the worker is a member and
the contact masked (张*, 139****5678); the worker sees their own case; a platform partner sees
only whether the worker is a member (no member number, no contact); an anonymous suggestion
has no worker at all."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import msgspec

from flexunion.cases import codes, lifecycle
from flexunion.cases.clocks.schemas import ClockRead
from flexunion.cases.models import (
    Case,
    CaseAssignment,
    CaseAttachment,
    CaseEvent,
    CaseFollowup,
    CasePolicy,
    CaseRating,
)

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64,
                                   pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}(?!\n)$")]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Short = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Category = Literal[
    "wage_distribution", "leave_scheduling", "labour_protection", "housing_commute",
    "skills_promotion", "women_protection", "childcare", "dispatch", "commission",
    "overtime_judgement", "appeal_review", "fines_points", "account_ban", "wage_arrears",
    "social_insurance", "work_injury", "legal_advice", "hardship_aid"]
Tag = Literal["night_shift", "heat_outdoor", "crowdsourced_dedicated", "seasonal",
              "subcontracted"]
Tier = Literal["general", "difficult", "complex"]
Route = Literal["instant", "coordinate", "bargaining", "policy"]
Status = Literal["received", "assigned", "accepted", "returned", "answered", "merged",
                 "followed_up", "closed", "reopened"]
Channel = Literal["app", "station", "visit", "hotline", "hotline_platform", "qr_suggestion",
                  "followup"]
Outcome = Literal["resolved", "in_progress", "hard"]
Rating = Literal["satisfied", "basically_satisfied", "dissatisfied"]
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


class StaffCaseCreate(Demand, kw_only=True):
    """现场受理 / 走访 / 12351 热线: entered by staff for a worker — a member by number,
    or anyone by name and phone (kept masked only)."""

    channel: StaffChannel
    member_no: Short | None = None
    contact_name: Short | None = None
    contact_phone: Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9]{7,15}$")] | None = None


class HotlineOrder(StaffCaseCreate, kw_only=True):
    """A 12351 work order pushed by the hotline platform; `order_no` makes it idempotent."""

    order_no: Short
    channel: StaffChannel = "hotline"


class RouteCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """分流: one of the four routes, with why. 集体协商 names the agenda item the case
    becomes a source of; 政策释明 names the policy it cites."""

    route: Route
    reason: Reason
    agenda_item_id: uuid.UUID | None = None
    policy: Code | None = None


class UnitAssign(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An assisting unit (协办单位): a tenant by code or a platform partner by code."""

    tenant: Code | None = None
    partner: Code | None = None
    feedback_days: Annotated[int, msgspec.Meta(ge=0, le=30)] = 3
    evidence_required: Annotated[list[Short], msgspec.Meta(max_length=20)] = []


class AssignCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """派单 / 改派 (reason required for 改派): the lead unit (牵头单位, a tenant) and the
    assisting units in their order of handling."""

    lead: Code
    reason: Reason | None = None
    feedback_days: Annotated[int, msgspec.Meta(ge=0, le=30)] = 3
    evidence_required: Annotated[list[Short], msgspec.Meta(max_length=20)] = []
    assisting: Annotated[list[UnitAssign], msgspec.Meta(max_length=10)] = []


class StepReason(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


class AnswerCreate(msgspec.Struct, forbid_unknown_fields=True):
    text: Text


class MergeCreate(msgspec.Struct, forbid_unknown_fields=True):
    """并单: this case joins `into` (an open case of the same worker)."""

    into: uuid.UUID
    reason: Reason | None = None


class FeedbackCreate(msgspec.Struct, forbid_unknown_fields=True):
    """An assisting unit's (or platform's) feedback on its assignment."""

    text: Text


class NewProblem(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new problem the handling brought about: opens a linked new case (channel 回访发现)."""

    category: Category
    description: Text
    open_case: bool = True


class FollowupCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """回访复核: 已解决 closes the case; 阶段推进 / 暂难解决 name the next node (what and by
    when) and the responsible unit (a tenant code) and keep the case open."""

    outcome: Outcome
    worker_informed: bool
    worker_accepts: bool
    note: Reason | None = None
    new_problem: NewProblem | None = None
    next_node: Short | None = None
    next_due_on: Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}-\d{2}$")] | None = None
    responsible_unit: Code | None = None


class RatingCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """满意度: the worker rates the closing (once per closing; Idempotency-Key)."""

    rating: Rating
    comment: Reason | None = None


class ReopenCreate(msgspec.Struct, forbid_unknown_fields=True):
    """重启: the worker reopens a closed case within the window, with a reason."""

    reason: Reason


class PolicyCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: Code
    title_zh: Short
    title_en: Short
    source: Short
    body: Text
    url: Annotated[str, msgspec.Meta(max_length=500, pattern=r"^https?://")] | None = None


class PolicyUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    title_zh: Short | None = None
    title_en: Short | None = None
    source: Short | None = None
    body: Text | None = None
    url: Annotated[str, msgspec.Meta(max_length=500, pattern=r"^https?://")] | None = None
    active: bool | None = None


class IntakePartnerCreate(msgspec.Struct, forbid_unknown_fields=True):
    partner: Code


class PickupCode(msgspec.Struct, forbid_unknown_fields=True):
    pickup_code: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class SuggestionCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    category: Category
    description: Text


# ---- what callers see ----------------------------------------------------------------------


class Label(msgspec.Struct):
    code: str
    zh: str
    en: str


def label(table: codes.Labels, code: str) -> Label:
    zh, en = table[code]
    return Label(code=code, zh=zh, en=en)


class WorkerRef(msgspec.Struct, omit_defaults=True):
    is_member: bool
    member_no: str | None = None
    name_masked: str | None = None
    phone_masked: str | None = None


class AgendaRef(msgspec.Struct):
    id: uuid.UUID
    title: str
    status: Label


class AssignmentRead(msgspec.Struct):
    id: uuid.UUID
    role: str
    seq: int
    unit: str
    unit_kind: Literal["tenant", "partner"]
    status: Label
    evidence_required: list[str]
    feedback_due_at: str | None
    feedback: str | None
    assigned_at: str
    accepted_at: str | None
    ended_at: str | None
    end_reason: str | None


class EventRead(msgspec.Struct):
    id: uuid.UUID
    kind: str
    at: str
    actor_kind: str
    reason: str | None
    details: dict[str, Any]


class CaseRead(msgspec.Struct):
    id: uuid.UUID
    case_no: str
    status: Label
    channel: Label
    category: Label
    tier: Label
    tags: list[Label]
    description: str
    work_tenant: str
    partner: str | None
    place: dict[str, Any]
    employment_form: str | None
    worker: WorkerRef | None
    route: Label | None
    route_details: dict[str, Any]
    agenda_item: AgendaRef | None
    answer: str | None
    merged_into_id: uuid.UUID | None
    created_at: str
    updated_at: str
    answered_at: str | None
    allowed_steps: list[str]
    duplicate_of: list[uuid.UUID] = []
    assignments: list[AssignmentRead] = []
    events: list[EventRead] = []
    closing: Closing | None = None
    followups: list[FollowupRead] = []
    clocks: list[ClockRead] = []  # SLA clocks (staff and the worker): cases/clocks/


class FollowupRead(msgspec.Struct):
    id: uuid.UUID
    closing: int
    outcome: Label
    worker_informed: bool
    worker_accepts: bool
    new_problem: str | None
    new_case_id: uuid.UUID | None
    next_node: str | None
    next_due_at: str | None
    responsible_unit: str | None
    note: str | None
    at: str


class Closing(msgspec.Struct):
    """The loop's state: closings so far, reopens, the current closing's satisfaction, the
    open next node of a follow-up, and until when the worker may reopen."""

    closings: int
    reopens: int
    closed_at: str | None
    satisfaction: Label | None
    next_due_at: str | None
    next_unit: str | None
    reopen_until: str | None
    source_case_id: uuid.UUID | None


class QueueRow(msgspec.Struct):
    """One row of a working list (退回件, open cases): the case, its status and where it is
    handled (the open lead assignment's unit, else the case's own union)."""

    id: uuid.UUID
    case_no: str
    status: Label
    category: Label
    tier: Label
    route: Label | None
    work_tenant: str
    handling_unit: str
    created_at: str
    updated_at: str
    next_due_at: str | None
    return_reason: str | None = None


class RatingRead(msgspec.Struct):
    case_id: uuid.UUID
    closing: int
    rating: Label
    comment: str | None
    at: str


class AttachmentRead(msgspec.Struct):
    id: uuid.UUID
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    created_at: str


class PolicyRead(msgspec.Struct):
    id: uuid.UUID
    code: str
    title_zh: str
    title_en: str
    source: str
    body: str
    url: str | None
    active: bool
    updated_at: str


class SuggestionReceipt(msgspec.Struct):
    """取件码: shown this once; with it the sender can read the status later."""

    pickup_code: str
    case_no: str
    status: Label


class SuggestionStatus(msgspec.Struct):
    case_no: str
    station: str
    category: Label
    status: Label
    answer: str | None
    created_at: str


class Names(msgspec.Struct):
    """Tenant and partner codes of a federation by id (for reads)."""

    tenants: dict[uuid.UUID, str]
    partners: dict[uuid.UUID, str]


def _iso(v: Any) -> str | None:
    return v.isoformat() if v is not None else None


def assignment_read(a: CaseAssignment, names: Names) -> AssignmentRead:
    if a.unit_tenant_id is not None:
        unit, kind = names.tenants.get(a.unit_tenant_id, "?"), "tenant"
    else:
        unit, kind = names.partners.get(a.unit_partner_id or uuid.UUID(int=0), "?"), "partner"
    return AssignmentRead(
        id=a.id, role=a.role, seq=a.seq, unit=unit, unit_kind=kind,  # type: ignore[arg-type]
        status=label(codes.ASSIGNMENT_STATUSES, a.status),
        evidence_required=list(a.evidence_required), feedback_due_at=_iso(a.feedback_due_at),
        feedback=a.feedback, assigned_at=a.assigned_at.isoformat(),
        accepted_at=_iso(a.accepted_at), ended_at=_iso(a.ended_at), end_reason=a.end_reason)


def event_read(e: CaseEvent) -> EventRead:
    return EventRead(id=e.id, kind=e.kind, at=e.at.isoformat(),
                     actor_kind=e.actor.partition(":")[0], reason=e.reason,
                     details=dict(e.details))


Audience = Literal["staff", "worker", "partner"]


def worker_ref(case: Case, audience: Audience, member_no: str | None) -> WorkerRef | None:
    if case.channel == "qr_suggestion":
        return None
    if audience == "partner":
        return WorkerRef(is_member=case.is_member)
    return WorkerRef(is_member=case.is_member, member_no=member_no,
                     name_masked=case.contact.get("name_masked"),
                     phone_masked=case.contact.get("phone_masked"))


def case_read(
    case: Case, names: Names, *, audience: Audience, member_no: str | None = None,
    agenda: AgendaRef | None = None, duplicate_of: Sequence[uuid.UUID] = (),
    assignments: Sequence[CaseAssignment] = (), events: Sequence[CaseEvent] = (),
    followups: Sequence[CaseFollowup] = (),
    clocks: Sequence[ClockRead] = (),
) -> CaseRead:
    staff = audience == "staff"
    return CaseRead(
        id=case.id, case_no=case.case_no, status=label(codes.STATUSES, case.status),
        channel=label(codes.CHANNELS, case.channel),
        category=label(codes.CATEGORIES, case.category), tier=label(codes.TIERS, case.tier),
        tags=[label(codes.TAGS, t) for t in case.tags], description=case.description,
        work_tenant=names.tenants.get(case.tenant_id, "?"),
        partner=names.partners.get(case.partner_id) if case.partner_id else None,
        place=dict(case.place), employment_form=case.employment_form,
        worker=worker_ref(case, audience, member_no),
        route=label(codes.ROUTES, case.route) if case.route else None,
        route_details=dict(case.route_details), agenda_item=agenda, answer=case.answer,
        merged_into_id=case.merged_into_id, created_at=case.created_at.isoformat(),
        updated_at=case.updated_at.isoformat(), answered_at=_iso(case.answered_at),
        allowed_steps=lifecycle.allowed_steps(case.status, staff=True) if staff else [],
        duplicate_of=list(duplicate_of),
        assignments=[assignment_read(a, names) for a in assignments],
        events=[event_read(e) for e in events] if audience != "partner" else [],
        closing=closing_of(case, names) if audience != "partner" else None,
        followups=[followup_read(f, names) for f in followups] if audience != "partner" else [],
        clocks=list(clocks) if audience != "partner" else [])


def attachment_read(row: CaseAttachment) -> AttachmentRead:
    return AttachmentRead(id=row.id, filename=row.filename, content_type=row.content_type,
                          size_bytes=row.size_bytes, sha256=row.sha256,
                          created_at=row.created_at.isoformat())


def policy_read(row: CasePolicy) -> PolicyRead:
    return PolicyRead(id=row.id, code=row.code, title_zh=row.title_zh, title_en=row.title_en,
                      source=row.source, body=row.body, url=row.url, active=row.active,
                      updated_at=row.updated_at.isoformat())


def suggestion_status(case: Case, station: str) -> SuggestionStatus:
    return SuggestionStatus(case_no=case.case_no, station=station,
                            category=label(codes.CATEGORIES, case.category),
                            status=label(codes.STATUSES, case.status), answer=case.answer,
                            created_at=case.created_at.isoformat())


def names_of(tenants: Mapping[uuid.UUID, str], partners: Mapping[uuid.UUID, str]) -> Names:
    return Names(tenants=dict(tenants), partners=dict(partners))


def followup_read(f: CaseFollowup, names: Names) -> FollowupRead:
    unit = names.tenants.get(f.responsible_tenant_id) if f.responsible_tenant_id else None
    return FollowupRead(id=f.id, closing=f.closing, outcome=label(codes.OUTCOMES, f.outcome),
                        worker_informed=f.worker_informed, worker_accepts=f.worker_accepts,
                        new_problem=f.new_problem, new_case_id=f.new_case_id,
                        next_node=f.next_node, next_due_at=_iso(f.next_due_at),
                        responsible_unit=unit, note=f.note, at=f.at.isoformat())


def closing_of(case: Case, names: Names) -> Closing:
    return Closing(
        closings=case.closings, reopens=case.reopens, closed_at=_iso(case.closed_at),
        satisfaction=label(codes.RATINGS, case.satisfaction) if case.satisfaction else None,
        next_due_at=_iso(case.next_due_at),
        next_unit=names.tenants.get(case.next_unit_id) if case.next_unit_id else None,
        reopen_until=_iso(case.reopen_until) if case.status == "closed" else None,
        source_case_id=case.source_case_id)


def rating_read(r: CaseRating) -> RatingRead:
    return RatingRead(case_id=r.case_id, closing=r.closing, rating=label(codes.RATINGS, r.rating),
                      comment=r.comment, at=r.at.isoformat())


def queue_row(case: Case, names: Names, handling_unit_id: uuid.UUID | None,
              return_reason: str | None = None) -> QueueRow:
    unit = handling_unit_id or case.tenant_id
    return QueueRow(id=case.id, case_no=case.case_no, status=label(codes.STATUSES, case.status),
                    category=label(codes.CATEGORIES, case.category),
                    tier=label(codes.TIERS, case.tier),
                    route=label(codes.ROUTES, case.route) if case.route else None,
                    work_tenant=names.tenants.get(case.tenant_id, "?"),
                    handling_unit=names.tenants.get(unit, "?"),
                    created_at=case.created_at.isoformat(),
                    updated_at=case.updated_at.isoformat(),
                    next_due_at=_iso(case.next_due_at), return_reason=return_reason)
