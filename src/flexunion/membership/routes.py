"""Staff: the application queue, decisions, status changes, the join rule; and the card
(电子会籍), mounted from membership/cards/."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import Router, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.errors import InvalidInput
from flexunion.core.http import BEARER, PAGING, STAFF, UNION_ADMINS, Paging, problems
from flexunion.core.pagination import Page, decode_time_cursor, page_of, time_key
from flexunion.federation import directory
from flexunion.federation import service as federation
from flexunion.membership import service
from flexunion.membership.cards.routes import LANES as CARD_LANES
from flexunion.membership.cards.routes import router as cards_router
from flexunion.membership.schemas import Decision, JoinRule, MemberRead, StatusChange, member_read

MemberId = Annotated[uuid.UUID, PathParameter()]
APPLICATION = frozenset({"applicant"})  # approve and reject decide applications only


async def _codes(session: AsyncSession, caller: Caller) -> dict[uuid.UUID, str]:
    """Tenant codes of the caller's federation."""
    return {e.id: e.code for e in (await directory.my_directory(session, caller)).values()}


@get("/", summary="会员与入会申请 Members and applications of my subtree (oldest first)",
     dependencies=PAGING,
     responses=problems({422: "cursor_invalid"}))
async def list_members(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    paging: NamedDependency[Paging],
    status: Annotated[Literal["applicant", "active", "suspended", "parked", "left", "rejected"]
                      | None, QueryParameter()] = None,
) -> Page[MemberRead]:
    rows = await service.page(session, status=status, after=decode_time_cursor(paging.cursor),
                              limit=paging.size + 1)
    codes = await _codes(session, caller)
    return page_of(rows, paging.size, lambda m: member_read(m, codes),
                   lambda m: time_key(m.created_at, m.id))


@get("/{member_id:uuid}", summary="会员详情 One member (404 when not in my subtree)",
     responses=problems({404: "member_not_found (also a member outside my subtree)"}))
async def get_member(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                     member_id: MemberId) -> MemberRead:
    member = await service.access_member(session, member_id)
    return member_read(member, await _codes(session, caller))


@post("/{member_id:uuid}/approve", status_code=200, summary="批准入会 Approve an application",
      responses=problems({404: "member_not_found", 409: "invalid_transition: not an application"}))
async def approve(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                  clock: NamedDependency[Clock], member_id: MemberId,
                  data: JSONBody[Decision | None] = None) -> MemberRead:
    member = await service.change_status(session, clock, member_id, "active",
                                         data.reason if data else None, only_from=APPLICATION)
    return member_read(member, await _codes(session, caller))


@post("/{member_id:uuid}/reject", status_code=200,
      summary="驳回入会申请 Reject an application (reason required)",
      responses=problems({
          404: "member_not_found",
          409: "invalid_transition: not an application",
          422: "reason_required"}))
async def reject(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                 clock: NamedDependency[Clock], member_id: MemberId,
                 data: JSONBody[Decision]) -> MemberRead:
    member = await service.change_status(session, clock, member_id, "rejected", data.reason,
                                         only_from=APPLICATION)
    return member_read(member, await _codes(session, caller))


@post("/{member_id:uuid}/status", status_code=200,
      summary="变更会籍状态 Suspend, park (保留会籍), reinstate or end a membership",
      responses=problems({
          404: "member_not_found",
          409: "invalid_transition: not a step from the member's status",
          422: "reason_required, use_decision: an application is approved or rejected instead"}))
async def change_status(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                        clock: NamedDependency[Clock], member_id: MemberId,
                        data: JSONBody[StatusChange]) -> MemberRead:
    member = await service.access_member(session, member_id, home_only=True)
    if member.status == "applicant":
        raise InvalidInput("入会申请请用批准或驳回来处理。",
                           "Decide an application with approve or reject.", code="use_decision")
    member = await service.change_status(session, clock, member_id, data.to, data.reason)
    return member_read(member, await _codes(session, caller))


@put("/{code:str}/join-rule", opt=UNION_ADMINS,
     summary="入会审批规则 Auto-approve joins to this union (stations inherit it)",
     responses=problems({
         404: "tenant_not_found",
         422: "join_target_invalid: not a regional union"}))
async def set_join_rule(
    session: NamedDependency[AsyncSession],
    code: Annotated[str, PathParameter(pattern=r"^[a-z0-9][a-z0-9-]{1,62}(?!\n)$")],
    data: JSONBody[JoinRule],
) -> JoinRule:
    await federation.set_join_rule(session, code, auto_approve=data.auto_approve)
    return data


_TAGS = ["members 会员"]
router = Router("/", route_handlers=[
    Router("/v1/admin/members", opt=STAFF, tags=_TAGS, security=BEARER,
           route_handlers=[list_members, get_member, approve, reject, change_status]),
    Router("/v1/admin/tenants", opt=STAFF, tags=_TAGS, security=BEARER,
           route_handlers=[set_join_rule]),
    cards_router,
])
LANES = CARD_LANES  # core/fastlane.py
