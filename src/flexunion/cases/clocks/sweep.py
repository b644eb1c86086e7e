"""The SLA sweep (临期提醒, 超期升级): the `sla-sweep` job, every 5 minutes per federation, as
the app role with the principal `system:jobs:sla-sweep` and the federation's scope (RLS
applies; migration 0020 lets exactly that principal read its federation's cases).

- **Reminder** (临期提醒): every open, running clock whose deadline is ahead by at most
  `within` of working time on its pinned calendar gets ONE case event `reminder` (details:
  metric, clock_id, deadline) — once per clock *and deadline*: a clock whose deadline moved
  (an approved extension, a re-route) may be reminded again for the new one.
- **Escalation** (超期升级): every open clock past its deadline gets ONE case event
  `escalation` (details: metric, clock_id, deadline, the handling unit and `to`, its parent
  tenant; HQ escalates to itself) and an audit row `case.escalated`. The handling unit is
  the open lead assignment's tenant, else the case's tenant.

Idempotent across runs and retries: candidates are read without the clocks already marked,
then each case row and clock row is locked and the mark re-checked before writing, so two
sweeps racing on one clock write one event. The events go through cases/ledger/service.py
`record` (its clocks are re-derived); clocks/rules.py reads neither kind, so no deadline,
pause or stop moves."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.calendars.hours import working_time
from flexunion.cases.clocks import repository
from flexunion.cases.clocks.models import CaseClock
from flexunion.cases.clocks.service import REMINDER_MARGIN, REMINDER_SPAN, Calendars
from flexunion.cases.ledger import repository as cases_repository
from flexunion.cases.ledger.models import Case
from flexunion.cases.ledger.service import record
from flexunion.federation import directory

PAGE = 500
Page = Callable[[tuple[datetime, uuid.UUID] | None], Awaitable[Sequence[CaseClock]]]


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


async def _all(page: Page) -> list[CaseClock]:
    """Every candidate, page by page along (deadline, id)."""
    found: list[CaseClock] = []
    after = None
    while True:
        rows = await page(after)
        found.extend(rows)
        if len(rows) < PAGE:
            return found
        last = rows[-1]
        assert last.deadline is not None
        after = (last.deadline, last.id)


async def _locked(session: AsyncSession, candidate: CaseClock) -> tuple[Case, CaseClock] | None:
    """The case and the clock, locked (case first, as every case step does) and re-read."""
    case = await cases_repository.get(session, candidate.case_id, lock=True)
    clock = await repository.clock_locked(session, candidate.id)
    if case is None or clock is None or clock.ended_at is not None or clock.deadline is None:
        return None
    return case, clock


async def remind(session: AsyncSession, now: datetime, within: timedelta) -> int:
    """临期提醒: one `reminder` per clock and deadline; how many were written."""
    end = now + within * REMINDER_SPAN + REMINDER_MARGIN
    candidates = await _all(lambda after: repository.unreminded_between(
        session, now, end, after=after, limit=PAGE))
    cals: dict[uuid.UUID, Calendars] = {}
    written = 0
    for candidate in candidates:
        if candidate.state == "paused":
            continue
        found = await _locked(session, candidate)
        if found is None:
            continue
        case, clock = found
        assert clock.deadline is not None
        if clock.state == "paused" or clock.deadline <= now \
                or await repository.marked(session, clock, "reminder"):
            continue
        calendar = await cals.setdefault(clock.federation_id, Calendars(clock.federation_id)
                                         ).get(session, clock.calendar_tenant_id,
                                               clock.calendar_version)
        if working_time(calendar, now, clock.deadline).duration > within:
            continue
        await record(session, case, "reminder", now=now,
                     details={"metric": clock.metric, "clock_id": str(clock.id),
                              "deadline": _iso(clock.deadline)})
        written += 1
    return written


async def escalate(session: AsyncSession, now: datetime) -> int:
    """超期升级: one `escalation` per breached clock, to the handling unit's parent."""
    candidates = await _all(lambda after: repository.unescalated_breaches(
        session, now, after=after, limit=PAGE))
    written = 0
    tenants: dict[uuid.UUID, directory.Directory] = {}
    for candidate in candidates:
        found = await _locked(session, candidate)
        if found is None:
            continue
        case, clock = found
        assert clock.deadline is not None
        if clock.deadline >= now or await repository.marked(session, clock, "escalation"):
            continue
        if case.federation_id not in tenants:
            tenants[case.federation_id] = await directory.directory(session, case.federation_id)
        tree = tenants[case.federation_id]
        lead = next((a.unit_tenant_id for a in await cases_repository.assignments(
            session, case.id) if a.role == "lead" and a.ended_at is None
            and a.unit_tenant_id is not None), None)
        unit = tree.by_id[lead or case.tenant_id]
        parent = tree.get(unit.parent_code or "") or unit  # HQ escalates to itself
        details: dict[str, Any] = {
            "metric": clock.metric, "clock_id": str(clock.id), "deadline": _iso(clock.deadline),
            "unit_tenant_id": str(unit.id), "unit": unit.code,
            "to_tenant_id": str(parent.id), "to": parent.code}
        await record(session, case, "escalation", now=now, details=details)
        await audit.record(session, "case.escalated", tenant_id=case.tenant_id,
                           object_type="case", object_id=case.id,
                           payload={"case_no": case.case_no} | details)
        written += 1
    return written


async def sweep(session: AsyncSession, now: datetime, *, within: timedelta) -> int:
    """The job: escalations first (a clock past its deadline is no longer due a reminder),
    then reminders; how many events were written."""
    return await escalate(session, now) + await remind(session, now, within)
