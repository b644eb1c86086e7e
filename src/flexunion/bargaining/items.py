"""协商清单事项: creating items from reports and proposals, finding and counting them,
editing, moving them along the lifecycle, and regrouping (merge, split).

Row-level security decides what a caller sees; a write locks the item first, and a locked
read also applies the UPDATE policy, so an item a caller may see but not change (a regional
officer looking at a federation-wide item) is a 404 for writes.

Merging: the merged items end `merged` (merged_into_id set); their active sources are
copied to the surviving item (via 'merged', from_item_id = the merged item) and the old rows
get moved_to_item_id = the survivor, so a report's trace leads straight to it. Supports are
NOT transferred (one row per member and item); the merged item keeps its count for the record."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining import board
from flexunion.bargaining.lifecycle import REGROUPABLE, STATUSES, TERMINAL
from flexunion.bargaining.models import (
    TOPICS,
    AgendaItem,
    AgendaItemEvent,
    AgendaItemSource,
    ProblemReport,
    RepProposal,
)
from flexunion.bargaining.topics import check_details
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict, Forbidden, InvalidInput
from flexunion.federation import directory as fed_directory
from flexunion.federation.directory import DirectoryEntry


class Filters:
    def __init__(self, *, topic: str | None = None, status: str | None = None,
                 partner_id: uuid.UUID | None = None, tenant_id: uuid.UUID | None = None,
                 q: str | None = None) -> None:
        self.topic, self.status, self.partner_id = topic, status, partner_id
        self.tenant_id, self.q = tenant_id, q

    def apply(self, query: Select) -> Select:
        if self.topic:
            query = query.where(AgendaItem.topic == self.topic)
        if self.status:
            query = query.where(AgendaItem.status == self.status)
        if self.partner_id:
            query = query.where(AgendaItem.partner_id == self.partner_id)
        if self.tenant_id:
            query = query.where(AgendaItem.tenant_id == self.tenant_id)
        if self.q:
            like = "%" + self.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(or_(AgendaItem.title.ilike(like), AgendaItem.summary.ilike(like)))
        return query


# ---- names -------------------------------------------------------------------------------


partner_codes = board.partners
partner_by_code = board.partner_by_code


async def tenant_by_code(session: AsyncSession, federation_id: uuid.UUID,
                         code: str) -> DirectoryEntry:
    entry = (await fed_directory.directory(session, federation_id)).get(code)
    if entry is None or entry.kind not in ("regional", "hq"):
        raise InvalidInput(f"'{code}' is not a regional union or the federation.",
                           code="unknown_region")
    return entry


async def caller_scope(session: AsyncSession) -> set[uuid.UUID]:
    """The staff caller's subtree (its tenant and everything below)."""
    return set((await session.execute(text("SELECT flexunion_tenant_scope()"))).scalar_one() or [])


def labels(item: AgendaItem) -> dict[str, Any]:
    zh, en = STATUSES[item.status]
    tzh, ten = TOPICS[item.topic]
    return {"status_zh": zh, "status_en": en, "topic_zh": tzh, "topic_en": ten}


# ---- create ----------------------------------------------------------------------------


async def create(session: AsyncSession, caller: Caller, data: Any, *, now: datetime,
                 default_threshold: int) -> AgendaItem:
    """新建事项 from (optionally) reports and proposals: status collected."""
    tenants = await fed_directory.directory(session, await federation_of(session, caller))
    by_id = {e.id: e for e in tenants.values()}
    own = by_id.get(caller.tenant_id)
    scope = tenants.get(data.scope) if data.scope else own
    if scope is None or scope.kind not in ("regional", "hq"):
        raise InvalidInput("An item's scope is a regional union or the federation (HQ).",
                           code="invalid_scope", extra={"scope": data.scope})
    if scope.id not in await caller_scope(session):
        raise Forbidden("You may only put items on your own union's board or below it.",
                        code="scope_not_yours", extra={"scope": scope.code})
    federation_id = next(e.id for e in tenants.values() if e.kind == "hq")
    partner_id = await partner_by_code(session, federation_id, data.partner)
    details = check_details(data.topic, data.details, complete=True)
    reports, proposals = await _sources(session, data.report_ids, data.proposal_ids, partner_id)
    actor = await board.principal(session)
    item = AgendaItem(
        id=uuid.uuid4(), federation_id=federation_id, tenant_id=scope.id, partner_id=partner_id,
        topic=data.topic, title=data.title.strip(), summary=data.summary.strip(), details=details,
        status="collected", support_count=0,
        support_threshold=data.support_threshold or default_threshold, merged_into_id=None,
        created_by=actor, created_at=now, updated_at=now)
    session.add(item)
    await session.flush()
    for report in reports:
        _add_source(session, item, actor, now, "created", report_id=report.id)
    for proposal in proposals:
        _add_source(session, item, actor, now, "created", proposal_id=proposal.id)
        proposal.status, proposal.decided_by, proposal.decided_at = "taken", actor, now
    await session.flush()
    payload = {"reports": [str(r.id) for r in reports],
               "proposals": [str(p.id) for p in proposals]}
    await board.record_event(session, item, "created", actor=actor, now=now,
                             to_status="collected", payload=payload)
    await audit.record(session, "agenda.created", tenant_id=item.tenant_id,
                       object_type="agenda_item", object_id=item.id,
                       payload={"title": item.title, "topic": item.topic,
                                "partner": data.partner, **payload})
    return item


async def federation_of(session: AsyncSession, caller: Caller) -> uuid.UUID:
    fed = (await session.execute(text("SELECT flexunion_federation()"))).scalar_one_or_none()
    return fed or caller.tenant_id


async def _sources(session: AsyncSession, report_ids: list[uuid.UUID],
                   proposal_ids: list[uuid.UUID], partner_id: uuid.UUID,
                   ) -> tuple[Sequence[ProblemReport], Sequence[RepProposal]]:
    reports = (await session.scalars(select(ProblemReport).where(
        ProblemReport.id.in_(set(report_ids))).order_by(ProblemReport.id))).all()
    proposals = (await session.scalars(select(RepProposal).where(
        RepProposal.id.in_(set(proposal_ids))).order_by(RepProposal.id).with_for_update())).all()
    missing = sorted({str(i) for i in report_ids} - {str(r.id) for r in reports}) + sorted(
        {str(i) for i in proposal_ids} - {str(p.id) for p in proposals})
    if missing:
        raise InvalidInput("Some sources do not exist or are not visible to you.",
                           code="source_not_found", extra={"missing": missing})
    other = [str(s.id) for s in (*reports, *proposals) if s.partner_id != partner_id]
    if other:
        raise InvalidInput("Every source must concern the item's platform.",
                           code="source_partner_mismatch", extra={"sources": other})
    closed = [str(p.id) for p in proposals if p.status != "submitted"]
    if closed:
        raise Conflict("Some proposals were already taken or declined.",
                       code="proposal_not_open", extra={"proposals": closed})
    return reports, proposals


def _add_source(session: AsyncSession, item: AgendaItem, actor: str, now: datetime, via: str,
                **refs: uuid.UUID | None) -> None:
    session.add(AgendaItemSource(
        id=uuid.uuid4(), federation_id=item.federation_id, tenant_id=item.tenant_id,
        item_id=item.id, via=via, actor=actor, created_at=now, **refs))


# ---- read ------------------------------------------------------------------------------


async def page(session: AsyncSession, filters: Filters, *,
               after: tuple[datetime, uuid.UUID] | None, limit: int) -> Sequence[AgendaItem]:
    """Newest activity first, keyset on (updated_at, id)."""
    query = filters.apply(select(AgendaItem))
    if after is not None:
        query = query.where(tuple_(AgendaItem.updated_at, AgendaItem.id) < tuple_(*after))
    query = query.order_by(AgendaItem.updated_at.desc(), AgendaItem.id.desc()).limit(limit)
    return (await session.scalars(query)).all()


async def counts(session: AsyncSession, filters: Filters) -> dict[str, int]:
    query = filters.apply(select(AgendaItem.status, func.count()).select_from(AgendaItem))
    found = dict((await session.execute(query.group_by(AgendaItem.status))).all())
    return {status: found.get(status, 0) for status in STATUSES}


async def sources(session: AsyncSession, item_id: uuid.UUID) -> Sequence[AgendaItemSource]:
    return (await session.scalars(select(AgendaItemSource).where(
        AgendaItemSource.item_id == item_id).order_by(AgendaItemSource.created_at,
                                                      AgendaItemSource.id))).all()


async def timeline(session: AsyncSession, item_id: uuid.UUID) -> Sequence[AgendaItemEvent]:
    await board.access_item(session, item_id)
    return (await session.scalars(select(AgendaItemEvent).where(
        AgendaItemEvent.item_id == item_id).order_by(AgendaItemEvent.seq))).all()


# ---- change ----------------------------------------------------------------------------


async def patch(session: AsyncSession, item_id: uuid.UUID, data: Any, *,
                now: datetime) -> AgendaItem:
    item = await board.access_item(session, item_id, lock=True)
    if item.status in TERMINAL:
        raise Conflict(f"An item that is '{item.status}' can no longer be edited.",
                       code="item_closed", extra={"item_status": item.status})
    changed: dict[str, Any] = {}
    if data.details is not None:
        changed["details"] = check_details(item.topic, data.details, complete=True)
    for field in ("title", "summary"):
        value = getattr(data, field)
        if value is not None:
            changed[field] = value.strip()
    if data.support_threshold is not None:
        changed["support_threshold"] = data.support_threshold
    if not changed:
        raise InvalidInput("Nothing to change.", code="nothing_to_change")
    for field, value in changed.items():
        setattr(item, field, value)
    item.updated_at = now
    await session.flush()
    actor = await board.principal(session)
    await board.record_event(session, item, "edited", actor=actor, now=now,
                             payload={"fields": sorted(changed)}, audience="union")
    await audit.record(session, "agenda.edited", tenant_id=item.tenant_id,
                       object_type="agenda_item", object_id=item.id, payload=changed)
    return item


async def move(session: AsyncSession, item_id: uuid.UUID, target: str, *, reason: str,
               now: datetime) -> AgendaItem:
    item = await board.access_item(session, item_id, lock=True)
    await board.transition(session, item, target, actor=await board.principal(session),
                           reason=reason, now=now)
    return item


async def _lock_all(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, AgendaItem]:
    """Lock the items in id order (no deadlocks between two regroupings); 404 lists missing."""
    rows = (await session.scalars(select(AgendaItem).where(AgendaItem.id.in_(set(ids)))
                                  .order_by(AgendaItem.id).with_for_update())).all()
    found = {i.id: i for i in rows}
    missing = sorted(str(i) for i in set(ids) - set(found))
    if missing:
        raise board.ItemNotFound("Some items do not exist or are not yours to change.",
                                 extra={"missing": missing})
    return found


async def merge(session: AsyncSession, data: Any, *, now: datetime) -> tuple[AgendaItem, list]:
    ids = list(dict.fromkeys(data.items))
    if data.into in ids:
        raise InvalidInput("An item cannot be merged into itself.", code="merge_into_self")
    found = await _lock_all(session, [data.into, *ids])
    into, merged = found[data.into], [found[i] for i in ids]
    refused = [{"item_id": str(i.id), "status": i.status}
               for i in (into, *merged) if i.status not in REGROUPABLE]
    if refused:
        raise Conflict("Only collected or under-review items can be merged.",
                       code="item_not_regroupable", extra={"items": refused})
    mismatched = [str(i.id) for i in merged if (i.partner_id, i.topic, i.tenant_id)
                  != (into.partner_id, into.topic, into.tenant_id)]
    if mismatched:
        raise InvalidInput("Merged items must share the platform, topic and scope.",
                           code="merge_mismatch", extra={"items": mismatched})
    actor = await board.principal(session)
    for item in merged:
        copied = 0
        for src in await sources(session, item.id):
            if src.moved_to_item_id is None:
                _add_source(session, into, actor, now, "merged", report_id=src.report_id,
                            proposal_id=src.proposal_id, from_item_id=item.id)
                src.moved_to_item_id = into.id
                copied += 1
        if not copied:
            _add_source(session, into, actor, now, "merged", from_item_id=item.id)
        before = item.status
        item.status, item.merged_into_id, item.updated_at = "merged", into.id, now
        await session.flush()
        await board.record_event(session, item, "merged", actor=actor, now=now,
                                 reason=data.reason, from_status=before, to_status="merged",
                                 payload={"into": str(into.id)})
        await audit.record(session, "agenda.merged", tenant_id=item.tenant_id,
                           object_type="agenda_item", object_id=item.id,
                           payload={"into": str(into.id), "from": before, "reason": data.reason})
    into.updated_at = now
    await session.flush()
    await board.record_event(session, into, "merge", actor=actor, now=now, reason=data.reason,
                             payload={"merged": [str(i) for i in ids]})
    return into, ids


async def split(session: AsyncSession, item_id: uuid.UUID, data: Any, *,
                now: datetime) -> tuple[AgendaItem, AgendaItem]:
    if not data.report_ids and not data.proposal_ids:
        raise InvalidInput("Name at least one source to split off.", code="nothing_to_split")
    item = await board.access_item(session, item_id, lock=True)
    if item.status not in REGROUPABLE:
        raise Conflict("Only collected or under-review items can be split.",
                       code="item_not_regroupable",
                       extra={"items": [{"item_id": str(item.id), "status": item.status}]})
    active = [s for s in await sources(session, item.id) if s.moved_to_item_id is None]
    by_report = {s.report_id: s for s in active if s.report_id}
    by_proposal = {s.proposal_id: s for s in active if s.proposal_id and not s.report_id}
    missing = sorted({str(i) for i in data.report_ids if i not in by_report}
                     | {str(i) for i in data.proposal_ids if i not in by_proposal})
    if missing:
        raise InvalidInput("Some named sources are not active sources of this item.",
                           code="source_not_on_item", extra={"missing": missing})
    details = (check_details(item.topic, data.details, complete=True)
               if data.details is not None else item.details)
    actor = await board.principal(session)
    new = AgendaItem(
        id=uuid.uuid4(), federation_id=item.federation_id, tenant_id=item.tenant_id,
        partner_id=item.partner_id, topic=item.topic, title=data.title.strip(),
        summary=(data.summary or item.summary).strip(), details=details, status="collected",
        support_count=0, support_threshold=item.support_threshold, merged_into_id=None,
        created_by=actor, created_at=now, updated_at=now)
    session.add(new)
    await session.flush()
    moving = [by_report[i] for i in dict.fromkeys(data.report_ids)] + [
        by_proposal[i] for i in dict.fromkeys(data.proposal_ids)]
    for src in moving:
        _add_source(session, new, actor, now, "split", report_id=src.report_id,
                    proposal_id=src.proposal_id, from_item_id=item.id)
        src.moved_to_item_id = new.id
    item.updated_at = now
    await session.flush()
    moved = {"reports": [str(i) for i in data.report_ids],
             "proposals": [str(i) for i in data.proposal_ids]}
    await board.record_event(session, item, "split", actor=actor, now=now, reason=data.reason,
                             payload={"new_item": str(new.id), **moved})
    await board.record_event(session, new, "created", actor=actor, now=now, reason=data.reason,
                             to_status="collected", payload={"split_from": str(item.id), **moved})
    await audit.record(session, "agenda.split", tenant_id=item.tenant_id,
                       object_type="agenda_item", object_id=item.id,
                       payload={"new_item": str(new.id), "reason": data.reason, **moved})
    return item, new
