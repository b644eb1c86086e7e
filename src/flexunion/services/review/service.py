"""月度复盘 The monthly review (issue 17; paper 3.2 第四): per unit of the caller's subtree and
month (Beijing time), per service group in it and per delivery zone —

- 到达率 reach: members of a group offered a service in the month / the group's members;
- 参与率 participation: those who applied or signed up in the month / the group's members;
- 重复诉求 repeated demands: the same member and category more than once in the month in the
  demand ledger (cases' figures service);
- 未办结 unfinished: applications and assistance cases open at the month's end, overdue;
- against the workload (active days, night and heat hours: the partners' shifts, services/
  events' work signals) and turnover (platform registrations vs deregistrations);
- and, from these, the units ranked where money and visits should go next (`next_steps`).

A unit's figures are its subtree's (a region's include its stations'). Everything is counted
under the caller's row-level security: what they cannot see is not counted (e.g. HQ sees no
hardship-group rows; a region does not see an application its member filed with HQ's
window). Nothing is stored: the review is computed when asked. Codes: docs/services.md."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.figures import service as case_figures
from flexunion.core.clock import BEIJING
from flexunion.core.context import Caller, Role
from flexunion.core.errors import InvalidInput
from flexunion.federation import directory
from flexunion.federation.directory import Directory, DirectoryEntry, TenantNotFound
from flexunion.services.groups import service as groups
from flexunion.services.review import repository
from flexunion.services.review.schemas import (
    Attention,
    GroupFigures,
    Money,
    NextStep,
    Repeated,
    ReviewRead,
    Turnover,
    Unfinished,
    UnitReview,
    Workload,
    ZoneReview,
)
from flexunion.services.triggers import service as triggers

MONTH = re.compile(r"^(2[0-9]{3})-(0[1-9]|1[0-2])$")
MIN_GROUP = 5  # a group smaller than this in a unit is not judged on its reach
REACH_FLOOR = 0.5  # reach below this is 到达不足
HEAVY = 1.5  # night + heat hours per active member above HEAVY × the scope's is heavy
NEXT_STEPS = 10


class MonthInvalid(InvalidInput):
    code, title, title_en = "review_month_invalid", "月份格式有误", "Invalid month"


@dataclass(frozen=True, slots=True)
class Month:
    year: int
    month: int

    @property
    def code(self) -> str:
        return f"{self.year}-{self.month:02d}"

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def after(self) -> date:
        return date(self.year + self.month // 12, self.month % 12 + 1, 1)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=BEIJING)

    @property
    def end(self) -> datetime:
        return datetime(self.after.year, self.after.month, 1, tzinfo=BEIJING)

    @classmethod
    def of(cls, moment: datetime) -> Month:
        local = moment.astimezone(BEIJING)
        return cls(local.year, local.month)

    @classmethod
    def parse(cls, code: str | None, now: datetime) -> Month:
        if not code:
            return cls.of(now)
        found = MONTH.match(code)
        if found is None:
            raise MonthInvalid("月份应写作 2026-11（北京时间的自然月）。",
                               "A month is written 2026-11 (a calendar month, Beijing time).",
                               extra={"month": code})
        return cls(int(found.group(1)), int(found.group(2)))


async def offered_by_triggers(session: AsyncSession, *, start: datetime,
                              end: datetime) -> list[uuid.UUID]:
    """The members a trigger offered a service to in [start, end) — the rules that map
    partners' events to offers in the worker's inbox (services/triggers), as the caller sees
    the actions; reach joins these ids (repository._GROUPS `:offered`)."""
    return await triggers.offered_members(session, start=start, end=end)


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def _sum(rows: Iterable[Any], fields: Sequence[str]) -> dict[str, float]:
    out = dict.fromkeys(fields, 0.0)
    for r in rows:
        for f in fields:
            out[f] += float(getattr(r, f))
    return out


WORK = ("active_members", "active_days", "hours", "night_hours", "heat_hours")
GROUP = ("members", "reached", "participated", "signed_up", "active_members", "active_days",
         "night_hours", "heat_hours", "open_items", "overdue_items")
UNFINISHED = ("applications_open", "applications_returned", "applications_overdue",
              "assistance_open", "assistance_urgent", "assistance_overdue")


def _workload(v: dict[str, float]) -> Workload:
    return Workload(active_members=int(v["active_members"]), active_days=int(v["active_days"]),
                    hours=round(v["hours"], 2), night_hours=round(v["night_hours"], 2),
                    heat_hours=round(v["heat_hours"], 2))


def _attention(unit: UnitReview, strain: float | None) -> list[Attention]:
    out = []
    for g in unit.groups:
        if g.members >= MIN_GROUP and (g.reach_rate or 0) < REACH_FLOOR:
            left = g.members - g.reached
            out.append(Attention("low_reach", f"{g.name_zh} 到达率 {g.reach_rate or 0:.0%}，"
                                 f"{left} 人未触达", f"{g.name_en}: reach "
                                 f"{g.reach_rate or 0:.0%}, {left} not reached",
                                 1 + left // 10))
    late = unit.unfinished.applications_overdue + unit.unfinished.assistance_overdue
    if late:
        out.append(Attention("overdue", f"超期未办结 {late} 件", f"{late} items overdue", 3 * late))
    if unit.unfinished.assistance_urgent:
        n = unit.unfinished.assistance_urgent
        out.append(Attention("urgent_assistance", f"急难帮扶未结 {n} 件",
                             f"{n} urgent hardship cases open", 5 * n))
    if unit.repeated.pairs:
        n = unit.repeated.pairs
        out.append(Attention("repeated_demands", f"重复诉求 {n} 项（{unit.repeated.cases} 件）",
                             f"{n} repeated demands ({unit.repeated.cases} cases)", 2 * n))
    w = unit.workload
    if strain and w.active_members >= MIN_GROUP and (
            (w.night_hours + w.heat_hours) / w.active_members > HEAVY * strain):
        out.append(Attention("heavy_workload", "夜间/高温工时明显高于平均",
                             "Night and heat hours well above the average", 2))
    if unit.turnover.deregistered > unit.turnover.registered:
        out.append(Attention("turnover", f"注销多于注册（净 {unit.turnover.net}）",
                             f"More deregistrations than registrations (net "
                             f"{unit.turnover.net})", 1))
    return out


def _by_tenant(rows: Iterable[Any]) -> dict[uuid.UUID, list[Any]]:
    out: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for r in rows:
        out[r.tenant_id].append(r)
    return out


def _root(tenants: Directory, caller: Caller, place: str | None) -> DirectoryEntry:
    mine = tenants.by_id.get(caller.tenant_id)
    if mine is None:
        raise TenantNotFound("未找到该组织。", "Tenant not found.")
    if not place:
        return mine
    entry = tenants.get(place)
    if entry is None or entry.id not in set(tenants.subtree(mine)):
        raise TenantNotFound(f"在您的范围内没有组织 {place}。",
                             f"No tenant '{place}' in your scope.", extra={"place": place})
    return entry


async def review(session: AsyncSession, caller: Caller, month: str | None, *,
                 now: datetime, place: str | None = None) -> ReviewRead:
    """The month's review of `place` (a unit of my subtree; default my own unit)."""
    m = Month.parse(month, now)
    tenants = await directory.my_directory(session, caller)
    root = _root(tenants, caller, place)
    as_of = min(now, m.end)
    offered = await offered_by_triggers(session, start=m.start, end=m.end)
    group_rows = _by_tenant(await repository.group_rows(
        session, start=m.start, end=m.end, first=m.first, after=m.after, as_of=as_of,
        offered=offered))
    work = _by_tenant(await repository.work_rows(session, first=m.first, after=m.after))
    turnover = _by_tenant(await repository.turnover_rows(session, start=m.start, end=m.end))
    unfinished = _by_tenant(await repository.unfinished_rows(session, end=m.end, as_of=as_of))
    grants = _by_tenant(await repository.grant_rows(session, start=m.start, end=m.end))
    repeated = await case_figures.repeated_demands(session, start=m.start, end=m.end)
    repeated_by: dict[uuid.UUID, list[case_figures.RepeatedDemand]] = defaultdict(list)
    for d in repeated:
        repeated_by[d.tenant_id].append(d)
    member_groups = await repository.groups_of(session, sorted({d.member_id for d in repeated}),
                                               start=m.start, end=m.end)
    names = {g.code: (g.name_zh, g.name_en) for g in await groups.groups(session, caller)}

    scope = [tenants.by_id[i] for i in tenants.subtree(root) if i in tenants.by_id]
    below = {e.id: set(tenants.subtree(e)) for e in scope}
    total_work = _sum((r for rows in work.values() for r in rows
                       if r.tenant_id in below[root.id]), WORK)
    strain = ((total_work["night_hours"] + total_work["heat_hours"])
              / total_work["active_members"] if total_work["active_members"] else None)
    units = []
    for e in sorted(scope, key=lambda x: (x.id != root.id, x.code)):
        ids = below[e.id]

        def of(rows: dict[uuid.UUID, list[Any]], ids: set[uuid.UUID] = ids) -> list[Any]:
            return [r for t in ids for r in rows.get(t, ())]

        mine = [d for t in ids for d in repeated_by.get(t, ())]
        per_group: dict[str, list[Any]] = defaultdict(list)
        for r in of(group_rows):
            per_group[r.group_code].append(r)
        figures = []
        for code in sorted(set(per_group) | set(names)):
            v = _sum(per_group.get(code, ()), GROUP)
            members, reached = int(v["members"]), int(v["reached"])
            zh, en = names.get(code, (code, code))
            figures.append(GroupFigures(
                code=code, name_zh=zh, name_en=en, members=members, reached=reached,
                participated=int(v["participated"]), signed_up=int(v["signed_up"]),
                reach_rate=_rate(reached, members),
                participation_rate=_rate(int(v["participated"]), members),
                repeated_demands=len({d.member_id for d in mine
                                      if code in member_groups.get(d.member_id, ())}),
                open_items=int(v["open_items"]), overdue_items=int(v["overdue_items"]),
                active_members=int(v["active_members"]), active_days=int(v["active_days"]),
                night_hours=round(v["night_hours"], 2), heat_hours=round(v["heat_hours"], 2)))
        t = _sum(of(turnover), ("registered", "deregistered"))
        u = _sum(of(unfinished), UNFINISHED)
        money = _sum(of(grants), ("grants", "granted_fen"))
        unit = UnitReview(
            code=e.code, name_zh=e.name_zh, name_en=e.name_en, kind=e.kind,
            parent=e.parent_code, groups=figures, workload=_workload(_sum(of(work), WORK)),
            turnover=Turnover(int(t["registered"]), int(t["deregistered"]),
                              int(t["registered"] - t["deregistered"])),
            unfinished=Unfinished(**{k: int(u[k]) for k in UNFINISHED}),
            repeated=Repeated(pairs=len(mine), cases=sum(d.cases for d in mine)),
            money=Money(int(money["grants"]), int(money["granted_fen"])),
            attention=[], priority=0)
        unit.attention = _attention(unit, strain)
        unit.priority = sum(a.weight for a in unit.attention)
        units.append(unit)
    zones = [ZoneReview(zone=r.zone_code, workload=_workload(_sum([r], WORK)))
             for r in await repository.zone_rows(session, first=m.first, after=m.after)]
    zones.sort(key=lambda z: (-(z.workload.night_hours + z.workload.heat_hours), z.zone))
    return ReviewRead(month=m.code, start=m.start, end=m.end, as_of=as_of, place=root.code,
                      units=units, zones=zones, next_steps=_next_steps(units, tenants, root),
                      notes=_notes(caller))


def _next_steps(units: list[UnitReview], tenants: Directory,
                root: DirectoryEntry) -> list[NextStep]:
    """The units with no unit below them (stations; a region without stations; the root
    itself when it has none), highest priority first."""
    parents = {e.parent_code for e in tenants.values()}
    leaves = [u for u in units if u.code not in parents
              or (u.code == root.code and len(units) == 1)]
    ranked = sorted((u for u in leaves if u.priority > 0), key=lambda u: (-u.priority, u.code))
    return [NextStep(unit=u.code, name_zh=u.name_zh, priority=u.priority,
                     reasons_zh=[a.zh for a in u.attention]) for u in ranked[:NEXT_STEPS]]


def _notes(caller: Caller) -> list[str]:
    notes = ["参与按申请和报名计算（活动签到尚未记录）。Participation counts applications and "
             "sign-ups (attendance at a session is not recorded yet)."]
    if caller.role is Role.HQ_ADMIN:
        notes.append("困难会员分组只由会员所在区域查看，总部的复盘不含该分组。"
                     "The hardship group is read only by the member's home region; "
                     "HQ's review leaves it out.")
    return notes
