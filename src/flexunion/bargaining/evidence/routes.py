"""证据附件 over HTTP: upload (multipart/form-data, field `file`), list, download.

Staff add evidence to the items of their subtree (optionally shared with the platform);
a platform adds its own to the items addressed to it; a worker adds evidence to its own
reports. The type is sniffed from the bytes (415 attachment_type_not_allowed); the size is
capped by `attachment_max_bytes` (413 attachment_too_large)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from litestar import Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import MultipartBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.evidence import service
from flexunion.bargaining.evidence.files import ALLOWED, TEXT_TYPES, content_disposition
from flexunion.bargaining.evidence.schemas import AttachmentRead, Upload, attachment_read
from flexunion.bargaining.evidence.store import EvidenceStore
from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import (
    BEARER,
    IDEMPOTENT,
    PARTNER,
    STAFF,
    WORKER,
    IdempotencyKey,
    downloads,
    problems,
)

# The route's hard ceiling on a request body; `settings.bargaining.attachment_max_bytes`
# (10 MiB by default) is the real limit, checked on the file itself. Raise this if that is
# set higher.
BODY_CEILING = 64 * 1_048_576
ERRORS = "413 attachment_too_large; 415 attachment_type_not_allowed; 422 attachment_empty."
ItemId = Annotated[uuid.UUID, PathParameter()]
ReportId = Annotated[uuid.UUID, PathParameter()]
AttachmentId = Annotated[uuid.UUID, PathParameter()]
# A download is sent with the type its bytes were stored as (Content-Disposition: attachment).
DOWNLOAD = downloads(*ALLOWED, *TEXT_TYPES.values(), description="The file, as stored")


@dataclass
class AttachmentForm:
    """multipart/form-data with one part `file` (its filename is kept for downloads)."""

    file: UploadFile


async def _upload(form: AttachmentForm) -> Upload:
    data = await form.file.read()
    return Upload(data=data, filename=form.file.filename, declared_type=form.file.content_type)


async def _download(session: AsyncSession, store: EvidenceStore,
                    attachment_id: uuid.UUID) -> Response[bytes]:
    row = await service.access(session, attachment_id)
    data = await store.get(row.storage_key)
    # Litestar adds `; charset=utf-8` to a text/* type itself (stored: text/csv; charset=utf-8).
    return Response(data, media_type=row.content_type.split(";")[0], headers={
        "Content-Disposition": content_disposition(row.filename),
        "X-Content-Type-Options": "nosniff", "Digest": f"sha-256={row.sha256}",
        "Cache-Control": "private, no-store"})


# ---- staff ---------------------------------------------------------------------------------


@post("/items/{item_id:uuid}/attachments", request_max_body_size=BODY_CEILING,
      summary="上传证据 Add evidence to an item of my subtree (multipart field `file`)",
      description=ERRORS + " 403 outside_subtree; 404 agenda_item_not_found.",
      responses=problems({
          403: "outside_subtree",
          404: "agenda_item_not_found",
          413: "attachment_too_large",
          415: "attachment_type_not_allowed",
          422: "attachment_empty"}))
async def staff_upload(
    session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
    settings: NamedDependency[Settings], attachments: NamedDependency[EvidenceStore],
    item_id: ItemId, data: MultipartBody[AttachmentForm],
    shared_with_partner: Annotated[bool, QueryParameter(
        description="对平台方可见 Let the platform see it")] = False,
) -> AttachmentRead:
    row = await service.add_to_item_as_staff(
        session, attachments, item_id, await _upload(data), shared=shared_with_partner,
        max_bytes=settings.bargaining.attachment_max_bytes, now=clock.now())
    return attachment_read(row)


@get("/items/{item_id:uuid}/attachments", summary="事项证据 Evidence on an item",
     responses=problems({404: "agenda_item_not_found"}))
async def staff_list(session: NamedDependency[AsyncSession],
                     item_id: ItemId) -> list[AttachmentRead]:
    return [attachment_read(r) for r in await service.of_item(session, item_id)]


@get("/attachments/{attachment_id:uuid}", summary="下载证据 Download one attachment",
     responses=DOWNLOAD | problems({404: "attachment_not_found"}))
async def staff_download(session: NamedDependency[AsyncSession],
                         attachments: NamedDependency[EvidenceStore],
                         attachment_id: AttachmentId) -> Response[bytes]:
    return await _download(session, attachments, attachment_id)


# ---- partner -------------------------------------------------------------------------------


@post("/items/{item_id:uuid}/attachments", request_max_body_size=BODY_CEILING, opt=IDEMPOTENT,
      summary="平台上传证据 Add my platform's evidence to an item addressed to it; "
              "Idempotency-Key",
      description=ERRORS + " 404 agenda_item_not_found.",
      responses=problems({
          404: "agenda_item_not_found",
          413: "attachment_too_large",
          415: "attachment_type_not_allowed",
          422: "attachment_empty"}))
async def partner_upload(
    session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
    settings: NamedDependency[Settings], attachments: NamedDependency[EvidenceStore],
    item_id: ItemId, idempotency_key: IdempotencyKey, data: MultipartBody[AttachmentForm],
) -> AttachmentRead:
    row = await service.add_to_item_as_partner(
        session, attachments, item_id, await _upload(data),
        max_bytes=settings.bargaining.attachment_max_bytes, now=clock.now())
    return attachment_read(row)


@get("/items/{item_id:uuid}/attachments",
     summary="事项证据 Evidence on an item shared with my platform, and my platform's own",
     responses=problems({404: "agenda_item_not_found"}))
async def partner_list(session: NamedDependency[AsyncSession],
                       item_id: ItemId) -> list[AttachmentRead]:
    return [attachment_read(r) for r in await service.of_partner_item(session, item_id)]


@get("/attachments/{attachment_id:uuid}", summary="下载证据 Download one attachment",
     responses=DOWNLOAD | problems({404: "attachment_not_found"}))
async def partner_download(session: NamedDependency[AsyncSession],
                           attachments: NamedDependency[EvidenceStore],
                           attachment_id: AttachmentId) -> Response[bytes]:
    return await _download(session, attachments, attachment_id)


# ---- worker --------------------------------------------------------------------------------


@post("/reports/{report_id:uuid}/attachments", opt=IDEMPOTENT,
      request_max_body_size=BODY_CEILING,
      summary="提报证据 Add evidence to my report (needs Idempotency-Key)",
      description=ERRORS + " 404 report_not_found. The Idempotency-Key layer reads at most "
                           "request_max_body_bytes (1 MiB by default): larger → 413.",
      responses=problems({
          404: "report_not_found",
          413: "attachment_too_large",
          415: "attachment_type_not_allowed",
          422: "attachment_empty"}))
async def worker_upload(
    session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
    settings: NamedDependency[Settings], caller: NamedDependency[Caller],
    attachments: NamedDependency[EvidenceStore], report_id: ReportId,
    data: MultipartBody[AttachmentForm], idempotency_key: IdempotencyKey,
) -> AttachmentRead:
    row = await service.add_to_report(
        session, attachments, caller, report_id, await _upload(data),
        max_bytes=settings.bargaining.attachment_max_bytes, now=clock.now())
    return attachment_read(row)


@get("/reports/{report_id:uuid}/attachments", summary="提报证据 Evidence on my report",
     responses=problems({404: "report_not_found"}))
async def worker_list(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                      report_id: ReportId) -> list[AttachmentRead]:
    return [attachment_read(r) for r in await service.of_report(session, caller, report_id)]


@get("/attachments/{attachment_id:uuid}", summary="下载证据 Download evidence of my own report",
     responses=DOWNLOAD | problems({404: "attachment_not_found"}))
async def worker_download(session: NamedDependency[AsyncSession],
                          attachments: NamedDependency[EvidenceStore],
                          attachment_id: AttachmentId) -> Response[bytes]:
    return await _download(session, attachments, attachment_id)


router = Router("/", security=BEARER, route_handlers=[
    Router("/v1/admin/bargaining", opt=STAFF, tags=["agenda 协商清单"], route_handlers=[
        staff_upload, staff_list, staff_download]),
    Router("/v1/partner/bargaining", opt=PARTNER, tags=["partner 平台方"], route_handlers=[
        partner_upload, partner_list, partner_download]),
    Router("/v1/bargaining", opt=WORKER, tags=["reports 问题提报"], route_handlers=[
        worker_upload, worker_list, worker_download]),
])
