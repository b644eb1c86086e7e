"""Staff: the application queue, decisions, status changes, the join rule."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec
from litestar import get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.config import AUDIENCE_ADMIN, Settings
from flexunion.core.clock import Clock
from flexunion.core.context import ADMIN_ROLES, Caller, Role
from flexunion.core.errors import InvalidInput, NotFound
from flexunion.core.pagination import Page, clamp, decode_time_cursor, encode_cursor
from flexunion.federation.models import Tenant
from flexunion.membership import service
from flexunion.membership.schemas import Decision, MemberRead, StatusChange
from flexunion.membership.views import member_read

STAFF = {"audiences": (AUDIENCE_ADMIN,), "roles": ADMIN_ROLES}
ADMINS = {"audiences": (AUDIENCE_ADMIN,), "roles": {Role.REGIONAL_ADMIN, Role.HQ_ADMIN}}
TAGS = ["members 会员"]
SECURITY = [{"bearer": []}]
MemberId = Annotated[uuid.UUID, PathParameter()]
APPLICATION = frozenset({"applicant"})  # approve and reject decide applications only


async def _codes(session: AsyncSession, caller: Caller) -> dict[uuid.UUID, str]:
    """Tenant codes of the caller's federation (one query: the federation is the token's)."""
    rows = await session.execute(
        text("SELECT id, code FROM flexunion_directory(flexunion_federation())"))
    return {row.id: row.code for row in rows}


@get("/v1/admin/members", opt=STAFF, tags=TAGS, security=SECURITY,
     summary="会员与入会申请 Members and applications of my subtree (oldest first)")
async def list_members(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    settings: NamedDependency[Settings],
    status: Annotated[Literal["applicant", "active", "suspended", "parked", "left", "rejected"]
                      | None, QueryParameter()] = None,
    cursor: Annotated[str | None, QueryParameter(max_length=512)] = None,
    limit: Annotated[int | None, QueryParameter()] = None,
) -> Page[MemberRead]:
    size = clamp(limit, settings.api.page_size_default, settings.api.page_size_max)
    rows = await service.page(session, status=status, after=decode_time_cursor(cursor),
                              limit=size + 1)
    codes = await _codes(session, caller)
    items = [member_read(m, codes) for m in rows[:size]]
    last = rows[size - 1] if len(rows) > size else None
    return Page(items=items, next_cursor=encode_cursor(last.created_at.isoformat(), last.id)
                if last else None)


@get("/v1/admin/members/{member_id:uuid}", opt=STAFF, tags=TAGS, security=SECURITY,
     summary="会员详情 One member (404 when not in my subtree)")
async def get_member(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                     member_id: MemberId) -> MemberRead:
    return member_read(await service.access_member(session, member_id), await _codes(session, caller))


@post("/v1/admin/members/{member_id:uuid}/approve", opt=STAFF, tags=TAGS, security=SECURITY,
      status_code=200, summary="批准入会 Approve an application")
async def approve(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                  clock: NamedDependency[Clock], member_id: MemberId,
                  data: JSONBody[Decision | None] = None) -> MemberRead:
    member = await service.change_status(session, clock, member_id, "active",
                                         data.reason if data else None, only_from=APPLICATION)
    return member_read(member, await _codes(session, caller))


@post("/v1/admin/members/{member_id:uuid}/reject", opt=STAFF, tags=TAGS, security=SECURITY,
      status_code=200, summary="驳回入会申请 Reject an application (reason required)")
async def reject(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                 clock: NamedDependency[Clock], member_id: MemberId,
                 data: JSONBody[Decision]) -> MemberRead:
    member = await service.change_status(session, clock, member_id, "rejected", data.reason,
                                         only_from=APPLICATION)
    return member_read(member, await _codes(session, caller))


@post("/v1/admin/members/{member_id:uuid}/status", opt=STAFF, tags=TAGS, security=SECURITY,
      status_code=200, summary="变更会籍状态 Suspend, park (保留会籍), reinstate or end a membership")
async def change_status(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                        clock: NamedDependency[Clock], member_id: MemberId,
                        data: JSONBody[StatusChange]) -> MemberRead:
    member = await service.access_member(session, member_id, home_only=True)
    if member.status == "applicant":
        raise InvalidInput("Decide an application with approve or reject.", code="use_decision")
    member = await service.change_status(session, clock, member_id, data.to, data.reason)
    return member_read(member, await _codes(session, caller))


class JoinRule(msgspec.Struct, forbid_unknown_fields=True):
    auto_approve: bool


@put("/v1/admin/tenants/{code:str}/join-rule", opt=ADMINS, tags=TAGS, security=SECURITY,
     summary="入会审批规则 Auto-approve joins to this union (stations inherit it)")
async def set_join_rule(
    session: NamedDependency[AsyncSession],
    code: Annotated[str, PathParameter(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")],
    data: JSONBody[JoinRule],
) -> JoinRule:
    tenant = await session.scalar(select(Tenant).where(Tenant.code == code).with_for_update())
    if tenant is None:
        raise NotFound(f"No tenant '{code}'.", code="tenant_not_found")
    if tenant.kind == "hq":
        raise InvalidInput("Members join a regional union or a station.", code="join_target_invalid")
    tenant.auto_approve_joins = data.auto_approve
    await session.flush()
    await audit.record(session, "membership.join_rule_set", tenant_id=tenant.id,
                       object_type="tenant", object_id=tenant.code,
                       payload={"auto_approve": data.auto_approve})
    return data


ROUTES = [list_members, get_member, approve, reject, change_status, set_join_rule]
