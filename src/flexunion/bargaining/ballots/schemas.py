"""表决 Ratification ballots — what callers send and see.

Nothing a worker sends or receives about a vote names the choice together with the voter:
the vote's answer carries neither the choice nor the receipt code (an Idempotency-Key
replay stores the answer, next to the worker's principal)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from flexunion.bargaining.ballots.models import (
    BALLOT_RESULTS,
    BALLOT_STATUSES,
    Ballot,
    BallotElector,
)

Choice = Literal["yes", "no", "abstain"]
BallotStatus = Literal["open", "closed"]
BallotResult = Literal["passed", "failed_quorum", "failed_threshold"]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class BallotCreate(msgspec.Struct, forbid_unknown_fields=True):
    """发起表决: defaults come from the settings (ballot_days, ballot_quorum, ballot_threshold).
    quorum is a share of the roll; threshold a share of yes among yes+no that must be EXCEEDED."""

    question: Annotated[str, msgspec.Meta(min_length=1, max_length=500)] | None = None
    closes_at: datetime | None = None
    quorum: Annotated[float, msgspec.Meta(ge=0.001, le=1)] | None = None
    threshold: Annotated[float, msgspec.Meta(ge=0.5, le=1)] | None = None


class BallotClose(msgspec.Struct, forbid_unknown_fields=True):
    """结束表决. Before closes_at only with early=true and a reason (audited)."""

    early: bool = False
    reason: Reason | None = None


class VoteCreate(msgspec.Struct, forbid_unknown_fields=True):
    """投票. receipt_code is made by the app on the device (26–64 of [A-Za-z0-9_-]) and kept
    there: the server stores only sha256(ballot_id:receipt_code) on the paper, nowhere else."""

    choice: Choice
    receipt_code: Annotated[str, msgspec.Meta(max_length=256)]


class ReceiptCheck(msgspec.Struct, forbid_unknown_fields=True):
    receipt_code: Annotated[str, msgspec.Meta(max_length=256)]


class Tally(msgspec.Struct):
    yes: int
    no: int
    abstain: int
    papers: int
    voted: int
    electorate: int
    turnout: float


class BallotAdminRead(msgspec.Struct):
    id: uuid.UUID
    item_id: uuid.UUID
    item_title: str | None
    scope: str | None
    question: str
    status: BallotStatus
    status_zh: str
    quorum: float
    threshold: float
    electorate: int
    voted: int
    opened_at: datetime
    closes_at: datetime
    opened_by: str
    closed_at: datetime | None = None
    closed_by: str | None = None
    result: BallotResult | None = None
    result_zh: str | None = None
    result_en: str | None = None
    tally: Tally | None = None
    tally_digest: str | None = None


class BallotRead(msgspec.Struct):
    """The worker's view. item_title is null when the item is out of the worker's reach
    (e.g. after a transfer mid-ballot: the worker stays on the roll, the question says it all)."""

    id: uuid.UUID
    item_id: uuid.UUID
    item_title: str | None
    question: str
    status: BallotStatus
    status_zh: str
    closes_at: datetime
    on_roll: bool
    has_voted: bool
    result: BallotResult | None = None
    result_zh: str | None = None
    result_en: str | None = None
    tally: Tally | None = None


class VoteRead(msgspec.Struct):
    """已计票 — deliberately without the choice and the receipt code."""

    ballot_id: uuid.UUID
    counted: bool
    voted_at: datetime


class ReceiptRead(msgspec.Struct):
    ballot_id: uuid.UUID
    counted: bool


class RecountRead(msgspec.Struct):
    ballot_id: uuid.UUID
    matches: bool
    stored: Tally
    recounted: Tally
    stored_digest: str | None
    recounted_digest: str


# ---- reading rows --------------------------------------------------------------------------


def _status(ballot: Ballot) -> BallotStatus:
    return "open" if ballot.status == "open" else "closed"


def _result(ballot: Ballot) -> dict[str, Any]:
    if ballot.result is None:
        return {}
    zh, en = BALLOT_RESULTS[ballot.result]
    return {"result": ballot.result, "result_zh": zh, "result_en": en,
            "tally": Tally(**ballot.tally) if ballot.tally else None}


def admin_read(ballot: Ballot, *, item_title: str | None, scope: str | None,
               voted: int) -> BallotAdminRead:
    return BallotAdminRead(
        id=ballot.id, item_id=ballot.item_id, item_title=item_title, scope=scope,
        question=ballot.question, status=_status(ballot),
        status_zh=BALLOT_STATUSES[ballot.status], quorum=float(ballot.quorum),
        threshold=float(ballot.threshold), electorate=ballot.electorate, voted=voted,
        opened_at=ballot.opened_at, closes_at=ballot.closes_at, opened_by=ballot.opened_by,
        closed_at=ballot.closed_at, closed_by=ballot.closed_by,
        tally_digest=ballot.tally_digest, **_result(ballot))


def worker_read(ballot: Ballot, entry: BallotElector | None, title: str | None) -> BallotRead:
    return BallotRead(
        id=ballot.id, item_id=ballot.item_id, item_title=title, question=ballot.question,
        status=_status(ballot), status_zh=BALLOT_STATUSES[ballot.status],
        closes_at=ballot.closes_at,
        on_roll=entry is not None, has_voted=entry is not None and entry.voted_at is not None,
        **_result(ballot))


def recount_read(r: dict[str, Any]) -> RecountRead:
    return RecountRead(ballot_id=r["ballot_id"], matches=r["matches"],
                       stored=Tally(**r["stored"]), recounted=Tally(**r["recounted"]),
                       stored_digest=r["stored_digest"], recounted_digest=r["recounted_digest"])
