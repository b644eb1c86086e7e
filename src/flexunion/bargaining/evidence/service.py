"""证据附件 Evidence on an agenda item (staff of its union, the platform it is addressed to)
or on a worker's report (that worker only).

Bytes go to the store first, then the row; if the row cannot be written the bytes are
deleted again. The type is sniffed from the bytes (files.py) and the size is capped.
Row-level security decides who reads a file; the store only keeps bytes under opaque keys."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining.board import service as board
from flexunion.bargaining.board.models import AgendaItem
from flexunion.bargaining.evidence import repository
from flexunion.bargaining.evidence.files import clean_filename, sniff
from flexunion.bargaining.evidence.models import AgendaAttachment
from flexunion.bargaining.evidence.schemas import Upload
from flexunion.bargaining.evidence.store import EvidenceStore
from flexunion.bargaining.reports import service as reports
from flexunion.core.context import Caller
from flexunion.core.errors import DomainError, Forbidden, InvalidInput, NotFound
from flexunion.db import rls


class AttachmentTooLarge(DomainError):
    status, code, title, title_en = 413, "attachment_too_large", "附件过大", "Attachment too large"


class AttachmentNotFound(NotFound):
    code, title, title_en = "attachment_not_found", "未找到该附件", "Attachment not found"


async def put_checked(store: EvidenceStore, upload: Upload, *,
                      max_bytes: int) -> tuple[str, str, str]:
    """An upload checked (size, not empty, its type sniffed from the bytes) and put in the
    store: (clean filename, content type, storage key). The caller writes its row and
    deletes the key again if that fails. Shared by every evidence table (agenda, cases)."""
    if len(upload.data) > max_bytes:
        raise AttachmentTooLarge(f"附件最大 {max_bytes} 字节。",
                                 f"An attachment may be at most {max_bytes} bytes.",
                                 extra={"max_bytes": max_bytes, "size_bytes": len(upload.data)})
    if not upload.data:
        raise InvalidInput("文件是空的。", "The file is empty.", code="attachment_empty")
    filename = clean_filename(upload.filename)
    content_type, suffix = sniff(upload.data, filename)
    return filename, content_type, await store.put(upload.data, suffix=suffix)


async def _store(
    session: AsyncSession, store: EvidenceStore, upload: Upload, *, max_bytes: int,
    federation_id: uuid.UUID, tenant_id: uuid.UUID, item_id: uuid.UUID | None,
    report_id: uuid.UUID | None, partner_id: uuid.UUID | None, shared: bool, now: datetime,
) -> AgendaAttachment:
    filename, content_type, key = await put_checked(store, upload, max_bytes=max_bytes)
    actor = await rls.principal(session)
    row = AgendaAttachment(
        id=uuid.uuid4(), federation_id=federation_id, tenant_id=tenant_id, item_id=item_id,
        report_id=report_id, partner_id=partner_id, storage_key=key, filename=filename,
        content_type=content_type, size_bytes=len(upload.data),
        sha256=hashlib.sha256(upload.data).hexdigest(), shared_with_partner=shared,
        uploaded_by=actor, created_at=now)
    try:
        repository.add(session, row)
        await repository.flush(session)
        await audit.record(session, "agenda.attachment_added", tenant_id=tenant_id,
                           object_type="agenda_attachment", object_id=row.id,
                           payload={"item_id": str(item_id) if item_id else None,
                                    "report_id": str(report_id) if report_id else None,
                                    "content_type": content_type, "sha256": row.sha256,
                                    "size_bytes": row.size_bytes, "shared": shared,
                                    "declared_type": upload.declared_type})
    except BaseException:
        await store.delete(key)
        raise
    return row


async def _on_item(session: AsyncSession, store: EvidenceStore, item: AgendaItem,
                   upload: Upload, *, shared: bool, max_bytes: int,
                   now: datetime) -> AgendaAttachment:
    return await _store(session, store, upload, max_bytes=max_bytes,
                        federation_id=item.federation_id, tenant_id=item.tenant_id,
                        item_id=item.id, report_id=None, partner_id=item.partner_id,
                        shared=shared, now=now)


async def add_to_item_as_staff(session: AsyncSession, store: EvidenceStore, item_id: uuid.UUID,
                               upload: Upload, *, shared: bool, max_bytes: int,
                               now: datetime) -> AgendaAttachment:
    item = await board.access_item(session, item_id)
    if not await rls.in_scope(session, item.tenant_id):
        raise Forbidden("该事项的证据由其所属工会添加。",
                        "Evidence on this item is added by the union that owns it.",
                        code="outside_subtree")
    return await _on_item(session, store, item, upload, shared=shared, max_bytes=max_bytes,
                          now=now)


async def _partner_item(session: AsyncSession, item_id: uuid.UUID) -> AgendaItem:
    if await rls.current_partner(session) is None:
        raise board.no_such_item()
    return await board.access_item(session, item_id)


async def add_to_item_as_partner(session: AsyncSession, store: EvidenceStore,
                                 item_id: uuid.UUID, upload: Upload, *, max_bytes: int,
                                 now: datetime) -> AgendaAttachment:
    """The platform's own evidence: every client of the platform and the union see it."""
    item = await _partner_item(session, item_id)
    return await _on_item(session, store, item, upload, shared=True, max_bytes=max_bytes,
                          now=now)


async def add_to_report(session: AsyncSession, store: EvidenceStore, caller: Caller,
                        report_id: uuid.UUID, upload: Upload, *, max_bytes: int,
                        now: datetime) -> AgendaAttachment:
    # a representative may read reports in its remit, but adds evidence only to its own
    report = await reports.own_report(session, caller, report_id)
    return await _store(session, store, upload, max_bytes=max_bytes,
                        federation_id=report.federation_id, tenant_id=report.tenant_id,
                        item_id=None, report_id=report.id, partner_id=None, shared=False,
                        now=now)


async def access(session: AsyncSession, attachment_id: uuid.UUID) -> AgendaAttachment:
    row = await repository.get(session, attachment_id)
    if row is None:
        raise AttachmentNotFound("没有这个附件。", "No such attachment.")
    return row


async def of_item(session: AsyncSession, item_id: uuid.UUID) -> Sequence[AgendaAttachment]:
    await board.access_item(session, item_id)
    return await repository.of_item(session, item_id)


async def of_partner_item(session: AsyncSession,
                          item_id: uuid.UUID) -> Sequence[AgendaAttachment]:
    """What the calling partner sees on an item: shared with it, or its own."""
    await _partner_item(session, item_id)
    return await repository.of_item(session, item_id)


async def of_report(session: AsyncSession, caller: Caller,
                    report_id: uuid.UUID) -> Sequence[AgendaAttachment]:
    report = await reports.own_report(session, caller, report_id)
    return await repository.of_report(session, report.id)
