"""服务申请 over HTTP: the worker applies (Idempotency-Key), uploads materials and follows it;
staff file walk-ins, work the window's tabs (待审 / 超期件 / 退回件 / 已办) and decide.
Partners have no route here, and row-level security hides every row from them besides."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

import msgspec
from litestar import Router, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import JSONBody, MultipartBody, PathParameter, QueryParameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.evidence.schemas import Upload
from flexunion.bargaining.evidence.store import EvidenceStore
from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import (
    BEARER,
    IDEMPOTENT,
    STAFF,
    WORKER,
    IdempotencyKey,
    problems,
)
from flexunion.services.applications import service
from flexunion.services.applications.http import DOWNLOAD, download
from flexunion.services.applications.models import ServiceApplication
from flexunion.services.applications.schemas import (
    ApplicationCreate,
    ApplicationRead,
    Approval,
    MaterialRead,
    MoreRequest,
    Refusal,
    Tab,
    WalkInCreate,
    application_read,
    material_read,
)

BODY_CEILING = 64 * 1_048_576
AppId = Annotated[uuid.UUID, PathParameter()]
FileId = Annotated[uuid.UUID, PathParameter()]
TabQ = Annotated[Tab, QueryParameter(description="pending 待审 / overdue 超期件 / returned 退回件"
                                                 " / done 已办")]
FILE_CODES = {413: "attachment_too_large", 415: "attachment_type_not_allowed",
              422: "attachment_empty, material_unknown"}
FILING = {403: "membership_required, member_not_active, service_not_offered",
          404: "service_not_found, service_event_not_found, not_a_member",
          409: "service_has_own_flow (入会转会: `links` to the join/transfer flows), "
               "service_event_full, service_already_signed_up",
          422: "service_event_required, service_not_events"}
DECIDING = {403: "application_not_reviewer", 404: "application_not_found",
            409: "application_decided"}


@dataclass
class MaterialForm:
    """multipart/form-data: `material` (its code in the list) and `file`."""

    material: Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,39}$", max_length=40)]
    file: UploadFile


async def _upload(form: MaterialForm) -> Upload:
    return Upload(data=await form.file.read(), filename=form.file.filename,
                  declared_type=form.file.content_type)


async def _read(session: AsyncSession, row: ServiceApplication, clock: Clock) -> ApplicationRead:
    return application_read(row, await service.entry_of(session, row),
                            await service.files(session, row), clock.now(),
                            (await service.members_of(session, [row])).get(row.member_id))


# ---- the worker ---------------------------------------------------------------------------


@post("/", opt=IDEMPOTENT, summary="申请服务 Apply for a service (Idempotency-Key)",
      responses=problems(FILING))
async def my_apply(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                   clock: NamedDependency[Clock], data: JSONBody[ApplicationCreate],
                   idempotency_key: IdempotencyKey) -> ApplicationRead:
    row = await service.apply(session, caller, data, now=clock.now())
    return await _read(session, row, clock)


@get("/", summary="我的服务申请 My applications")
async def my_list(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                  clock: NamedDependency[Clock]) -> list[ApplicationRead]:
    return [await _read(session, r, clock) for r in await service.mine(session, caller)]


@get("/{application_id:uuid}", summary="我的服务申请 One application: status, missing materials",
     responses=problems({404: "application_not_found"}))
async def my_one(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                 clock: NamedDependency[Clock], application_id: AppId) -> ApplicationRead:
    return await _read(session, await service.own(session, caller, application_id), clock)


@post("/{application_id:uuid}/materials", opt=IDEMPOTENT, request_max_body_size=BODY_CEILING,
      summary="上传材料 Add a material (multipart `material`, `file`; answers a 补件)",
      responses=problems({404: "application_not_found", 409: "application_decided",
                          **FILE_CODES}))
async def my_material(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                      clock: NamedDependency[Clock], settings: NamedDependency[Settings],
                      attachments: NamedDependency[EvidenceStore], application_id: AppId,
                      data: MultipartBody[MaterialForm],
                      idempotency_key: IdempotencyKey) -> MaterialRead:
    # No row lock: the worker's UPDATE policy reaches only a returned application.
    row = await service.own(session, caller, application_id)
    file = await service.attach(session, attachments, row, data.material, await _upload(data),
                                max_bytes=settings.bargaining.attachment_max_bytes,
                                now=clock.now())
    return material_read(file)


@get("/{application_id:uuid}/materials/{material_id:uuid}",
     summary="下载材料 Download a material file of my application",
     responses=DOWNLOAD | problems({404: "application_not_found, attachment_not_found"}))
async def my_download(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                      attachments: NamedDependency[EvidenceStore], application_id: AppId,
                      material_id: FileId) -> Stream:
    row = await service.own(session, caller, application_id)
    return await download(attachments, await service.file_of(session, row, material_id))


# ---- staff --------------------------------------------------------------------------------


@get("/", summary="服务窗口 The window's tab (待审 / 超期件 / 退回件 / 已办)")
async def window(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                 tab: TabQ = "pending") -> list[ApplicationRead]:
    return [await _read(session, r, clock)
            for r in await service.window(session, tab, now=clock.now())]


@post("/", summary="窗口代办 File an application for a member at a walk-in",
      responses=problems({**FILING, 404: FILING[404] + ", member_not_found"}))
async def walk_in(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                  clock: NamedDependency[Clock], data: JSONBody[WalkInCreate]) -> ApplicationRead:
    row = await service.walk_in(session, caller, data, now=clock.now())
    return await _read(session, row, clock)


@get("/{application_id:uuid}", summary="服务申请 One application",
     responses=problems({404: "application_not_found"}))
async def staff_one(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                    application_id: AppId) -> ApplicationRead:
    return await _read(session, await service.access(session, application_id), clock)


@post("/{application_id:uuid}/materials", request_max_body_size=BODY_CEILING,
      summary="上传材料 Add a material for the member (multipart `material`, `file`)",
      responses=problems({404: "application_not_found", 409: "application_decided",
                          **FILE_CODES}))
async def staff_material(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                         settings: NamedDependency[Settings],
                         attachments: NamedDependency[EvidenceStore], application_id: AppId,
                         data: MultipartBody[MaterialForm]) -> MaterialRead:
    # No row lock: a filing station's UPDATE policy reaches only a returned application.
    row = await service.access(session, application_id)
    file = await service.attach(session, attachments, row, data.material, await _upload(data),
                                max_bytes=settings.bargaining.attachment_max_bytes,
                                now=clock.now())
    return material_read(file)


@get("/{application_id:uuid}/materials/{material_id:uuid}",
     summary="下载材料 Download a material file", responses=DOWNLOAD | problems(
         {404: "application_not_found, attachment_not_found"}))
async def staff_download(session: NamedDependency[AsyncSession],
                         attachments: NamedDependency[EvidenceStore], application_id: AppId,
                         material_id: FileId) -> Stream:
    row = await service.access(session, application_id)
    return await download(attachments, await service.file_of(session, row, material_id))


@post("/{application_id:uuid}/request-more", status_code=200,
      summary="补件 Ask for more materials (the clock pauses until the member answers)",
      responses=problems({**DECIDING, 409: "application_decided, application_returned",
                          422: "material_unknown"}))
async def request_more(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                       clock: NamedDependency[Clock], application_id: AppId,
                       data: JSONBody[MoreRequest]) -> ApplicationRead:
    row = await service.request_more(session, caller, application_id, data, now=clock.now())
    return await _read(session, row, clock)


@post("/{application_id:uuid}/approve", status_code=200, summary="同意 Approve",
      responses=problems({**DECIDING,
                          409: "application_decided, application_incomplete (`missing`)"}))
async def approve(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                  clock: NamedDependency[Clock], application_id: AppId,
                  data: JSONBody[Approval]) -> ApplicationRead:
    row = await service.approve(session, caller, application_id, data.note, now=clock.now())
    return await _read(session, row, clock)


@post("/{application_id:uuid}/refuse", status_code=200, summary="不予办理 Refuse, with a reason",
      responses=problems(DECIDING))
async def refuse(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                 clock: NamedDependency[Clock], application_id: AppId,
                 data: JSONBody[Refusal]) -> ApplicationRead:
    row = await service.refuse(session, caller, application_id, data.reason, now=clock.now())
    return await _read(session, row, clock)


router = Router("/", route_handlers=[
    Router("/v1/me/service-applications", opt=WORKER, tags=["me 我的"], security=BEARER,
           route_handlers=[my_apply, my_list, my_one, my_material, my_download]),
    Router("/v1/admin/service-applications", opt=STAFF, tags=["services 服务"], security=BEARER,
           route_handlers=[window, walk_in, staff_one, staff_material, staff_download,
                           request_more, approve, refuse]),
])
