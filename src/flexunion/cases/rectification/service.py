"""季度整改清单: recurring problems of a quarter become rectification items, tracked into the
next quarter.

- **Groups** (nothing stored): the cases received in a quarter (Beijing time, by intake
  `created_at`; merged cases left out) in the caller's own subtree, grouped by category ×
  place, where a place is the case's tenant (the station or union where the worker works),
  its delivery zone (when the case's place names one) or its platform partner: one case
  counts in up to three groups. Per group: cases, distinct workers (anonymous suggestions
  counted apart), open vs closed (closed = 已办结 after 回访; everything else is open),
  reopened (reopened at least once) and the mix of the ratings (满意 / 基本满意 / 不满意).
- **Recurring**: at least `settings.cases.recurring_cases` (3) cases in the quarter, or at
  least `recurring_consecutive_cases` (2) in each of this quarter and the last (`why`
  names which).
- **Items**: a regional admin or HQ turns a group into an item of its own list (one per
  group and quarter): owner (a tenant or a platform partner), problem, measure, next node
  and its due date, the linked cases (by default every case of the group in the quarter).
  Steps: update, progress (推进: a note, a new next node), done (完成), link / unlink
  cases. Each is a `rectification_steps` row and an audit entry in the same transaction.
- **Owner's reports** (责任方报告, `owner_report`): the owner carries the item — the platform
  partner through its machine API, the staff of the owner tenant (or of a union above it)
  through the staff API and the console. A report is a note, optionally a proposed next
  node and due date (kept in the step's details; the item's own stay as the union set
  them); it moves an open item to in_progress and never further: 完成 is the union's.
- **Trend**: the satisfaction of the item's group this quarter against the last, from the
  ratings of the group's cases (satisfied rate = (满意 + 基本满意) / rated).
- **Carry-over** (`carry_over`, the quarterly job): open and in-progress items of a quarter
  move into the next: a new item (carried_from the old one, same owner, node and status,
  the same linked cases), the old one 转下季度 (carried_over). Idempotent: a carried item is
  no longer open, and `carried_from_id` is UNIQUE. The new item's history shows the chain.

    open ──progress / owner_report──▶ in_progress ──done──▶ done
    in_progress ──progress / owner_report──▶ in_progress
    open / in_progress ──carry_over──▶ carried_over (and a new item in the next quarter)
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.ledger import codes
from flexunion.cases.ledger.schemas import label
from flexunion.cases.rectification import repository
from flexunion.cases.rectification.models import (
    RectificationItem,
    RectificationStep,
)
from flexunion.cases.rectification.quarters import Quarter
from flexunion.cases.rectification.schemas import (
    DIMENSIONS,
    STATUSES,
    STEPS,
    GroupRead,
    ItemRead,
    LinkedCase,
    Mix,
    OwnerRead,
    StepRead,
    Trend,
)
from flexunion.config import CaseSettings
from flexunion.core.clock import BEIJING
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from flexunion.db import rls
from flexunion.federation import directory
from flexunion.federation.directory import Directory, Partner

OPEN = ("open", "in_progress")
GroupKey = tuple[str, str, str]  # category, dimension, place as stored in SQL (id or code)


class ItemNotFound(NotFound):
    code, title, title_en = ("rectification_item_not_found", "未找到该整改项",
                             "Rectification item not found")


class ItemExists(Conflict):
    code, title, title_en = ("rectification_item_exists", "该问题本季度已立项",
                             "This group already has an item this quarter")


class ItemClosed(Conflict):
    code, title, title_en = ("rectification_item_closed", "整改项已完成或已转下季度",
                             "The item is done or carried over")


class NotOwner(Forbidden):
    code, title, title_en = ("rectification_not_owner", "只有责任单位可以报告整改进展",
                             "Only the owner reports on an item")


def no_such_item() -> ItemNotFound:
    return ItemNotFound("没有这个整改项，或不在你的管辖范围内。", "No such rectification item.")


# ---- small pieces ---------------------------------------------------------------------------


class Names:
    """The federation's tenants and partners, both ways."""

    def __init__(self, tenants: Directory, partners: Mapping[str, Partner]) -> None:
        self.tenants = tenants
        self.partners = partners
        self.partner_by_id = {p.id: p for p in partners.values()}

    def place_code(self, dimension: str, key: str) -> str:
        if dimension == "tenant":
            entry = self.tenants.by_id.get(uuid.UUID(key))
            return entry.code if entry else key
        if dimension == "partner":
            partner = self.partner_by_id.get(uuid.UUID(key))
            return partner.code if partner else key
        return key

    def place_name(self, dimension: str, code: str) -> str:
        if dimension == "tenant" and code in self.tenants:
            return self.tenants[code].name_zh
        if dimension == "partner" and code in self.partners:
            return self.partners[code].name_zh
        return code

    def owner(self, row: RectificationItem) -> OwnerRead:
        if row.owner_partner_id is not None:
            p = self.partner_by_id[row.owner_partner_id]
            return OwnerRead(kind="partner", code=p.code, name=p.name_zh)
        assert row.owner_tenant_id is not None
        t = self.tenants.by_id[row.owner_tenant_id]
        return OwnerRead(kind="tenant", code=t.code, name=t.name_zh)


async def names(session: AsyncSession, federation_id: uuid.UUID) -> Names:
    return Names(await directory.directory(session, federation_id),
                 await directory.partners(session, federation_id))


def parse_day(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError as exc:
        raise InvalidInput("日期无效。", "Not a date.", code="next_due_invalid",
                           extra={"next_due_on": text}) from exc


def overdue(row: RectificationItem, now: datetime) -> bool:
    """Past the end of its due day (Beijing) and not done."""
    end = datetime.combine(row.next_due_on + timedelta(days=1), time(0), BEIJING)
    return row.status in OPEN and now >= end


def mix(satisfied: int, basically: int, dissatisfied: int) -> Mix:
    rated = satisfied + basically + dissatisfied
    return Mix(satisfied=satisfied, basically_satisfied=basically, dissatisfied=dissatisfied,
               rated=rated, satisfied_rate=round((satisfied + basically) / rated, 4)
               if rated else None)


EMPTY = mix(0, 0, 0)


def _row_mix(row: Any) -> Mix:
    return mix(int(row.satisfied), int(row.basically_satisfied), int(row.dissatisfied))


def direction(now_mix: Mix, before: Mix) -> str:
    if now_mix.satisfied_rate is None or before.satisfied_rate is None:
        return "unknown"
    delta = now_mix.satisfied_rate - before.satisfied_rate
    return "up" if delta > 0.005 else "down" if delta < -0.005 else "flat"


async def _counts(session: AsyncSession, quarter: Quarter,
                  **only: str) -> tuple[dict[GroupKey, Any], dict[GroupKey, Any]]:
    rows = await repository.group_rows(session, prev=quarter.previous().start,
                                       start=quarter.start, end=quarter.end, **only)
    current = {(r.category, r.dimension, r.place): r for r in rows if r.current}
    before = {(r.category, r.dimension, r.place): r for r in rows if not r.current}
    return current, before


def _key(names: Names, dimension: str, code: str) -> str:
    """A place code as the group query keys it (a tenant or partner id, a zone code)."""
    if dimension == "tenant":
        return str(names.tenants[code].id)
    if dimension == "partner":
        return str(names.partners[code].id)
    return code


# ---- groups ---------------------------------------------------------------------------------


async def groups(session: AsyncSession, caller: Caller, quarter: Quarter, *,
                 settings: CaseSettings, recurring_only: bool = True) -> list[GroupRead]:
    """The quarter's groups in my subtree (only the recurring ones unless asked), the most
    cases first, each with the id of my list's item for it, if any."""
    fed = await directory.federation_of(session, caller)
    known = await names(session, fed)
    current, before = await _counts(session, quarter)
    mine = {(i.category, i.dimension, i.place): str(i.id)
            for i in await repository.items(session, quarter=quarter.code)
            if i.tenant_id == caller.tenant_id}
    found: list[GroupRead] = []
    for (category, dimension, place), row in current.items():
        last = before.get((category, dimension, place))
        why = []
        if row.cases >= settings.recurring_cases:
            why.append("cases_in_quarter")
        if (row.cases >= settings.recurring_consecutive_cases and last is not None
                and last.cases >= settings.recurring_consecutive_cases):
            why.append("consecutive_quarters")
        if recurring_only and not why:
            continue
        code = known.place_code(dimension, place)
        found.append(GroupRead(
            quarter=quarter.code, category=label(codes.CATEGORIES, category),
            dimension=label(DIMENSIONS, dimension), place=code,
            place_name=known.place_name(dimension, code), cases=row.cases,
            workers=row.workers, anonymous=row.anonymous, open=row.cases - row.closed,
            closed=row.closed, reopened=row.reopened, satisfaction=_row_mix(row),
            previous_quarter_cases=last.cases if last is not None else 0,
            recurring=bool(why), why=why, item_id=mine.get((category, dimension, code))))
    order = list(DIMENSIONS)
    found.sort(key=lambda g: (-g.cases, g.category.code, order.index(g.dimension.code),
                              g.place))
    return found


# ---- reading items --------------------------------------------------------------------------


def step_read(s: RectificationStep, quarter: str, *, partner: bool) -> StepRead:
    return StepRead(item_id=str(s.item_id), quarter=quarter, kind=label(STEPS, s.kind),
                    at=s.at.isoformat(), actor=s.actor.split(":", 1)[0] if partner else s.actor,
                    note=s.note, details=dict(s.details))


async def _chain(session: AsyncSession, row: RectificationItem) -> list[RectificationItem]:
    """The item and every item it was carried from, oldest first."""
    chain = [row]
    while chain[0].carried_from_id is not None:
        before = await repository.item(session, chain[0].carried_from_id)
        if before is None:
            break
        chain.insert(0, before)
    return chain


async def reads(session: AsyncSession, rows: Sequence[RectificationItem], *, now: datetime,
                partner: bool = False, trend: bool = True) -> list[ItemRead]:
    """Items as callers see them: union admins with the linked cases and the trend, a
    station's officer (`trend=False`) with the cases it sees, a partner without either."""
    if not rows:
        return []
    known = await names(session, rows[0].federation_id)
    nexts = await repository.successors(session, [r.id for r in rows])
    counts: dict[str, tuple[dict[GroupKey, Any], dict[GroupKey, Any]]] = {}
    linked: dict[uuid.UUID, list[LinkedCase]] = {}
    if not partner:
        for code in {r.quarter for r in rows} if trend else ():
            counts[code] = await _counts(session, Quarter.parse(code))
        links = await repository.links(session, [r.id for r in rows])
        cases = {c.id: c for c in await repository.visible_cases(
            session, list({link.case_id for link in links}))}
        for link in links:
            case = cases.get(link.case_id)
            if case is not None:
                linked.setdefault(link.item_id, []).append(LinkedCase(
                    id=str(case.id), case_no=case.case_no,
                    status=label(codes.STATUSES, case.status)))
    found = []
    for row in rows:
        chain = await _chain(session, row)
        quarters = {r.id: r.quarter for r in chain}
        history = [step_read(s, quarters[s.item_id], partner=partner)
                   for s in await repository.steps(session, list(quarters))]
        movement = None
        if not partner and trend:
            current, before = counts[row.quarter]
            try:
                key = (row.category, row.dimension, _key(known, row.dimension, row.place))
            except KeyError:
                key = (row.category, row.dimension, row.place)
            this_mix = _row_mix(current[key]) if key in current else EMPTY
            last_mix = _row_mix(before[key]) if key in before else EMPTY
            quarter = Quarter.parse(row.quarter)
            movement = Trend(quarter=quarter.code, previous_quarter=quarter.previous().code,
                             this_quarter=this_mix, last_quarter=last_mix,
                             direction=direction(this_mix, last_mix))  # type: ignore[arg-type]
        after = nexts.get(row.id)
        found.append(ItemRead(
            id=str(row.id), quarter=row.quarter,
            list_of=known.tenants.by_id[row.tenant_id].code,
            category=label(codes.CATEGORIES, row.category),
            dimension=label(DIMENSIONS, row.dimension), place=row.place,
            owner=known.owner(row), problem=row.problem, measure=row.measure,
            next_node=row.next_node, next_due_on=row.next_due_on.isoformat(),
            overdue=overdue(row, now), status=label(STATUSES, row.status),
            carried_from=str(row.carried_from_id) if row.carried_from_id else None,
            carried_to=str(after) if after else None, created_at=row.created_at.isoformat(),
            updated_at=row.updated_at.isoformat(),
            done_at=row.done_at.isoformat() if row.done_at else None, history=history,
            cases=None if partner else linked.get(row.id, []), trend=movement))
    return found


async def items(session: AsyncSession, quarter: Quarter) -> Sequence[RectificationItem]:
    return await repository.items(session, quarter=quarter.code)


async def item(session: AsyncSession, item_id: uuid.UUID, *,
               lock: bool = False) -> RectificationItem:
    row = await repository.item(session, item_id, lock=lock)
    if row is None:
        raise no_such_item()
    return row


async def owned(session: AsyncSession) -> Sequence[RectificationItem]:
    """A partner's own items (row-level security shows no other)."""
    partner = await rls.current_partner(session)
    if partner is None:
        return []
    return await repository.items(session, owner_partner=partner)


async def unit_owned(session: AsyncSession) -> Sequence[RectificationItem]:
    """The items a tenant of my subtree owns (staff: a station's officer, its region)."""
    mine = await rls.scope_ids(session)
    return [r for r in await repository.items(session, owner_tenants=sorted(mine))
            if r.owner_tenant_id in mine]


async def owns(session: AsyncSession, row: RectificationItem, *, partner: bool) -> bool:
    """Is the caller the item's owner: its platform partner (`partner`), or staff of its
    owner tenant or of a union above it? (A partner client's scope is the tenant it is
    anchored at: never read as ownership of a tenant's item.)"""
    if partner:
        me = await rls.current_partner(session)
        return me is not None and row.owner_partner_id == me
    return row.owner_tenant_id is not None and await rls.in_scope(session, row.owner_tenant_id)


async def owned_item(session: AsyncSession, item_id: uuid.UUID) -> RectificationItem:
    row = await item(session, item_id)
    if row.owner_partner_id is None or row.owner_partner_id != await rls.current_partner(
            session):
        raise no_such_item()
    return row
