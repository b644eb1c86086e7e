from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from flexunion.transfers.schemas import TransferRead

Purpose = Literal["privacy_policy", "location_checkin", "sms_notice", "data_sharing"]


class MeRead(msgspec.Struct):
    worker_id: uuid.UUID
    phone_masked: str
    federation: str
    registered_at: datetime


class ConsentCreate(msgspec.Struct, forbid_unknown_fields=True):
    purpose: Purpose
    version: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._-]{1,32}$")]
    granted: bool


class ConsentRead(msgspec.Struct):
    id: uuid.UUID
    purpose: Purpose
    version: str
    granted: bool
    created_at: datetime


EmploymentForm = Literal["dedicated", "crowdsourced", "franchise", "direct", "outsourced"]
MemberStatus = Literal["applicant", "active", "suspended", "parked", "left", "rejected"]
TenantCode = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{1,62}\Z")]


class PlatformLink(msgspec.Struct, forbid_unknown_fields=True):
    partner: TenantCode
    platform_worker_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None


class JoinApplication(msgspec.Struct, forbid_unknown_fields=True):
    """线上入会申请. `join` names the regional union or station to join."""

    real_name: Annotated[str, msgspec.Meta(min_length=2, max_length=40)]
    id_number: Annotated[str, msgspec.Meta(min_length=15, max_length=18)]
    employment_form: EmploymentForm
    city: Annotated[str, msgspec.Meta(min_length=2, max_length=40)]
    join: TenantCode
    platforms: Annotated[list[PlatformLink], msgspec.Meta(max_length=8)] = []


class HomeRead(msgspec.Struct):
    code: str
    kind: str
    name_zh: str
    name_en: str
    city: str | None
    since: datetime
    until: datetime | None = None


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


class MemberRead(msgspec.Struct):
    """A member as staff see it: personal data masked."""

    id: uuid.UUID
    status: MemberStatus
    status_zh: str
    name_masked: str
    id_masked: str
    employment_form: EmploymentForm
    city: str
    home_code: str
    member_no: str | None
    member_since: date | None
    platforms: list[PlatformLink]
    applied_at: datetime
    decision_reason: str | None = None


class Decision(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)] | None = None


class StatusChange(msgspec.Struct, forbid_unknown_fields=True):
    """suspend / park (保留会籍) / reinstate / leave, always with a reason."""

    to: Literal["active", "suspended", "parked", "left"]
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
