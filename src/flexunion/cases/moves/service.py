"""跟随转会 Cases follow a transfer (docs/cases.md, issue 15).

When a member's transfer completes, transfers/service.py `accept` writes `member.transferred`
to the outbox (core/events.py) in the same transaction. The `case-follow-transfer` job
(jobs/tasks.py, every minute per federation: jobs/schedule.py) calls `follow_transfers`:

- it claims the federation's pending `member.transferred` rows, oldest first, with
  `FOR UPDATE SKIP LOCKED` (two runs at once never take one event), and stamps each row's
  `processed_at` in the same transaction as the moves it made: the job commits both or
  neither. A run killed or failing mid-way leaves the event pending and no move behind; the
  next run does the whole event again;
- for each event: the person's open cases (status not answered / merged / closed) handled in
  the origin's region (the regional union of `from_tenant_id` and its stations) move to the
  transfer's destination tenant (`to_tenant_id`). Cases handled elsewhere (the worker worked
  in a third region) stay where they are handled;
- per case, once: a case that already has this transfer's `moved` event is skipped (a
  redelivered event moves nothing twice);
- a move: the origin region's open assignments on the case (tenant units) end with reason
  `transferred` (a partner's assisting assignment stays: the platform still answers); an
  assigned / accepted / returned case left without an open lead goes back to `received` at
  the new region, which assigns it again; a next node (回访 跟进) owed by a unit of the origin
  region is owed by the destination; `flexunion_case_move()` (migration 0029) changes the
  case's and its clock rows' tenant and records the origin's sight (`case_sight`: its staff
  keep reading the case and its history); a `moved` event (from / to) goes on the timeline —
  no clock reads it (clocks/rules.py), so every clock keeps its elapsed time, its pinned
  calendar and its deadline; the worker's inbox says where the case went; the audit trail gets
  `case.moved`;
- the person's open cases handled outside the origin region stay where the worker works, and
  the new home gets read sight of them (`flexunion_case_home_sight()`, migration 0045: a
  `home` row of `case_sight`, unless the new home handles the case or is above the tenant that
  does), audited `case.home_sight`. Closed cases give the new home nothing, as they move
  nowhere; the old home keeps the sight it had (both homes see the history).

The job's principal `system:jobs:case-follow-transfer` reads only what this needs (0029): the
outbox's `member.transferred` rows, the cases of its federation and their assignments and
clocks — no member or account row (the event carries the ids)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.cases.ledger import repository as ledger_repo
from flexunion.cases.ledger import service as ledger
from flexunion.cases.ledger.models import Case
from flexunion.cases.moves import repository as repo
from flexunion.core.events import DomainEvent
from flexunion.federation import directory
from flexunion.federation.directory import Directory, DirectoryEntry
from flexunion.inbox import service as inbox
from flexunion.transfers.service import EVENT_TRANSFERRED

PRINCIPAL = "system:jobs:case-follow-transfer"
END_REASON = "transferred"
BATCH = 50  # events per run; the rest wait for the next minute
BACK_TO_RECEIVED = frozenset({"assigned", "accepted", "returned"})


async def follow_transfers(session: AsyncSession, now: datetime, *, limit: int = BATCH) -> int:
    """Process the pending `member.transferred` events of the scope; how many cases moved.
    The caller (the job's runner) commits: the moves and the events' `processed_at` together."""
    moved = 0
    for event in await repo.claim_pending(session, EVENT_TRANSFERRED, limit=limit):
        moved += await follow(session, event, now)
        await repo.mark_processed(session, event.id, now)
    return moved


async def follow(session: AsyncSession, event: DomainEvent, now: datetime) -> int:
    """One transfer's open cases follow the member; how many moved (0 when all had moved)."""
    payload = event.payload
    tenants = await directory.directory(session, event.federation_id)
    origin = tenants.by_id.get(uuid.UUID(payload["from_tenant_id"]))
    dest = tenants.by_id.get(uuid.UUID(payload["to_tenant_id"]))
    if origin is None or dest is None:
        return 0
    region = tenants.region_of(origin) or origin
    subtree = frozenset(tenants.subtree(region))
    worker = payload.get("worker_id")
    cases = await repo.open_cases(
        session, worker_id=uuid.UUID(worker) if worker else None,
        member_id=uuid.UUID(payload["member_id"]), tenants=sorted(subtree))
    moved = 0
    for case in cases:
        if await repo.already_moved(session, case.id, payload["transfer_id"]):
            continue
        await move_case(session, case, dest, subtree=subtree, tenants=tenants, event=event,
                        now=now)
        moved += 1
    await home_sight(session, event, tenants, subtree=subtree, member=uuid.UUID(
        payload["member_id"]), worker=uuid.UUID(worker) if worker else None)
    return moved


async def home_sight(session: AsyncSession, event: DomainEvent, tenants: Directory, *,
                     subtree: frozenset[uuid.UUID], member: uuid.UUID,
                     worker: uuid.UUID | None) -> None:
    """The person's open cases handled outside the origin region stay where the worker works;
    the new home reads them (a `home` sight, migration 0045), audited once per row made."""
    others = sorted(set(tenants.by_id) - subtree)
    for case in await repo.open_cases(session, worker_id=worker, member_id=member,
                                      tenants=others):
        home = await repo.home_sight(session, case.id)
        if home is None:
            continue
        await audit.record(session, "case.home_sight", tenant_id=case.tenant_id,
                           object_type="case", object_id=case.id,
                           payload={"home": tenants.by_id[home].code,
                                    "handler": tenants.by_id[case.tenant_id].code,
                                    "transfer_id": event.payload.get("transfer_id"),
                                    "event_id": str(event.id)})


async def move_case(session: AsyncSession, case: Case, dest: DirectoryEntry, *,
                    subtree: frozenset[uuid.UUID], tenants: Directory, event: DomainEvent,
                    now: datetime) -> None:
    """Move one case to `dest` (see the module docstring); the caller holds its row lock."""
    payload = event.payload
    transfer_id = payload.get("transfer_id")
    status_before = case.status
    ended: list[dict[str, Any]] = []
    rows = await ledger_repo.assignments(session, case.id, lock=True)
    for a in rows:
        if a.ended_at is None and a.unit_tenant_id in subtree:
            a.status, a.ended_at, a.end_reason = "closed", now, END_REASON
            ended.append({"seq": a.seq, "role": a.role,
                          "unit": tenants.by_id[a.unit_tenant_id].code})
    await ledger_repo.flush(session)
    lead_open = any(a.role == "lead" and a.ended_at is None for a in rows)
    from_id = await repo.move(session, case, dest.id,
                              uuid.UUID(transfer_id) if transfer_id else None)
    if case.status in BACK_TO_RECEIVED and not lead_open:
        case.status = "received"
    if case.next_unit_id is not None and case.next_unit_id in subtree:
        case.next_unit_id = dest.id
    case.updated_at = now
    await ledger_repo.flush(session)
    source = tenants.by_id[from_id]
    details = {"from": source.code, "to": dest.code, "from_tenant_id": str(from_id),
               "to_tenant_id": str(dest.id), "transfer_id": transfer_id,
               "event_id": str(event.id), "status_before": status_before,
               "status": case.status, "ended_assignments": ended}
    await ledger.record(session, case, "moved", now=now, details=details)
    if case.worker_id is not None:
        await inbox.case_moved(
            session, federation_id=case.federation_id, tenant_id=case.tenant_id,
            worker_id=case.worker_id, case_id=case.id, case_no=case.case_no,
            status=case.status, to_zh=dest.name_zh, to_en=dest.name_en, now=now)
    await audit.record(session, "case.moved", tenant_id=dest.id, object_type="case",
                       object_id=case.id,
                       payload={"from": source.code, "to": dest.code,
                                "transfer_id": transfer_id, "event_id": str(event.id),
                                "status_before": status_before, "status": case.status,
                                "ended_assignments": len(ended)})
