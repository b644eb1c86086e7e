"""需求清单 — the field types every part shares, the case as each caller sees it, and the pure
mappings from rows to it (what a step sends is in its sub-package's schemas.py).

Who sees what of the worker: staff see the member number, whether the worker is a member and
the contact masked (张*, 139****5678); the worker sees their own case; a platform partner sees
only whether the worker is a member (no member number, no contact); an anonymous suggestion
has no worker at all."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import msgspec

from flexunion.cases.clocks.schemas import ClockRead
from flexunion.cases.ledger import codes, lifecycle
from flexunion.cases.ledger.models import Case, CaseAssignment, CaseEvent, CaseFollowup

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


class ReportRef(msgspec.Struct):
    """集体协商 as a report: the problem report (问题提报) filed from the case and the board
    items it feeds now, with their status (as far as the caller sees them)."""

    id: uuid.UUID
    topic: Label
    title: str
    created_at: str
    items: list[AgendaRef]


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
    report: ReportRef | None = None  # 集体协商 filed as a problem report (staff, the worker)
    # Staff only: why a tenant that does not handle the case reads it — `moved` (it handled
    # it before a transfer moved it) or `home` (the member's home union); null when the
    # caller's scope holds the case. Read only either way.
    sight: Label | None = None


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
    clocks: Sequence[ClockRead] = (), report: ReportRef | None = None,
    sight: str | None = None,
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
        clocks=list(clocks) if audience != "partner" else [],
        report=report if audience != "partner" else None,
        sight=label(codes.SIGHTS, sight) if staff and sight else None)


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
