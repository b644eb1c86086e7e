"""诉求证据 over HTTP: the worker's and staff's uploads, lists and downloads.

A partner (an assisting unit of the case) has no route here: the worker is masked to
partners, and a photo, a chat screenshot or a payslip names them; `case_attachments`
row-level security hides every row from a partner principal besides (0015)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from litestar import Router, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import MultipartBody, PathParameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.evidence.schemas import Upload
from flexunion.bargaining.evidence.store import EvidenceStore
from flexunion.cases.attachments import service as files
from flexunion.cases.attachments.http import DOWNLOAD, download
from flexunion.cases.attachments.schemas import AttachmentRead, attachment_read
from flexunion.cases.ledger import service
from flexunion.cases.ledger.http import CASE_STAFF, STEP_404, CaseId
from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import BEARER, IDEMPOTENT, WORKER, IdempotencyKey, problems

BODY_CEILING = 64 * 1_048_576
ATTACH = {413: "attachment_too_large", 415: "attachment_type_not_allowed",
          422: "attachment_empty"}
AttachmentId = Annotated[uuid.UUID, PathParameter()]
MY_404 = "case_not_found (not my case), attachment_not_found (not on this case)"
STAFF_404 = STEP_404 + ", attachment_not_found (not on this case)"


@dataclass
class AttachmentForm:
    """multipart/form-data with one part `file`."""

    file: UploadFile


async def _upload(form: AttachmentForm) -> Upload:
    return Upload(data=await form.file.read(), filename=form.file.filename,
                  declared_type=form.file.content_type)


@post("/{case_id:uuid}/attachments", opt=IDEMPOTENT, request_max_body_size=BODY_CEILING,
      summary="上传证据 Add evidence to my case (multipart field `file`, Idempotency-Key)",
      responses=problems({404: "case_not_found", **ATTACH}))
async def my_attachment(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                        clock: NamedDependency[Clock], settings: NamedDependency[Settings],
                        attachments: NamedDependency[EvidenceStore], case_id: CaseId,
                        data: MultipartBody[AttachmentForm],
                        idempotency_key: IdempotencyKey) -> AttachmentRead:
    case = await service.own_case(session, caller, case_id)
    row = await files.attach(session, attachments, case, await _upload(data),
                             max_bytes=settings.bargaining.attachment_max_bytes,
                             now=clock.now())
    return attachment_read(row)


@get("/{case_id:uuid}/attachments", summary="我的证据 Evidence on my case",
     responses=problems({404: "case_not_found"}))
async def my_attachments(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                         case_id: CaseId) -> list[AttachmentRead]:
    case = await service.own_case(session, caller, case_id)
    return [attachment_read(r) for r in await files.attachments(session, case)]


@get("/{case_id:uuid}/attachments/{attachment_id:uuid}",
     summary="下载证据 Download evidence of my case (the type it was stored as)",
     responses=DOWNLOAD | problems({404: MY_404}))
async def my_download(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                      attachments: NamedDependency[EvidenceStore], case_id: CaseId,
                      attachment_id: AttachmentId) -> Stream:
    case = await service.own_case(session, caller, case_id)
    return await download(attachments, await files.attachment(session, case, attachment_id))


@post("/{case_id:uuid}/attachments", request_max_body_size=BODY_CEILING,
      summary="上传证据 Add evidence to a case (multipart field `file`)",
      responses=problems({404: STEP_404, **ATTACH}))
async def staff_attachment(session: NamedDependency[AsyncSession],
                           clock: NamedDependency[Clock], settings: NamedDependency[Settings],
                           attachments: NamedDependency[EvidenceStore], case_id: CaseId,
                           data: MultipartBody[AttachmentForm]) -> AttachmentRead:
    case = await service.access_case(session, case_id)
    row = await files.attach(session, attachments, case, await _upload(data),
                             max_bytes=settings.bargaining.attachment_max_bytes,
                             now=clock.now())
    return attachment_read(row)


@get("/{case_id:uuid}/attachments", summary="诉求证据 Evidence on a case",
     responses=problems({404: STEP_404}))
async def staff_attachments(session: NamedDependency[AsyncSession],
                            case_id: CaseId) -> list[AttachmentRead]:
    case = await service.access_case(session, case_id)
    return [attachment_read(r) for r in await files.attachments(session, case)]


@get("/{case_id:uuid}/attachments/{attachment_id:uuid}",
     summary="下载证据 Download evidence of a case (the type it was stored as)",
     responses=DOWNLOAD | problems({404: STAFF_404}))
async def staff_download(session: NamedDependency[AsyncSession],
                         attachments: NamedDependency[EvidenceStore], case_id: CaseId,
                         attachment_id: AttachmentId) -> Stream:
    case = await service.access_case(session, case_id)
    return await download(attachments, await files.attachment(session, case, attachment_id))


router = Router("/", route_handlers=[
    Router("/v1/me/cases", opt=WORKER, tags=["me 我的"], security=BEARER,
           route_handlers=[my_attachment, my_attachments, my_download]),
    Router("/v1/cases", opt=CASE_STAFF, security=BEARER,
           route_handlers=[staff_attachment, staff_attachments, staff_download]),
])
