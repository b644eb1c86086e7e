"""流动议事 in the console (协商清单): the participation grants of my regions — granted here or
the member's home here — with their region, home region, why (打卡 / 未结诉求 / 手工), expiry
and state, filterable by region and to the active ones (as GET
/v1/admin/bargaining/participation lists them); the 手工授权 form (member id, one of my
regions, a note, days — default the federation's setting) and a 撤销 form (a reason) on each
standing grant. Each form is the API's service call (bargaining/participation/service.py);
a refusal lands next to its field."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.participation import service
from flexunion.bargaining.participation.schemas import GrantCreate, grant_read
from flexunion.config import Settings
from flexunion.console.forms import Form, attempt, read_form
from flexunion.console.render import html, see_other, speaker
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.federation import directory

GrantId = Annotated[uuid.UUID, PathParameter()]
SHOWN = 200
GRANT_FIELDS = {"scope_not_yours": "region", "unknown_region": "region",
                "member_not_found": "member_id", "participation_home_region": "region"}
REVOKE_FIELDS = {"participation_revoked": "reason"}


async def _page(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller, *,
                now: Any, region: str | None = None, active: bool = False,
                forms: dict[str, Form] | None = None, revoking: uuid.UUID | None = None,
                status: int = 200) -> Response[str]:
    tenants = await directory.my_directory(session, caller)
    me = tenants.get(caller.tenant_code)
    mine = set(tenants.subtree(me)) if me else set()
    regions = [e for e in tenants.values() if e.kind == "regional" and e.id in mine]
    chosen = region if region in {e.code for e in tenants.values() if e.kind == "regional"} \
        else None
    rows = await service.listed(session, caller, region=chosen,
                                active_at=now if active else None, limit=SHOWN)
    codes = {e.id: e.code for e in tenants.values()}
    names = {e.code: (e.name_zh, e.name_en) for e in tenants.values()}
    return html(request, "board/participation.html", status=status, menu="board",
                grants=[grant_read(g, codes, now=now) for g in rows], regions=regions,
                names=names, chosen={"region": chosen or "", "active": active},
                forms=forms or {}, revoking=revoking, full=len(rows) == SHOWN,
                done=request.query_params.get("done"))


@get("/participation", include_in_schema=False)
async def grants(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                 caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                 region: Annotated[str | None, QueryParameter(max_length=64)] = None,
                 active: Annotated[str | None, QueryParameter(max_length=5)] = None,
                 ) -> Response[str]:
    return await _page(request, session, caller, now=clock.now(), region=region or None,
                       active=active == "1")


@post("/participation", include_in_schema=False)
async def grant(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                settings: NamedDependency[Settings]) -> Response[str]:
    """手工授权 in one of my regions."""
    form = await read_form(request, speaker(request))
    raw = form.text("member_id", max_length=64)
    region = form.text("region", max_length=64)
    note = form.text("note", max_length=2000)
    days_raw = form.text("days", required=False, max_length=3)
    member = None
    try:
        member = uuid.UUID(raw or "")
    except ValueError:
        if raw:
            form.errors["member_id"] = form.t("会员 ID 格式不对。", "Not a member id.")
    if days_raw and (not days_raw.isdigit() or not 1 <= int(days_raw) <= 366):
        form.errors["days"] = form.t("请填写 1–366 天。", "Enter 1 to 366 days.")
    now = clock.now()
    if not form.ok or member is None or region is None or note is None:
        return await _page(request, session, caller, now=now, forms={"grant": form},
                           status=422)
    data = GrantCreate(member_id=member, region=region, note=note,
                       days=int(days_raw) if days_raw else None)
    await attempt(form, service.grant(session, caller, data, now=now,
                                      default_days=settings.bargaining
                                      .participation_expire_days), GRANT_FIELDS)
    if not form.ok:
        return await _page(request, session, caller, now=now, forms={"grant": form},
                           status=form.status)
    return see_other("/console/board/participation?done=granted",
                     htmx=request.headers.get("hx-request") == "true")


@post("/participation/{grant_id:uuid}/revoke", include_in_schema=False)
async def revoke(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                 caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                 grant_id: GrantId) -> Response[str]:
    """撤销 a grant, with the reason (a grant not mine to change is the 404 page)."""
    form = await read_form(request, speaker(request))
    reason = form.text("reason", max_length=2000)
    now = clock.now()
    if not form.ok or reason is None:
        return await _page(request, session, caller, now=now, forms={"revoke": form},
                           revoking=grant_id, status=422)
    await attempt(form, service.revoke(session, grant_id, reason=reason, now=now),
                  REVOKE_FIELDS)
    if not form.ok:
        return await _page(request, session, caller, now=now, forms={"revoke": form},
                           revoking=grant_id, status=form.status)
    return see_other("/console/board/participation?done=revoked",
                     htmx=request.headers.get("hx-request") == "true")


router = Router("/board", route_handlers=[grants, grant, revoke])
