"""参与授权 — what staff send to grant and revoke, and what workers and staff see."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from flexunion.bargaining.participation.models import ParticipationGrant

Reason = Literal["checkins", "case", "manual"]
Note = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Days = Annotated[int, msgspec.Meta(ge=1, le=366)]
RegionCode = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
REASONS: dict[str, tuple[str, str]] = {
    "checkins": ("在该区域站点打卡", "check-ins at the region's stations"),
    "case": ("在该区域有未结诉求", "an open case handled in the region"),
    "manual": ("区域工会手工授权", "granted by the region's union"),
}


class GrantCreate(msgspec.Struct, forbid_unknown_fields=True):
    """手工授权: the member may take part in `region`'s board for `days` (default: the
    setting) — `region` must be a regional union in the admin's own subtree."""

    member_id: uuid.UUID
    region: RegionCode
    note: Note
    days: Days | None = None


class GrantRevoke(msgspec.Struct, forbid_unknown_fields=True):
    reason: Note


class GrantRead(msgspec.Struct):
    id: uuid.UUID
    member_id: uuid.UUID
    region: str
    home_region: str
    reason: str
    reason_zh: str
    reason_en: str
    evidence: dict[str, Any]
    note: str | None
    granted_by: str
    granted_at: datetime
    renewed_at: datetime | None
    expires_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None
    active: bool


def grant_read(g: ParticipationGrant, codes: dict[uuid.UUID, str], *,
               now: datetime) -> GrantRead:
    zh, en = REASONS[g.reason]
    return GrantRead(
        id=g.id, member_id=g.member_id, region=codes.get(g.tenant_id, str(g.tenant_id)),
        home_region=codes.get(g.home_tenant_id, str(g.home_tenant_id)), reason=g.reason,
        reason_zh=zh, reason_en=en, evidence=g.evidence, note=g.note, granted_by=g.granted_by,
        granted_at=g.granted_at, renewed_at=g.renewed_at, expires_at=g.expires_at,
        revoked_at=g.revoked_at, revoke_reason=g.revoke_reason,
        active=g.revoked_at is None and g.expires_at > now)
