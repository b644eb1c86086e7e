"""服务目录 schemas: an entry as saved and as read, its materials list, who may apply, and
the events (places) of an `events` service."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

import msgspec

from flexunion.services.catalogue.models import ServiceEntry, ServiceEvent

Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", max_length=64)]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Summary = Annotated[str, msgspec.Meta(max_length=2000)]
Kind = Literal["application", "events", "join_transfer"]
Unit = Literal["station", "region", "hq"]
Who = Literal["any_member", "groups", "women"]
KINDS = {"application": ("申请办理", "Apply"), "events": ("报名活动", "Sign up for an event"),
         "join_transfer": ("入会转会流程", "The join / transfer flow")}
UNITS = {"station": ("服务站点", "Station"), "region": ("区域工会", "Regional union"),
         "hq": ("总部", "HQ")}
WHO = {"any_member": ("全体会员", "Any member"),
       "groups": ("指定服务群体会员", "Members of given groups"),
       "women": ("女职工会员", "Women members")}
# 入会转会 points to the existing flows; no second join flow (docs/services.md).
JOIN_TRANSFER_LINKS = {"join": "POST /v1/me/membership/application",
                       "transfer": "POST /v1/me/transfers"}


class Material(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """材料清单 one line: a stable code, its labels, required or optional."""

    code: Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    label_zh: Label
    label_en: Label
    required: bool = True


class Eligibility(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """Who may apply: any member, members in given service groups (group codes), women."""

    who: Who = "any_member"
    groups: Annotated[list[Code], msgspec.Meta(max_length=20)] = []


class EntrySave(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An entry saved by HQ or a region (created, or a new revision of its own code)."""

    code: Code
    kind: Kind = "application"
    title_zh: Label
    title_en: Label
    summary_zh: Summary = ""
    eligibility: Eligibility = msgspec.field(default_factory=Eligibility)
    materials: Annotated[list[Material], msgspec.Meta(max_length=30)] = []
    reviewing_unit: Unit = "station"
    time_limit_days: Annotated[int, msgspec.Meta(ge=0, le=365)] = 5
    active: bool = True


class EntryRead(msgspec.Struct):
    code: str
    kind: str
    title_zh: str
    title_en: str
    summary_zh: str
    eligibility: dict[str, Any]
    materials: list[dict[str, Any]]
    reviewing_unit: str
    time_limit_days: int
    apply_links: dict[str, Any]
    active: bool
    revision: int
    kept_by: str  # the keeper's tenant code: HQ (federation-wide) or a region
    federation_wide: bool


class EventSave(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    title_zh: Label
    title_en: Label
    place: Label
    starts_on: date
    places: Annotated[int, msgspec.Meta(ge=1, le=100_000)]


class EventRead(msgspec.Struct):
    id: uuid.UUID
    service: str
    title_zh: str
    title_en: str
    place: str
    starts_on: str
    places: int
    taken: int
    left: int


class EntryError(Exception):
    """A pure check failed: `path` names the field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path, self.message = path, message


def check_entry(data: EntrySave) -> None:
    codes = [m.code for m in data.materials]
    if len(set(codes)) != len(codes):
        raise EntryError("materials", "a material code appears twice")
    if data.eligibility.who == "groups" and not data.eligibility.groups:
        raise EntryError("eligibility.groups", "name at least one group code")
    if data.eligibility.who != "groups" and data.eligibility.groups:
        raise EntryError("eligibility.groups", "groups only with who = groups")
    if (data.kind == "join_transfer") != (data.code == "join-transfer"):
        raise EntryError("kind", "join_transfer is the join-transfer entry's kind, and only its")


def entry_read(row: ServiceEntry, kept_by: str, federation_wide: bool) -> EntryRead:
    return EntryRead(code=row.code, kind=row.kind, title_zh=row.title_zh, title_en=row.title_en,
                     summary_zh=row.summary_zh, eligibility=row.eligibility,
                     materials=row.materials, reviewing_unit=row.reviewing_unit,
                     time_limit_days=row.time_limit_days, apply_links=row.apply_links,
                     active=row.active, revision=row.revision, kept_by=kept_by,
                     federation_wide=federation_wide)


def event_read(row: ServiceEvent, service_code: str) -> EventRead:
    return EventRead(id=row.id, service=service_code, title_zh=row.title_zh,
                     title_en=row.title_en, place=row.place, starts_on=row.starts_on.isoformat(),
                     places=row.places, taken=row.taken, left=row.places - row.taken)
