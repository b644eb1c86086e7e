"""协商清单 The agenda board's rules: items made from reports and proposals, moved along
the lifecycle (lifecycle.py), edited and regrouped (merge, split); members' support (附议)
is supports.py, templated bulk answers (答复模板) answers.py. Every other bargaining
sub-package stands on this one: it finds an item, writes its timeline and moves it.

Row-level security decides what a caller sees, and "not there" and "not yours" give the
same 404. A write locks the item first; a locked read also applies the UPDATE policy, so an
item a caller may see but not change (a regional officer looking at a federation-wide
item) is a 404 for writes. Every step writes a timeline entry and an audit event in the
request's transaction; the database trigger refuses the steps lifecycle.py refuses.

An item's reports and proposals come through a `SourceIntake`: the board sits below the
reports sub-package and does not import it; bargaining/routes.py provides reports' intake.

Merging: the merged items end `merged` (merged_into_id set); their active sources are
copied to the surviving item (via 'merged', from_item_id = the merged item) and the old
rows get moved_to_item_id = the survivor, so a report's trace leads straight to it.
Supports are NOT transferred (one row per member and item); the merged item keeps its count."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining.board import repository
from flexunion.bargaining.board.lifecycle import (
    ALLOWED,
    BALLOT_ONLY,
    REGROUPABLE,
    STATUSES,
    TERMINAL,
    may_move,
)
from flexunion.bargaining.board.models import (
    AgendaItem,
    AgendaItemEvent,
    AgendaItemSource,
)
from flexunion.bargaining.board.schemas import (
    ItemCreate,
    ItemFilters,
    ItemLink,
    ItemPatch,
    MergeCreate,
    Names,
    SplitCreate,
)
from flexunion.bargaining.board.topics import check_details
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from flexunion.db import rls
from flexunion.federation import directory
from flexunion.federation.directory import DirectoryEntry

NOT_TARGETS = BALLOT_ONLY | {"merged"}
MAX_MERGE_HOPS = 50


class ItemNotFound(NotFound):
    code, title, title_en = "agenda_item_not_found", "未找到该协商事项", "Agenda item not found"


class InvalidTransition(Conflict):
    code, title, title_en = "invalid_transition", "事项状态不允许此流转", "Transition not allowed"


def no_such_item() -> ItemNotFound:
    return ItemNotFound("没有这个协商事项。", "No such agenda item.")


@dataclass(frozen=True, slots=True)
class Sources:
    """An item's reports and proposals, checked, in id order."""

    report_ids: list[uuid.UUID]
    proposal_ids: list[uuid.UUID]


@runtime_checkable
class SourceIntake(Protocol):
    """Checks the reports and proposals a new item is made from (visible to the caller,
    about the item's platform, proposals still open) and takes the proposals; 4xx else."""

    async def take(self, session: AsyncSession, report_ids: Sequence[uuid.UUID],
                   proposal_ids: Sequence[uuid.UUID], *, partner_id: uuid.UUID, actor: str,
                   now: datetime) -> Sources: ...


# ---- finding items -------------------------------------------------------------------------


async def access_item(session: AsyncSession, item_id: uuid.UUID, *,
                      lock: bool = False) -> AgendaItem:
    """The item if the caller's row-level security shows it, else 404."""
    item = await repository.get(session, item_id, lock=lock)
    if item is None:
        raise no_such_item()
    return item


async def items_by_ids(session: AsyncSession, ids: Iterable[uuid.UUID], *,
                       lock: bool = False) -> Sequence[AgendaItem]:
    """The visible ones among `ids`, in id order (locked: those the caller may change)."""
    return await repository.by_ids(session, ids, lock=lock)


async def item_titles(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Titles of the items the caller can see; others are left out."""
    wanted = set(ids)
    return await repository.titles(session, wanted) if wanted else {}


async def names(session: AsyncSession, caller: Caller) -> Names:
    """Tenant and partner codes of the caller's federation (the HQ's id is the federation's)."""
    tenants = await directory.my_directory(session, caller)
    return Names({e.id: e.code for e in tenants.values()},
                 await directory.partner_codes(session, tenants.hq.id))


async def filters(session: AsyncSession, caller: Caller, *, topic: str | None,
                  status: str | None, partner: str | None, region: str | None,
                  q: str | None) -> ItemFilters:
    """Staff list filters, codes resolved (422 `unknown_partner`, `unknown_region`)."""
    fed = await directory.federation_of(session, caller)
    partner_id = (await directory.partner_by_code(session, fed, partner)).id if partner else None
    tenant_id = (await _region(session, fed, region)).id if region else None
    return ItemFilters(topic=topic, status=status, partner_id=partner_id, tenant_id=tenant_id,
                       q=q)


async def _region(session: AsyncSession, federation_id: uuid.UUID, code: str) -> DirectoryEntry:
    entry = (await directory.directory(session, federation_id)).get(code)
    if entry is None or entry.kind not in ("regional", "hq"):
        raise InvalidInput(f"{code} 不是区域工会，也不是联合会本身。",
                           f"'{code}' is not a regional union or the federation.",
                           code="unknown_region")
    return entry


async def page(session: AsyncSession, filters: ItemFilters, *,
               after: tuple[datetime, uuid.UUID] | None, limit: int) -> Sequence[AgendaItem]:
    """Newest activity first."""
    return await repository.page(session, filters, after=after, limit=limit)


async def counts(session: AsyncSession, filters: ItemFilters) -> dict[str, int]:
    """Items per status, every status (zeros included)."""
    found = await repository.counts(session, filters)
    return {status: found.get(status, 0) for status in STATUSES}


async def partner_items(session: AsyncSession, partner_id: uuid.UUID, *,
                        statuses: Iterable[str], status: str | None, topic: str | None,
                        after: tuple[datetime, uuid.UUID] | None,
                        limit: int) -> Sequence[AgendaItem]:
    return await repository.partner_page(session, partner_id, statuses=statuses, status=status,
                                         topic=topic, after=after, limit=limit)


async def sources(session: AsyncSession, item_id: uuid.UUID) -> Sequence[AgendaItemSource]:
    return await repository.sources(session, item_id)


async def timeline(session: AsyncSession, item_id: uuid.UUID) -> Sequence[AgendaItemEvent]:
    """Every entry of the item the caller may see (404 for an item it cannot)."""
    await access_item(session, item_id)
    return await repository.events(session, item_id)


async def public_timeline(session: AsyncSession,
                          item: AgendaItem) -> Sequence[AgendaItemEvent]:
    """The entries meant for everyone, of an item already found."""
    return await repository.events(session, item.id, audience="all")


async def fed_by_report(session: AsyncSession, report_id: uuid.UUID,
                        proposal_ids: Sequence[uuid.UUID] = (),
                        ) -> list[tuple[AgendaItem, list[uuid.UUID]]]:
    """The items a report feeds now (itself, or through `proposal_ids`, the proposals that
    hold it), each followed through merges to the surviving item, with the merged items
    passed on the way. Items the caller cannot see are left out."""
    out: dict[uuid.UUID, tuple[AgendaItem, list[uuid.UUID]]] = {}
    for item_id in dict.fromkeys(await repository.items_fed_by_report(session, report_id,
                                                                      proposal_ids)):
        item = await repository.get(session, item_id)
        passed: list[uuid.UUID] = []
        while (item is not None and item.status == "merged" and item.merged_into_id
               and len(passed) < MAX_MERGE_HOPS):
            passed.append(item.id)
            item = await repository.get(session, item.merged_into_id)
        if item is not None and item.id not in out:
            out[item.id] = (item, passed)
    return list(out.values())


# ---- the timeline and the lifecycle --------------------------------------------------------


async def record_event(
    session: AsyncSession, item: AgendaItem, kind: str, *, actor: str, now: datetime,
    reason: str | None = None, from_status: str | None = None, to_status: str | None = None,
    payload: dict[str, Any] | None = None, audience: str = "all",
) -> AgendaItemEvent:
    """One timeline entry. `actor` must be the transaction's principal (RLS checks it)."""
    event = AgendaItemEvent(
        id=uuid.uuid4(), federation_id=item.federation_id, tenant_id=item.tenant_id,
        item_id=item.id, partner_id=item.partner_id, kind=kind, from_status=from_status,
        to_status=to_status, actor=actor, reason=reason, payload=payload or {},
        audience=audience, created_at=now,
    )
    repository.add(session, event)
    await repository.flush(session)
    return event


def check_transition(item: AgendaItem, target: str, *, by_ballot: bool = False) -> None:
    if target in BALLOT_ONLY and not by_ballot:
        raise InvalidTransition(
            f"只有通过的批准表决才能使事项变为「{STATUSES[target][0]}」。",
            f"Only a passed ratification ballot makes an item '{target}'.",
            code="ballot_required", extra={"item_id": str(item.id), "item_status": item.status,
                                           "to": target})
    if not may_move(item.status, target):
        raise InvalidTransition(
            f"状态为「{STATUSES[item.status][0]}」的事项不能变为「{STATUSES[target][0]}」。",
            f"An item that is '{item.status}' cannot become '{target}'.",
            extra={"item_id": str(item.id), "item_status": item.status, "to": target,
                   "allowed": sorted(ALLOWED.get(item.status, ()))})


# What a staff step must also satisfy, registered by the domains above the board at start-up
# (app.py): the ballots refuse a step while members vote. Checked on the locked item.
StepGuard = Callable[[AsyncSession, AgendaItem, str], Awaitable[None]]
_step_guards: dict[str, StepGuard] = {}


def guard_steps(name: str, guard: StepGuard) -> None:
    """Run `guard(session, item, target)` before every staff step (not a ballot's own step);
    it raises to refuse. Registering a name again replaces its guard."""
    _step_guards[name] = guard


# What a step brings about in the domains above the board, registered at start-up (app.py):
# an item in force drafts its clause (contracts). Run after the step, in its transaction, for
# staff and ballot steps alike; an effect that raises refuses the step.
StepEffect = Callable[[AsyncSession, AgendaItem, str, datetime], Awaitable[None]]
_step_effects: dict[str, StepEffect] = {}


def after_steps(name: str, effect: StepEffect) -> None:
    """Run `effect(session, item, target, now)` after every step; a name again replaces it."""
    _step_effects[name] = effect


# What other domains hang on an item (contracts: the clauses it produced), registered at
# start-up (app.py) and shown on the staff's item read; the board reads no table of theirs.
LinkReader = Callable[[AsyncSession, AgendaItem], Awaitable[list[ItemLink]]]
_link_readers: dict[str, LinkReader] = {}


def read_links(name: str, reader: LinkReader) -> None:
    _link_readers[name] = reader


async def links(session: AsyncSession, item: AgendaItem) -> list[ItemLink]:
    out: list[ItemLink] = []
    for reader in list(_link_readers.values()):
        out += await reader(session, item)
    return out


async def transition(
    session: AsyncSession, item: AgendaItem, target: str, *, actor: str, reason: str,
    now: datetime, by_ballot: bool = False, payload: dict[str, Any] | None = None,
) -> AgendaItemEvent:
    """Move the (locked) item to `target`: checked, written, on the timeline and audited.
    The database trigger refuses the same steps, so a bug here cannot skip a stage."""
    check_transition(item, target, by_ballot=by_ballot)
    if not by_ballot:
        for guard in list(_step_guards.values()):
            await guard(session, item, target)
    before = item.status
    item.status = target
    item.updated_at = now
    await repository.flush(session)
    event = await record_event(session, item, "transition", actor=actor, now=now, reason=reason,
                               from_status=before, to_status=target, payload=payload)
    await audit.record(session, "agenda.transition", tenant_id=item.tenant_id,
                       object_type="agenda_item", object_id=item.id,
                       payload={"from": before, "to": target, "reason": reason,
                                **(payload or {})})
    for effect in list(_step_effects.values()):
        await effect(session, item, target, now)
    return event


async def move(session: AsyncSession, item_id: uuid.UUID, target: str, *, reason: str,
               now: datetime) -> AgendaItem:
    item = await access_item(session, item_id, lock=True)
    await transition(session, item, target, actor=await rls.principal(session), reason=reason,
                     now=now)
    return item


# ---- making and editing items --------------------------------------------------------------


async def create(session: AsyncSession, caller: Caller, data: ItemCreate, *,
                 intake: SourceIntake, now: datetime, default_threshold: int) -> AgendaItem:
    """新建事项 from (optionally) reports and proposals: status collected."""
    tenants = await directory.my_directory(session, caller)
    scope = tenants.get(data.scope) if data.scope else tenants.by_id.get(caller.tenant_id)
    if scope is None or scope.kind not in ("regional", "hq"):
        raise InvalidInput("事项范围须是区域工会或联合会（总部）。",
                           "An item's scope is a regional union or the federation (HQ).",
                           code="invalid_scope", extra={"scope": data.scope})
    if not await rls.in_scope(session, scope.id):
        raise Forbidden("只能在本级或下级工会的协商清单上新建事项。",
                        "You may only put items on your own union's board or below it.",
                        code="scope_not_yours", extra={"scope": scope.code})
    federation_id = tenants.hq.id
    partner = await directory.partner_by_code(session, federation_id, data.partner)
    details = check_details(data.topic, data.details, complete=True)
    actor = await rls.principal(session)
    taken = await intake.take(session, data.report_ids, data.proposal_ids,
                              partner_id=partner.id, actor=actor, now=now)
    item = AgendaItem(
        id=uuid.uuid4(), federation_id=federation_id, tenant_id=scope.id, partner_id=partner.id,
        topic=data.topic, title=data.title.strip(), summary=data.summary.strip(), details=details,
        status="collected", support_count=0,
        support_threshold=data.support_threshold or default_threshold, merged_into_id=None,
        created_by=actor, created_at=now, updated_at=now)
    repository.add(session, item)
    await repository.flush(session)
    for report_id in taken.report_ids:
        _add_source(session, item, actor, now, "created", report_id=report_id)
    for proposal_id in taken.proposal_ids:
        _add_source(session, item, actor, now, "created", proposal_id=proposal_id)
    await repository.flush(session)
    payload = {"reports": [str(r) for r in taken.report_ids],
               "proposals": [str(p) for p in taken.proposal_ids]}
    await record_event(session, item, "created", actor=actor, now=now, to_status="collected",
                       payload=payload)
    await audit.record(session, "agenda.created", tenant_id=item.tenant_id,
                       object_type="agenda_item", object_id=item.id,
                       payload={"title": item.title, "topic": item.topic,
                                "partner": data.partner, **payload})
    return item


def _add_source(session: AsyncSession, item: AgendaItem, actor: str, now: datetime, via: str,
                **refs: uuid.UUID | None) -> None:
    repository.add(session, AgendaItemSource(
        id=uuid.uuid4(), federation_id=item.federation_id, tenant_id=item.tenant_id,
        item_id=item.id, via=via, actor=actor, created_at=now, **refs))


async def patch(session: AsyncSession, item_id: uuid.UUID, data: ItemPatch, *,
                now: datetime) -> AgendaItem:
    item = await access_item(session, item_id, lock=True)
    if item.status in TERMINAL:
        raise Conflict(f"状态为「{STATUSES[item.status][0]}」的事项不能再修改。",
                       f"An item that is '{item.status}' can no longer be edited.",
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
        raise InvalidInput("没有要修改的内容。", "Nothing to change.", code="nothing_to_change")
    for field, value in changed.items():
        setattr(item, field, value)
    item.updated_at = now
    await repository.flush(session)
    actor = await rls.principal(session)
    await record_event(session, item, "edited", actor=actor, now=now,
                       payload={"fields": sorted(changed)}, audience="union")
    await audit.record(session, "agenda.edited", tenant_id=item.tenant_id,
                       object_type="agenda_item", object_id=item.id, payload=changed)
    return item


# ---- regrouping ----------------------------------------------------------------------------


async def _lock_all(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, AgendaItem]:
    """Lock the items in id order (no deadlocks between two regroupings); 404 lists missing."""
    found = {i.id: i for i in await repository.by_ids(session, ids, lock=True)}
    missing = sorted(str(i) for i in set(ids) - set(found))
    if missing:
        raise ItemNotFound("有些事项不存在，或不归你修改。",
                           "Some items do not exist or are not yours to change.",
                           extra={"missing": missing})
    return found


def _not_regroupable(items: Iterable[AgendaItem], verb_zh: str, verb_en: str) -> Conflict:
    return Conflict(f"只有已收集或审核中的事项可以{verb_zh}。",
                    f"Only collected or under-review items can be {verb_en}.",
                    code="item_not_regroupable",
                    extra={"items": [{"item_id": str(i.id), "status": i.status} for i in items]})


async def merge(session: AsyncSession, data: MergeCreate, *,
                now: datetime) -> tuple[AgendaItem, list[uuid.UUID]]:
    ids = list(dict.fromkeys(data.items))
    if data.into in ids:
        raise InvalidInput("事项不能合并到它自己。", "An item cannot be merged into itself.",
                           code="merge_into_self")
    found = await _lock_all(session, [data.into, *ids])
    into, merged = found[data.into], [found[i] for i in ids]
    refused = [i for i in (into, *merged) if i.status not in REGROUPABLE]
    if refused:
        raise _not_regroupable(refused, "合并", "merged")
    mismatched = [str(i.id) for i in merged if (i.partner_id, i.topic, i.tenant_id)
                  != (into.partner_id, into.topic, into.tenant_id)]
    if mismatched:
        raise InvalidInput("合并的事项须属同一平台、同一议题、同一范围。",
                           "Merged items must share the platform, topic and scope.",
                           code="merge_mismatch", extra={"items": mismatched})
    actor = await rls.principal(session)
    for item in merged:
        copied = 0
        for src in await repository.sources(session, item.id):
            if src.moved_to_item_id is None:
                _add_source(session, into, actor, now, "merged", report_id=src.report_id,
                            proposal_id=src.proposal_id, from_item_id=item.id)
                src.moved_to_item_id = into.id
                copied += 1
        if not copied:
            _add_source(session, into, actor, now, "merged", from_item_id=item.id)
        before = item.status
        item.status, item.merged_into_id, item.updated_at = "merged", into.id, now
        await repository.flush(session)
        await record_event(session, item, "merged", actor=actor, now=now, reason=data.reason,
                           from_status=before, to_status="merged", payload={"into": str(into.id)})
        await audit.record(session, "agenda.merged", tenant_id=item.tenant_id,
                           object_type="agenda_item", object_id=item.id,
                           payload={"into": str(into.id), "from": before, "reason": data.reason})
    into.updated_at = now
    await repository.flush(session)
    await record_event(session, into, "merge", actor=actor, now=now, reason=data.reason,
                       payload={"merged": [str(i) for i in ids]})
    return into, ids


async def split(session: AsyncSession, item_id: uuid.UUID, data: SplitCreate, *,
                now: datetime) -> tuple[AgendaItem, AgendaItem]:
    if not data.report_ids and not data.proposal_ids:
        raise InvalidInput("请至少指明一个要拆出的来源。", "Name at least one source to split off.",
                           code="nothing_to_split")
    item = await access_item(session, item_id, lock=True)
    if item.status not in REGROUPABLE:
        raise _not_regroupable([item], "拆分", "split")
    active = [s for s in await repository.sources(session, item.id) if s.moved_to_item_id is None]
    by_report = {s.report_id: s for s in active if s.report_id}
    by_proposal = {s.proposal_id: s for s in active if s.proposal_id and not s.report_id}
    missing = sorted({str(i) for i in data.report_ids if i not in by_report}
                     | {str(i) for i in data.proposal_ids if i not in by_proposal})
    if missing:
        raise InvalidInput("有些指明的来源不是该事项当前的来源。",
                           "Some named sources are not active sources of this item.",
                           code="source_not_on_item", extra={"missing": missing})
    details = (check_details(item.topic, data.details, complete=True)
               if data.details is not None else item.details)
    actor = await rls.principal(session)
    new = AgendaItem(
        id=uuid.uuid4(), federation_id=item.federation_id, tenant_id=item.tenant_id,
        partner_id=item.partner_id, topic=item.topic, title=data.title.strip(),
        summary=(data.summary or item.summary).strip(), details=details, status="collected",
        support_count=0, support_threshold=item.support_threshold, merged_into_id=None,
        created_by=actor, created_at=now, updated_at=now)
    repository.add(session, new)
    await repository.flush(session)
    moving = [by_report[i] for i in dict.fromkeys(data.report_ids)] + [
        by_proposal[i] for i in dict.fromkeys(data.proposal_ids)]
    for src in moving:
        _add_source(session, new, actor, now, "split", report_id=src.report_id,
                    proposal_id=src.proposal_id, from_item_id=item.id)
        src.moved_to_item_id = new.id
    item.updated_at = now
    await repository.flush(session)
    moved = {"reports": [str(i) for i in data.report_ids],
             "proposals": [str(i) for i in data.proposal_ids]}
    await record_event(session, item, "split", actor=actor, now=now, reason=data.reason,
                       payload={"new_item": str(new.id), **moved})
    await record_event(session, new, "created", actor=actor, now=now, reason=data.reason,
                       to_status="collected", payload={"split_from": str(item.id), **moved})
    await audit.record(session, "agenda.split", tenant_id=item.tenant_id,
                       object_type="agenda_item", object_id=item.id,
                       payload={"new_item": str(new.id), "reason": data.reason, **moved})
    return item, new


async def open_for_consultation(
    session: AsyncSession, *, item_id: uuid.UUID, federation_id: uuid.UUID,
    tenant_id: uuid.UUID, partner_id: uuid.UUID, topic: str, title: str, summary: str,
    details: dict[str, Any], origin: dict[str, Any], now: datetime, default_threshold: int,
) -> AgendaItem:
    """征求意见: an item for consultation on a change a platform notified (the rules register,
    contracts/rules/), put straight `on_agenda` — a change to a bargaining topic is a matter
    for consultation by its nature, not a demand waiting for supports. `origin` names what
    made it (the rule change) on its first timeline entry and in the audit trail; the caller
    links back to `item_id`. Written by the transaction's principal: union staff in their
    subtree, or the partner itself (migration 0042's `partner_consultation_insert`)."""
    checked = check_details(topic, details, complete=False)
    actor = await rls.principal(session)
    item = AgendaItem(
        id=item_id, federation_id=federation_id, tenant_id=tenant_id, partner_id=partner_id,
        topic=topic, title=title.strip()[:200], summary=summary.strip()[:4000],
        details=checked, status="on_agenda", support_count=0,
        support_threshold=default_threshold, merged_into_id=None, created_by=actor,
        created_at=now, updated_at=now)
    repository.add(session, item)
    await repository.flush(session)
    await record_event(session, item, "created", actor=actor, now=now, to_status="on_agenda",
                       reason="平台规则变更通知 · platform rule change notified", payload=origin)
    await audit.record(session, "agenda.created", tenant_id=item.tenant_id,
                       object_type="agenda_item", object_id=item.id,
                       payload={"title": item.title, "topic": topic, **origin})
    return item
