from __future__ import annotations

import uuid
from datetime import date, datetime

import msgspec

from flexunion.membership.models import EmploymentForm, MemberStatus
from flexunion.membership.schemas import HomeRead, PlatformLink
from flexunion.transfers.schemas import TransferRead


class MeRead(msgspec.Struct):
    worker_id: uuid.UUID
    phone_masked: str
    federation: str
    registered_at: datetime


class MembershipRead(msgspec.Struct):
    """我的会籍 — what the member sees of their own membership."""

    member_id: uuid.UUID
    status: MemberStatus
    status_zh: str
    name_masked: str
    id_masked: str
    employment_form: EmploymentForm
    employment_form_zh: str
    city: str
    home: HomeRead
    member_no: str | None
    member_since: date | None
    seniority_days: int
    platforms: list[PlatformLink]
    homes: list[HomeRead]
    decision_reason: str | None = None
    transfers: list[TransferRead] = []  # 异地接转 history, newest first
