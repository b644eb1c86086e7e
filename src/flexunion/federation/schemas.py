from __future__ import annotations

import uuid
from typing import Literal

import msgspec


class TenantRead(msgspec.Struct):
    id: uuid.UUID
    code: str
    kind: Literal["hq", "regional", "station"]
    name_zh: str
    name_en: str
    federation_id: uuid.UUID
    parent_id: uuid.UUID | None = None
    adcode: str | None = None
    city: str | None = None
    partner_code: str | None = None
    address: str | None = None


class PartnerRead(msgspec.Struct):
    id: uuid.UUID
    code: str
    name_zh: str
    name_en: str
