"""触发规则: the trigger rules that apply to the officer's unit — HQ's versions and its
region's, each with its effective day and whether it is the one in effect — and the actions
they made in the officer's subtree (a station officer sees its station's notices: 送清凉 and
stocking supplies on a heat warning). HQ and regional admins save a new version of their own
unit's rules (YAML, from a day; the old version is kept). The same service as
/v1/admin/services/triggers."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.console.forms import Form, attempt, read_form
from flexunion.console.render import html, see_other, speaker
from flexunion.core.clock import Clock
from flexunion.core.context import Caller, Role
from flexunion.services.triggers import service
from flexunion.services.triggers.rules import Rule
from flexunion.services.triggers.schemas import RuleSetSave

FIELDS = {"trigger_rules_invalid": "rules", "trigger_effective_past": "effective_from"}


def _admin(caller: Caller) -> bool:
    return caller.role in (Role.HQ_ADMIN, Role.REGIONAL_ADMIN)


def _yaml(rules: list[dict[str, Any]]) -> str:
    return msgspec.yaml.encode(rules).decode() if rules else ""


async def _page(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                clock: Clock, form: Form | None = None, status: int = 200) -> Response[str]:
    sets = await service.rule_sets(session, caller, now=clock.now())
    mine = [s for s in sets if s.unit == caller.tenant_code]
    current = next((s for s in mine if s.in_effect), mine[0] if mine else None)
    if current is None:
        current = next((s for s in sets if s.in_effect), None)
    values = {"effective_from": service.local_day(clock.now()).isoformat(),
              "rules": _yaml(current.rules) if current else ""}
    made = await service.actions(session, action=None, member_id=None, limit=100)
    return html(request, "service_triggers/list.html", status=status, menu="service_triggers",
                sets=sets, actions=made, admin=_admin(caller),
                form=form or Form(speaker(request), values),
                done=request.query_params.get("done"))


@get("/", include_in_schema=False)
async def triggers_page(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                        caller: NamedDependency[Caller],
                        clock: NamedDependency[Clock]) -> Response[str]:
    return await _page(request, session, caller, clock)


@post("/", include_in_schema=False)
async def save_rules(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                     caller: NamedDependency[Caller],
                     clock: NamedDependency[Clock]) -> Response[str]:
    form = await read_form(request, speaker(request))
    data = None
    try:
        day = date.fromisoformat(form.values.get("effective_from", "").strip())
    except ValueError:
        form.errors["effective_from"] = form.t("请填写生效日期（YYYY-MM-DD）。",
                                               "Give the effective day (YYYY-MM-DD).")
    raw = form.values.get("rules", "")
    if form.ok:
        try:
            rules = msgspec.yaml.decode(raw.encode(), type=list[Rule])
            data = RuleSetSave(effective_from=day, rules=rules,
                               note=form.values.get("note", "").strip()[:500])
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            form.errors["rules"] = form.t("规则格式有误：", "The rules are malformed: ") + str(exc)
    if form.ok and data is not None:
        await attempt(form, service.save_rule_set(session, caller, data, now=clock.now()),
                      FIELDS)
    if not form.ok:
        return await _page(request, session, caller, clock, form, form.status)
    return see_other("/console/service-triggers?done=saved",
                     htmx=request.headers.get("hx-request") == "true")


router = Router("/service-triggers", route_handlers=[triggers_page, save_rules])
