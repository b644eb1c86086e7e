"""会员: find a member by 会员号 or masked name (张*), a member's detail with its homes,
status history and transfers, and the decisions on it: approve / reject (with reason) an
application, suspend / park (保留会籍) / reinstate / end a membership (with reason)."""

from __future__ import annotations

import re
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
from flexunion.core.context import Caller
from flexunion.core.errors import DomainError
from flexunion.core.pagination import decode_time_cursor, encode_cursor, time_key
from flexunion.federation import directory
from flexunion.membership import service as membership
from flexunion.membership.models import STATUSES
from flexunion.membership.schemas import member_read
from flexunion.transfers import schemas as transfer_views
from flexunion.transfers import service as transfers

PAGE = 25
MEMBER_NO = re.compile(r"^[0-9]{12}$")
MemberId = Annotated[uuid.UUID, PathParameter()]
Status = Literal["applicant", "active", "suspended", "parked", "left", "rejected"]
# Which steps each status offers on the member's page (membership/service.py decides).
STEPS: dict[str, tuple[str, ...]] = {
    "applicant": ("approve", "reject"), "active": ("suspended", "parked", "left"),
    "suspended": ("active", "left"), "parked": ("active", "left"),
}
REASON_FIELD = {"reason_required": "reason"}


async def _codes(session: AsyncSession, caller: Caller) -> dict[uuid.UUID, str]:
    return {e.id: e.code for e in (await directory.my_directory(session, caller)).values()}


@get("/", include_in_schema=False)
async def members(
    request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
    caller: NamedDependency[Caller],
    q: Annotated[str | None, QueryParameter(max_length=40)] = None,
    status: Annotated[Status | None, QueryParameter()] = None,
    after: Annotated[str | None, QueryParameter(max_length=200)] = None,
) -> Response[str]:
    """The list, or (HTMX, as one types) just its rows."""
    query = (q or "").strip()
    rows: list[Any]
    next_cursor = None
    if MEMBER_NO.match(query):
        fed = await directory.federation_of(session, caller)
        found = await membership.member_by_number(session, fed, query)
        rows = [found] if found is not None and (status is None or found.status == status) else []
    else:
        page = list(await membership.page(session, status=status,
                                          after=decode_time_cursor(after), limit=PAGE + 1,
                                          name=query or None))
        if len(page) > PAGE:
            page = page[:PAGE]
            next_cursor = encode_cursor(*time_key(page[-1].created_at, page[-1].id))
        rows = page
    codes = await _codes(session, caller)
    template = "members/_rows.html" if request.headers.get("hx-request") == "true" \
        else "members/list.html"
    return html(request, template, menu="members", rows=[member_read(m, codes) for m in rows],
                q=query, status_filter=status, statuses=STATUSES, next_cursor=next_cursor)


async def _detail(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                  member_id: uuid.UUID, form: Form | None = None,
                  status: int = 200) -> Response[str]:
    member = await membership.access_member(session, member_id)
    codes = await _codes(session, caller)
    homes = await membership.homes(session, member_id)
    history = await audit.page(session, before_seq=None, limit=50, object_type="member",
                               object_id=str(member_id))
    moves = await transfers.history(session, member_id)
    by_id = await transfers.tenants_by_id(session, member.federation_id) if moves else {}
    return html(request, "members/detail.html", status=status, menu="members",
                member=member_read(member, codes), homes=homes, codes=codes,
                history=[e for e in history if e.action.startswith("membership.")],
                transfers=[transfer_views.admin_read(t, by_id) for t in moves],
                steps=STEPS.get(member.status, ()), statuses=STATUSES, form=form,
                done=request.query_params.get("done"))


@get("/{member_id:uuid}", include_in_schema=False)
async def member_detail(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                        caller: NamedDependency[Caller], member_id: MemberId) -> Response[str]:
    return await _detail(request, session, caller, member_id)


@post("/{member_id:uuid}/step", include_in_schema=False)
async def member_step(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                      caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                      member_id: MemberId) -> Response[str]:
    """One decision: approve, reject, or a status change — each the API's, with its rules."""
    t = speaker(request)
    form = await read_form(request, t)
    step = form.choice("step", ("approve", "reject", "active", "suspended", "parked", "left"))
    needs_reason = step not in (None, "approve")
    reason = form.text("reason", required=needs_reason, max_length=500)
    if not form.ok or step is None:
        return await _detail(request, session, caller, member_id, form, 422)
    try:
        if step in ("approve", "reject"):
            await membership.change_status(
                session, clock, member_id, "active" if step == "approve" else "rejected",
                reason, only_from=frozenset({"applicant"}))
        else:
            member = await membership.access_member(session, member_id, home_only=True)
            if member.status == "applicant":
                raise DomainError("入会申请请用批准或驳回来处理。",
                                  "Decide an application with approve or reject.")
            await membership.change_status(session, clock, member_id, step,  # type: ignore[arg-type]
                                           reason)
    except DomainError as exc:
        if exc.status == 404:
            raise
        form.refused(exc, REASON_FIELD)
        return await _detail(request, session, caller, member_id, form, exc.status)
    return see_other(f"/console/members/{member_id}?done={step}",
                     htmx=request.headers.get("hx-request") == "true")


router = Router("/members", route_handlers=[members, member_detail, member_step])
