"""条款文书 schemas: a presented document and the verdict; a clause's published document."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

Document = Annotated[str, msgspec.Meta(min_length=1, max_length=64 * 1024)]


class VerifyRequest(msgspec.Struct, forbid_unknown_fields=True):
    document: Document


class VerifyRead(msgspec.Struct, kw_only=True):
    """`status`: in_force | superseded | altered | unknown."""

    status: str
    status_zh: str
    status_en: str
    clause_id: uuid.UUID | None = None
    agreement_id: uuid.UUID | None = None
    version: int | None = None
    key: str | None = None


class DocumentRead(msgspec.Struct, kw_only=True):
    clause_id: uuid.UUID
    status: str
    document: str
    sha256: str
    kid: str
    signed_at: datetime
    media_type: str = "application/jose"
