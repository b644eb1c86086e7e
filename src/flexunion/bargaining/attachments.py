"""证据附件 Evidence on an agenda item (staff, the partner) or a worker's report.

The type is decided by the bytes (magic numbers via `filetype`), never by the name or the
declared Content-Type; plain text and CSV have no magic, so they are accepted only when
the name says .txt/.csv and the bytes decode as UTF-8. Bytes go to the store first, then
the row; if the row cannot be written the bytes are deleted again. Row-level security
decides who reads a file; the store only keeps bytes under opaque keys."""

from __future__ import annotations

import hashlib
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

import filetype
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining import board
from flexunion.bargaining.models import AgendaAttachment, AgendaItem, ProblemReport
from flexunion.bargaining.rounds import caller_partner, in_my_subtree
from flexunion.bargaining.storage import AttachmentStore
from flexunion.core.errors import DomainError, Forbidden, InvalidInput, NotFound

# sniffed MIME type → stored suffix
ALLOWED: dict[str, str] = {
    "application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg",
    "image/webp": ".webp", "image/heic": ".heic", "video/mp4": ".mp4",
}
TEXT_TYPES = {".txt": "text/plain; charset=utf-8", ".csv": "text/csv; charset=utf-8"}
FILENAME_MAX = 200


class AttachmentTooLarge(DomainError):
    status, code, title, title_en = 413, "attachment_too_large", "附件过大", "Attachment too large"


class AttachmentTypeNotAllowed(DomainError):
    status, code = 415, "attachment_type_not_allowed"
    title, title_en = "不支持的附件类型", "Attachment type not allowed"


class AttachmentNotFound(NotFound):
    code, title, title_en = "attachment_not_found", "未找到该附件", "Attachment not found"


class ReportNotFound(NotFound):
    code, title, title_en = "report_not_found", "未找到该问题提报", "Report not found"


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str
    declared_type: str | None


def clean_filename(raw: str | None) -> str:
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name)
                   if unicodedata.category(c)[0] != "C").strip().lstrip(".")
    if len(name) > FILENAME_MAX:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:FILENAME_MAX - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 \
            else name[:FILENAME_MAX]
    return name or "attachment"


def sniff(data: bytes, filename: str) -> tuple[str, str]:
    """(content type, suffix) decided by the bytes; 415 for anything not on the list."""
    kind = filetype.guess(data)
    if kind is not None:
        if kind.mime in ALLOWED:
            return kind.mime, ALLOWED[kind.mime]
        raise AttachmentTypeNotAllowed(
            f"Files of type {kind.mime} are not accepted as evidence.",
            extra={"sniffed": kind.mime, "allowed": [*ALLOWED, *TEXT_TYPES.values()]})
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix in TEXT_TYPES and b"\x00" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return TEXT_TYPES[suffix], suffix
    raise AttachmentTypeNotAllowed(
        "Evidence must be a PDF, PNG, JPEG, WebP, HEIC, MP4, or a UTF-8 .txt/.csv file.",
        extra={"sniffed": None, "allowed": [*ALLOWED, *TEXT_TYPES.values()]})


def content_disposition(filename: str) -> str:
    """RFC 6266 with an ASCII fallback and the UTF-8 name as RFC 5987 `filename*`."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def _store(
    session: AsyncSession, store: AttachmentStore, upload: Upload, *, max_bytes: int,
    federation_id: uuid.UUID, tenant_id: uuid.UUID, item_id: uuid.UUID | None,
    report_id: uuid.UUID | None, partner_id: uuid.UUID | None, shared: bool, now: datetime,
) -> AgendaAttachment:
    if len(upload.data) > max_bytes:
        raise AttachmentTooLarge(f"An attachment may be at most {max_bytes} bytes.",
                                 extra={"max_bytes": max_bytes, "size_bytes": len(upload.data)})
    if not upload.data:
        raise InvalidInput("The file is empty.", code="attachment_empty")
    filename = clean_filename(upload.filename)
    content_type, suffix = sniff(upload.data, filename)
    actor = await board.principal(session)
    key = await store.put(upload.data, suffix=suffix)
    row = AgendaAttachment(
        id=uuid.uuid4(), federation_id=federation_id, tenant_id=tenant_id, item_id=item_id,
        report_id=report_id, partner_id=partner_id, storage_key=key, filename=filename,
        content_type=content_type, size_bytes=len(upload.data),
        sha256=hashlib.sha256(upload.data).hexdigest(), shared_with_partner=shared,
        uploaded_by=actor, created_at=now)
    try:
        session.add(row)
        await session.flush()
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


async def _writable_item(session: AsyncSession, item_id: uuid.UUID) -> AgendaItem:
    item = await board.access_item(session, item_id)
    if not await in_my_subtree(session, item.tenant_id):
        raise Forbidden("Evidence on this item is added by the union that owns it.",
                        code="outside_subtree")
    return item


async def add_to_item_as_staff(session: AsyncSession, store: AttachmentStore, item_id: uuid.UUID,
                               upload: Upload, *, shared: bool, max_bytes: int, now: datetime
                               ) -> AgendaAttachment:
    item = await _writable_item(session, item_id)
    return await _store(session, store, upload, max_bytes=max_bytes,
                        federation_id=item.federation_id, tenant_id=item.tenant_id,
                        item_id=item.id, report_id=None, partner_id=item.partner_id,
                        shared=shared, now=now)


async def add_to_item_as_partner(session: AsyncSession, store: AttachmentStore,
                                 item_id: uuid.UUID, upload: Upload, *, max_bytes: int,
                                 now: datetime) -> AgendaAttachment:
    if await caller_partner(session) is None:
        raise board.ItemNotFound("No such agenda item.")
    item = await board.access_item(session, item_id)
    # the platform's own evidence: every client of the platform and the union see it
    return await _store(session, store, upload, max_bytes=max_bytes,
                        federation_id=item.federation_id, tenant_id=item.tenant_id,
                        item_id=item.id, report_id=None, partner_id=item.partner_id,
                        shared=True, now=now)


async def add_to_report(session: AsyncSession, store: AttachmentStore, report_id: uuid.UUID,
                        worker_id: str, upload: Upload, *, max_bytes: int, now: datetime
                        ) -> AgendaAttachment:
    report = await session.get(ProblemReport, report_id)
    # a representative may read reports in its remit, but adds evidence only to its own
    if report is None or str(report.worker_id) != worker_id:
        raise ReportNotFound("No such report of yours.")
    return await _store(session, store, upload, max_bytes=max_bytes,
                        federation_id=report.federation_id, tenant_id=report.tenant_id,
                        item_id=None, report_id=report.id, partner_id=None, shared=False,
                        now=now)


async def access(session: AsyncSession, attachment_id: uuid.UUID) -> AgendaAttachment:
    row = await session.get(AgendaAttachment, attachment_id)
    if row is None:
        raise AttachmentNotFound("No such attachment.")
    return row


async def of_item(session: AsyncSession, item_id: uuid.UUID) -> list[AgendaAttachment]:
    await board.access_item(session, item_id)
    return list((await session.scalars(
        select(AgendaAttachment).where(AgendaAttachment.item_id == item_id)
        .order_by(AgendaAttachment.created_at, AgendaAttachment.id))).all())


async def of_report(session: AsyncSession, report_id: uuid.UUID, worker_id: str
                    ) -> list[AgendaAttachment]:
    report = await session.get(ProblemReport, report_id)
    if report is None or str(report.worker_id) != worker_id:
        raise ReportNotFound("No such report of yours.")
    return list((await session.scalars(
        select(AgendaAttachment).where(AgendaAttachment.report_id == report_id)
        .order_by(AgendaAttachment.created_at, AgendaAttachment.id))).all())
