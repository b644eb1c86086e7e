"""政策库 and the hotline platforms — what HQ sends, and a policy as read."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

from flexunion.cases.ledger.schemas import Code, Short, Text
from flexunion.cases.policies.models import CasePolicy


class PolicyCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: Code
    title_zh: Short
    title_en: Short
    source: Short
    body: Text
    url: Annotated[str, msgspec.Meta(max_length=500, pattern=r"^https?://")] | None = None


class PolicyUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    title_zh: Short | None = None
    title_en: Short | None = None
    source: Short | None = None
    body: Text | None = None
    url: Annotated[str, msgspec.Meta(max_length=500, pattern=r"^https?://")] | None = None
    active: bool | None = None


class IntakePartnerCreate(msgspec.Struct, forbid_unknown_fields=True):
    partner: Code


class PolicyRead(msgspec.Struct):
    id: uuid.UUID
    code: str
    title_zh: str
    title_en: str
    source: str
    body: str
    url: str | None
    active: bool
    updated_at: str


def policy_read(row: CasePolicy) -> PolicyRead:
    return PolicyRead(id=row.id, code=row.code, title_zh=row.title_zh, title_en=row.title_en,
                      source=row.source, body=row.body, url=row.url, active=row.active,
                      updated_at=row.updated_at.isoformat())
