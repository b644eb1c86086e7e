"""表决 Ratification ballots: staff open, follow, close and recount; members vote once,
in secret, and check their receipt."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, JSONBody, PathParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining import ballots as service
from flexunion.bargaining.ballot_schemas import (
    BallotAdminRead,
    BallotClose,
    BallotCreate,
    BallotRead,
    ReceiptCheck,
    ReceiptRead,
    RecountRead,
    Tally,
    VoteCreate,
    VoteRead,
)
from flexunion.bargaining.models import BALLOT_RESULTS, Ballot, BallotElector
from flexunion.config import AUDIENCE_ADMIN, AUDIENCE_MOBILE, Settings
from flexunion.core.clock import Clock
from flexunion.core.context import ADMIN_ROLES, Caller, Role
from flexunion.federation.directory import directory

STAFF = {"audiences": (AUDIENCE_ADMIN,), "roles": ADMIN_ROLES}
WORKER = {"audiences": (AUDIENCE_MOBILE,), "roles": {Role.WORKER}}
WRITE = {**WORKER, "idempotent": True}
TAGS = ["ballots 表决"]
SECURITY = [{"bearer": []}]
STATUS_ZH = {"open": "投票中", "closed": "已结束"}
IdempotencyKey = Annotated[str, HeaderParameter(name="Idempotency-Key", min_length=1,
                                                max_length=255)]
BallotId = Annotated[uuid.UUID, PathParameter()]
ItemId = Annotated[uuid.UUID, PathParameter()]


def _result(ballot: Ballot) -> dict:
    if ballot.result is None:
        return {}
    zh, en = BALLOT_RESULTS[ballot.result]
    return {"result": ballot.result, "result_zh": zh, "result_en": en,
            "tally": Tally(**ballot.tally) if ballot.tally else None}


async def _admin_read(session: AsyncSession, ballot: Ballot) -> BallotAdminRead:
    titles = await service.item_titles(session, {ballot.item_id})
    scope = next((code for code, e in (await directory(session, ballot.federation_id)).items()
                  if e.id == ballot.tenant_id), None)
    return BallotAdminRead(
        id=ballot.id, item_id=ballot.item_id, item_title=titles.get(ballot.item_id), scope=scope,
        question=ballot.question, status=ballot.status, status_zh=STATUS_ZH[ballot.status],
        quorum=float(ballot.quorum), threshold=float(ballot.threshold),
        electorate=ballot.electorate, voted=await service.voted_count(session, ballot.id),
        opened_at=ballot.opened_at, closes_at=ballot.closes_at, opened_by=ballot.opened_by,
        closed_at=ballot.closed_at, closed_by=ballot.closed_by,
        tally_digest=ballot.tally_digest, **_result(ballot))


def _worker_read(ballot: Ballot, entry: BallotElector | None, title: str | None) -> BallotRead:
    return BallotRead(
        id=ballot.id, item_id=ballot.item_id, item_title=title, question=ballot.question,
        status=ballot.status, status_zh=STATUS_ZH[ballot.status], closes_at=ballot.closes_at,
        on_roll=entry is not None, has_voted=entry is not None and entry.voted_at is not None,
        **_result(ballot))


# ---- staff ---------------------------------------------------------------------------------

@post("/v1/admin/bargaining/items/{item_id:uuid}/ballots", opt=STAFF, tags=TAGS,
      security=SECURITY,
      summary="发起批准表决 Open a ratification ballot on an agreed item; the roll (active "
              "members in the item's scope) is frozen now")
async def open_ballot(
    session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
    settings: NamedDependency[Settings], item_id: ItemId,
    data: JSONBody[BallotCreate | None] = None,
) -> BallotAdminRead:
    data = data or BallotCreate()
    ballot = await service.open_ballot(
        session, item_id, question=data.question, closes_at=data.closes_at, quorum=data.quorum,
        threshold=data.threshold, now=clock.now(), settings=settings)
    return await _admin_read(session, ballot)


@get("/v1/admin/bargaining/ballots/{ballot_id:uuid}", opt=STAFF, tags=TAGS, security=SECURITY,
     summary="表决详情 A ballot: roll size, how many voted (never who chose what), result")
async def get_ballot(session: NamedDependency[AsyncSession],
                     ballot_id: BallotId) -> BallotAdminRead:
    return await _admin_read(session, await service.access_ballot(session, ballot_id))


@post("/v1/admin/bargaining/ballots/{ballot_id:uuid}/close", opt=STAFF, tags=TAGS,
      security=SECURITY, status_code=200,
      summary="结束表决并计票 Close, seal and count; a pass ratifies the item (before closes_at "
              "only with early=true and a reason)")
async def close_ballot(
    session: NamedDependency[AsyncSession], clock: NamedDependency[Clock], ballot_id: BallotId,
    data: JSONBody[BallotClose | None] = None,
) -> BallotAdminRead:
    data = data or BallotClose()
    ballot = await service.close_ballot(session, ballot_id, early=data.early,
                                        reason=data.reason, now=clock.now())
    return await _admin_read(session, ballot)


@post("/v1/admin/bargaining/ballots/{ballot_id:uuid}/recount", opt=STAFF, tags=TAGS,
      security=SECURITY, status_code=200,
      summary="重新计票 Recount a closed ballot from its stored papers and compare")
async def recount(session: NamedDependency[AsyncSession], ballot_id: BallotId) -> RecountRead:
    r = await service.recount(session, ballot_id)
    return RecountRead(ballot_id=r["ballot_id"], matches=r["matches"],
                       stored=Tally(**r["stored"]), recounted=Tally(**r["recounted"]),
                       stored_digest=r["stored_digest"], recounted_digest=r["recounted_digest"])


# ---- members -------------------------------------------------------------------------------

@get("/v1/bargaining/ballots", opt=WORKER, tags=TAGS, security=SECURITY,
     summary="我的表决 Ballots I am on the roll of, newest first, with whether I voted")
async def my_ballots(session: NamedDependency[AsyncSession],
                     caller: NamedDependency[Caller]) -> list[BallotRead]:
    rows = await service.my_rolls(session, caller)
    titles = await service.item_titles(session, {b.item_id for b, _ in rows})
    return [_worker_read(b, e, titles.get(b.item_id)) for b, e in rows]


@get("/v1/bargaining/ballots/{ballot_id:uuid}", opt=WORKER, tags=TAGS, security=SECURITY,
     summary="表决详情 A ballot I can see (on its roll, or in my union's reach)")
async def my_ballot(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                    ballot_id: BallotId) -> BallotRead:
    ballot = await service.access_ballot(session, ballot_id)
    titles = await service.item_titles(session, {ballot.item_id})
    return _worker_read(ballot, await service.my_entry(session, caller, ballot.id),
                        titles.get(ballot.item_id))


@post("/v1/bargaining/ballots/{ballot_id:uuid}/votes", opt=WRITE, tags=TAGS, security=SECURITY,
      summary="投票 Vote once, in secret (needs Idempotency-Key). The app draws receipt_code on "
              "the device and keeps it; the answer carries neither it nor the choice")
async def cast_vote(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], ballot_id: BallotId, data: JSONBody[VoteCreate],
    idempotency_key: IdempotencyKey,
) -> VoteRead:
    voted_at = await service.vote(session, caller, ballot_id, choice=data.choice,
                                  receipt_code=data.receipt_code, now=clock.now())
    return VoteRead(ballot_id=ballot_id, counted=True, voted_at=voted_at)


@post("/v1/bargaining/ballots/{ballot_id:uuid}/receipts", opt=WRITE, tags=TAGS,
      security=SECURITY, status_code=200,
      summary="核对回执 Check that the paper with my receipt code is in the ballot box "
              "(needs Idempotency-Key)")
async def check_receipt(
    session: NamedDependency[AsyncSession], ballot_id: BallotId, data: JSONBody[ReceiptCheck],
    idempotency_key: IdempotencyKey,
) -> ReceiptRead:
    counted = await service.check_receipt(session, ballot_id, data.receipt_code)
    return ReceiptRead(ballot_id=ballot_id, counted=counted)


ROUTES = [open_ballot, get_ballot, close_ballot, recount, my_ballots, my_ballot, cast_vote,
          check_receipt]
