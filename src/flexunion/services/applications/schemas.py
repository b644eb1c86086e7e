"""Service application schemas: what a worker (or a station at a walk-in) files, the
window's decisions, and an application as read with its materials and what is missing."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from flexunion.services.applications.models import ServiceApplication, ServiceMaterial

ServiceCode = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$",
                                          max_length=64)]
Note = Annotated[str, msgspec.Meta(max_length=2000)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
MaterialCode = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Tab = Literal["pending", "overdue", "returned", "done"]
STATUSES = {"submitted": ("待审", "Under review"), "returned": ("待补件", "Awaiting materials"),
            "approved": ("已办结（同意）", "Approved"), "refused": ("不予办理", "Refused")}
TABS = {"pending": ("待审", "To review"), "overdue": ("超期件", "Overdue"),
        "returned": ("退回件", "Returned"), "done": ("已办", "Done")}
CHANNELS = {"app": ("App 申请", "App"), "walk_in": ("窗口代办", "Walk-in")}


class ApplicationCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    service: ServiceCode
    event_id: uuid.UUID | None = None
    note: Note | None = None


class WalkInCreate(ApplicationCreate, kw_only=True):
    """窗口代办: a station files for a worker who came in, by their 会员号."""

    member_no: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class MoreRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """补件: which materials, and what to say."""

    materials: Annotated[list[MaterialCode], msgspec.Meta(min_length=1, max_length=30)]
    note: Reason


class Approval(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    note: Note | None = None


class Refusal(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: Reason


class MaterialRead(msgspec.Struct):
    id: uuid.UUID
    material: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by_worker: bool
    created_at: str


class MaterialLine(msgspec.Struct):
    code: str
    label_zh: str
    label_en: str
    required: bool
    provided: bool
    requested: bool


class ApplicationRead(msgspec.Struct):
    id: uuid.UUID
    number: str
    service: str
    service_title_zh: str
    service_title_en: str
    event_id: uuid.UUID | None
    channel: str
    status: str
    status_zh: str
    status_en: str
    note: str | None
    materials: list[MaterialLine]
    missing: list[str]  # required materials with no file yet
    requested: list[str]  # 补件: the materials asked for
    request_note: str | None
    deadline_at: str
    overdue: bool
    reason: str | None
    files: list[MaterialRead]
    created_at: str
    decided_at: str | None
    # 会员号 and the masked name, where the reader may see the member (staff in scope; the
    # worker its own); None otherwise.
    member_no: str | None = None
    member_name_masked: str | None = None


def material_read(row: ServiceMaterial) -> MaterialRead:
    return MaterialRead(id=row.id, material=row.material, filename=row.filename,
                        content_type=row.content_type, size_bytes=row.size_bytes,
                        sha256=row.sha256, uploaded_by_worker=row.uploaded_by.startswith("worker:"),
                        created_at=row.created_at.isoformat())


def lines(listed: list[dict[str, Any]], files: list[ServiceMaterial],
          requested: list[str]) -> list[MaterialLine]:
    have = {f.material for f in files}
    return [MaterialLine(code=m["code"], label_zh=m["label_zh"], label_en=m["label_en"],
                         required=bool(m.get("required", True)), provided=m["code"] in have,
                         requested=m["code"] in requested) for m in listed]


def application_read(row: ServiceApplication, entry: Any, files: list[ServiceMaterial],
                     now: datetime,
                     member: tuple[str | None, str] | None = None) -> ApplicationRead:
    listed = lines(entry.materials, files, list(row.requested))
    zh, en = STATUSES[row.status]
    return ApplicationRead(
        id=row.id, number=row.number, service=entry.code, service_title_zh=entry.title_zh,
        service_title_en=entry.title_en, event_id=row.event_id, channel=row.channel,
        status=row.status, status_zh=zh, status_en=en, note=row.note, materials=listed,
        missing=[m.code for m in listed if m.required and not m.provided],
        requested=list(row.requested), request_note=row.request_note,
        deadline_at=row.deadline_at.isoformat(),
        overdue=row.status == "submitted" and row.deadline_at < now, reason=row.reason,
        files=[material_read(f) for f in files], created_at=row.created_at.isoformat(),
        decided_at=row.decided_at.isoformat() if row.decided_at else None,
        member_no=member[0] if member else None,
        member_name_masked=member[1] if member else None)
