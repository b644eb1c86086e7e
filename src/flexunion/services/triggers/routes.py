"""系统衔接 triggers over HTTP: staff read the actions made in their subtree and the rule sets
(HQ's and their region's), and HQ / regional admins save a new version of their unit's rules
(/v1/admin/services/triggers/...); a partner reads the join invitations for its own riders
who are not members, to relay them (/v1/partner/services/invitations). Codes:
docs/services.md."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import Router, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import BEARER, PARTNER, STAFF, UNION_ADMINS, problems
from flexunion.services.triggers import service
from flexunion.services.triggers.schemas import (
    ActionRead,
    InvitationRead,
    RuleSetRead,
    RuleSetSave,
)

ActionKind = Annotated[Literal["invite_join", "offer_service", "station_notice",
                               "assistance_case"] | None,
                       QueryParameter(description="Only this action")]
MemberFilter = Annotated[uuid.UUID | None, QueryParameter(description="Only this member's")]
Limit = Annotated[int, QueryParameter(ge=1, le=500, description="At most this many, newest first")]
SAVE_422 = ("trigger_rules_invalid: a rule's event, condition or action (`where`); "
            "trigger_effective_past: effective_from before today")


@get("/actions", summary="触发动作 The actions the trigger rules made in my subtree (a station: "
                         "its own notices), newest first")
async def actions(session: NamedDependency[AsyncSession], action: ActionKind = None,
                  member: MemberFilter = None, limit: Limit = 100) -> list[ActionRead]:
    return await service.actions(session, action=action, member_id=member, limit=limit)


@get("/rules", summary="触发规则 HQ's and my region's rule versions, newest first")
async def rule_sets(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                    clock: NamedDependency[Clock]) -> list[RuleSetRead]:
    return await service.rule_sets(session, caller, now=clock.now())


@post("/rules", opt=UNION_ADMINS,
      summary="新版本触发规则 Save a new version of my unit's rules from a date (the old "
              "versions are kept)",
      responses=problems({403: "trigger_rules_not_yours", 422: SAVE_422}))
async def save_rule_set(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                        clock: NamedDependency[Clock],
                        data: JSONBody[RuleSetSave]) -> RuleSetRead:
    return await service.save_rule_set(session, caller, data, now=clock.now())


@get("/", summary="入会邀请 Join invitations for my riders who are not members, to relay in my "
                  "own app (the union holds no phone of theirs), newest first",
     responses=problems({403: "partner_disabled"}))
async def invitations(session: NamedDependency[AsyncSession],
                      limit: Limit = 100) -> list[InvitationRead]:
    return await service.invitations(session, limit)


router = Router("/", tags=["services-triggers 触发规则"], route_handlers=[
    Router("/v1/admin/services/triggers", opt=STAFF, security=BEARER,
           route_handlers=[actions, rule_sets, save_rule_set]),
    Router("/v1/partner/services/invitations", opt=PARTNER, security=BEARER,
           route_handlers=[invitations]),
])
