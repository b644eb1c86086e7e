"""Transfers as their readers see them: the member (their own) and staff of either side
(the member as the masked snapshot taken at the request)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any, Protocol

from flexunion.transfers.models import STATUSES, Transfer
from flexunion.transfers.schemas import (
    MemberSnapshot,
    PlatformRef,
    TenantRef,
    TransferAdminRead,
    TransferRead,
)


class _Entry(Protocol):  # membership.service.DirectoryEntry
    code: str
    kind: str
    name_zh: str
    name_en: str
    city: str | None


def tenant_ref(entry: _Entry) -> TenantRef:
    return TenantRef(code=entry.code, kind=entry.kind, name_zh=entry.name_zh,
                     name_en=entry.name_en, city=entry.city)


def _fields(t: Transfer, by_id: Mapping[uuid.UUID, _Entry]) -> dict[str, Any]:
    return {
        "id": t.id, "status": t.status, "status_zh": STATUSES[t.status],
        "from_": tenant_ref(by_id[t.origin_tenant_id]), "to": tenant_ref(by_id[t.dest_tenant_id]),
        "requested_at": t.requested_at, "release_due_at": t.release_due_at, "reason": t.reason,
        "reject_reason": t.reject_reason, "rejected_by": t.rejected_by,
        "auto_released": t.auto_released, "released_at": t.released_at,
        "accepted_at": t.accepted_at, "completed_at": t.completed_at, "closed_at": t.closed_at,
    }


def transfer_read(t: Transfer, by_id: Mapping[uuid.UUID, _Entry]) -> TransferRead:
    return TransferRead(**_fields(t, by_id))


def admin_read(t: Transfer, by_id: Mapping[uuid.UUID, _Entry]) -> TransferAdminRead:
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
