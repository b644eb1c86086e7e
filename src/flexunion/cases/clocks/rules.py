"""Which case event starts, pauses, extends and stops which clock, and the targets — pure.

A case has one clock per metric; each is derived from the case's events alone (case_events
rows, in the order they happened) and fed to the engine (clocks/engine.py):

| metric | starts | stops (met / breached) | cancelled |
| --- | --- | --- | --- |
| `first_response` 首次响应 | `intake` | the first `accept` or `answer` | `merge` |
| `resolution` 办结 | the first `accept`, or an `answer` from intake (*) | `answer` | `merge` |
| `follow_up` 回访 | the first `answer` | the first `follow_up` or `close` (the 回访 step) | — |

(*) a case answered straight from intake starts and stops its resolution clock at once.

- `return` (退单) stops nothing; `reassign` (改派) is no clock event at all, so elapsed time
  is kept (a referral to another unit never restarts a clock); `moved` (the case followed
  the worker's transfer to another region: cases/moves/) is none either, for the same reason;
  `route` changes the resolution target (the route in force when the clock is derived),
  never its start.
- `pause` (暂停, with its reason) and `resume` apply to every clock running at that moment;
  a clock that starts while the case is paused starts paused. `answer` ends a pause: the
  handling clocks stop there, and the follow-up clock starts running.
- `extension_request` (延期申请, N working days) is recorded on the resolution clock as an
  unapproved extension (it changes nothing); `extension_decision` with `approved` adds the
  N working days at the moment of the decision; a refusal adds nothing.
- After a clock stopped, later events do not touch it (a reopened case is the follow-up
  steps' business).

Targets (policy version 1, pinned on the clock when it starts; a later policy version never
moves a started clock): first response within 240 working minutes (4 working hours);
resolution by route — 即时答复 the same working day (0 days: the close of the day),
限期协调 3 / 4 / 5 working days by tier (一般 / 难点 / 特别复杂), 集体协商 20 working days
(the agenda board meets monthly), 政策释明 1 working day, and a case not routed yet counts as
限期协调 by its tier until it is; follow-up within 5 working days of the answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from flexunion.cases.clocks.engine import ClockEvent, Target

Metric = Literal["first_response", "resolution", "follow_up"]
METRICS: dict[str, tuple[str, str]] = {
    "first_response": ("首次响应", "First response"),
    "resolution": ("办结", "Resolution"),
    "follow_up": ("回访", "Follow-up visit"),
}
PAUSE_REASONS: dict[str, tuple[str, str]] = {
    "waiting_worker": ("等待职工补充", "Waiting for the worker"),
    "waiting_partner_data": ("等待平台提供数据", "Waiting for the partner's data"),
}


@dataclass(frozen=True, slots=True)
class Policy:
    version: int
    first_response_minutes: int
    route_days: dict[str, int]  # a route → working days (限期协调 is by tier)
    coordinate_days: dict[str, int]  # tier → working days
    follow_up_days: int


POLICIES: dict[int, Policy] = {
    1: Policy(version=1, first_response_minutes=240,
              route_days={"instant": 0, "bargaining": 20, "policy": 1},
              coordinate_days={"general": 3, "difficult": 4, "complex": 5},
              follow_up_days=5),
}
POLICY_VERSION = max(POLICIES)  # the policy in force: what a new clock pins


@dataclass(frozen=True, slots=True)
class Step:
    """What a clock needs of a case event."""

    kind: str
    at: datetime
    reason: str | None = None
    details: dict[str, Any] | None = None


def target(policy_version: int, metric: str, *, route: str | None, tier: str) -> Target:
    policy = POLICIES[policy_version]
    if metric == "first_response":
        return Target(minutes=policy.first_response_minutes)
    if metric == "follow_up":
        return Target(days=policy.follow_up_days)
    if route is None or route == "coordinate":
        return Target(days=policy.coordinate_days[tier])
    return Target(days=policy.route_days[route])


def route_in_force(steps: Sequence[Step]) -> str | None:
    """The route of the last `route` step (re-routing changes the resolution target)."""
    found = None
    for s in steps:
        if s.kind == "route":
            found = (s.details or {}).get("route", found)
    return found


def _starts(metric: str, kind: str) -> bool:
    if metric == "first_response":
        return kind == "intake"
    if metric == "resolution":
        return kind in ("accept", "answer")
    return kind == "answer"


def _stops(metric: str, kind: str) -> bool:
    if metric == "first_response":
        return kind in ("accept", "answer")
    if metric == "resolution":
        return kind == "answer"
    return kind in ("follow_up", "close")  # 回访: still open, or closed (已解决)


def clock_events(metric: str, steps: Sequence[Step]) -> list[ClockEvent] | None:
    """The engine's events of one clock, or None while it has not started."""
    out: list[ClockEvent] = []
    case_paused: Step | None = None  # the pause in force on the case (None: running)
    ended = False
    for s in steps:
        started = bool(out)
        if s.kind == "pause":
            case_paused = s
            if started and not ended:
                out.append(ClockEvent("pause", s.at, reason=s.reason))
            continue
        if s.kind == "resume":
            case_paused = None
            if started and not ended:
                out.append(ClockEvent("resume", s.at))
            continue
        if not started:
            if _starts(metric, s.kind):
                out.append(ClockEvent("start", s.at))
                if case_paused is not None and s.kind != "answer":
                    out.append(ClockEvent("pause", s.at, reason=case_paused.reason))
                if _stops(metric, s.kind):
                    out.append(ClockEvent("stop", s.at))
                    ended = True
            if s.kind == "answer":
                case_paused = None
            continue
        if ended:
            continue
        if _stops(metric, s.kind):
            out.append(ClockEvent("stop", s.at))
            ended = True
        elif s.kind == "merge":
            out.append(ClockEvent("cancel", s.at))
            ended = True
        elif metric == "resolution" and s.kind in ("extension_request", "extension_decision"):
            d = s.details or {}
            approved = s.kind == "extension_decision" and bool(d.get("approved"))
            if s.kind == "extension_request" or approved:
                out.append(ClockEvent("extend", s.at, days=int(d.get("days", 0)),
                                      approved=approved))
        if s.kind == "answer":
            case_paused = None
    return out or None


def paused_by(steps: Sequence[Step]) -> Step | None:
    """The pause the case is in now (since the last answer), or None."""
    found: Step | None = None
    for s in steps:
        if s.kind == "pause":
            found = s
        elif s.kind in ("resume", "answer"):
            found = None
    return found


def pending_extension(steps: Sequence[Step]) -> Step | None:
    """The extension request not decided yet, or None."""
    found: Step | None = None
    for s in steps:
        if s.kind == "extension_request":
            found = s
        elif s.kind == "extension_decision":
            found = None
    return found
