"""表决 Ratification ballots: one member, one secret vote, on an agreed item.

- Opening freezes the roll (ballot_electors): the members ACTIVE at that moment whose home
  is the item's scope tenant or below it. Joining, lapsing or moving later changes nothing.
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
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining import board
from flexunion.bargaining.lifecycle import BALLOTABLE, may_move
from flexunion.bargaining.models import AgendaItem, Ballot, BallotElector
from flexunion.config import Settings
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from flexunion.federation.directory import directory
from flexunion.membership.service import own_member

RECEIPT = re.compile(r"[A-Za-z0-9_-]{26,64}")
MIN_DISTINCT = 8  # a code an app really drew at random has ~20; "aaaa…" is not a secret
_LOCK = "SELECT pg_advisory_xact_lock{kind}(hashtextextended('ballot:' || :b, 0))"
_MARK = text("UPDATE ballot_electors SET voted_at = :now WHERE ballot_id = :b AND member_id = :m"
             " AND voted_at IS NULL RETURNING 1")
_PAPER = text("INSERT INTO ballot_papers (id, ballot_id, choice, receipt_hash)"
              " VALUES (:id, :b, :choice, :h)")


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
        raise InvalidInput("receipt_code must be 26–64 characters of [A-Za-z0-9_-], drawn at "
                           "random by the app.", code="invalid_receipt_code")


async def _in_my_subtree(session: AsyncSession, tenant_id: uuid.UUID) -> bool:
    return bool(await session.scalar(text("SELECT CAST(:t AS uuid) = ANY(flexunion_tenant_scope())"),
                                     {"t": tenant_id}))


async def _lock(session: AsyncSession, ballot_id: uuid.UUID, *, exclusive: bool) -> None:
    await session.execute(text(_LOCK.format(kind="" if exclusive else "_shared")),
                          {"b": str(ballot_id)})


async def access_ballot(session: AsyncSession, ballot_id: uuid.UUID, *,
                        lock: bool = False) -> Ballot:
    query = select(Ballot).where(Ballot.id == ballot_id).execution_options(populate_existing=True)
    if lock:
        query = query.with_for_update()
    ballot = (await session.execute(query)).scalar_one_or_none()
    if ballot is None:
        raise BallotNotFound("No such ballot.")
    return ballot


async def _subtree(session: AsyncSession, item: AgendaItem) -> list[uuid.UUID]:
    tenants = await directory(session, item.federation_id)
    children: dict[str | None, list[str]] = {}
    for entry in tenants.values():
        children.setdefault(entry.parent_code, []).append(entry.code)
    root = next(e.code for e in tenants.values() if e.id == item.tenant_id)
    found, todo = [], [root]
    while todo:
        code = todo.pop()
        found.append(tenants[code].id)
        todo.extend(children.get(code, ()))
    return found


async def open_ballot(session: AsyncSession, item_id: uuid.UUID, *, question: str | None,
                      closes_at: datetime | None, quorum: float | None,
                      threshold: float | None, now: datetime, settings: Settings) -> Ballot:
    item = await board.access_item(session, item_id)
    if not await _in_my_subtree(session, item.tenant_id):
        raise Forbidden("Only the union whose scope the item is in (or above it) may open its "
                        "ballot.", code="item_outside_scope")
    item = await board.access_item(session, item_id, lock=True)
    if item.status not in BALLOTABLE:
        raise BallotConflict(f"An item that is '{item.status}' cannot be put to a ballot.",
                             code="item_not_ballotable",
                             extra={"item_status": item.status, "ballotable": sorted(BALLOTABLE)})
    closes_at = closes_at or now + timedelta(days=settings.bargaining.ballot_days)
    if closes_at.tzinfo is None:
        raise InvalidInput("closes_at needs a UTC offset.", code="invalid_closes_at")
    if not now < closes_at <= now + timedelta(days=90):
        raise InvalidInput("closes_at must be in the future, at most 90 days ahead.",
                           code="invalid_closes_at")
    if await session.scalar(select(Ballot.id).where(Ballot.item_id == item.id,
                                                    Ballot.status == "open")):
        raise _already_open()
    subtree = await _subtree(session, item)
    roll = (await session.execute(text(
        "SELECT id, worker_id FROM members WHERE federation_id = :f AND status = 'active'"
        " AND tenant_id = ANY(CAST(:sub AS uuid[])) ORDER BY id"),
        {"f": item.federation_id, "sub": [str(t) for t in subtree]})).all()
    if not roll:
        raise BallotConflict("No active member is in the item's scope: nobody could vote.",
                             code="ballot_roll_empty")
    actor = await board.principal(session)
    ballot = Ballot(
        id=uuid.uuid4(), federation_id=item.federation_id, tenant_id=item.tenant_id,
        item_id=item.id, question=question or default_question(item.title), status="open",
        quorum=_rate(quorum if quorum is not None else settings.bargaining.ballot_quorum),
        threshold=_rate(threshold if threshold is not None else settings.bargaining.ballot_threshold),
        electorate=len(roll), opened_at=now, closes_at=closes_at, opened_by=actor,
    )
    try:
        async with session.begin_nested():
            session.add(ballot)
            await session.flush()
    except IntegrityError as exc:  # a concurrent open won (uq_ballots_one_open)
        raise _already_open() from exc
    await session.execute(text(
        "INSERT INTO ballot_electors (ballot_id, member_id, worker_id, federation_id, tenant_id)"
        " SELECT :b, m, w, :f, :t FROM unnest(CAST(:ms AS uuid[]), CAST(:ws AS uuid[])) AS r(m, w)"),
        {"b": ballot.id, "f": ballot.federation_id, "t": ballot.tenant_id,
         "ms": [str(r.id) for r in roll], "ws": [str(r.worker_id) for r in roll]})
    payload = {"ballot_id": str(ballot.id), "electorate": ballot.electorate,
               "closes_at": closes_at.isoformat(), "quorum": float(ballot.quorum),
               "threshold": float(ballot.threshold)}
    await board.record_event(session, item, "ballot_opened", actor=actor, now=now,
                             reason=ballot.question, payload=payload)
    await audit.record(session, "ballot.opened", tenant_id=ballot.tenant_id,
                       object_type="ballot", object_id=ballot.id,
                       payload={"item_id": str(item.id), **payload})
    return ballot


def default_question(title: str) -> str:
    return f"是否同意《{title}》的协商结果？ Do you ratify the agreement on “{title}”?"


def _rate(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.001"))


def _already_open() -> BallotConflict:
    return BallotConflict("This item already has an open ballot.", code="ballot_already_open")


async def voted_count(session: AsyncSession, ballot_id: uuid.UUID) -> int:
    return int(await session.scalar(text(
        "SELECT count(*) FROM ballot_electors WHERE ballot_id = :b AND voted_at IS NOT NULL"),
        {"b": ballot_id}) or 0)


async def count(session: AsyncSession, ballot_id: uuid.UUID) -> tuple[dict[str, int], str]:
    """The papers per choice and their digest (the owner's function answers closed ballots)."""
    rows = (await session.execute(text("SELECT * FROM flexunion_ballot_count(:b)"),
                                  {"b": ballot_id})).all()
    return {r.choice: int(r.papers) for r in rows}, (rows[0].digest if rows else "")


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


async def close_ballot(session: AsyncSession, ballot_id: uuid.UUID, *, early: bool,
                       reason: str | None, now: datetime) -> Ballot:
    ballot = await access_ballot(session, ballot_id)
    if not await _in_my_subtree(session, ballot.tenant_id):
        raise Forbidden("Only the union that opened the ballot (or one above it) may close it.",
                        code="ballot_outside_scope")
    await _lock(session, ballot.id, exclusive=True)  # waits for the votes in flight
    ballot = await access_ballot(session, ballot_id, lock=True)
    if ballot.status == "closed":
        raise BallotConflict("This ballot is already closed.", code="ballot_already_closed")
    is_early = now < ballot.closes_at
    if is_early and not early:
        raise BallotConflict("The ballot is open until closes_at; to close it now send "
                             '{"early": true, "reason": "…"}.', code="ballot_still_open",
                             extra={"closes_at": ballot.closes_at.isoformat()})
    if is_early and not reason:
        raise InvalidInput("Closing early needs a reason.", code="early_close_reason_required")
    actor = await board.principal(session)
    ballot.status, ballot.result = "closed", "failed_quorum"  # provisional: the check wants one
    ballot.closed_at, ballot.closed_by = now, actor
    await session.flush()
    await session.execute(text("SELECT flexunion_ballot_seal(:b)"), {"b": ballot.id})
    counts, digest = await count(session, ballot.id)
    tally = make_tally(counts, await voted_count(session, ballot.id), ballot.electorate)
    ballot.result = outcome(tally, ballot.quorum, ballot.threshold)
    ballot.tally, ballot.tally_digest = tally, digest
    await session.flush()  # result 'passed' must be in the row before the item moves (trigger)
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


async def recount(session: AsyncSession, ballot_id: uuid.UUID) -> dict[str, Any]:
    ballot = await access_ballot(session, ballot_id)
    if ballot.status != "closed" or ballot.tally is None:
        raise BallotConflict("Only a closed ballot can be recounted.", code="ballot_not_closed")
    counts, digest = await count(session, ballot.id)
    again = make_tally(counts, await voted_count(session, ballot.id), ballot.electorate)
    matches = again == ballot.tally and digest == ballot.tally_digest
    await audit.record(session, "ballot.recounted", tenant_id=ballot.tenant_id,
                       object_type="ballot", object_id=ballot.id,
                       payload={"matches": matches, "recounted": again, "digest": digest})
    return {"ballot_id": ballot.id, "matches": matches, "stored": ballot.tally,
            "recounted": again, "stored_digest": ballot.tally_digest, "recounted_digest": digest}


# ---- the worker's side -------------------------------------------------------------------

async def my_rolls(session: AsyncSession, caller: Caller) -> list[tuple[Ballot, BallotElector]]:
    rows = (await session.execute(
        select(Ballot, BallotElector).join(BallotElector, BallotElector.ballot_id == Ballot.id)
        .where(BallotElector.worker_id == uuid.UUID(caller.subject))
        .order_by(Ballot.opened_at.desc(), Ballot.id))).all()
    return [(b, e) for b, e in rows]


async def my_entry(session: AsyncSession, caller: Caller,
                   ballot_id: uuid.UUID) -> BallotElector | None:
    return await session.scalar(select(BallotElector).where(
        BallotElector.ballot_id == ballot_id,
        BallotElector.worker_id == uuid.UUID(caller.subject)))


async def item_titles(session: AsyncSession, item_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Titles of the items the caller can see (RLS); others are left out."""
    if not item_ids:
        return {}
    rows = await session.execute(select(AgendaItem.id, AgendaItem.title)
                                 .where(AgendaItem.id.in_(item_ids)))
    return {r.id: r.title for r in rows}


async def vote(session: AsyncSession, caller: Caller, ballot_id: uuid.UUID, *, choice: str,
               receipt_code: str, now: datetime) -> datetime:
    check_receipt_code(receipt_code)
    member = await own_member(session, caller)
    if member is None:
        raise Forbidden("Only members vote in ratification ballots.", code="not_a_member")
    await _lock(session, ballot_id, exclusive=False)  # before reading: a close is not half-seen
    ballot = await access_ballot(session, ballot_id)
    if ballot.status != "open" or ballot.closes_at <= now:
        raise BallotConflict("This ballot is closed.", code="ballot_closed",
                             extra={"closes_at": ballot.closes_at.isoformat()})
    marked = (await session.execute(_MARK, {"now": now, "b": ballot.id, "m": member.id})).first()
    if marked is None:
        if await my_entry(session, caller, ballot.id) is not None:
            raise BallotConflict("You have already voted in this ballot.", code="already_voted")
        raise NotEligible("You are not on this ballot's roll, frozen when it opened: only "
                          "members active in its scope at that moment vote (lapsed, joined "
                          "later or another scope).")
    try:
        async with session.begin_nested():
            await session.execute(_PAPER, {"id": uuid.uuid4(), "b": ballot.id, "choice": choice,
                                           "h": receipt_hash(ballot.id, receipt_code)})
    except IntegrityError as exc:
        raise BallotConflict("This receipt code was already used in this ballot; let the app "
                             "draw a new one.", code="receipt_code_taken") from exc
    except DBAPIError as exc:  # the paper policy: the ballot closed under us (database time)
        raise BallotConflict("This ballot is closed.", code="ballot_closed") from exc
    await audit.record(session, "ballot.voted", tenant_id=ballot.tenant_id,
                       object_type="ballot", object_id=ballot.id,
                       payload={"ballot_id": str(ballot.id)})
    return now


async def check_receipt(session: AsyncSession, ballot_id: uuid.UUID, receipt_code: str) -> bool:
    check_receipt_code(receipt_code)
    ballot = await access_ballot(session, ballot_id)
    return bool(await session.scalar(text("SELECT flexunion_ballot_receipt(:b, :h)"),
                                     {"b": ballot.id, "h": receipt_hash(ballot.id, receipt_code)}))
