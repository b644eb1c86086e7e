"""意见收集二维码 — what an anonymous sender sends and reads back."""

from __future__ import annotations

from typing import Annotated

import msgspec

from flexunion.cases.ledger import codes
from flexunion.cases.ledger.models import Case
from flexunion.cases.ledger.schemas import Category, Label, Text, label


class PickupCode(msgspec.Struct, forbid_unknown_fields=True):
    pickup_code: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class SuggestionCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    category: Category
    description: Text


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


def suggestion_status(case: Case, station: str) -> SuggestionStatus:
    return SuggestionStatus(case_no=case.case_no, station=station,
                            category=label(codes.CATEGORIES, case.category),
                            status=label(codes.STATUSES, case.status), answer=case.answer,
                            created_at=case.created_at.isoformat())
