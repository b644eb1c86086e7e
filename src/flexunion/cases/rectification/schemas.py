"""季度整改清单 — what callers send and see. Partners see the items they own without the
linked cases (no worker data reaches them) and without the satisfaction trend."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec

from flexunion.cases.ledger.schemas import Category, Code, Label, Reason, Text
from flexunion.cases.rectification.quarters import PATTERN

QuarterCode = Annotated[str, msgspec.Meta(pattern=PATTERN, examples=["2026Q4"])]
DayText = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
                                      examples=["2027-01-15"])]
Dimension = Literal["tenant", "zone", "partner"]
Progress = Literal["in_progress", "done"]
Node = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
CaseIds = Annotated[list[uuid.UUID], msgspec.Meta(max_length=500)]

DIMENSIONS = {"tenant": ("站点/组织", "Station / tenant"), "zone": ("配送片区", "Delivery zone"),
              "partner": ("平台企业", "Platform partner")}
STATUSES = {"open": ("待整改", "Open"), "in_progress": ("整改中", "In progress"),
            "done": ("已完成", "Done"), "carried_over": ("转下季度", "Carried over")}
STEPS = {"created": ("立项", "Created"), "updated": ("修改", "Updated"),
         "progress": ("推进", "Progress"), "done": ("完成", "Done"),
         "carried_over": ("转入下季度", "Carried into the next quarter"),
         "carried_in": ("由上季度转入", "Carried in from the last quarter"),
         "cases_linked": ("关联诉求", "Cases linked"),
         "cases_unlinked": ("取消关联", "Cases unlinked"),
         "owner_report": ("责任方报告", "Owner's report")}


class Owner(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The unit that owns the item: a tenant (by code) or a platform partner (by code)."""

    tenant: Code | None = None
    partner: Code | None = None


class ItemCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An item from a group (category × place) of a quarter. `cases` omitted: every case of
    the group in the quarter (in my subtree) is linked."""

    quarter: QuarterCode
    category: Category
    dimension: Dimension
    place: Code
    owner: Owner
    problem: Text
    measure: Text
    next_node: Node
    next_due_on: DayText
    cases: CaseIds | None = None


class ItemUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    problem: Text | None = None
    measure: Text | None = None
    owner: Owner | None = None


class ProgressCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """推进: a note, optionally a new next node and due date, or 完成 (`status` done)."""

    note: Reason
    status: Progress = "in_progress"
    next_node: Node | None = None
    next_due_on: DayText | None = None


class OwnerReport(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """责任方报告: the owner's account of its progress, optionally the next node and due date
    it proposes. Recorded in the history; the item's own next node and due date stay as the
    union set them (the union takes a proposal over with 推进, and decides 完成)."""

    note: Reason
    next_node: Node | None = None
    next_due_on: DayText | None = None


class LinkCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    add: CaseIds = []
    remove: CaseIds = []


class Mix(msgspec.Struct):
    """满意 / 基本满意 / 不满意 counts of the ratings; `satisfied_rate` = (满意 + 基本满意) /
    rated, None with no rating."""

    satisfied: int
    basically_satisfied: int
    dissatisfied: int
    rated: int
    satisfied_rate: float | None


class GroupRead(msgspec.Struct):
    quarter: str
    category: Label
    dimension: Label
    place: str
    place_name: str
    cases: int
    workers: int
    anonymous: int
    open: int
    closed: int
    reopened: int
    satisfaction: Mix
    previous_quarter_cases: int
    recurring: bool
    why: list[str]
    item_id: str | None


class Trend(msgspec.Struct):
    quarter: str
    previous_quarter: str
    this_quarter: Mix
    last_quarter: Mix
    direction: Literal["up", "down", "flat", "unknown"]


class OwnerRead(msgspec.Struct):
    kind: Literal["tenant", "partner"]
    code: str
    name: str


class LinkedCase(msgspec.Struct):
    id: str
    case_no: str
    status: Label


class StepRead(msgspec.Struct):
    item_id: str
    quarter: str
    kind: Label
    at: str
    actor: str
    note: str | None
    details: dict[str, object]


class ItemRead(msgspec.Struct):
    id: str
    quarter: str
    list_of: str
    category: Label
    dimension: Label
    place: str
    owner: OwnerRead
    problem: str
    measure: str
    next_node: str
    next_due_on: str
    overdue: bool
    status: Label
    carried_from: str | None
    carried_to: str | None
    created_at: str
    updated_at: str
    done_at: str | None
    history: list[StepRead]
    cases: list[LinkedCase] | None = None
    trend: Trend | None = None

