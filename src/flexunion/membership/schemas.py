"""What callers send and see of memberships (the worker's own view, with its transfers,
is composed in me/)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

from flexunion.membership.models import STATUSES, EmploymentForm, Member, MemberStatus

TenantCode = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{1,62}(?!\n)$")]


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


class JoinRule(msgspec.Struct, forbid_unknown_fields=True):
    """入会审批规则: joins to this union (and its stations) are approved at once."""

    auto_approve: bool


def platform_links(raw: list[dict[str, Any]]) -> list[PlatformLink]:
    return [PlatformLink(partner=p["partner"], platform_worker_id=p.get("platform_worker_id"))
            for p in raw]


def member_read(member: Member, codes_by_id: Mapping[uuid.UUID, str]) -> MemberRead:
    """A member as staff see it (masked)."""
    return MemberRead(
        id=member.id, status=member.status, status_zh=STATUSES[member.status],
        name_masked=member.name_masked, id_masked=member.id_masked,
        employment_form=member.employment_form, city=member.city,
        home_code=codes_by_id.get(member.tenant_id, ""), member_no=member.member_no,
        member_since=member.member_since, platforms=platform_links(member.platforms),
        applied_at=member.created_at, decision_reason=member.decision_reason,
    )
