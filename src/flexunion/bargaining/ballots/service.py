"""表决 Ratification ballots: one member, one secret vote, on an agreed item.

- Opening freezes the roll (ballot_electors): the members ACTIVE at that moment whose home
  is the item's scope tenant or below it (membership's `active_roll`). Joining, lapsing or
  moving later changes nothing.
- Voting marks the member's roll entry (voted_at, from NULL: the row lock makes it once)
  and adds a paper (choice + sha256(ballot_id:receipt_code)) in the same transaction. The
  receipt code is made by the app on the device; the server keeps only its hash on the
  paper, so nothing on the server joins a voter to a receipt or a choice.
- Votes hold a shared advisory lock on the ballot, closing an exclusive one: a close waits
  for the votes in flight and no paper lands after the count.
- Closing seals the papers (reshuffled in the closing transaction), counts them through the
  owner's function, and a pass is "yes / (yes + no) > threshold" (strictly: a tie fails);
  quorum is "papers / electorate >= quorum". A pass ratifies the item.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining.ballots import repository
from flexunion.bargaining.ballots.models import Ballot, BallotElector
from flexunion.bargaining.board import service as board
from flexunion.bargaining.board.lifecycle import BALLOTABLE, may_move
from flexunion.bargaining.board.models import AgendaItem
from flexunion.config import BargainingSettings
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from flexunion.db import rls
from flexunion.federation import directory
from flexunion.membership import service as membership

RECEIPT = re.compile(r"[A-Za-z0-9_-]{26,64}")
MIN_DISTINCT = 8  # a code an app really drew at random has ~20; "aaaa…" is not a secret


class BallotNotFound(NotFound):
    code, title, title_en = "ballot_not_found", "未找到该表决", "Ballot not found"


class BallotConflict(Conflict):
    code, title, title_en = "ballot_conflict", "表决状态冲突", "Ballot conflict"


class NotEligible(Forbidden):
    code, title, title_en = "not_eligible", "不在本次表决名册中", "Not on the roll"


def receipt_hash(ballot_id: uuid.UUID, receipt_code: str) -> str:
    return hashlib.sha256(f"{ballot_id}:{receipt_code}".encode()).hexdigest()


def check_receipt_code(code: str) -> None:
    if not RECEIPT.fullmatch(code) or len(set(code)) < MIN_DISTINCT:
        raise InvalidInput("回执码须由应用随机生成，26–64 位 [A-Za-z0-9_-]。",
                           "receipt_code must be 26–64 characters of [A-Za-z0-9_-], drawn at "
                           "random by the app.", code="invalid_receipt_code")


def default_question(title: str) -> str:
    return f"是否同意《{title}》的协商结果？ Do you ratify the agreement on “{title}”?"


def _rate(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.001"))


def _already_open() -> BallotConflict:
    return BallotConflict("该事项已有进行中的表决。", "This item already has an open ballot.",
                          code="ballot_already_open")


def _closed(**extra: Any) -> BallotConflict:
    return BallotConflict("本次表决已结束。", "This ballot is closed.", code="ballot_closed",
                          extra=extra or None)


def make_tally(counts: dict[str, int], voted: int, electorate: int) -> dict[str, Any]:
    papers = sum(counts.values())
    return {"yes": counts.get("yes", 0), "no": counts.get("no", 0),
            "abstain": counts.get("abstain", 0), "papers": papers, "voted": voted,
            "electorate": electorate,
            "turnout": round(papers / electorate, 4) if electorate else 0.0}


def outcome(tally: dict[str, Any], quorum: Decimal, threshold: Decimal) -> str:
    """Quorum: papers (abstentions included) >= quorum x roll. Pass: yes share of yes+no
    strictly above threshold (so 50/50 at 0.5 fails). Exact decimal arithmetic."""
    if Decimal(tally["papers"]) < quorum * tally["electorate"] or tally["electorate"] == 0:
        return "failed_quorum"
    decided = tally["yes"] + tally["no"]
    if decided == 0 or Decimal(tally["yes"]) <= threshold * decided:
        return "failed_threshold"
    return "passed"


async def access_ballot(session: AsyncSession, ballot_id: uuid.UUID, *,
                        lock: bool = False) -> Ballot:
    ballot = await repository.get(session, ballot_id, lock=lock)
    if ballot is None:
        raise BallotNotFound("没有这次表决。", "No such ballot.")
    return ballot


async def open_ballots(session: AsyncSession, *, limit: int) -> Sequence[Ballot]:
    """The ballots open now in my subtree, soonest closing first (the console's 待办)."""
    return await repository.open_ballots(session, limit)


async def item_ballots(session: AsyncSession, item: AgendaItem) -> Sequence[Ballot]:
    """The ballots on an item already found (board.access_item) that the caller may see,
    newest first: the item's page in the console lists them."""
    return await repository.of_item(session, item.id)


async def voted_count(session: AsyncSession, ballot_id: uuid.UUID) -> int:
    return await repository.voted_count(session, ballot_id)


# ---- staff ---------------------------------------------------------------------------------


async def open_ballot(session: AsyncSession, item_id: uuid.UUID, *, question: str | None,
                      closes_at: datetime | None, quorum: float | None,
                      threshold: float | None, now: datetime,
                      settings: BargainingSettings) -> Ballot:
    item = await board.access_item(session, item_id)
    if not await rls.in_scope(session, item.tenant_id):
        raise Forbidden("只有事项范围所属（或上级）工会可以发起表决。",
                        "Only the union whose scope the item is in (or above it) may open its "
                        "ballot.", code="item_outside_scope")
    item = await board.access_item(session, item_id, lock=True)
    if item.status not in BALLOTABLE:
        raise BallotConflict("只有已达成一致或部分达成的事项可以付诸表决。",
                             f"An item that is '{item.status}' cannot be put to a ballot.",
                             code="item_not_ballotable",
                             extra={"item_status": item.status, "ballotable": sorted(BALLOTABLE)})
    closes_at = closes_at or now + timedelta(days=settings.ballot_days)
    if closes_at.tzinfo is None:
        raise InvalidInput("closes_at 须带时区偏移。", "closes_at needs a UTC offset.",
                           code="invalid_closes_at")
    if not now < closes_at <= now + timedelta(days=90):
        raise InvalidInput("closes_at 须在将来，且不超过 90 天。",
                           "closes_at must be in the future, at most 90 days ahead.",
                           code="invalid_closes_at")
    if await repository.open_on_item(session, item.id):
        raise _already_open()
    tenants = await directory.directory(session, item.federation_id)
    roll = await membership.active_roll(session, item.federation_id,
                                        tenants.subtree(tenants.by_id[item.tenant_id]))
    if not roll:
        raise BallotConflict("事项范围内没有正常会员，无人可以投票。",
                             "No active member is in the item's scope: nobody could vote.",
                             code="ballot_roll_empty")
    actor = await rls.principal(session)
    ballot = Ballot(
        id=uuid.uuid4(), federation_id=item.federation_id, tenant_id=item.tenant_id,
        item_id=item.id, question=question or default_question(item.title), status="open",
        quorum=_rate(quorum if quorum is not None else settings.ballot_quorum),
        threshold=_rate(threshold if threshold is not None else settings.ballot_threshold),
        electorate=len(roll), opened_at=now, closes_at=closes_at, opened_by=actor,
    )
    try:
        async with session.begin_nested():
            repository.add(session, ballot)
            await repository.flush(session)
    except IntegrityError as exc:  # a concurrent open won (uq_ballots_one_open)
        raise _already_open() from exc
    await repository.freeze_roll(session, ballot, roll)
    payload = {"ballot_id": str(ballot.id), "electorate": ballot.electorate,
               "closes_at": closes_at.isoformat(), "quorum": float(ballot.quorum),
               "threshold": float(ballot.threshold)}
    await board.record_event(session, item, "ballot_opened", actor=actor, now=now,
                             reason=ballot.question, payload=payload)
    await audit.record(session, "ballot.opened", tenant_id=ballot.tenant_id,
                       object_type="ballot", object_id=ballot.id,
                       payload={"item_id": str(item.id), **payload})
    return ballot


async def close_ballot(session: AsyncSession, ballot_id: uuid.UUID, *, early: bool,
                       reason: str | None, now: datetime) -> Ballot:
    ballot = await access_ballot(session, ballot_id)
    if not await rls.in_scope(session, ballot.tenant_id):
        raise Forbidden("只有发起表决的工会（或其上级）可以结束表决。",
                        "Only the union that opened the ballot (or one above it) may close it.",
                        code="ballot_outside_scope")
    await repository.lock(session, ballot.id, exclusive=True)  # waits for the votes in flight
    ballot = await access_ballot(session, ballot_id, lock=True)
    if ballot.status == "closed":
        raise BallotConflict("本次表决已经结束。", "This ballot is already closed.",
                             code="ballot_already_closed")
    is_early = now < ballot.closes_at
    if is_early and not early:
        raise BallotConflict("表决在 closes_at 之前进行中；要现在结束，请发送 "
                             '{"early": true, "reason": "…"}。',
                             "The ballot is open until closes_at; to close it now send "
                             '{"early": true, "reason": "…"}.', code="ballot_still_open",
                             extra={"closes_at": ballot.closes_at.isoformat()})
    if is_early and not reason:
        raise InvalidInput("提前结束表决须写明理由。", "Closing early needs a reason.",
                           code="early_close_reason_required")
    actor = await rls.principal(session)
    ballot.status, ballot.result = "closed", "failed_quorum"  # provisional: the check wants one
    ballot.closed_at, ballot.closed_by = now, actor
    await repository.flush(session)
    await repository.seal(session, ballot.id)
    counts, digest = await repository.count(session, ballot.id)
    tally = make_tally(counts, await repository.voted_count(session, ballot.id),
                       ballot.electorate)
    ballot.result = outcome(tally, ballot.quorum, ballot.threshold)
    ballot.tally, ballot.tally_digest = tally, digest
    await repository.flush(session)  # result 'passed' must be in the row before the item moves
    item = await board.access_item(session, ballot.item_id, lock=True)
    payload = {"ballot_id": str(ballot.id), "result": ballot.result, "tally": tally,
               "early": is_early}
    await board.record_event(session, item, "ballot_closed", actor=actor, now=now,
                             reason=reason, payload=payload)
    if ballot.result == "passed":
        if may_move(item.status, "ratified"):
            await board.transition(session, item, "ratified", actor=actor, by_ballot=True,
                                   now=now, payload={"ballot_id": str(ballot.id)},
                                   reason=f"表决通过 Ratified by ballot {ballot.id}")
        else:  # the item moved on while the ballot ran: the result stands, the item stays
            payload["item_not_ratified"] = item.status
    await audit.record(session, "ballot.closed", tenant_id=ballot.tenant_id,
                       object_type="ballot", object_id=ballot.id,
                       payload={**payload, "reason": reason, "digest": digest})
    return ballot


async def close_due(session: AsyncSession, *, now: datetime, limit: int = 100) -> list[Ballot]:
    """The `close-ballots` job: close every ballot in scope whose closes_at has passed, as a
    staff close would (sealed, counted, a pass ratifies), each in its own savepoint. A ballot
    someone closed meanwhile is skipped, so a repeated run closes nothing twice."""
    closed = []
    for ballot_id in await repository.due_to_close(session, now, limit):
        try:
            async with session.begin_nested():
                closed.append(await close_ballot(session, ballot_id, early=False, reason=None,
                                                 now=now))
        except BallotConflict:  # closed by an officer (or another run) since it was listed
            continue
    return closed


async def recount(session: AsyncSession, ballot_id: uuid.UUID) -> dict[str, Any]:
    ballot = await access_ballot(session, ballot_id)
    if ballot.status != "closed" or ballot.tally is None:
        raise BallotConflict("只有已结束的表决可以重新计票。",
                             "Only a closed ballot can be recounted.", code="ballot_not_closed")
    counts, digest = await repository.count(session, ballot.id)
    again = make_tally(counts, await repository.voted_count(session, ballot.id),
                       ballot.electorate)
    matches = again == ballot.tally and digest == ballot.tally_digest
    await audit.record(session, "ballot.recounted", tenant_id=ballot.tenant_id,
                       object_type="ballot", object_id=ballot.id,
                       payload={"matches": matches, "recounted": again, "digest": digest})
    return {"ballot_id": ballot.id, "matches": matches, "stored": ballot.tally,
            "recounted": again, "stored_digest": ballot.tally_digest, "recounted_digest": digest}


async def scope_code(session: AsyncSession, ballot: Ballot) -> str | None:
    entry = (await directory.directory(session, ballot.federation_id)).by_id.get(ballot.tenant_id)
    return entry.code if entry else None


async def item_titles(session: AsyncSession,
                      ballots: Sequence[Ballot]) -> dict[uuid.UUID, str]:
    """Titles of the ballots' items the caller can see (RLS); others are left out."""
    return await board.item_titles(session, {b.item_id for b in ballots})


# ---- the worker's side ---------------------------------------------------------------------


async def my_rolls(session: AsyncSession, caller: Caller) -> list[tuple[Ballot, BallotElector]]:
    return await repository.rolls_of(session, uuid.UUID(caller.subject))


async def my_entry(session: AsyncSession, caller: Caller,
                   ballot_id: uuid.UUID) -> BallotElector | None:
    return await repository.roll_entry(session, ballot_id, uuid.UUID(caller.subject))


async def vote(session: AsyncSession, caller: Caller, ballot_id: uuid.UUID, *, choice: str,
               receipt_code: str, now: datetime) -> datetime:
    check_receipt_code(receipt_code)
    member = await membership.own_member(session, caller)
    if member is None:
        raise Forbidden("只有会员参加批准表决。", "Only members vote in ratification ballots.",
                        code="not_a_member")
    await repository.lock(session, ballot_id, exclusive=False)  # a close is not half-seen
    ballot = await access_ballot(session, ballot_id)
    if ballot.status != "open" or ballot.closes_at <= now:
        raise _closed(closes_at=ballot.closes_at.isoformat())
    if not await repository.mark_voted(session, ballot.id, member.id, now):
        if await my_entry(session, caller, ballot.id) is not None:
            raise BallotConflict("你已经在本次表决中投过票。",
                                 "You have already voted in this ballot.", code="already_voted")
        raise NotEligible("你不在本次表决开始时冻结的名册中：只有当时在其范围内的正常会员"
                          "可以投票（已失效、之后入会或在其他范围）。",
                          "You are not on this ballot's roll, frozen when it opened: only "
                          "members active in its scope at that moment vote (lapsed, joined "
                          "later or another scope).")
    try:
        async with session.begin_nested():
            await repository.insert_paper(session, ballot.id, choice,
                                          receipt_hash(ballot.id, receipt_code))
    except IntegrityError as exc:
        raise BallotConflict("这个回执码已在本次表决中用过，请让应用重新生成。",
                             "This receipt code was already used in this ballot; let the app "
                             "draw a new one.", code="receipt_code_taken") from exc
    except DBAPIError as exc:  # the paper policy: the ballot closed under us (database time)
        raise _closed() from exc
    await audit.record(session, "ballot.voted", tenant_id=ballot.tenant_id,
                       object_type="ballot", object_id=ballot.id,
                       payload={"ballot_id": str(ballot.id)})
    return now


async def refuse_while_voting(session: AsyncSession, item: AgendaItem, target: str) -> None:
    """The board's step guard (registered in app.py): an item its members are voting on does
    not move by staff hand; closing the ballot moves it (or not)."""
    if await repository.open_on_item(session, item.id):
        raise board.InvalidTransition(
            "会员正在对该事项表决，请先结束表决。",
            "The members are voting on this item; close the ballot first.",
            code="ballot_open",
            extra={"item_id": str(item.id), "item_status": item.status, "to": target})


async def check_receipt(session: AsyncSession, ballot_id: uuid.UUID, receipt_code: str) -> bool:
    check_receipt_code(receipt_code)
    ballot = await access_ballot(session, ballot_id)
    return await repository.receipt_counted(session, ballot.id,
                                            receipt_hash(ballot.id, receipt_code))
