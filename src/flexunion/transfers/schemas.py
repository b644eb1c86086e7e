"""异地关系接转 — what callers send and see, and how a transfer row becomes what its reader
sees: the member (their own) and staff of either side (the member only as the masked
snapshot taken at the request)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

from flexunion.calendars.service import deadline_warnings
from flexunion.federation.directory import DirectoryEntry
from flexunion.transfers.models import STATUSES, Transfer

TransferStatus = Literal["requested", "released", "accepted", "completed", "rejected", "cancelled"]
Side = Literal["origin", "destination"]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class TransferCreate(msgspec.Struct, forbid_unknown_fields=True):
    """申请异地接转: `to` is the code of a regional union or station in another region."""

    to: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{1,62}(?!\n)$")]
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
    # The release deadline reached years the origin's calendar does not cover: it was
    # counted on weekly hours only and is provisional (the warning says so).
    release_due_uncovered: bool = False
    release_due_uncovered_years: list[int] = msgspec.field(default_factory=list)
    release_due_warning_zh: str | None = None
    release_due_warning_en: str | None = None
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


def tenant_ref(entry: DirectoryEntry) -> TenantRef:
    return TenantRef(code=entry.code, kind=entry.kind, name_zh=entry.name_zh,
                     name_en=entry.name_en, city=entry.city)


def _fields(t: Transfer, by_id: Mapping[uuid.UUID, DirectoryEntry]) -> dict[str, Any]:
    years = sorted(t.release_due_uncovered_years or ())
    zh, en = deadline_warnings(years)
    return {
        "id": t.id, "status": t.status, "status_zh": STATUSES[t.status],
        "from_": tenant_ref(by_id[t.origin_tenant_id]), "to": tenant_ref(by_id[t.dest_tenant_id]),
        "requested_at": t.requested_at, "release_due_at": t.release_due_at, "reason": t.reason,
        "release_due_uncovered": bool(years), "release_due_uncovered_years": years,
        "release_due_warning_zh": zh, "release_due_warning_en": en,
        "reject_reason": t.reject_reason, "rejected_by": t.rejected_by,
        "auto_released": t.auto_released, "released_at": t.released_at,
        "accepted_at": t.accepted_at, "completed_at": t.completed_at, "closed_at": t.closed_at,
    }


def transfer_read(t: Transfer, by_id: Mapping[uuid.UUID, DirectoryEntry]) -> TransferRead:
    return TransferRead(**_fields(t, by_id))


def admin_read(t: Transfer, by_id: Mapping[uuid.UUID, DirectoryEntry]) -> TransferAdminRead:
    s = t.snapshot
    snapshot = MemberSnapshot(
        name_masked=s.get("name_masked", ""), id_masked=s.get("id_masked", ""),
        member_no=s.get("member_no"),
        member_since=date.fromisoformat(s["member_since"]) if s.get("member_since") else None,
        employment_form=s.get("employment_form", ""),
        employment_form_zh=s.get("employment_form_zh", ""), status=s.get("status", ""),
        platforms=[PlatformRef(partner=p["partner"], platform_worker_id=p.get("platform_worker_id"))
                   for p in s.get("platforms", [])],
    )
    return TransferAdminRead(**_fields(t, by_id), member_id=t.member_id, member=snapshot)
