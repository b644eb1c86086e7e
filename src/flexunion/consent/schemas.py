from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from flexunion.consent.models import Purpose, StoredPurpose

Version = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._-]{1,32}(?!\n)$")]


class ConsentCreate(msgspec.Struct, forbid_unknown_fields=True):
    purpose: Purpose
    version: Version
    granted: bool


class ConsentRead(msgspec.Struct):
    id: uuid.UUID
    purpose: StoredPurpose
    version: str
    granted: bool
    created_at: datetime


class RequiredConsent(msgspec.Struct):
    """A consent that an action needs, in the version the service asks for now."""

    purpose: Purpose
    version: str
    label_zh: str
    label_en: str


class ConsentsRequired(msgspec.Struct):
    """What the app must ask for before a worker may join (线上入会)."""

    join: list[RequiredConsent]
