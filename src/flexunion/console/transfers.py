"""接转: the cross-city transfers of members (异地关系接转) our union is a side of — the
转入 queue (members coming to us) and the 转出 queue (members leaving us), each transfer's
timeline, and the decisions our side may take: the origin 同意转出 or 驳回, the destination
接收 or 驳回, a rejection always with its reason (the member reads it)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.console.forms import Form, read_form
from flexunion.console.render import html, see_other, speaker
from flexunion.core.clock import Clock
from flexunion.core.errors import DomainError
from flexunion.core.pagination import decode_time_cursor, encode_cursor, time_key
from flexunion.membership import service as membership
from flexunion.transfers import service as transfers
from flexunion.transfers.models import STATUSES
from flexunion.transfers.schemas import TransferStatus, admin_read

PAGE = 50
TransferId = Annotated[uuid.UUID, PathParameter()]
Direction = Literal["incoming", "outgoing"]
STEPS = ("release", "accept", "reject")
REASON_FIELD = {"reason_required": "reason"}


@get("/", include_in_schema=False)
async def queue(
    request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
    direction: Annotated[Direction, QueryParameter()] = "incoming",
    status: Annotated[TransferStatus | None, QueryParameter()] = None,
    after: Annotated[str | None, QueryParameter(max_length=200)] = None,
) -> Response[str]:
    """转入 / 转出: oldest first, as the API's queue (row-level security: my subtree's sides)."""
    rows = list(await transfers.queue(session, direction=direction, status=status,
                                      after=decode_time_cursor(after), limit=PAGE + 1))
    next_cursor = None
    if len(rows) > PAGE:
        rows = rows[:PAGE]
        next_cursor = encode_cursor(*time_key(rows[-1].requested_at, rows[-1].id))
    by_id = await transfers.tenants_by_id(session, rows[0].federation_id) if rows else {}
    return html(request, "transfers/list.html", menu="transfers",
                rows=[admin_read(t, by_id) for t in rows], direction=direction,
                status_filter=status, statuses=STATUSES, next_cursor=next_cursor)


def _steps(status: str, origin: bool, destination: bool) -> tuple[str, ...]:
    """What the caller's side may do now (transfers/service.py decides again on POST)."""
    if status == "requested":
        return ("release", "reject") if origin else ("reject",) if destination else ()
    if status == "released" and destination:
        return ("accept", "reject")
    return ()


async def _detail(request: Request[Any, Any, Any], session: AsyncSession, transfer_id: uuid.UUID,
                  form: Form | None = None, status: int = 200) -> Response[str]:
    transfer = await transfers.access_transfer(session, transfer_id)
    by_id = await transfers.tenants_by_id(session, transfer.federation_id)
    origin, destination = await transfers.sides(session, transfer)
    try:  # the member's page, only when the caller may open it
        await membership.access_member(session, transfer.member_id)
        member_link = True
    except membership.MemberNotFound:
        member_link = False
    events = await audit.page(session, before_seq=None, limit=20, object_type="transfer",
                              object_id=str(transfer.id))
    actors = {e.action: e.actor for e in events}
    return html(request, "transfers/detail.html", status=status, menu="transfers",
                x=admin_read(transfer, by_id), origin=origin, destination=destination,
                steps=_steps(transfer.status, origin, destination), member_link=member_link,
                actors=actors, form=form, done=request.query_params.get("done"))


@get("/{transfer_id:uuid}", include_in_schema=False)
async def transfer_detail(request: Request[Any, Any, Any],
                          session: NamedDependency[AsyncSession],
                          transfer_id: TransferId) -> Response[str]:
    return await _detail(request, session, transfer_id)


@post("/{transfer_id:uuid}/step", include_in_schema=False)
async def transfer_step(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                        clock: NamedDependency[Clock], transfer_id: TransferId) -> Response[str]:
    """One decision — release, accept or reject — each the API's, with its rules."""
    form = await read_form(request, speaker(request))
    step = form.choice("step", STEPS)
    reason = form.text("reason", required=step == "reject", max_length=500)
    if not form.ok or step is None:
        return await _detail(request, session, transfer_id, form, 422)
    try:
        if step == "release":
            await transfers.release(session, transfer_id, now=clock.now())
        elif step == "accept":
            await transfers.accept(session, transfer_id, now=clock.now())
        else:
            assert reason is not None  # required above
            await transfers.reject(session, transfer_id, reason=reason, now=clock.now())
    except DomainError as exc:
        if exc.status == 404:
            raise
        form.refused(exc, REASON_FIELD)
        return await _detail(request, session, transfer_id, form, exc.status)
    return see_other(f"/console/transfers/{transfer_id}?done={step}",
                     htmx=request.headers.get("hx-request") == "true")


router = Router("/transfers", route_handlers=[queue, transfer_detail, transfer_step])
