"""表决 over HTTP: staff open, follow, close and recount ratification ballots; members vote
once, in secret, and check their receipt."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Router, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.ballots import service
from flexunion.bargaining.ballots.models import Ballot
from flexunion.bargaining.ballots.schemas import (
    BallotAdminRead,
    BallotClose,
    BallotCreate,
    BallotRead,
    ReceiptCheck,
    ReceiptRead,
    RecountRead,
    VoteCreate,
    VoteRead,
    admin_read,
    recount_read,
    worker_read,
)
from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import BEARER, IDEMPOTENT, STAFF, WORKER, IdempotencyKey, problems

BallotId = Annotated[uuid.UUID, PathParameter()]
ItemId = Annotated[uuid.UUID, PathParameter()]


async def _admin(session: AsyncSession, ballot: Ballot) -> BallotAdminRead:
    titles = await service.item_titles(session, [ballot])
    return admin_read(ballot, item_title=titles.get(ballot.item_id),
                      scope=await service.scope_code(session, ballot),
                      voted=await service.voted_count(session, ballot.id))


# ---- staff ---------------------------------------------------------------------------------


@post("/items/{item_id:uuid}/ballots",
      summary="发起批准表决 Open a ratification ballot on an agreed item; the roll (active "
              "members in the item's scope) is frozen now",
      responses=problems({
          403: "item_outside_scope",
          404: "agenda_item_not_found",
          409: "item_not_ballotable, ballot_already_open, ballot_roll_empty",
          422: "invalid_closes_at"}))
async def open_ballot(
    session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
    settings: NamedDependency[Settings], item_id: ItemId,
    data: JSONBody[BallotCreate | None] = None,
) -> BallotAdminRead:
    data = data or BallotCreate()
    ballot = await service.open_ballot(
        session, item_id, question=data.question, closes_at=data.closes_at, quorum=data.quorum,
        threshold=data.threshold, now=clock.now(), settings=settings.bargaining)
    return await _admin(session, ballot)


@get("/ballots/{ballot_id:uuid}",
     summary="表决详情 A ballot: roll size, how many voted (never who chose what), result",
     responses=problems({404: "ballot_not_found"}))
async def get_ballot(session: NamedDependency[AsyncSession],
                     ballot_id: BallotId) -> BallotAdminRead:
    return await _admin(session, await service.access_ballot(session, ballot_id))


@post("/ballots/{ballot_id:uuid}/close", status_code=200,
      summary="结束表决并计票 Close, seal and count; a pass ratifies the item (before closes_at "
              "only with early=true and a reason)",
      responses=problems({
          403: "ballot_outside_scope",
          404: "ballot_not_found",
          409: "ballot_already_closed, ballot_still_open: an early close needs `early: true` "
               "and a reason; invalid_transition, ballot_required",
          422: "early_close_reason_required"}))
async def close_ballot(
    session: NamedDependency[AsyncSession], clock: NamedDependency[Clock], ballot_id: BallotId,
    data: JSONBody[BallotClose | None] = None,
) -> BallotAdminRead:
    data = data or BallotClose()
    ballot = await service.close_ballot(session, ballot_id, early=data.early,
                                        reason=data.reason, now=clock.now())
    return await _admin(session, ballot)


@post("/ballots/{ballot_id:uuid}/recount", status_code=200,
      summary="重新计票 Recount a closed ballot from its stored papers and compare",
      responses=problems({404: "ballot_not_found", 409: "ballot_not_closed"}))
async def recount(session: NamedDependency[AsyncSession], ballot_id: BallotId) -> RecountRead:
    return recount_read(await service.recount(session, ballot_id))


# ---- members -------------------------------------------------------------------------------


@get("/", summary="我的表决 Ballots I am on the roll of, newest first, with whether I voted")
async def my_ballots(session: NamedDependency[AsyncSession],
                     caller: NamedDependency[Caller]) -> list[BallotRead]:
    rows = await service.my_rolls(session, caller)
    titles = await service.item_titles(session, [b for b, _ in rows])
    return [worker_read(b, e, titles.get(b.item_id)) for b, e in rows]


@get("/{ballot_id:uuid}", summary="表决详情 A ballot I can see (on its roll, or in my union's "
                                  "reach)",
     responses=problems({404: "ballot_not_found"}))
async def my_ballot(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                    ballot_id: BallotId) -> BallotRead:
    ballot = await service.access_ballot(session, ballot_id)
    titles = await service.item_titles(session, [ballot])
    return worker_read(ballot, await service.my_entry(session, caller, ballot.id),
                       titles.get(ballot.item_id))


@post("/{ballot_id:uuid}/votes", opt=IDEMPOTENT,
      summary="投票 Vote once, in secret (needs Idempotency-Key). The app draws receipt_code on "
              "the device and keeps it; the answer carries neither it nor the choice",
      responses=problems({
          403: "not_a_member, not_eligible: not on the roll frozen at opening",
          404: "ballot_not_found",
          409: "already_voted, ballot_closed, receipt_code_taken",
          422: "invalid_receipt_code"}))
async def cast_vote(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], ballot_id: BallotId, data: JSONBody[VoteCreate],
    idempotency_key: IdempotencyKey,
) -> VoteRead:
    voted_at = await service.vote(session, caller, ballot_id, choice=data.choice,
                                  receipt_code=data.receipt_code, now=clock.now())
    return VoteRead(ballot_id=ballot_id, counted=True, voted_at=voted_at)


@post("/{ballot_id:uuid}/receipts", opt=IDEMPOTENT, status_code=200,
      summary="核对回执 Check that the paper with my receipt code is in the ballot box "
              "(needs Idempotency-Key)",
      responses=problems({404: "ballot_not_found", 422: "invalid_receipt_code"}))
async def check_receipt(
    session: NamedDependency[AsyncSession], ballot_id: BallotId, data: JSONBody[ReceiptCheck],
    idempotency_key: IdempotencyKey,
) -> ReceiptRead:
    counted = await service.check_receipt(session, ballot_id, data.receipt_code)
    return ReceiptRead(ballot_id=ballot_id, counted=counted)


router = Router("/", tags=["ballots 表决"], security=BEARER, route_handlers=[
    Router("/v1/admin/bargaining", opt=STAFF, route_handlers=[
        open_ballot, get_ballot, close_ballot, recount]),
    Router("/v1/bargaining/ballots", opt=WORKER, route_handlers=[
        my_ballots, my_ballot, cast_vote, check_receipt]),
])
