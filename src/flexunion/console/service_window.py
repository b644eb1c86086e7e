"""服务窗口: the window's applications in four tabs (待审 / 超期件 / 退回件 / 已办), one
application with its materials and the decision forms (补件 with which materials and a note,
同意, 不予办理 with a reason), and a walk-in (窗口代办) filed for a member by 会员号. The same
services as /v1/admin/service-applications: each decision audited in its transaction, the
member told in the inbox."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.evidence.schemas import Upload
from flexunion.bargaining.evidence.store import EvidenceStore
from flexunion.config import Settings
from flexunion.console.forms import Form, attempt, read_form
from flexunion.console.render import html, see_other, speaker
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.services.applications import service
from flexunion.services.applications.http import download
from flexunion.services.applications.schemas import (
    CHANNELS,
    TABS,
    MoreRequest,
    WalkInCreate,
    application_read,
)
from flexunion.services.catalogue import service as catalogue

AppId = Annotated[uuid.UUID, PathParameter()]
FileId = Annotated[uuid.UUID, PathParameter()]
BODY_CEILING = 64 * 1_048_576
FILE_FIELDS = {"material_unknown": "material", "attachment_empty": "file",
               "attachment_too_large": "file", "attachment_type_not_allowed": "file"}
WALK_IN_FIELDS = {"member_not_found": "member_no", "member_not_active": "member_no",
                  "service_not_found": "service", "service_has_own_flow": "service",
                  "service_event_required": "event_id", "service_event_not_found": "event_id",
                  "service_event_full": "event_id", "service_already_signed_up": "event_id",
                  "service_not_events": "event_id"}


def _htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


@get("/", include_in_schema=False)
async def window_page(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                      clock: NamedDependency[Clock]) -> Response[str]:
    tab = request.query_params.get("tab", "pending")
    if tab not in TABS:
        tab = "pending"
    now = clock.now()
    found = await service.window(session, tab, now=now)
    members = await service.members_of(session, found)
    rows = [application_read(r, await service.entry_of(session, r),
                             await service.files(session, r), now, members.get(r.member_id))
            for r in found]
    return html(request, "service_window/list.html", menu="service_window", tab=tab, tabs=TABS,
                channels=CHANNELS, applications=rows)


async def _walk_in_page(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                        form: Form | None = None, status: int = 200) -> Response[str]:
    services = [o for o in await catalogue.listed(session, caller, active_only=True)
                if o.row.kind != "join_transfer"]
    return html(request, "service_window/new.html", status=status, menu="service_window",
                services=services, form=form or Form(speaker(request)))


@get("/new", include_in_schema=False)
async def walk_in_page(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                       caller: NamedDependency[Caller]) -> Response[str]:
    return await _walk_in_page(request, session, caller)


@post("/new", include_in_schema=False)
async def walk_in(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                  caller: NamedDependency[Caller], clock: NamedDependency[Clock]) -> Response[str]:
    form = await read_form(request, speaker(request))
    member_no = form.text("member_no", max_length=40)
    code = form.text("service", max_length=64)
    raw_event = form.values.get("event_id", "").strip()
    event_id = None
    if raw_event:
        try:
            event_id = uuid.UUID(raw_event)
        except ValueError:
            form.errors["event_id"] = form.t("请从列表中选择场次。",
                                             "Choose an event from the list.")
    note = form.text("note", required=False, max_length=2000)
    row = None
    if form.ok and member_no and code:
        data = WalkInCreate(member_no=member_no, service=code, event_id=event_id, note=note)
        row = await attempt(form, service.walk_in(session, caller, data, now=clock.now()),
                            WALK_IN_FIELDS)
    if not form.ok or row is None:
        return await _walk_in_page(request, session, caller, form, form.status)
    return see_other(f"/console/service-window/{row.id}?done=filed", htmx=_htmx(request))


async def _page(request: Request[Any, Any, Any], session: AsyncSession, clock: Clock,
                application_id: uuid.UUID, form: Form | None = None,
                status: int = 200) -> Response[str]:
    row = await service.access(session, application_id)
    entry = await service.entry_of(session, row)
    read = application_read(row, entry, await service.files(session, row), clock.now(),
                            (await service.members_of(session, [row])).get(row.member_id))
    return html(request, "service_window/detail.html", status=status, menu="service_window",
                app=read, channels=CHANNELS, form=form or Form(speaker(request)),
                done=request.query_params.get("done"))


@get("/{application_id:uuid}", include_in_schema=False)
async def application_page(request: Request[Any, Any, Any],
                           session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                           application_id: AppId) -> Response[str]:
    return await _page(request, session, clock, application_id)


@post("/{application_id:uuid}/materials", include_in_schema=False,
      request_max_body_size=BODY_CEILING)
async def add_material(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                       clock: NamedDependency[Clock], settings: NamedDependency[Settings],
                       attachments: NamedDependency[EvidenceStore],
                       application_id: AppId) -> Response[str]:
    """The member's file, handed in at the counter (a walk-in's materials, or a 补件)."""
    form = await read_form(request, speaker(request))
    material = form.text("material", max_length=40)
    upload = (await request.form()).get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        form.errors["file"] = form.t("请选择一个文件。", "Choose a file.")
    if form.ok and material and isinstance(upload, UploadFile):
        # No row lock: a filing station's UPDATE policy reaches only a returned application.
        row = await service.access(session, application_id)
        data = Upload(data=await upload.read(), filename=upload.filename,
                      declared_type=upload.content_type)
        await attempt(form, service.attach(
            session, attachments, row, material, data,
            max_bytes=settings.bargaining.attachment_max_bytes, now=clock.now()), FILE_FIELDS)
    return await _decided(request, session, clock, application_id, form, "material")


@get("/{application_id:uuid}/materials/{material_id:uuid}", include_in_schema=False)
async def material_file(session: NamedDependency[AsyncSession],
                        attachments: NamedDependency[EvidenceStore], application_id: AppId,
                        material_id: FileId) -> Stream:
    """One material file, as the API sends it; out of scope is the 404 page."""
    row = await service.access(session, application_id)
    return await download(attachments, await service.file_of(session, row, material_id))


async def _decided(request: Request[Any, Any, Any], session: AsyncSession, clock: Clock,
                   application_id: uuid.UUID, form: Form, decision: str) -> Response[str]:
    if not form.ok:
        return await _page(request, session, clock, application_id, form, form.status)
    return see_other(f"/console/service-window/{application_id}?done={decision}",
                     htmx=_htmx(request))


@post("/{application_id:uuid}/request-more", include_in_schema=False)
async def request_more(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                       caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                       application_id: AppId) -> Response[str]:
    """补件: which materials, and a note."""
    form = await read_form(request, speaker(request))
    materials = [v for v in (await request.form()).getall("materials") if v]
    note = form.text("note", max_length=2000)
    if not materials:
        form.errors["materials"] = form.t("请至少选择一项材料。",
                                          "Choose at least one material.")
    if form.ok and note:
        await attempt(form, service.request_more(
            session, caller, application_id, MoreRequest(materials=materials, note=note),
            now=clock.now()))
    return await _decided(request, session, clock, application_id, form, "request-more")


@post("/{application_id:uuid}/approve", include_in_schema=False)
async def approve(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                  caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                  application_id: AppId) -> Response[str]:
    """同意 (refused while a required material is missing)."""
    form = await read_form(request, speaker(request))
    note = form.text("approve_note", required=False, max_length=2000)
    if form.ok:
        await attempt(form, service.approve(session, caller, application_id, note,
                                            now=clock.now()))
    return await _decided(request, session, clock, application_id, form, "approve")


@post("/{application_id:uuid}/refuse", include_in_schema=False)
async def refuse(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                 caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                 application_id: AppId) -> Response[str]:
    """不予办理, with a reason."""
    form = await read_form(request, speaker(request))
    reason = form.text("reason", max_length=2000)
    if form.ok and reason:
        await attempt(form, service.refuse(session, caller, application_id, reason,
                                           now=clock.now()))
    return await _decided(request, session, clock, application_id, form, "refuse")


router = Router("/service-window", route_handlers=[window_page, walk_in_page, walk_in,
                                                   application_page, add_material,
                                                   material_file, request_more, approve,
                                                   refuse])
