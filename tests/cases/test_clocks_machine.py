"""A Hypothesis state machine over a case's steps — intake, route, assign, accept, return,
reassign, pause, resume, extension request and decision, answer, follow-up — through the
real services on the real database (as the app role, under RLS), on a frozen clock that
starts in the last week of September 2026 and crosses 国庆 (1–7 Oct off, Saturday 10 Oct
worked). After every step:

- every clock's cached row equals the engine's answer over the clock events this test
  predicts by hand from the rules in docs/cases.md (an independent model), on the calendar
  version the row pinned;
- the clock events derived from the case's stored events are exactly those predicted;
- no clock's elapsed time ever shrinks (a reassign never resets it), and none grows while
  the case is paused."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.calendars.service import work_calendar
from flexunion.cases.clocks import pauses, rules
from flexunion.cases.clocks import service as clocks
from flexunion.cases.clocks.engine import ClockEvent, Target, evaluate
from flexunion.cases.clocks.schemas import (
    ExtensionDecisionCreate,
    ExtensionRequestCreate,
    PauseCreate,
    ResumeCreate,
)
from flexunion.cases.followup import service as followup
from flexunion.cases.followup.schemas import FollowupCreate
from flexunion.cases.handling import service as steps
from flexunion.cases.handling.schemas import AssignCreate, RouteCreate
from flexunion.cases.intake import service as intake
from flexunion.cases.intake.schemas import StaffCaseCreate
from flexunion.cases.ledger import repository as case_repository
from flexunion.cases.ledger import service as cases
from flexunion.config import AUDIENCE_ADMIN
from flexunion.core.clock import BEIJING
from flexunion.core.context import Caller, Role
from flexunion.core.errors import DomainError
from flexunion.db.engine import bind_scope, make_engine, make_sessionmaker
from tests.cases.test_clocks import calendar_federation
from tests.support.factories import Federation

GAP = st.integers(min_value=1, max_value=36 * 60)  # minutes between two steps
TIERS = {"general": 3, "difficult": 4, "complex": 5}
OPEN = ("received", "assigned", "accepted", "returned")


class World:
    """The database as the app role, one scoped transaction per step, on a private loop."""

    def __init__(self, app_url: str, fed: Federation) -> None:
        self.runner = asyncio.Runner()
        self.fed = fed
        self.engine = self.runner.run(self._engine(app_url))
        self.factory = make_sessionmaker(self.engine)
        r1 = fed.regions[0]
        self.s1 = fed.stations[r1][0]
        self.callers = {
            "r1": self._caller(Role.REGIONAL_ADMIN, r1),
            "s1": self._caller(Role.STATION_OFFICER, self.s1),
            "hq": self._caller(Role.HQ_ADMIN, fed.hq),
        }
        self.codes = {"r1": r1, "s1": self.s1, "hq": fed.hq}
        self.calendars: dict[int | None, Any] = {}  # the pinned versions, read once

    @staticmethod
    async def _engine(url: str):  # type: ignore[no-untyped-def]
        return make_engine(url, pool_size=2, max_overflow=0)

    def _caller(self, role: Role, code: str) -> Caller:
        return Caller(role, f"machine-{code}", self.fed.ids[code], code, AUDIENCE_ADMIN)

    def run(self, who: str, fn: Callable[[AsyncSession, Caller], Awaitable[Any]]) -> Any:
        caller = self.callers[who]

        async def go() -> Any:
            session = self.factory()
            bind_scope(session, caller.db_scope)
            async with session, session.begin():
                return await fn(session, caller)

        return self.runner.run(go())

    def close(self) -> None:
        self.runner.run(self.engine.dispose())
        self.runner.close()


class CaseClocks(RuleBasedStateMachine):
    world: World

    def __init__(self) -> None:
        super().__init__()
        self.now = datetime(2026, 9, 24, 9, tzinfo=BEIJING)
        self.case_id: uuid.UUID | None = None
        self.status = "received"
        self.tier = "general"
        self.route: str | None = None
        self.lead: str | None = None
        self.paused: str | None = None
        self.pending: int | None = None  # days asked by the pending extension request
        self.model: dict[str, list[ClockEvent]] = {}
        self.seen: dict[str, int] = {}  # elapsed minutes last observed, per metric
        self.frozen: dict[str, int] = {}  # elapsed at the pause, per metric

    # ---- the model: the rules of docs/cases.md, written out by hand ---------------------

    def _open(self, metric: str) -> bool:
        events = self.model.get(metric)
        return bool(events) and events[-1].kind not in ("stop", "cancel")

    def _start(self, metric: str, paused: bool = True) -> None:
        self.model[metric] = [ClockEvent("start", self.now)]
        if paused and self.paused is not None:
            self.model[metric].append(ClockEvent("pause", self.now, reason=self.paused))

    def _stop(self, metric: str) -> None:
        self.model[metric].append(ClockEvent("stop", self.now))

    def _target(self, metric: str) -> Target:
        if metric == "first_response":
            return Target(minutes=240)
        if metric == "follow_up":
            return Target(days=5)
        return Target(days=0 if self.route == "instant" else TIERS[self.tier])

    def _step(self, gap: int) -> None:
        self.now += timedelta(minutes=gap)

    def _do(self, who: str, fn: Callable[[AsyncSession, Caller], Awaitable[Any]]) -> Any:
        return self.world.run(who, fn)

    # ---- the steps ----------------------------------------------------------------------

    @initialize(day=st.integers(min_value=0, max_value=6), hour=st.integers(8, 19),
                tier=st.sampled_from(sorted(TIERS)))
    def intake(self, day: int, hour: int, tier: str) -> None:
        self.now = datetime(2026, 9, 24 + day, hour, 17, tzinfo=BEIJING)
        self.tier = tier
        data = StaffCaseCreate(category="commission", description="抽成上调未公示。",
                               channel="visit", station=self.world.s1, tier=tier)  # type: ignore[arg-type]
        case = self._do("r1", lambda s, c: intake.intake_by_staff(s, None, c, data,  # type: ignore[arg-type]
                                                                 now=self.now))
        self.case_id = case.id
        self._start("first_response")

    @precondition(lambda self: self.status in ("received", "returned"))
    @rule(gap=GAP, lead=st.sampled_from(["s1", "r1"]))
    def assign(self, gap: int, lead: str) -> None:
        self._step(gap)
        data = AssignCreate(lead=self.world.codes[lead])
        self._do("r1", lambda s, c: steps.assign(s, self.case_id, data, now=self.now))
        self.status, self.lead = "assigned", lead

    @precondition(lambda self: self.status == "assigned")
    @rule(gap=GAP)
    def accept(self, gap: int) -> None:
        self._step(gap)
        assert self.lead is not None
        self._do(self.lead, lambda s, c: steps.accept(s, self.case_id, now=self.now))
        self.status = "accepted"
        if self._open("first_response"):
            self._stop("first_response")
        if "resolution" not in self.model:
            self._start("resolution")

    @precondition(lambda self: self.status == "assigned")
    @rule(gap=GAP)
    def give_back(self, gap: int) -> None:  # 退单
        self._step(gap)
        assert self.lead is not None
        self._do(self.lead, lambda s, c: steps.return_case(s, self.case_id, "不属本单位",
                                                           now=self.now))
        self.status, self.lead = "returned", None

    @precondition(lambda self: self.status in ("assigned", "accepted"))
    @rule(gap=GAP, lead=st.sampled_from(["s1", "r1"]))
    def reassign(self, gap: int, lead: str) -> None:
        before = self._live()
        self._step(gap)
        data = AssignCreate(lead=self.world.codes[lead], reason="改由他处承办")
        self._do("r1", lambda s, c: steps.assign(s, self.case_id, data, now=self.now,
                                                 reassign=True))
        self.status, self.lead = "assigned", lead
        after = self._live()
        for metric, elapsed in before.items():  # the referral keeps every clock's time
            assert after[metric] >= elapsed, (metric, elapsed, after[metric])

    @precondition(lambda self: self.status in ("received", "returned", "accepted"))
    @rule(gap=GAP, route=st.sampled_from(["instant", "coordinate"]))
    def route_it(self, gap: int, route: str) -> None:
        self._step(gap)
        data = RouteCreate(route=route, reason="分流")  # type: ignore[arg-type]
        self._do("r1", lambda s, c: steps.route(s, self.case_id, data, now=self.now))
        self.route = route

    @precondition(lambda self: self.status in OPEN and self.paused is None)
    @rule(gap=GAP, reason=st.sampled_from(sorted(rules.PAUSE_REASONS)))
    def pause(self, gap: int, reason: str) -> None:
        self._step(gap)
        data = PauseCreate(reason=reason)  # type: ignore[arg-type]
        self._do("r1", lambda s, c: pauses.pause(s, self.case_id, data, now=self.now))
        self.paused = reason
        for metric in list(self.model):
            if self._open(metric):
                self.model[metric].append(ClockEvent("pause", self.now, reason=reason))
        self.frozen = self._live()

    @precondition(lambda self: self.status in OPEN and self.paused is not None)
    @rule(gap=GAP)
    def resume(self, gap: int) -> None:
        self._step(gap)
        self._do("r1", lambda s, c: pauses.resume(s, self.case_id, ResumeCreate(), now=self.now))
        self.paused, self.frozen = None, {}
        for metric in list(self.model):
            if self._open(metric):
                self.model[metric].append(ClockEvent("resume", self.now))

    def _too_late(self) -> bool:
        view = self._engine("resolution", self.now)
        return view.deadline is not None and view.deadline < self.now

    @precondition(lambda self: self.status in OPEN and self.pending is None
                  and self._open("resolution"))
    @rule(gap=GAP, days=st.integers(1, 3))
    def ask_for_time(self, gap: int, days: int) -> None:
        self._step(gap)
        late = self._too_late()
        data = ExtensionRequestCreate(days=days, reason="数据未到")
        try:
            self._do("r1", lambda s, c: pauses.request_extension(s, self.case_id, data,
                                                                 now=self.now))
        except DomainError as refused:
            assert late and refused.code == "extension_too_late", refused.code
            return
        assert not late
        self.pending = days
        self.model["resolution"].append(ClockEvent("extend", self.now, days=days))

    @precondition(lambda self: self.status in OPEN and self.pending is not None)
    @rule(gap=GAP, approve=st.booleans())
    def decide(self, gap: int, approve: bool) -> None:
        self._step(gap)
        late = approve and self._open("resolution") and self._too_late()
        data = ExtensionDecisionCreate(decision="approve" if approve else "refuse")
        try:
            self._do("hq", lambda s, c: pauses.decide_extension(s, c, self.case_id, data,
                                                                now=self.now))
        except DomainError as refused:
            assert late and refused.code == "extension_too_late", refused.code
            return
        assert not late
        if approve and self._open("resolution"):
            self.model["resolution"].append(ClockEvent("extend", self.now, days=self.pending,
                                                       approved=True))
        self.pending = None

    @precondition(lambda self: self.status in ("received", "accepted") and self.route)
    @rule(gap=GAP)
    def answer(self, gap: int) -> None:
        self._step(gap)
        self._do("r1", lambda s, c: steps.answer(s, self.case_id, "答复", now=self.now))
        self.status = "answered"
        if self._open("first_response"):
            self._stop("first_response")
        if "resolution" not in self.model:
            self._start("resolution", paused=False)
        if self._open("resolution"):
            self._stop("resolution")
        self.paused, self.frozen, self.pending = None, {}, None
        self._start("follow_up", paused=False)

    @precondition(lambda self: self.status == "answered" and self._open("follow_up"))
    @rule(gap=GAP)
    def follow_up(self, gap: int) -> None:  # the 回访 step (cases/followup/): 已解决 closes
        self._step(gap)

        async def visit(s: AsyncSession, c: Caller) -> None:
            await followup.follow_up(s, self.case_id, FollowupCreate(
                outcome="resolved", worker_informed=True, worker_accepts=True),
                reopen_days=15, now=self.now)

        self._do("r1", visit)
        self.status = "closed"
        self._stop("follow_up")

    @rule(gap=GAP)
    def wait(self, gap: int) -> None:  # time passes without a step (always possible)
        self._step(gap)

    # ---- the checks -----------------------------------------------------------------------

    def _engine(self, metric: str, at: datetime):  # type: ignore[no-untyped-def]
        calendars = self.world.calendars
        if self.pinned not in calendars:
            calendars[self.pinned] = self._do("r1", lambda s, c: work_calendar(
                s, self.world.fed.ids[self.world.s1], self.pinned))
        return evaluate(self._target(metric), calendars[self.pinned], self.model[metric], at)

    def _live(self) -> dict[str, int]:
        rows = self._do("r1", lambda s, c: self._live_rows(s))
        return {r.metric: r.elapsed_minutes for r in rows}

    async def _live_rows(self, session: AsyncSession):  # type: ignore[no-untyped-def]
        case = await cases.access_case(session, self.case_id)
        return await clocks.evaluate_live(session, case, self.now)

    async def _stored(self, session: AsyncSession):  # type: ignore[no-untyped-def]
        rows = await clocks.of_case(session, self.case_id)
        derived = {m: rules.clock_events(m, clocks.steps_of(
            await case_repository.events(session, self.case_id))) for m in rules.METRICS}
        return rows, derived

    @invariant()
    def clocks_are_their_events(self) -> None:
        if self.case_id is None:
            return
        rows, derived = self._do("r1", lambda s, c: self._stored(s))
        assert set(rows) == set(self.model), (set(rows), set(self.model))
        for metric, events in self.model.items():
            assert derived[metric] == events, (metric, derived[metric], events)
            row = rows[metric]
            self.pinned = row.calendar_version
            view = self._engine(metric, row.derived_at)
            assert row.deadline == view.deadline, (metric, row.deadline, view.deadline)
            assert row.state == view.state, (metric, row.state, view.state)
            assert row.elapsed_minutes == view.elapsed_minutes
            assert row.remaining_minutes == view.remaining_minutes
            assert row.uncovered_years == [], row.uncovered_years  # all of it is in 2026
        live = self._live()
        for metric, elapsed in live.items():
            assert elapsed >= self.seen.get(metric, 0), (metric, elapsed, self.seen)
            if self.paused is not None and metric in self.frozen:
                assert elapsed == self.frozen[metric], (metric, elapsed, self.frozen)
        self.seen = live

    pinned: int | None = None


async def test_every_clock_is_its_events_through_the_engine(owner, tmp_path, settings) -> None:
    fed = await calendar_federation(owner, tmp_path)

    def run() -> None:
        world = World(settings.app_database_url, fed)
        CaseClocks.world = world
        try:
            run_state_machine_as_test(CaseClocks, settings=settings_(max_examples=25,
                                                                    stateful_step_count=12))
        finally:
            world.close()

    await asyncio.to_thread(run)


def settings_(**kw: Any) -> hsettings:
    return hsettings(deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture], **kw)
