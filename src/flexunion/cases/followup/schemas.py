"""回访复核, 满意度 and 重启 — what they send, and a rating as read."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

from flexunion.cases.followup.models import CaseRating
from flexunion.cases.ledger import codes
from flexunion.cases.ledger.schemas import (
    Category,
    Code,
    Label,
    Outcome,
    Rating,
    Reason,
    Short,
    Text,
    label,
)


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


class RatingRead(msgspec.Struct):
    case_id: uuid.UUID
    closing: int
    rating: Label
    comment: str | None
    at: str


def rating_read(r: CaseRating) -> RatingRead:
    return RatingRead(case_id=r.case_id, closing=r.closing, rating=label(codes.RATINGS, r.rating),
                      comment=r.comment, at=r.at.isoformat())
