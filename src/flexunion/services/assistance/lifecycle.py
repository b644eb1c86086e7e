"""A hardship case's track (帮扶流转), one table of allowed steps.

    applied ──受理──▶ accepted ──核实 (a second person)──▶ verified ──会商──▶ approved | refused
    approved ──发放/帮扶──▶ granted ──回访──▶ closed;   refused ──回访──▶ closed

A worker's application (帮扶申报) and an event's case start at `applied`; a walk-in opened by
staff starts at `accepted` (the one who opens it accepts it). The database enforces the same
table: the trigger `assistance_cases_transition` holds a frozen copy (migration 0053, `PAIRS`),
and refuses `verified` when the verifier is the person who accepted (CHECK `second_person`)."""

from __future__ import annotations

from flexunion.core.context import Role

STEPS: dict[str, tuple[str, str]] = {
    "applied": ("已申报，待受理", "Applied, awaiting acceptance"),
    "accepted": ("已受理，待核实", "Accepted, awaiting verification"),
    "verified": ("已核实，待会商", "Verified, awaiting the committee"),
    "approved": ("会商同意，待发放", "Approved, awaiting the grant"),
    "refused": ("会商不予帮扶", "Refused by the committee"),
    "granted": ("已发放/帮扶，待回访", "Granted, awaiting the follow-up visit"),
    "closed": ("已回访，结案", "Followed up and closed"),
}

ALLOWED: dict[str, frozenset[str]] = {
    "applied": frozenset({"accepted"}),
    "accepted": frozenset({"verified"}),
    "verified": frozenset({"approved", "refused"}),
    "approved": frozenset({"granted"}),
    "refused": frozenset({"closed"}),
    "granted": frozenset({"closed"}),
    "closed": frozenset(),
}

# Who may take each step (the action, not the state it reaches).
ACTIONS: dict[str, tuple[str, str, frozenset[Role]]] = {
    "accept": ("受理", "applied", frozenset({Role.STATION_OFFICER, Role.REGIONAL_ADMIN})),
    "verify": ("核实", "accepted", frozenset({Role.STATION_OFFICER, Role.REGIONAL_ADMIN})),
    "decide": ("会商", "verified", frozenset({Role.REGIONAL_ADMIN})),
    "grant": ("发放", "approved", frozenset({Role.REGIONAL_ADMIN, Role.HQ_ADMIN})),
    "follow_up": ("回访", "granted", frozenset({Role.STATION_OFFICER, Role.REGIONAL_ADMIN})),
}
ROLE_LABELS = {Role.STATION_OFFICER: "站点工作人员", Role.REGIONAL_ADMIN: "区域工会",
               Role.HQ_ADMIN: "总部"}
OPEN = frozenset({"applied", "accepted", "verified", "approved", "granted"})
# A refused case may also be followed up (告知与回访) and closed.
FOLLOW_UP_FROM = frozenset({"granted", "refused"})
# What the worker is asked to do at each step (shown in the app).
WORKER_ASK: dict[str, str] = {
    "applied": "请保持电话畅通，工作人员将联系你受理。",
    "accepted": "请配合核实：工作人员可能上门或电话了解情况，请备好相关证明材料。",
    "verified": "帮扶委员会会商中，无需你再做什么。",
    "approved": "帮扶已同意，等待发放。",
    "refused": "本次未获帮扶，工作人员会联系你说明。",
    "granted": "帮扶已发放，工作人员将回访了解情况。",
    "closed": "已结案。",
}


def may_move(current: str, target: str) -> bool:
    return target in ALLOWED.get(current, frozenset())
