"""SLA clocks on cases: derived from the case's events, pinned to the calendar.

`derive(session, case, now)` runs after every case event (cases/ledger/service.py `record`), in
the same transaction: it reads the case's events, turns them into each metric's clock
events (clocks/rules.py) and stores the engine's answer (clocks/engine.py) in the clock's
row — derived every time from all the events, never incremented. A clock's row is created
when its start event first appears; it pins then the policy version in force (the targets)
and the calendar version in force for the case's tenant (its region's local days over the
federation's). Every later derivation and every read counts on those pinned versions.

Reading: a case's clocks are evaluated live at the reader's `now` (`views`). Lists read
the cached rows: `breached` happens by time passing, not by an event, so the cached state
can be stale — the overdue list and the sweeps compare `deadline < now` for open clocks
(`ended_at IS NULL`), whatever the cached state says; a paused clock has no deadline (unless
it had already passed when it paused) and is not overdue."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.calendars import service as calendars
from flexunion.calendars.hours import WorkCalendar, working_time
from flexunion.cases.clocks import repository, rules
from flexunion.cases.clocks.engine import ClockError, ClockEvent, ClockView, Target, evaluate
from flexunion.cases.clocks.models import CaseClock
from flexunion.cases.clocks.schemas import ClockRead, clock_read
from flexunion.cases.ledger import repository as cases_repository
from flexunion.cases.ledger.models import Case, CaseEvent
from flexunion.core.errors import Conflict
from flexunion.db import rls
from flexunion.federation import directory


def steps_of(events: Sequence[CaseEvent]) -> list[rules.Step]:
    """The case's events as the clock rules read them (a pause's reason is its code)."""
    return [rules.Step(e.kind, e.at, (e.details or {}).get("reason") if e.kind == "pause"
                       else e.reason, dict(e.details or {})) for e in events]


@dataclass
class Calendars:
    """The calendars read in one derivation, by (tenant, version)."""

    federation_id: uuid.UUID
    found: dict[tuple[uuid.UUID, int | None], WorkCalendar] = field(default_factory=dict)

    async def get(self, session: AsyncSession, tenant_id: uuid.UUID,
                  version: int | None) -> WorkCalendar:
        key = (tenant_id, version)
        if key not in self.found:
            # The directory is public within the federation (a worker reads it too); tenant
            # rows are not, so the layers come from it rather than from calendars.layers_of.
            tenants = await directory.directory(session, self.federation_id)
            region = tenants.region_of(tenants.by_id[tenant_id])
            layers = calendars.Layers(self.federation_id, region.id if region else None)
            self.found[key] = (await calendars.snapshot(session, layers, version)
                               ).calendar(layers)
        return self.found[key]


def _target(row: CaseClock, metric: str, steps: Sequence[rules.Step], tier: str) -> Target:
    return rules.target(row.policy_version, metric, route=rules.route_in_force(steps), tier=tier)


def _fill(row: CaseClock, target: Target, view: ClockView, events: Sequence[ClockEvent],
          as_of: datetime) -> CaseClock:
    row.target_days, row.target_minutes = target.days, target.minutes
    row.state = view.state
    row.deadline = view.deadline
    row.elapsed_minutes = view.elapsed_minutes
    row.remaining_minutes = view.remaining_minutes
    row.budget_minutes = int(view.budget.total_seconds() // 60)
    row.uncovered_years = sorted(view.uncovered_years)
    row.paused_since, row.pause_reason = view.paused_since, view.pause_reason
    last = events[-1]
    row.ended_at = last.at if last.kind in ("stop", "cancel") else None
    row.derived_at = as_of
    return row


def _new_row(case: Case, metric: str, started: datetime, calendar: WorkCalendar) -> CaseClock:
    return CaseClock(id=uuid.uuid4(), federation_id=case.federation_id, tenant_id=case.tenant_id,
                     case_id=case.id, metric=metric, policy_version=rules.POLICY_VERSION,
                     calendar_version=calendar.version, calendar_tenant_id=case.tenant_id,
                     started_at=started)


class ClockStepRefused(Conflict):
    code, title, title_en = "clock_step_refused", "计时状态不允许此操作", "Clock step refused"


async def derive(session: AsyncSession, case: Case, now: datetime) -> list[CaseClock]:
    """Re-derive every clock of the case from its events (the hook after each event). An
    event the clock cannot take (the engine's ClockError: a pause while paused, events out of
    order) refuses the whole step with a 409: the caller's transaction rolls back."""
    rows = {r.metric: r for r in await repository.of_case(session, case.id, lock=True)}
    steps = steps_of(await cases_repository.events(session, case.id))
    cals = Calendars(case.federation_id)
    out = []
    for metric in rules.METRICS:
        events = rules.clock_events(metric, steps)
        if events is None:
            continue
        row = rows.get(metric)
        if row is None:
            calendar = await cals.get(session, case.tenant_id, None)
            row = _new_row(case, metric, events[0].at, calendar)
            repository.add(session, row)
        else:
            calendar = await cals.get(session, row.calendar_tenant_id, row.calendar_version)
        target = _target(row, metric, steps, case.tier)
        as_of = max(now, events[-1].at)
        try:
            view = evaluate(target, calendar, events, as_of)
        except ClockError as exc:
            raise ClockStepRefused(f"此操作与{rules.METRICS[metric][0]}计时的记录不符：{exc}。",
                                   f"The step does not fit the {metric} clock: {exc}.",
                                   extra={"metric": metric}) from exc
        out.append(_fill(row, target, view, events, as_of))
    await repository.flush(session)
    return out


async def evaluate_live(session: AsyncSession, case: Case, now: datetime) -> list[CaseClock]:
    """The case's clocks as of `now`, computed from its events on their pinned versions —
    transient rows, nothing written."""
    rows = await repository.of_case(session, case.id)
    if not rows:
        return []
    steps = steps_of(await cases_repository.events(session, case.id))
    cals = Calendars(case.federation_id)
    out = []
    for row in rows:
        events = rules.clock_events(row.metric, steps)
        if events is None:  # cannot happen: the row exists because the clock started
            continue
        calendar = await cals.get(session, row.calendar_tenant_id, row.calendar_version)
        target = _target(row, row.metric, steps, case.tier)
        live = CaseClock(id=row.id, federation_id=row.federation_id, tenant_id=row.tenant_id,
                         case_id=row.case_id, metric=row.metric,
                         policy_version=row.policy_version,
                         calendar_version=row.calendar_version,
                         calendar_tenant_id=row.calendar_tenant_id, started_at=row.started_at)
        out.append(_fill(live, target, evaluate(target, calendar, events, max(now, events[-1].at)),
                         events, now))
    return out


async def views(session: AsyncSession, case: Case, now: datetime | None) -> list[ClockRead]:
    """What the case read shows: live at `now`; without one, the rows as last derived."""
    if now is None:
        return [clock_read(r, r.derived_at) for r in await repository.of_case(session, case.id)]
    return [clock_read(r, now) for r in await evaluate_live(session, case, now)]


async def of_case(session: AsyncSession, case_id: uuid.UUID, *,
                  lock: bool = False) -> dict[str, CaseClock]:
    return {r.metric: r for r in await repository.of_case(session, case_id, lock=lock)}


# ---- lists and sweeps ------------------------------------------------------------------------


async def cases_of(session: AsyncSession, rows: Sequence[CaseClock]) -> dict[uuid.UUID, Case]:
    return {c.id: c for c in await repository.cases(session, [r.case_id for r in rows])}


async def overdue(session: AsyncSession, now: datetime, *,
                  after: tuple[datetime, uuid.UUID] | None, limit: int) -> Sequence[CaseClock]:
    """超期件: open clocks (so open cases) in the caller's scope whose deadline passed."""
    return await repository.overdue(session, now, after=after, limit=limit)


async def breaches(session: AsyncSession, now: datetime, *, limit: int = 1000
                   ) -> Sequence[CaseClock]:
    """For the escalation job: every open clock in scope whose deadline has passed by `now`
    (its cached state may still say running), oldest deadline first, at most `limit`."""
    return await repository.overdue(session, now, after=None, limit=limit)


# A reminder window of N working hours can span nights, weekends and a holiday: candidates
# are read over a wall-clock window wide enough for any Chinese calendar (five times the
# working time, plus the longest official holiday run, 春节 / 国庆, and a margin), then kept
# only if the working time to the deadline on the clock's own pinned calendar is within.
REMINDER_SPAN = 5
REMINDER_MARGIN = timedelta(days=10)


async def due_reminders(session: AsyncSession, now: datetime, within: timedelta, *,
                        limit: int = 1000) -> list[CaseClock]:
    """For the reminder job: open, running clocks whose deadline is still ahead and at most
    `within` of working time away on the clock's pinned calendar, soonest first."""
    rows = await repository.due_between(session, now, now + within * REMINDER_SPAN
                                        + REMINDER_MARGIN, limit)
    keep = []
    found: dict[uuid.UUID, Calendars] = {}
    for row in rows:
        if row.deadline is None or row.state == "paused":
            continue
        cals = found.setdefault(row.federation_id, Calendars(row.federation_id))
        calendar = await cals.get(session, row.calendar_tenant_id, row.calendar_version)
        if working_time(calendar, now, row.deadline).duration <= within:
            keep.append(row)
    return keep


async def escalated(session: AsyncSession, to: Sequence[uuid.UUID], *,
                    after: tuple[datetime, uuid.UUID] | None,
                    limit: int) -> tuple[Sequence[CaseEvent], dict[uuid.UUID, Case]]:
    """督办: escalations to one of the tenants `to`, newest first, with their cases."""
    events = await repository.escalations(session, to, after=after, limit=limit)
    found = await repository.cases(session, list({e.case_id for e in events}))
    return events, {c.id: c for c in found}


async def escalated_to_my_subtree(session: AsyncSession, *,
                                  after: tuple[datetime, uuid.UUID] | None,
                                  limit: int) -> tuple[Sequence[CaseEvent], dict[uuid.UUID, Case]]:
    """督办 for the caller: escalations to any tenant of the caller's subtree."""
    return await escalated(session, sorted(await rls.scope_ids(session)), after=after,
                           limit=limit)
