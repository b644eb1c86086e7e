"""诉求证据 — an attachment as read."""

from __future__ import annotations

import uuid

import msgspec

from flexunion.cases.attachments.models import CaseAttachment


class AttachmentRead(msgspec.Struct):
    id: uuid.UUID
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    created_at: str


def attachment_read(row: CaseAttachment) -> AttachmentRead:
    return AttachmentRead(id=row.id, filename=row.filename, content_type=row.content_type,
                          size_bytes=row.size_bytes, sha256=row.sha256,
                          created_at=row.created_at.isoformat())
