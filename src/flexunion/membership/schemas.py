from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

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
