"""办理环节 — what each step sends."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec

from flexunion.bargaining.board.topics import Topic
from flexunion.cases.ledger.schemas import Code, Reason, Route, Short, Text


class CaseReport(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """集体协商 as a problem report (问题提报) filed for the worker: the board's topic, a
    title (default: the case's category and number) and the topic's details."""

    topic: Topic
    title: Short | None = None
    details: dict[str, Any] | None = None


class RouteCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """分流: one of the four routes, with why. 集体协商 names exactly one of the agenda item
    the case becomes a source of, or the `report` it is filed as; 政策释明 names the policy it
    cites."""

    route: Route
    reason: Reason
    agenda_item_id: uuid.UUID | None = None
    report: CaseReport | None = None
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
