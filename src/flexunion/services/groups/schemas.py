"""What the groups show: each group's rule (cadres), a list for a group and place (masked:
会员号, the masked name, the home, since when and why), and what a worker is offered — the
services, never the group."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from flexunion.services.groups.models import GroupRule


class GroupRead(msgspec.Struct):
    code: str
    name_zh: str
    name_en: str
    parameters: dict[str, Any]
    offers: list[str]
    revision: int
    members: int  # open memberships the caller may see


class ListedMember(msgspec.Struct):
    member_id: uuid.UUID
    member_no: str | None
    name_masked: str
    home: str  # the home tenant's code
    home_name_zh: str
    since: datetime
    why: dict[str, Any]


class GroupListRead(msgspec.Struct):
    group: str
    name_zh: str
    place: str | None  # the region or station code asked for
    zone: str | None
    offers: list[str]
    members: list[ListedMember]
    next_cursor: str | None = None  # the next page's `cursor` (by since, then id), if any


class OfferedService(msgspec.Struct):
    code: str
    name_zh: str
    name_en: str


class OfferedRead(msgspec.Struct):
    """为你推荐的服务 The services offered to me (never why: no group is named)."""

    services: list[OfferedService]


class Evaluated(msgspec.Struct):
    evaluated: int
    joined: int
    left: int


def group_read(rule: GroupRule, members: int) -> GroupRead:
    return GroupRead(code=rule.code, name_zh=rule.name_zh, name_en=rule.name_en,
                     parameters=rule.parameters, offers=list(rule.offers),
                     revision=rule.revision, members=members)


def offered(codes: list[str], names: dict[str, tuple[str, str | None]]) -> OfferedRead:
    """The offered codes that the catalogue names (an offer of a service the catalogue does not
    hold, or holds inactive, is no offer: nothing to apply for)."""
    return OfferedRead(services=[OfferedService(code=c, name_zh=names[c][0],
                                                name_en=names[c][1] or names[c][0])
                                 for c in codes if c in names])




CSV_HEADERS = ("会员号 member_no", "姓名 name (masked)", "所属组织 home", "组织名称 home name",
               "入组时间 since", "依据 why")


def csv_bytes(read: GroupListRead) -> bytes:
    """分类清单 as CSV: UTF-8 with BOM (Excel), masked names only."""
    import csv
    import io
    import json

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADERS)
    for m in read.members:
        writer.writerow((m.member_no or "", m.name_masked, m.home, m.home_name_zh,
                         m.since.isoformat(), json.dumps(m.why, ensure_ascii=False,
                                                         sort_keys=True)))
    return ("\ufeff" + out.getvalue()).encode("utf-8")
