"""证据附件 — what an upload carries into the service, and what callers see of a file."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import msgspec

from flexunion.bargaining.evidence.models import AgendaAttachment


@dataclass(frozen=True)
class Upload:
    """The uploaded file: its bytes, the name it came with and the type it claimed."""

    data: bytes
    filename: str
    declared_type: str | None


class AttachmentRead(msgspec.Struct):
    id: uuid.UUID
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    shared_with_partner: bool
    uploaded_by_kind: str
    created_at: str
    item_id: uuid.UUID | None = None
    report_id: uuid.UUID | None = None


def attachment_read(row: AgendaAttachment) -> AttachmentRead:
    return AttachmentRead(
        id=row.id, filename=row.filename, content_type=row.content_type,
        size_bytes=row.size_bytes, sha256=row.sha256, shared_with_partner=row.shared_with_partner,
        uploaded_by_kind=row.uploaded_by.partition(":")[0], created_at=row.created_at.isoformat(),
        item_id=row.item_id, report_id=row.report_id)
