"""表决: a ratification ballot's page — its question and item, the frozen roll (electorate)
and how many have voted (never who chose what), quorum and threshold, closing (before its
closing time only with a reason, which the audit trail keeps), the result and tally, and
recounts from the stored papers with whether they matched.

Opening a ballot is on the item's page (board.py); the dashboard links here for every
ballot still open."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining.ballots import service as ballots
from flexunion.bargaining.ballots.schemas import admin_read
from flexunion.console.forms import Form, attempt, read_form
from flexunion.console.render import html, see_other, speaker
from flexunion.core.clock import Clock

BallotId = Annotated[uuid.UUID, PathParameter()]
CLOSE_FIELDS = {"early_close_reason_required": "close_reason"}


def _htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


async def ballot_page(request: Request[Any, Any, Any], session: AsyncSession, clock: Clock,
                      ballot_id: uuid.UUID, *, form: Form | None = None,
                      status: int = 200) -> Response[str]:
    ballot = await ballots.access_ballot(session, ballot_id)
    titles = await ballots.item_titles(session, [ballot])
    view = admin_read(ballot, item_title=titles.get(ballot.item_id),
                      scope=await ballots.scope_code(session, ballot),
                      voted=await ballots.voted_count(session, ballot.id))
    trail = await audit.page(session, before_seq=None, limit=20, object_type="ballot",
                             object_id=str(ballot.id))
    return html(request, "board/ballot.html", status=status, menu="board", ballot=view,
                early=clock.now() < ballot.closes_at,
                recounts=[e for e in trail if e.action == "ballot.recounted"],
                form=form, done=request.query_params.get("done"))


@get("/{ballot_id:uuid}", include_in_schema=False)
async def ballot_detail(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                        clock: NamedDependency[Clock], ballot_id: BallotId) -> Response[str]:
    return await ballot_page(request, session, clock, ballot_id)


@post("/{ballot_id:uuid}/close", include_in_schema=False)
async def close_ballot(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                       clock: NamedDependency[Clock], ballot_id: BallotId) -> Response[str]:
    """结束表决并计票: sealed, counted; a pass ratifies the item. Before its closing time only
    as an early close, with the reason."""
    form = await read_form(request, speaker(request))
    reason = form.text("close_reason", required=False, max_length=2000)
    early = form.values.get("early") == "1"
    if not form.ok:
        return await ballot_page(request, session, clock, ballot_id, form=form, status=422)
    await attempt(form, ballots.close_ballot(session, ballot_id, early=early, reason=reason,
                                             now=clock.now()), CLOSE_FIELDS)
    if not form.ok:
        return await ballot_page(request, session, clock, ballot_id, form=form,
                                 status=form.status)
    return see_other(f"/console/board/ballots/{ballot_id}?done=closed", htmx=_htmx(request))


@post("/{ballot_id:uuid}/recount", include_in_schema=False)
async def recount(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                  clock: NamedDependency[Clock], ballot_id: BallotId) -> Response[str]:
    """重新计票 from the stored papers; the page lists each recount (from the audit trail)."""
    form = await read_form(request, speaker(request))
    await attempt(form, ballots.recount(session, ballot_id))
    if not form.ok:
        return await ballot_page(request, session, clock, ballot_id, form=form,
                                 status=form.status)
    return see_other(f"/console/board/ballots/{ballot_id}?done=recounted", htmx=_htmx(request))


router = Router("/board/ballots", route_handlers=[ballot_detail, close_ballot, recount])
