"""异地关系接转 — what callers send and see. Imports nothing from other domains' schemas
(membership's schemas import `TransferRead` from here)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

TransferStatus = Literal["requested", "released", "accepted", "completed", "rejected", "cancelled"]
Side = Literal["origin", "destination"]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class TransferCreate(msgspec.Struct, forbid_unknown_fields=True):
    """申请异地接转: `to` is the code of a regional union or station in another region."""

    to: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{1,62}\Z")]
    reason: Reason | None = None


class TransferCancel(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason | None = None


class TransferRejection(msgspec.Struct, forbid_unknown_fields=True):
    """驳回 — a reason is required; the member sees it."""

    reason: Reason


class TenantRef(msgspec.Struct):
    code: str
    kind: str
    name_zh: str
    name_en: str
    city: str | None


class PlatformRef(msgspec.Struct):
    partner: str
    platform_worker_id: str | None = None


class MemberSnapshot(msgspec.Struct):
    """What the destination learns of the member when the request is made (masked)."""

    name_masked: str
    id_masked: str
    member_no: str | None
    member_since: date | None
    employment_form: str
    employment_form_zh: str
    status: str
    platforms: list[PlatformRef]


class TransferRead(msgspec.Struct):
    """One transfer as the member sees it (also the items of `transfers` in 我的会籍)."""

    id: uuid.UUID
    status: TransferStatus
    status_zh: str
    from_: TenantRef = msgspec.field(name="from")
    to: TenantRef
    requested_at: datetime
    release_due_at: datetime
    reason: str | None = None
    reject_reason: str | None = None
    rejected_by: Side | None = None
    auto_released: bool = False
    released_at: datetime | None = None
    accepted_at: datetime | None = None
    completed_at: datetime | None = None
    closed_at: datetime | None = None


class TransferAdminRead(TransferRead, kw_only=True):
    """One transfer as staff of either side see it; the member only as the masked snapshot
    (the destination may open the member itself once the origin has released)."""

    member_id: uuid.UUID
    member: MemberSnapshot
