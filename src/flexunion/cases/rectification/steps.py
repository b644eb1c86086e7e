"""The steps of a rectification item (the state machine is in service.py's docstring): make
one from a group, change it, move it on or finish it, link and unlink cases, the owner's
report (责任方报告) and the quarterly carry-over. Rows are locked and re-checked; each step
writes its `rectification_steps` row and its audit entry in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.cases.rectification import repository
from flexunion.cases.rectification.models import (
    RectificationItem,
    RectificationItemCase,
    RectificationStep,
)
from flexunion.cases.rectification.quarters import Quarter
from flexunion.cases.rectification.schemas import (
    ItemCreate,
    ItemUpdate,
    LinkCreate,
    Owner,
    OwnerReport,
)
from flexunion.cases.rectification.service import (
    OPEN,
    ItemClosed,
    ItemExists,
    Names,
    NotOwner,
    item,
    names,
    no_such_item,
    owns,
    parse_day,
)
from flexunion.cases.rectification.service import _key as group_key
from flexunion.core.context import Caller
from flexunion.core.errors import InvalidInput
from flexunion.db import rls
from flexunion.federation import directory


async def _step(session: AsyncSession, row: RectificationItem, kind: str, *, now: datetime,
                note: str | None = None, details: dict[str, Any] | None = None) -> None:
    repository.add(session, RectificationStep(
        id=uuid.uuid4(), federation_id=row.federation_id, tenant_id=row.tenant_id,
        item_id=row.id, kind=kind, at=now, actor=await rls.principal(session), note=note,
        details=details or {}))
    await repository.flush(session)


async def _audit(session: AsyncSession, row: RectificationItem, action: str,
                 **payload: Any) -> None:
    await audit.record(session, f"rectification.{action}", tenant_id=row.tenant_id,
                       object_type="rectification_item", object_id=row.id,
                       payload={"quarter": row.quarter, "category": row.category,
                                "dimension": row.dimension, "place": row.place, **payload})


def _owner(known: Names, owner: Owner) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    if (owner.tenant is None) == (owner.partner is None):
        raise InvalidInput("责任单位只填一项：组织或平台企业。",
                           "Name one owner: a tenant or a platform partner.",
                           code="owner_required")
    if owner.tenant is not None:
        entry = known.tenants.get(owner.tenant)
        if entry is None:
            raise InvalidInput(f"{owner.tenant} 不是本联合会的组织。",
                               f"'{owner.tenant}' is not a tenant of this federation.",
                               code="unknown_unit", extra={"value": owner.tenant})
        return entry.id, None
    assert owner.partner is not None
    partner = known.partners.get(owner.partner)
    if partner is None:
        raise directory.UnknownPartner([owner.partner])
    return None, partner.id


def _open(row: RectificationItem) -> None:
    if row.status not in OPEN:
        raise ItemClosed("整改项已完成或已转入下季度，不能再修改。",
                         "A done or carried-over item cannot change.",
                         extra={"item_status": row.status})


async def _visible(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The cases among `ids` the caller sees (id → case_no); any other: 422."""
    found = {c.id: c.case_no for c in await repository.visible_cases(session, ids)}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise InvalidInput("有诉求不存在或不在你的管辖范围内。",
                           "Some cases do not exist or are outside your area.",
                           code="unknown_case", extra={"cases": missing[:20]})
    return found


async def _link(session: AsyncSession, row: RectificationItem, case_ids: Sequence[uuid.UUID],
                now: datetime) -> None:
    principal = await rls.principal(session)
    for case_id in dict.fromkeys(case_ids):
        existing = await repository.link(session, row.id, case_id)
        if existing is None:
            repository.add(session, RectificationItemCase(
                federation_id=row.federation_id, tenant_id=row.tenant_id, item_id=row.id,
                case_id=case_id, linked_by=principal, linked_at=now))
        elif existing.unlinked_at is not None:
            existing.unlinked_at, existing.unlinked_by = None, None
    await repository.flush(session)


async def create(session: AsyncSession, caller: Caller, data: ItemCreate, *,
                 now: datetime) -> RectificationItem:
    """立项 from a group of my subtree; 409 when my list has it this quarter already."""
    quarter = Quarter.parse(data.quarter)
    due = parse_day(data.next_due_on)
    fed = await directory.federation_of(session, caller)
    known = await names(session, fed)
    try:
        place = group_key(known, data.dimension, data.place)
    except KeyError:
        raise InvalidInput(f"{data.place} 不是本联合会的站点、配送片区或平台企业。",
                           f"'{data.place}' is no place of this federation.",
                           code="unknown_place", extra={"place": data.place}) from None
    owner_tenant, owner_partner = _owner(known, data.owner)
    if data.cases is None:
        case_ids = await repository.group_case_ids(
            session, start=quarter.start, end=quarter.end, category=data.category,
            dimension=data.dimension, place=place)
        if not case_ids:
            raise InvalidInput("该季度本辖区没有这一类别和地点的诉求。",
                               "No case of this category and place in the quarter.",
                               code="group_empty")
    else:
        case_ids = list(data.cases)
    case_nos = await _visible(session, case_ids)
    row = RectificationItem(
        id=uuid.uuid4(), federation_id=fed, tenant_id=caller.tenant_id, quarter=quarter.code,
        category=data.category, dimension=data.dimension, place=data.place,
        owner_tenant_id=owner_tenant, owner_partner_id=owner_partner,
        problem=data.problem.strip(), measure=data.measure.strip(),
        next_node=data.next_node.strip(), next_due_on=due, status="open",
        created_by=await rls.principal(session), created_at=now, updated_at=now)
    try:
        async with session.begin_nested():
            repository.add(session, row)
            await repository.flush(session)
    except IntegrityError:
        raise ItemExists("本季度清单已有这一问题的整改项。",
                         "My list has an item for this group this quarter.",
                         extra={"quarter": quarter.code}) from None
    await _link(session, row, case_ids, now)
    await _step(session, row, "created", now=now, details={
        "owner": data.owner.tenant or data.owner.partner, "next_node": row.next_node,
        "next_due_on": data.next_due_on, "cases": sorted(case_nos.values())})
    await _audit(session, row, "created", cases=len(case_ids))
    return row


async def update(session: AsyncSession, item_id: uuid.UUID, data: ItemUpdate, *,
                 now: datetime) -> RectificationItem:
    row = await item(session, item_id, lock=True)
    _open(row)
    changed: dict[str, Any] = {}
    if data.owner is not None:
        row.owner_tenant_id, row.owner_partner_id = _owner(
            await names(session, row.federation_id), data.owner)
        changed["owner"] = data.owner.tenant or data.owner.partner
    for field in ("problem", "measure"):
        value = getattr(data, field)
        if value is not None and value.strip() != getattr(row, field):
            setattr(row, field, value.strip())
            changed[field] = value.strip()
    if changed:
        row.updated_at = now
        await repository.flush(session)
        await _step(session, row, "updated", now=now, details=changed)
        await _audit(session, row, "updated", fields=sorted(changed))
    return row


async def progress(session: AsyncSession, item_id: uuid.UUID, *, note: str, status: str,
                   next_node: str | None, next_due_on: str | None,
                   now: datetime) -> RectificationItem:
    """推进 (a note, maybe a new next node and due date) or 完成."""
    row = await item(session, item_id, lock=True)
    _open(row)
    details: dict[str, Any] = {}
    if next_node is not None:
        row.next_node = details["next_node"] = next_node.strip()
    if next_due_on is not None:
        row.next_due_on = parse_day(next_due_on)
        details["next_due_on"] = next_due_on
    row.status, row.updated_at = status, now
    if status == "done":
        row.done_at = now
    await repository.flush(session)
    kind = "done" if status == "done" else "progress"
    await _step(session, row, kind, now=now, note=note.strip(), details=details)
    await _audit(session, row, kind, **details)
    return row


async def report(session: AsyncSession, item_id: uuid.UUID, data: OwnerReport, *,
                 now: datetime, partner: bool) -> RectificationItem:
    """责任方报告 by the item's owner: a partner (an item it does not own does not exist for
    it: 404) or staff of the owner tenant or above (another's item it sees: 403). An open
    item becomes in_progress; nothing else of the item changes (a proposed next node and
    due date stay in the step). Migration 0026 lets the owner do exactly this."""
    row = await item(session, item_id)
    if not await owns(session, row, partner=partner):
        if partner:
            raise no_such_item()
        raise NotOwner("只有责任单位（或其上级工会）可以报告这一整改项的进展。",
                       "Only the owner (or a union above it) reports on this item.")
    _open(row)
    details: dict[str, Any] = {}
    if data.next_node is not None:
        details["proposed_next_node"] = data.next_node.strip()
    if data.next_due_on is not None:
        parse_day(data.next_due_on)
        details["proposed_next_due_on"] = data.next_due_on
    locked = await repository.item(session, item_id, lock=True)
    if locked is None:  # done or carried over meanwhile (the owner's lock sees open ones)
        raise ItemClosed("整改项已完成或已转入下季度，不能再修改。",
                         "A done or carried-over item cannot change.")
    _open(locked)
    if locked.status == "open":
        details["status"] = "in_progress"
    locked.status, locked.updated_at = "in_progress", now
    await repository.flush(session)
    await _step(session, locked, "owner_report", now=now, note=data.note.strip(),
                details=details)
    await _audit(session, locked, "owner_report", **details)
    return locked


async def link_cases(session: AsyncSession, item_id: uuid.UUID, data: LinkCreate, *,
                     now: datetime) -> RectificationItem:
    row = await item(session, item_id, lock=True)
    _open(row)
    if data.add:
        added = await _visible(session, data.add)
        await _link(session, row, data.add, now)
        await _step(session, row, "cases_linked", now=now,
                    details={"cases": sorted(added.values())})
        await _audit(session, row, "cases_linked", cases=len(added))
    removed = []
    for case_id in dict.fromkeys(data.remove):
        existing = await repository.link(session, row.id, case_id)
        if existing is not None and existing.unlinked_at is None:
            existing.unlinked_at, existing.unlinked_by = now, await rls.principal(session)
            removed.append(str(case_id))
    if removed:
        await repository.flush(session)
        await _step(session, row, "cases_unlinked", now=now, details={"case_ids": removed})
        await _audit(session, row, "cases_unlinked", cases=len(removed))
    if data.add or removed:
        row.updated_at = now
        await repository.flush(session)
    return row


async def carry_over(session: AsyncSession, quarter: Quarter | str, now: datetime) -> int:
    """Carry the quarter's open and in-progress items into the next quarter (the job at
    each quarter's start). Idempotent: a carried item is `carried_over`, no longer open."""
    this = Quarter.parse(quarter) if isinstance(quarter, str) else quarter
    into = this.next()
    carried = 0
    for row in await repository.items(session, quarter=this.code, statuses=OPEN, lock=True):
        target = await repository.same_group(session, row, into.code)
        if target is None:
            target = RectificationItem(
                id=uuid.uuid4(), federation_id=row.federation_id, tenant_id=row.tenant_id,
                quarter=into.code, category=row.category, dimension=row.dimension,
                place=row.place, owner_tenant_id=row.owner_tenant_id,
                owner_partner_id=row.owner_partner_id, problem=row.problem,
                measure=row.measure, next_node=row.next_node, next_due_on=row.next_due_on,
                status=row.status, carried_from_id=row.id,
                created_by=await rls.principal(session), created_at=now, updated_at=now)
            repository.add(session, target)
            await repository.flush(session)
            await _link(session, target, [link.case_id for link in
                                          await repository.links(session, [row.id])], now)
        await _step(session, target, "carried_in", now=now,
                    details={"from": str(row.id), "from_quarter": this.code})
        row.status, row.updated_at = "carried_over", now
        await repository.flush(session)
        await _step(session, row, "carried_over", now=now,
                    details={"into": str(target.id), "quarter": into.code})
        await _audit(session, row, "carried_over", into=str(target.id), to_quarter=into.code)
        carried += 1
    return carried


async def carry_over_due(session: AsyncSession, now: datetime) -> int:
    """The job's entry: carry the quarter that ended before the current one (Beijing)."""
    return await carry_over(session, Quarter.of(now).previous(), now)
