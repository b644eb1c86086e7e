"""Queries for ballots. The secrecy design lives in these statements:

- the roll (`ballot_electors`) is marked with an UPDATE … WHERE voted_at IS NULL, so a
  member votes once whatever the concurrency;
- a paper (`ballot_papers`) is a plain INSERT of a choice and a receipt hash: the app role
  may not SELECT papers at all, so nothing here can join a choice to a voter;
- counting, sealing (re-inserting the papers in random order at close) and receipt checks
  go through the owner's functions, which answer for closed ballots only;
- votes hold a shared advisory lock on the ballot and closing an exclusive one, so a close
  waits for the votes in flight and no paper lands after the count."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.ballots.models import Ballot, BallotElector

# Re-exported for the service: the session calls every repository shares.
from flexunion.db.rows import add as add
from flexunion.db.rows import flush as flush

_LOCK = "SELECT pg_advisory_xact_lock{kind}(hashtextextended('ballot:' || :b, 0))"
_MARK = text("UPDATE ballot_electors SET voted_at = :now WHERE ballot_id = :b AND member_id = :m"
             " AND voted_at IS NULL RETURNING 1")
_PAPER = text("INSERT INTO ballot_papers (id, ballot_id, choice, receipt_hash)"
              " VALUES (:id, :b, :choice, :h)")
_ROLL = text(
    "INSERT INTO ballot_electors (ballot_id, member_id, worker_id, federation_id, tenant_id)"
    " SELECT :b, m, w, :f, :t FROM unnest(CAST(:ms AS uuid[]), CAST(:ws AS uuid[])) AS r(m, w)")
_VOTED = text("SELECT count(*) FROM ballot_electors WHERE ballot_id = :b"
              " AND voted_at IS NOT NULL")
_COUNT = text("SELECT * FROM flexunion_ballot_count(:b)")
_SEAL = text("SELECT flexunion_ballot_seal(:b)")
_RECEIPT = text("SELECT flexunion_ballot_receipt(:b, :h)")


async def lock(session: AsyncSession, ballot_id: uuid.UUID, *, exclusive: bool) -> None:
    """The ballot's advisory lock for this transaction: shared for a vote, exclusive to close."""
    await session.execute(text(_LOCK.format(kind="" if exclusive else "_shared")),
                          {"b": str(ballot_id)})


async def get(session: AsyncSession, ballot_id: uuid.UUID, *,
              lock: bool = False) -> Ballot | None:
    stmt = select(Ballot).where(Ballot.id == ballot_id).execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def open_on_item(session: AsyncSession, item_id: uuid.UUID) -> bool:
    found = await session.scalar(select(Ballot.id).where(Ballot.item_id == item_id,
                                                         Ballot.status == "open"))
    return found is not None


async def freeze_roll(session: AsyncSession, ballot: Ballot,
                      roll: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """Copy (member, worker) pairs onto the ballot's roll in one statement."""
    await session.execute(_ROLL, {
        "b": ballot.id, "f": ballot.federation_id, "t": ballot.tenant_id,
        "ms": [str(m) for m, _ in roll], "ws": [str(w) for _, w in roll]})


async def mark_voted(session: AsyncSession, ballot_id: uuid.UUID, member_id: uuid.UUID,
                     now: datetime) -> bool:
    """Mark the member's roll entry as voted; False if it is not on the roll or voted."""
    marked = (await session.execute(_MARK, {"now": now, "b": ballot_id, "m": member_id})).first()
    return marked is not None


async def insert_paper(session: AsyncSession, ballot_id: uuid.UUID, choice: str,
                       receipt_hash: str) -> None:
    await session.execute(_PAPER, {"id": uuid.uuid4(), "b": ballot_id, "choice": choice,
                                   "h": receipt_hash})


async def voted_count(session: AsyncSession, ballot_id: uuid.UUID) -> int:
    return int(await session.scalar(_VOTED, {"b": ballot_id}) or 0)


async def seal(session: AsyncSession, ballot_id: uuid.UUID) -> None:
    await session.execute(_SEAL, {"b": ballot_id})


async def count(session: AsyncSession, ballot_id: uuid.UUID) -> tuple[dict[str, int], str]:
    """The papers per choice and their digest (the owner's function answers closed ballots)."""
    rows = (await session.execute(_COUNT, {"b": ballot_id})).all()
    return {r.choice: int(r.papers) for r in rows}, (rows[0].digest if rows else "")


async def receipt_counted(session: AsyncSession, ballot_id: uuid.UUID, receipt_hash: str) -> bool:
    return bool(await session.scalar(_RECEIPT, {"b": ballot_id, "h": receipt_hash}))


async def rolls_of(session: AsyncSession,
                   worker_id: uuid.UUID) -> list[tuple[Ballot, BallotElector]]:
    """The ballots a worker is on the roll of, newest first."""
    rows = await session.execute(
        select(Ballot, BallotElector).join(BallotElector, BallotElector.ballot_id == Ballot.id)
        .where(BallotElector.worker_id == worker_id)
        .order_by(Ballot.opened_at.desc(), Ballot.id))
    return [(b, e) for b, e in rows.all()]


async def roll_entry(session: AsyncSession, ballot_id: uuid.UUID,
                     worker_id: uuid.UUID) -> BallotElector | None:
    return await session.scalar(select(BallotElector).where(
        BallotElector.ballot_id == ballot_id, BallotElector.worker_id == worker_id))


async def open_ballots(session: AsyncSession, limit: int) -> Sequence[Ballot]:
    """Ballots still open that the caller may see, soonest closing first."""
    return (await session.scalars(
        select(Ballot).where(Ballot.status == "open")
        .order_by(Ballot.closes_at, Ballot.id).limit(limit))).all()


async def due_to_close(session: AsyncSession, now: datetime, limit: int) -> Sequence[uuid.UUID]:
    """Open ballots the caller may see whose closes_at has passed, soonest first."""
    return (await session.scalars(
        select(Ballot.id).where(Ballot.status == "open", Ballot.closes_at <= now)
        .order_by(Ballot.closes_at, Ballot.id).limit(limit))).all()


async def of_item(session: AsyncSession, item_id: uuid.UUID) -> Sequence[Ballot]:
    """Every ballot on an item that the caller may see, newest first."""
    return (await session.scalars(
        select(Ballot).where(Ballot.item_id == item_id)
        .order_by(Ballot.opened_at.desc(), Ballot.id))).all()
