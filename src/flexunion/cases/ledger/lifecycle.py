"""A case's handling steps (办理环节), one table of allowed steps.

    received ──assign──▶ assigned ──accept──▶ accepted ──answer──▶ answered
    assigned ──return (退单, reason required)──▶ returned ──assign──▶ assigned
    assigned / accepted ──reassign (改派, reason required)──▶ assigned
    received / returned / accepted ──route──▶ (same status; the route is recorded)
    received / assigned / accepted / returned ──pause, resume, extension_request,
        extension_decision──▶ (same status; the SLA clocks pause, resume, extend)
    received ──answer──▶ answered          (即时答复 on the spot, by the intake's own unit)
    received / assigned / returned ──merge (并单)──▶ merged   (into another open case)

回访复核 (cases/followup/service.py):
    answered / followed_up ──close (回访: 已解决)──▶ closed
    answered / followed_up ──follow_up (回访: 阶段推进 / 暂难解决)──▶ followed_up
    followed_up ──answer──▶ answered        (the next node reached, answered again)
    closed ──reopen (重启, the worker, within the window, reason)──▶ reopened
    reopened ──assign / route / answer──▶ as from received

`route` may be taken again before the answer (re-routing is recorded with its reason);
`answer` needs a route. `merged` is final; a case closes only through a follow-up that
found it 已解决, and only a closed case is reopened. Rating (满意度) changes no status.
Every step is a row of `case_events`; the SLA clocks are derived from those rows
(see cases/handling/service.py)."""

from __future__ import annotations

STEPS: dict[str, tuple[str, str]] = {
    "assign": ("派单", "assigned"),
    "accept": ("接单", "accepted"),
    "return": ("退单", "returned"),
    "reassign": ("改派", "reassigned"),
    "route": ("分流", "routed"),
    "answer": ("答复", "answered"),
    "merge": ("并单", "merged"),
    "close": ("回访办结", "closed"),
    "follow_up": ("回访跟进", "followed_up"),
    "reopen": ("重启", "reopened"),
    # SLA clock steps (cases/clocks/pauses.py): the status stays, the clocks pause / extend.
    "pause": ("暂停计时", "paused"),
    "resume": ("恢复计时", "resumed"),
    "extension_request": ("申请延期", "extension_requested"),
    "extension_decision": ("审批延期", "extension_decided"),
}

# (status, step) → the status after the step.
ALLOWED: dict[tuple[str, str], str] = {
    ("received", "assign"): "assigned",
    ("received", "route"): "received",
    ("received", "answer"): "answered",
    ("received", "merge"): "merged",
    ("assigned", "accept"): "accepted",
    ("assigned", "return"): "returned",
    ("assigned", "reassign"): "assigned",
    ("assigned", "merge"): "merged",
    ("returned", "assign"): "assigned",
    ("returned", "route"): "returned",
    ("returned", "merge"): "merged",
    ("accepted", "route"): "accepted",
    ("accepted", "reassign"): "assigned",
    ("accepted", "answer"): "answered",
    ("answered", "close"): "closed",
    ("answered", "follow_up"): "followed_up",
    ("followed_up", "close"): "closed",
    ("followed_up", "follow_up"): "followed_up",
    ("followed_up", "answer"): "answered",
    ("closed", "reopen"): "reopened",
    ("reopened", "assign"): "assigned",
    ("reopened", "route"): "reopened",
    ("reopened", "answer"): "answered",
    # pause / resume / extension_request / extension_decision from any open status, to the
    # same status (whether the case is paused, or a request pending, is read from its events)
    **{(status, step): status for status in ("received", "assigned", "accepted", "returned",
                                                  "reopened")
       for step in ("pause", "resume", "extension_request", "extension_decision")},
}


def after(status: str, step: str) -> str | None:
    """The status a step leads to from `status`, or None if the step is not allowed."""
    return ALLOWED.get((status, step))


# Steps only the worker takes (in the app): never offered to staff.
WORKER_STEPS = frozenset({"reopen"})


def allowed_steps(status: str, *, staff: bool = False) -> list[str]:
    """The steps `status` allows; with staff=True only those staff take."""
    return sorted(step for (s, step) in ALLOWED
                  if s == status and not (staff and step in WORKER_STEPS))
