"""What the monthly review shows: per unit (HQ, region, station: its subtree's figures), per
group in it, per delivery zone, and the units ranked where money and visits should go next.
Counts only: no member is named, no hardship detail is shown."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import msgspec


class GroupFigures(msgspec.Struct):
    """One service group in a unit's subtree for the month."""

    code: str
    name_zh: str
    name_en: str
    members: int  # in the group at some moment of the month
    reached: int  # 到达: offered a service (triggers) or applied, signed up, answered
    participated: int  # 参与: applied or signed up in the month
    signed_up: int
    reach_rate: float | None  # reached / members (None when no members)
    participation_rate: float | None
    repeated_demands: int  # members of the group with a repeated demand
    open_items: int  # applications and assistance cases unfinished at the month's end
    overdue_items: int
    active_members: int  # with a shift in the month
    active_days: int
    night_hours: float
    heat_hours: float


class Workload(msgspec.Struct):
    """工作量 from the partners' shifts (work signals) in the month."""

    active_members: int = 0
    active_days: int = 0
    hours: float = 0.0
    night_hours: float = 0.0
    heat_hours: float = 0.0


class Turnover(msgspec.Struct):
    """流动: platform registrations and deregistrations in the month."""

    registered: int = 0
    deregistered: int = 0
    net: int = 0


class Unfinished(msgspec.Struct):
    """未办结: items unfinished at the month's end, where they are held."""

    applications_open: int = 0
    applications_returned: int = 0
    applications_overdue: int = 0
    assistance_open: int = 0
    assistance_urgent: int = 0
    assistance_overdue: int = 0


class Repeated(msgspec.Struct):
    """重复诉求: (member, category) filed more than once in the month, at the unit."""

    pairs: int = 0
    cases: int = 0


class Money(msgspec.Struct):
    """经费: assistance granted in the month."""

    grants: int = 0
    granted_fen: int = 0


class Attention(msgspec.Struct):
    """One reason a unit needs money or a visit next (需关注)."""

    code: str  # low_reach | overdue | repeated_demands | urgent_assistance | heavy_workload
    # | turnover
    zh: str
    en: str
    weight: int


class UnitReview(msgspec.Struct):
    code: str
    name_zh: str
    name_en: str
    kind: str
    parent: str | None
    groups: list[GroupFigures]
    workload: Workload
    turnover: Turnover
    unfinished: Unfinished
    repeated: Repeated
    money: Money
    attention: list[Attention]
    priority: int  # the sum of the attention weights: higher goes first


class ZoneReview(msgspec.Struct):
    zone: str
    workload: Workload


class NextStep(msgspec.Struct):
    """A unit in the order money and visits should go (the highest priority first)."""

    unit: str
    name_zh: str
    priority: int
    reasons_zh: list[str]


class ReviewRead(msgspec.Struct):
    month: str
    start: datetime
    end: datetime
    as_of: datetime
    place: str  # the unit whose subtree this is
    units: list[UnitReview]
    zones: list[ZoneReview]
    next_steps: list[NextStep]
    notes: list[str]  # what the figures do not (yet) count


CSV_HEADERS = (
    "月份 month", "单位 unit", "单位名称 unit name", "类别 kind", "分组 group",
    "分组名称 group name", "人数 members", "到达 reached", "到达率 reach rate",
    "参与 participated", "参与率 participation rate",
    "报名 signed up", "重复诉求 repeated", "未办结 open", "超期 overdue", "出勤人数 active",
    "出勤人日 active days", "夜间工时 night hours", "高温工时 heat hours", "注册 registered",
    "注销 deregistered", "帮扶发放(分) granted fen", "优先级 priority")


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def csv_bytes(read: ReviewRead) -> bytes:
    """One row per unit and group, and one per unit (group `*`: the unit's own totals);
    UTF-8 with a BOM (Excel)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADERS)
    for u in read.units:
        w, t = u.workload, u.turnover
        open_items = u.unfinished.applications_open + u.unfinished.assistance_open
        overdue = u.unfinished.applications_overdue + u.unfinished.assistance_overdue
        writer.writerow((read.month, u.code, u.name_zh, u.kind, "*", "全部 all", "", "", "", "",
                         "", "", u.repeated.pairs, open_items, overdue, w.active_members,
                         w.active_days, w.night_hours, w.heat_hours, t.registered,
                         t.deregistered, u.money.granted_fen, u.priority))
        for g in u.groups:
            writer.writerow((read.month, u.code, u.name_zh, u.kind, g.code, g.name_zh,
                             g.members, g.reached, _rate(g.reach_rate), g.participated,
                             _rate(g.participation_rate), g.signed_up, g.repeated_demands,
                             g.open_items, g.overdue_items, g.active_members, g.active_days,
                             g.night_hours, g.heat_hours, "", "", "", ""))
    return ("\ufeff" + out.getvalue()).encode("utf-8")
