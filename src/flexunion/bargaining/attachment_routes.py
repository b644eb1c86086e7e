"""证据附件 Evidence attachments: upload (multipart/form-data, field `file`), list, download.

Staff add evidence to the items of their subtree (optionally shared with the platform);
a platform adds its own to the items addressed to it; a worker adds evidence to its own
reports. The type is sniffed from the bytes (415 attachment_type_not_allowed); the size is
capped by `attachment_max_bytes` (413 attachment_too_large)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, MultipartBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining import attachments as evidence
from flexunion.bargaining.attachments import Upload
from flexunion.bargaining.models import AgendaAttachment
from flexunion.bargaining.storage import AttachmentStore
from flexunion.config import AUDIENCE_ADMIN, AUDIENCE_MOBILE, AUDIENCE_PARTNER, Settings
from flexunion.core.clock import Clock
from flexunion.core.context import ADMIN_ROLES, Caller, Role

STAFF = {"audiences": (AUDIENCE_ADMIN,), "roles": ADMIN_ROLES}
PARTNER = {"audiences": (AUDIENCE_PARTNER,), "roles": {Role.PARTNER}}
WORKER = {"audiences": (AUDIENCE_MOBILE,), "roles": {Role.WORKER}}
SECURITY = [{"bearer": []}]
TAGS = ["agenda 协商清单"]
# The route's hard ceiling on a request body; `settings.bargaining.attachment_max_bytes` (10 MiB by
# default) is the real limit, checked on the file itself. Raise this if that is set higher.
BODY_CEILING = 64 * 1_048_576
# The `attachments` dependency is an AttachmentStore; a Protocol that is not
# runtime_checkable cannot be validated by the signature model, hence Any.
Store = Any
ItemId = Annotated[uuid.UUID, PathParameter()]
ReportId = Annotated[uuid.UUID, PathParameter()]
AttachmentId = Annotated[uuid.UUID, PathParameter()]
IdempotencyKey = Annotated[str, HeaderParameter(name="Idempotency-Key", min_length=1,
                                                max_length=255)]
ERRORS = "413 attachment_too_large; 415 attachment_type_not_allowed; 422 attachment_empty."


@dataclass
class AttachmentForm:
    """multipart/form-data with one part `file` (its filename is kept for downloads)."""

    file: UploadFile


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


async def _upload(form: AttachmentForm) -> Upload:
    data = await form.file.read()
    return Upload(data=data, filename=form.file.filename, declared_type=form.file.content_type)


async def _download(session: AsyncSession, store: AttachmentStore,
                    attachment_id: uuid.UUID) -> Response[bytes]:
    row = await evidence.access(session, attachment_id)
    data = await store.get(row.storage_key)
    return Response(data, media_type=row.content_type, headers={
        "Content-Disposition": evidence.content_disposition(row.filename),
        "X-Content-Type-Options": "nosniff", "Digest": f"sha-256={row.sha256}",
        "Cache-Control": "private, no-store"})


# ---- staff --------------------------------------------------------------------------------

@post("/v1/admin/bargaining/items/{item_id:uuid}/attachments", opt=STAFF, tags=TAGS,
      security=SECURITY, request_max_body_size=BODY_CEILING,
      summary="上传证据 Add evidence to an item of my subtree (multipart field `file`)",
      description=ERRORS + " 403 outside_subtree; 404 agenda_item_not_found.")
async def staff_upload(
    session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
    settings: NamedDependency[Settings], attachments: NamedDependency[Store],
    item_id: ItemId, data: MultipartBody[AttachmentForm],
    shared_with_partner: Annotated[bool, QueryParameter(
        description="对平台方可见 Let the platform see it")] = False,
) -> AttachmentRead:
    row = await evidence.add_to_item_as_staff(
        session, attachments, item_id, await _upload(data), shared=shared_with_partner,
        max_bytes=settings.bargaining.attachment_max_bytes, now=clock.now())
    return attachment_read(row)


@get("/v1/admin/bargaining/items/{item_id:uuid}/attachments", opt=STAFF, tags=TAGS,
     security=SECURITY, summary="事项证据 Evidence on an item")
async def staff_list(session: NamedDependency[AsyncSession],
                     item_id: ItemId) -> list[AttachmentRead]:
    return [attachment_read(r) for r in await evidence.of_item(session, item_id)]


@get("/v1/admin/bargaining/attachments/{attachment_id:uuid}", opt=STAFF, tags=TAGS,
     security=SECURITY, summary="下载证据 Download one attachment")
async def staff_download(session: NamedDependency[AsyncSession],
                         attachments: NamedDependency[Store],
                         attachment_id: AttachmentId) -> Response[bytes]:
    return await _download(session, attachments, attachment_id)


# ---- partner ------------------------------------------------------------------------------

@post("/v1/partner/bargaining/items/{item_id:uuid}/attachments", opt=PARTNER,
      tags=["partner 平台方"], security=SECURITY, request_max_body_size=BODY_CEILING,
      summary="平台上传证据 Add my platform's evidence to an item addressed to it",
      description=ERRORS + " 404 agenda_item_not_found.")
async def partner_upload(
    session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
    settings: NamedDependency[Settings], attachments: NamedDependency[Store],
    item_id: ItemId, data: MultipartBody[AttachmentForm],
) -> AttachmentRead:
    row = await evidence.add_to_item_as_partner(
        session, attachments, item_id, await _upload(data),
        max_bytes=settings.bargaining.attachment_max_bytes, now=clock.now())
    return attachment_read(row)


@get("/v1/partner/bargaining/items/{item_id:uuid}/attachments", opt=PARTNER,
     tags=["partner 平台方"], security=SECURITY,
     summary="事项证据 Evidence on an item shared with my platform, and my platform's own")
async def partner_list(session: NamedDependency[AsyncSession],
                       item_id: ItemId) -> list[AttachmentRead]:
    if await evidence.caller_partner(session) is None:
        raise evidence.board.ItemNotFound("No such agenda item.")
    return [attachment_read(r) for r in await evidence.of_item(session, item_id)]


@get("/v1/partner/bargaining/attachments/{attachment_id:uuid}", opt=PARTNER,
     tags=["partner 平台方"], security=SECURITY, summary="下载证据 Download one attachment")
async def partner_download(session: NamedDependency[AsyncSession],
                           attachments: NamedDependency[Store],
                           attachment_id: AttachmentId) -> Response[bytes]:
    return await _download(session, attachments, attachment_id)


# ---- worker -------------------------------------------------------------------------------

@post("/v1/bargaining/reports/{report_id:uuid}/attachments",
      opt={**WORKER, "idempotent": True}, tags=["reports 问题提报"], security=SECURITY,
      request_max_body_size=BODY_CEILING,
      summary="提报证据 Add evidence to my report (needs Idempotency-Key)",
      description=ERRORS + " 404 report_not_found. The Idempotency-Key layer reads at most "
                           "request_max_body_bytes (1 MiB by default): larger → 413.")
async def worker_upload(
    session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
    settings: NamedDependency[Settings], caller: NamedDependency[Caller],
    attachments: NamedDependency[Store], report_id: ReportId,
    data: MultipartBody[AttachmentForm], idempotency_key: IdempotencyKey,
) -> AttachmentRead:
    row = await evidence.add_to_report(
        session, attachments, report_id, caller.subject, await _upload(data),
        max_bytes=settings.bargaining.attachment_max_bytes, now=clock.now())
    return attachment_read(row)


@get("/v1/bargaining/reports/{report_id:uuid}/attachments", opt=WORKER,
     tags=["reports 问题提报"], security=SECURITY, summary="提报证据 Evidence on my report")
async def worker_list(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                      report_id: ReportId) -> list[AttachmentRead]:
    return [attachment_read(r) for r in await evidence.of_report(session, report_id,
                                                                      caller.subject)]


@get("/v1/bargaining/attachments/{attachment_id:uuid}", opt=WORKER, tags=["reports 问题提报"],
     security=SECURITY, summary="下载证据 Download evidence of my own report")
async def worker_download(session: NamedDependency[AsyncSession],
                          attachments: NamedDependency[Store],
                          attachment_id: AttachmentId) -> Response[bytes]:
    return await _download(session, attachments, attachment_id)


ROUTES = [staff_upload, staff_list, staff_download, partner_upload, partner_list,
          partner_download, worker_upload, worker_list, worker_download]
