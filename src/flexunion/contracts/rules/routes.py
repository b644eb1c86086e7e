"""劳动规则与算法公示 over HTTP: the platform files its register and its changes through its
machine API (/v1/partner/platform-rules, every write with an Idempotency-Key); union staff
read any partner's register and record what a platform published elsewhere
(/v1/admin/platform-rules); a worker reads the current rules of its platforms
(/v1/me/platform-rules). Codes: docs/platform-rules.md."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Router, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import Settings
from flexunion.contracts.rules import service
from flexunion.contracts.rules.schemas import (
    ChangeCreate,
    MyRulesRead,
    RegisterRead,
    RuleCreate,
    RuleRead,
)
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import (
    BEARER,
    IDEMPOTENT,
    PARTNER,
    STAFF,
    UNION_ADMINS,
    WORKER,
    IdempotencyKey,
    problems,
)

RuleCode = Annotated[str, PathParameter(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", max_length=63)]
RuleId = Annotated[uuid.UUID, PathParameter()]
PartnerCode = Annotated[str, QueryParameter(max_length=63, description="The platform's code")]
FILE_422 = ("invalid_rule_parameters: a parameter its category does not have, or out of "
            "range; rule_notice_too_short: a new rule touching a bargaining topic dated before "
            "`earliest_effective`; rule_fields_staff_only")
CHANGE_422 = ("invalid_rule_parameters: a parameter its category does not have, or out of "
              "range; rule_notice_too_short: a change to a bargaining topic dated before "
              "`earliest_effective`; rule_effective_before_previous, rule_effective_in_past, "
              "rule_fields_staff_only")
RECORD_422 = "invalid_rule_parameters, rule_source_required, partner_required, unknown_partner"
RECORD_CHANGE_422 = ("invalid_rule_parameters, rule_effective_before_previous, "
                     "rule_source_required")
RULE_404 = "platform_rule_not_found (also another platform's rule)"



@get("/", summary="我的平台规则登记 My platform's rules register: every entry, its versions "
                  "(effective dates, reasons) and the changes still to come")
async def partner_register(session: NamedDependency[AsyncSession],
                           caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                           settings: NamedDependency[Settings]) -> RegisterRead:
    return await service.partner_register(session, caller, today=service.local_day(clock.now()),
                                          notice_days=settings.platform_rules.notice_days)


@get("/{code:str}", summary="一条规则 One rule of my register, with its versions",
     responses=problems({404: RULE_404}))
async def partner_rule(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                       clock: NamedDependency[Clock], code: RuleCode) -> RuleRead:
    return await service.partner_rule(session, caller, code,
                                      today=service.local_day(clock.now()))


@post("/", opt=IDEMPOTENT,
      summary="登记规则 File a rule of my platform (category, text, typed parameters, the date it "
              "takes effect); Idempotency-Key",
      responses=problems({409: "platform_rule_exists", 422: FILE_422}))
async def file_rule(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                    clock: NamedDependency[Clock], settings: NamedDependency[Settings],
                    idempotency_key: IdempotencyKey, data: JSONBody[RuleCreate]) -> RuleRead:
    return await service.file_rule(session, caller, data, now=clock.now(),
                                   notice_days=settings.platform_rules.notice_days,
                                   threshold=settings.bargaining.support_threshold)


@post("/{code:str}/versions", opt=IDEMPOTENT,
      summary="规则变更 File a change to a rule (new text and parameters, effective date, the "
              "reason); one touching a bargaining topic needs the notice period and goes to "
              "the agenda board for consultation; Idempotency-Key",
      responses=problems({404: RULE_404, 409: "rule_version_conflict", 422: CHANGE_422}))
async def file_change(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                      clock: NamedDependency[Clock], settings: NamedDependency[Settings],
                      code: RuleCode, idempotency_key: IdempotencyKey,
                      data: JSONBody[ChangeCreate]) -> RuleRead:
    return await service.partner_change(session, caller, code, data, now=clock.now(),
                                        notice_days=settings.platform_rules.notice_days,
                                        threshold=settings.bargaining.support_threshold)


@get("/", summary="平台规则登记 A platform's rules register (federation-wide), with the "
                  "changes still to come", responses=problems({422: "unknown_partner"}))
async def staff_register(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                         clock: NamedDependency[Clock], settings: NamedDependency[Settings],
                         partner: PartnerCode) -> RegisterRead:
    return await service.staff_register(session, caller, partner,
                                        today=service.local_day(clock.now()),
                                        notice_days=settings.platform_rules.notice_days)


@get("/{rule_id:uuid}", summary="一条规则 One rule with its versions",
     responses=problems({404: RULE_404}))
async def staff_rule(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                     clock: NamedDependency[Clock], rule_id: RuleId) -> RuleRead:
    return await service.staff_rule(session, caller, rule_id,
                                    today=service.local_day(clock.now()))


@post("/", opt=UNION_ADMINS,
      summary="记录规则 Record a rule a platform published elsewhere (partner, source noted)",
      responses=problems({409: "platform_rule_exists", 422: RECORD_422}))
async def record_rule(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                      clock: NamedDependency[Clock], settings: NamedDependency[Settings],
                      data: JSONBody[RuleCreate]) -> RuleRead:
    return await service.file_rule(session, caller, data, now=clock.now(),
                                   notice_days=settings.platform_rules.notice_days,
                                   threshold=settings.bargaining.support_threshold)


@post("/{rule_id:uuid}/versions", opt=UNION_ADMINS,
      summary="记录变更 Record a change a platform published elsewhere (source noted); one "
              "made without the notice period is kept and flagged `short_notice`",
      responses=problems({404: RULE_404, 409: "rule_version_conflict",
                          422: RECORD_CHANGE_422}))
async def record_change(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                        clock: NamedDependency[Clock], settings: NamedDependency[Settings],
                        rule_id: RuleId, data: JSONBody[ChangeCreate]) -> RuleRead:
    return await service.staff_change(session, caller, rule_id, data, now=clock.now(),
                                      notice_days=settings.platform_rules.notice_days,
                                      threshold=settings.bargaining.support_threshold)


@get("/", summary="平台规则公示 The current rules of my platforms (and changes announced), "
                  "in Chinese",
     responses=problems({403: "membership_required, member_not_active"}))
async def my_rules(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                   clock: NamedDependency[Clock]) -> MyRulesRead:
    return await service.my_rules(session, caller, today=service.local_day(clock.now()))


router = Router("/", tags=["platform-rules 平台规则公示"], route_handlers=[
    Router("/v1/partner/platform-rules", opt=PARTNER, security=BEARER,
           route_handlers=[partner_register, partner_rule, file_rule, file_change]),
    Router("/v1/admin/platform-rules", opt=STAFF, security=BEARER,
           route_handlers=[staff_register, staff_rule, record_rule, record_change]),
    Router("/v1/me/platform-rules", opt=WORKER, security=BEARER, route_handlers=[my_rules]),
])
