"""The agenda item's life (协商事项流转), one table of allowed steps.

    collected ──(support threshold, or staff)──▶ under_review ──▶ on_agenda ──▶ in_negotiation
    in_negotiation ──▶ agreed / partially_agreed / rejected / deferred
    agreed / partially_agreed ──(a passed ratification ballot only)──▶ ratified ──▶ in_force

Side steps: under_review/on_agenda may be rejected or deferred; a deferred item comes back
to review or the agenda; an agreed item whose ballot failed goes back to negotiation.
`merged` is where an item ends when it is folded into another (never by a transition).
The database enforces the same table: the trigger `agenda_items_transition` holds a frozen
copy of it (migration 0005, `PAIRS`), so a step this table refuses fails in PostgreSQL too."""

from __future__ import annotations

STATUSES: dict[str, tuple[str, str]] = {
    "collected": ("已收集", "Collected"),
    "under_review": ("审核中", "Under review"),
    "on_agenda": ("已列入协商清单", "On the agenda"),
    "in_negotiation": ("协商中", "In negotiation"),
    "agreed": ("已达成一致", "Agreed"),
    "partially_agreed": ("部分达成", "Partially agreed"),
    "rejected": ("未采纳", "Rejected"),
    "deferred": ("暂缓", "Deferred"),
    "ratified": ("已表决通过", "Ratified"),
    "in_force": ("已生效", "In force"),
    "merged": ("已合并", "Merged into another item"),
}

ALLOWED: dict[str, frozenset[str]] = {
    "collected": frozenset({"under_review", "rejected", "deferred"}),
    "under_review": frozenset({"on_agenda", "rejected", "deferred", "collected"}),
    "on_agenda": frozenset({"in_negotiation", "deferred", "rejected"}),
    "in_negotiation": frozenset({"agreed", "partially_agreed", "rejected", "deferred"}),
    "deferred": frozenset({"under_review", "on_agenda"}),
    "agreed": frozenset({"ratified", "in_negotiation"}),
    "partially_agreed": frozenset({"ratified", "in_negotiation"}),
    "ratified": frozenset({"in_force"}),
    "rejected": frozenset(),
    "in_force": frozenset(),
    "merged": frozenset(),
}

# Only a passed ratification ballot moves an item to `ratified`; staff cannot ask for it.
BALLOT_ONLY = frozenset({"ratified"})
# Items can still be regrouped (merged, split, sources added) while the union deliberates.
REGROUPABLE = frozenset({"collected", "under_review"})
# Members can still add or withdraw support until the outcome is known.
SUPPORTABLE = frozenset({"collected", "under_review", "on_agenda", "in_negotiation"})
# What a counterpart platform sees: from the moment the union puts it on the agenda.
PARTNER_VISIBLE = frozenset(STATUSES) - {"collected", "under_review", "merged"}
# A ballot may be opened on these.
BALLOTABLE = frozenset({"agreed", "partially_agreed"})
TERMINAL = frozenset(s for s, nxt in ALLOWED.items() if not nxt)


def may_move(current: str, target: str) -> bool:
    return target in ALLOWED.get(current, frozenset())

