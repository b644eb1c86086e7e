"""核验节点 schemas: what an admin sends to plan a clause's checkpoints, what the partner
submits, and what staff and the partner read."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

Schedule = Literal["quarterly", "once"]
EvidenceDays = Annotated[int, msgspec.Meta(ge=0, le=60)]
Role = Literal["platform_business", "platform_hr", "union"]
ROLES: dict[str, tuple[str, str]] = {
    "platform_business": ("平台业务部门", "Platform business unit"),
    "platform_hr": ("平台人力部门", "Platform HR"),
    "union": ("工会干部", "Union cadre"),
}
STATUSES: dict[str, tuple[str, str]] = {
    "awaiting_evidence": ("待提交材料", "Awaiting evidence"),
    "evidence_missing": ("材料逾期未交", "Evidence overdue"),
    "met": ("已达标", "Met"),
    "breached": ("未达标", "Breached"),
    "evaluation_failed": ("无法判定", "Could not be evaluated"),
    "verified": ("三方已核验", "Verified by all three parties"),
    "under_objection": ("异常复议中", "Under objection"),
    "breach_set_aside": ("复议成立，违约撤销", "Objection upheld: breach set aside"),
    "superseded": ("条款已被续签取代", "Clause superseded by a renewal"),
}
OBJECTIONS: dict[str, tuple[str, str]] = {
    "pending": ("待复议", "Pending"),
    "upheld": ("复议成立", "Upheld"),
    "rejected": ("复议驳回", "Rejected"),
}
Reasons = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class Label(msgspec.Struct, frozen=True):
    code: str
    zh: str
    en: str


def label(table: dict[str, tuple[str, str]], code: str) -> Label:
    zh, en = table[code]
    return Label(code, zh, en)


class CheckpointPlan(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The checkpoints of a clause in force: each quarter of the version's term (due at the
    quarter's end, or the term's end), or once on `due_on`; the evidence is due
    `evidence_days` working days after each due date (the agreement's own term, on the
    agreement's tenant's calendar)."""

    schedule: Schedule
    evidence_days: EvidenceDays
    due_on: date | None = None


class EvidenceSubmit(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The partner's evidence: JSON matching the clause's evidence schema."""

    evidence: dict[str, Any]


class ObjectionCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """异常复议: the partner's reasons against a breach, within the window."""

    reasons: Reasons


class ObjectionDecide(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    outcome: Literal["upheld", "rejected"]
    note: Reasons


class ObjectionRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    evidence_id: uuid.UUID
    reasons: str
    lodged_at: datetime
    due_at: datetime
    status: Label
    decision_note: str | None
    decided_at: datetime | None


class SignatureRead(msgspec.Struct, kw_only=True):
    role: Label
    signer: str
    evidence_id: uuid.UUID
    signed_at: datetime


class EvaluationRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    evidence: dict[str, Any]
    evidence_sha256: str
    condition: str
    condition_version: str
    parameters: dict[str, Any]
    read: dict[str, Any]
    result: bool | None
    error: str | None
    breach: bool
    evaluated_at: datetime
    files: list[dict[str, Any]] = []  # the files attached when it was submitted


class EvidenceFileRead(msgspec.Struct, kw_only=True):
    """A file attached to the checkpoint's evidence; `href` downloads it (in scope)."""

    id: uuid.UUID
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by_kind: str
    created_at: datetime
    href: str


CASE_REASONS = {"breach": ("违约（条件不成立）", "Breach (the condition failed)"),
                "evidence_missing": ("逾期未交材料", "Evidence missing past its date")}


class CheckpointCase(msgspec.Struct, kw_only=True):
    """违约立案: the case the checkpoint's breach or missing evidence opened (once)."""

    case_id: uuid.UUID
    reason: Label  # breach / evidence_missing
    opened_at: datetime


class CheckpointRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    agreement_id: uuid.UUID
    clause_id: uuid.UUID
    version: int
    period: str
    due_on: date
    evidence_due_at: datetime
    status: Label
    verified: bool
    latest: EvaluationRead | None = None
    signatures: list[SignatureRead] = []
    objection: ObjectionRead | None = None
    case: CheckpointCase | None = None
    files: list[EvidenceFileRead] = []


class CheckpointDetail(CheckpointRead, kw_only=True):
    evaluations: list[EvaluationRead] = []


class ReverifyRead(msgspec.Struct, kw_only=True):
    """The stored evaluation run again: `same` when the result and every value read agree,
    and the evidence still hashes to the stored sha256."""

    evidence_id: uuid.UUID
    same: bool
    sha256_holds: bool
    condition_holds: bool
    stored_result: bool | None
    result: bool | None
    read: dict[str, Any]
