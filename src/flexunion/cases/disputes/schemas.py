"""争议处置 — what callers send and see. Staff and the worker see the whole dispute; the
partner it is addressed to sees its statement, the ladder, its own requests (with the hash of
what it supplied) and its replies — nothing of the worker (the dispute stores none), no
referral, and step authors by role only."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import msgspec

from flexunion.cases.disputes import codes
from flexunion.cases.ledger.schemas import Code, Label, Reason, Short, Text, label

Kind = Literal["unpaid_pay", "social_insurance", "overtime", "protection", "penalty",
               "deactivation", "work_injury"]
Slot = Literal["attendance", "payroll", "insurance", "job_notice", "site", "platform_notice",
               "contract", "appeal", "medical", "accident"]
Step = Literal["reminder", "consultation", "letter", "review", "handover"]
ReferralTo = Literal["superior_union", "labour_inspection", "arbitration"]
Days = Annotated[int, msgspec.Meta(ge=1, le=30)]
Sent = Annotated[list[Short], msgspec.Meta(max_length=50)]


class DisputeOpen(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Open a dispute on a case: its kind, the statement addressed to the platform, and the
    platform (a partner code; omitted: the case's platform)."""

    kind: Kind
    statement: Text
    partner: Code | None = None


class EvidenceLink(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """File one of the case's attachments under a slot of the kind's checklist."""

    slot: Slot
    attachment_id: uuid.UUID


class RequestCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Ask the platform for a slot's evidence within `days` working days (the case's
    calendar), through its machine API."""

    slot: Slot
    days: Days
    note: Reason | None = None


class ReferralCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """衔接: to whom (kind and name) and what was sent besides the evidence index."""

    to: ReferralTo
    to_name: Short
    sent: Sent = msgspec.field(default_factory=list)
    note: Reason | None = None


class StepCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The next rung of the ladder. 会商 takes `minutes`, 发函 `letter`, 整改复核 `corrected`,
    衔接 `referral`; past 提示 with required slots empty, `evidence_waiver` records why."""

    step: Step
    reason: Reason
    minutes: Text | None = None
    letter: Text | None = None
    corrected: bool | None = None
    referral: ReferralCreate | None = None
    evidence_waiver: Reason | None = None


class ReasonsCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The platform's written reasons for the decision under appeal (封号/限单, 罚款/扣分)."""

    text: Text


Outcome = Literal["upheld", "reversed", "compensated"]


class DecisionCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The union's human review of the platform's decision: upheld (维持), reversed (撤销) or
    compensated (补偿), and what was found."""

    outcome: Outcome
    text: Text


Cause = Literal["system_flaw", "execution_deviation", "individual"]
Path = Literal["explanation", "mediation", "settlement", "transfer"]
Day = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}-\d{2}$")]


class ResolutionCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """分类处置: the cause (制度瑕疵 / 执行偏差 / 个案争议), the path (释法答疑 / 内部调解 /
    和解协议 with `terms` / 分流转办 with `transfer_to`), what was done, and the 回访 it
    schedules: the next node, its due date and the responsible unit (a tenant code). The
    回访 is the case's own follow-up: `worker_informed` / `worker_accepts` (whether the
    worker was told of the path and accepts it; default false) go on the case's 回访 record
    when the case was answered."""

    cause: Cause
    path: Path
    text: Text
    terms: Text | None = None
    transfer_to: Short | None = None
    next_node: Short
    next_due_on: Day
    responsible_unit: Code
    worker_informed: bool = False
    worker_accepts: bool = False


class SettlementCheck(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """履约核查: were the settlement's terms kept (kept / broken), and what was found."""

    kept: Literal["kept", "broken"]
    note: Reason


class ReplyCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The platform's answer to a step."""

    text: Text


class EvidenceRead(msgspec.Struct):
    id: uuid.UUID
    slot: Label
    attachment_id: uuid.UUID
    sha256: str
    supplier: Label
    supplied_at: str
    request_id: uuid.UUID | None


class SlotRead(msgspec.Struct):
    slot: Label
    required: bool
    filled: bool
    items: list[EvidenceRead]


class RequestRead(msgspec.Struct):
    id: uuid.UUID
    slot: Label
    note: str | None
    due_at: str
    overdue: bool
    requested_at: str
    fulfilled_at: str | None
    sha256: str | None


class ReplyRead(msgspec.Struct):
    id: uuid.UUID
    text: str
    at: str


class StepRead(msgspec.Struct):
    id: uuid.UUID
    step: Label
    at: str
    actor: str
    reason: str
    details: dict[str, Any]
    reply: ReplyRead | None


class ReferralRead(msgspec.Struct):
    to: Label
    to_name: str
    sent: list[Any]
    note: str | None
    at: str


class DecisionRead(msgspec.Struct):
    """算法决定申诉: the platform's reply deadline (overdue: no reasons by then), its reasons
    and the union's review (the reviewer shown to staff only)."""

    reply_due_at: str
    overdue: bool
    reasons: str | None
    reasons_at: str | None
    reviewer: str | None
    outcome: Label | None
    outcome_text: str | None
    decided_at: str | None


class ResolutionRead(msgspec.Struct):
    """The resolution path; the platform (a party to mediation and settlement) sees the
    path, the terms and the check, not the union's cause, notes or 回访."""

    path: Label
    terms: str | None
    transfer_to: str | None
    at: str
    kept: Label | None
    checked_at: str | None
    cause: Label | None = None
    text: str | None = None
    next_node: str | None = None
    next_due_at: str | None = None
    responsible_unit: str | None = None
    check_note: str | None = None


class DisputeConsent(msgspec.Struct, forbid_unknown_fields=True):
    """具名同意: `named` true agrees to be named to the platform, false withdraws."""

    named: bool


class NamedPerson(msgspec.Struct):
    """The worker, to the platform, only while the worker agrees to be named: the real name
    from the member record and the platform's own rider id when the record lists one."""

    name: str
    platform_worker_id: str | None


class NamedConsent(msgspec.Struct):
    """具名同意 as staff see it: `named` while the worker's latest choice for the dispute is
    to be named (false before any choice and after a withdrawal), `at` when that latest
    choice was recorded (None before any). Nothing else of the consent record."""

    named: bool
    at: str | None


class DisputeRead(msgspec.Struct):
    id: uuid.UUID
    case_id: uuid.UUID | None
    case_no: str
    kind: Label
    partner: str
    statement: str
    step: Label | None
    next_step: Label | None
    opened_at: str
    checklist: list[SlotRead] | None
    missing: list[str] | None
    evidence_waiver: str | None
    requests: list[RequestRead]
    steps: list[StepRead]
    referral: ReferralRead | None
    decision: DecisionRead | None = None
    resolution: ResolutionRead | None = None
    # The worker's own read: whether they agree to be named to the platform (else None).
    named: bool | None = None
    # Staff reads: whether the worker agreed to be named to the platform (具名同意) and when
    # the latest choice was recorded; None for the worker and the platform.
    named_consent: NamedConsent | None = None
    # The platform's read: the worker named, only with the worker's recorded consent (else None).
    named_as: NamedPerson | None = None


class DisputeListRead(msgspec.Struct):
    """A dispute in the 争议 list: where it stands and what the platform owes past its
    deadline — its written reasons (封号/限单, 罚款/扣分) or requested evidence."""

    id: uuid.UUID
    case_id: uuid.UUID
    case_no: str
    kind: Label
    partner: str
    handling_unit: str
    step: Label | None
    next_step: Label | None
    opened_at: str
    updated_at: str
    reply_due_at: str | None
    reply_overdue: bool
    requests_open: int
    requests_overdue: int


def kind_label(code: str) -> Label:
    return label(codes.KINDS, code)


def slot_label(code: str) -> Label:
    return label(codes.SLOTS, code)


def step_label(code: str | None) -> Label | None:
    return label(codes.STEPS, code) if code is not None else None
