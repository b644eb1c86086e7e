"""What the assistance ledger takes and shows. Amounts are integer fen, never floats. The
special-category details (`Details`) travel only in a handler's case read; a list shows that
they exist, masked, and a worker's read shows the step and what is asked, never the
committee's notes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from flexunion.services.assistance.lifecycle import STEPS, WORKER_ASK
from flexunion.services.assistance.models import AssistanceCase, BudgetLine, Grant

Kind = Literal["illness", "injury_recovery", "family_emergency", "other"]
KINDS: dict[str, tuple[str, str]] = {
    "illness": ("患病致困", "Hardship through illness"),
    "injury_recovery": ("工伤恢复", "Recovering from a work injury"),
    "family_emergency": ("家庭突发变故", "Sudden family emergency"),
    "other": ("其他", "Other"),
}
Summary = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
Note = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Fen = Annotated[int, msgspec.Meta(ge=1, le=100_000_000)]
Year = Annotated[int, msgspec.Meta(ge=2000, le=2100)]
Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
Document = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Person = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
MASK = "●●●（特殊类别信息，已遮蔽）"


class Details(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Special-category details (健康与家庭信息): sealed, read only by the case's handlers."""

    diagnosis: Text | None = None
    injury: Text | None = None
    family_event: Text | None = None
    documents: list[Document] = []

    def fields(self) -> list[str]:
        return [f for f in ("diagnosis", "injury", "family_event", "documents")
                if getattr(self, f)]


class Apply(msgspec.Struct, forbid_unknown_fields=True):
    """帮扶申报 from the app: the worker's own case."""

    kind: Kind
    summary: Summary
    urgent: bool = False
    details: Details | None = None


class WalkIn(msgspec.Struct, forbid_unknown_fields=True):
    """A walk-in (现场受理): staff open and accept the case of a member in their subtree."""

    member_id: uuid.UUID
    kind: Kind
    summary: Summary
    urgent: bool = False
    details: Details | None = None


class Verify(msgspec.Struct, forbid_unknown_fields=True):
    note: Note


class Decide(msgspec.Struct, forbid_unknown_fields=True):
    """会商: who sat, and the decision (approve with an amount, or refuse with a reason)."""

    members_present: Annotated[list[Person], msgspec.Meta(min_length=1, max_length=20)]
    decision: Literal["approve", "refuse"]
    amount_fen: Fen | None = None
    reason: Note | None = None
    note: Note | None = None  # the committee's own note: never shown to the worker


class GrantCreate(msgspec.Struct, forbid_unknown_fields=True):
    amount_fen: Fen
    budget_line: Code
    note: Note | None = None


class Ask(msgspec.Struct, forbid_unknown_fields=True):
    """What the worker is asked to do or bring now (shown in the app until the next step)."""

    asked_zh: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class FollowUp(msgspec.Struct, forbid_unknown_fields=True):
    note: Note


class BudgetLineCreate(msgspec.Struct, forbid_unknown_fields=True):
    """经费科目: for a region (its code; your own tenant if absent) and year."""

    year: Year
    code: Code
    name_zh: Summary
    allocated_fen: Annotated[int, msgspec.Meta(ge=0, le=10_000_000_000)]
    region: Code | None = None


class PolicySet(msgspec.Struct, forbid_unknown_fields=True):
    yearly_cap_fen: Fen
    urgent_step_hours: Annotated[int, msgspec.Meta(ge=1, le=72)]
    ordinary_step_days: Annotated[int, msgspec.Meta(ge=1, le=30)]
    retention_days: Annotated[int, msgspec.Meta(ge=30, le=3650)]


class PolicyRead(msgspec.Struct):
    yearly_cap_fen: int
    urgent_step_hours: int
    ordinary_step_days: int
    retention_days: int
    configured: bool  # false: the service's defaults


class GrantRead(msgspec.Struct):
    id: uuid.UUID
    amount_fen: int
    budget_line_id: uuid.UUID
    year: int
    note: str | None
    granted_by: str
    granted_at: datetime


class CaseRow(msgspec.Struct):
    """A case in a list: the details only as a mask."""

    id: uuid.UUID
    member_id: uuid.UUID
    kind: str
    kind_zh: str
    urgent: bool
    step: str
    step_zh: str
    summary: str
    step_due_at: datetime | None
    overdue: bool
    granted_fen: int
    details: str | None  # MASK when the case has details, else None
    created_at: datetime


class CaseRead(msgspec.Struct):
    """A case for its handlers: every step's record, the grants, and the details when the
    reader may see them (None when not, or purged)."""

    id: uuid.UUID
    member_id: uuid.UUID
    tenant_id: uuid.UUID
    kind: str
    kind_zh: str
    urgent: bool
    step: str
    step_zh: str
    source: str
    source_ref: str | None
    summary: str
    opened_by: str
    accepted_by: str | None
    accepted_at: datetime | None
    verified_by: str | None
    verified_at: datetime | None
    verify_note: str | None
    committee_members: list[str] | None
    committee_note: str | None
    approved_fen: int | None
    refusal_reason: str | None
    decided_by: str | None
    decided_at: datetime | None
    granted_fen: int
    followup_by: str | None
    followup_at: datetime | None
    followup_note: str | None
    asked_zh: str | None
    step_due_at: datetime | None
    overdue: bool
    closed_at: datetime | None
    details_purged_at: datetime | None
    details: Details | None
    grants: list[GrantRead]


class MyCaseRead(msgspec.Struct):
    """What the worker sees: the step and what is asked of them; never the committee's notes
    nor anyone's names."""

    id: uuid.UUID
    kind: str
    kind_zh: str
    urgent: bool
    step: str
    step_zh: str
    asked_zh: str
    summary: str
    granted_fen: int
    refusal_reason: str | None
    created_at: datetime
    closed_at: datetime | None


class BudgetLineRead(msgspec.Struct):
    id: uuid.UUID
    tenant_id: uuid.UUID
    region: str  # the regional union's code
    region_name_zh: str
    year: int
    code: str
    name_zh: str
    allocated_fen: int
    used_fen: int
    remaining_fen: int


def overdue(case: AssistanceCase, now: datetime) -> bool:
    return case.closed_at is None and case.step_due_at is not None and case.step_due_at < now


def case_row(case: AssistanceCase, has_details: bool, now: datetime) -> CaseRow:
    return CaseRow(id=case.id, member_id=case.member_id, kind=case.kind,
                   kind_zh=KINDS[case.kind][0], urgent=case.urgent, step=case.step,
                   step_zh=STEPS[case.step][0], summary=case.summary,
                   step_due_at=case.step_due_at, overdue=overdue(case, now),
                   granted_fen=case.granted_fen, details=MASK if has_details else None,
                   created_at=case.created_at)


def grant_read(g: Grant) -> GrantRead:
    return GrantRead(id=g.id, amount_fen=g.amount_fen, budget_line_id=g.budget_line_id,
                     year=g.year, note=g.note, granted_by=g.granted_by, granted_at=g.granted_at)


def case_read(case: AssistanceCase, details: Details | None, grants: list[Grant],
              now: datetime) -> CaseRead:
    return CaseRead(
        id=case.id, member_id=case.member_id, tenant_id=case.tenant_id, kind=case.kind,
        kind_zh=KINDS[case.kind][0], urgent=case.urgent, step=case.step,
        step_zh=STEPS[case.step][0], source=case.source, source_ref=case.source_ref,
        summary=case.summary, opened_by=case.opened_by, accepted_by=case.accepted_by,
        accepted_at=case.accepted_at, verified_by=case.verified_by,
        verified_at=case.verified_at, verify_note=case.verify_note,
        committee_members=case.committee_members, committee_note=case.committee_note,
        approved_fen=case.approved_fen, refusal_reason=case.refusal_reason,
        decided_by=case.decided_by, decided_at=case.decided_at, granted_fen=case.granted_fen,
        followup_by=case.followup_by, followup_at=case.followup_at,
        followup_note=case.followup_note, asked_zh=case.asked_zh, step_due_at=case.step_due_at,
        overdue=overdue(case, now), closed_at=case.closed_at,
        details_purged_at=case.details_purged_at, details=details,
        grants=[grant_read(g) for g in grants])


def my_case(case: AssistanceCase) -> MyCaseRead:
    return MyCaseRead(id=case.id, kind=case.kind, kind_zh=KINDS[case.kind][0],
                      urgent=case.urgent, step=case.step, step_zh=STEPS[case.step][0],
                      asked_zh=case.asked_zh or WORKER_ASK[case.step], summary=case.summary,
                      granted_fen=case.granted_fen, refusal_reason=case.refusal_reason,
                      created_at=case.created_at, closed_at=case.closed_at)


def budget_read(line: BudgetLine, region: str, region_name_zh: str) -> BudgetLineRead:
    return BudgetLineRead(id=line.id, tenant_id=line.tenant_id, region=region,
                          region_name_zh=region_name_zh, year=line.year, code=line.code,
                          name_zh=line.name_zh, allocated_fen=line.allocated_fen,
                          used_fen=line.used_fen,
                          remaining_fen=line.allocated_fen - line.used_fen)
