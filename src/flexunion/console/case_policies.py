"""政策库: the policy library that 政策释明 answers cite — the HQ adds, edits and retires a
policy (its titles, source, text and link); every other officer reads it. Each form is the
API's service call (cases/policies/service.py decides who may)."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.policies import service as library
from flexunion.cases.policies.schemas import PolicyCreate, PolicyUpdate, policy_read
from flexunion.console.cases import StationCode, htmx
from flexunion.console.forms import Form, attempt, read_form
from flexunion.console.render import html, see_other, speaker
from flexunion.core.clock import Clock
from flexunion.core.context import Caller, Role
from flexunion.core.errors import Forbidden, NotFound

POLICY_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
POLICY_FIELDS = {"policy_code_taken": "code"}
POLICY_TEXT = (("title_zh", 200), ("title_en", 200), ("source", 200), ("body", 4000))


async def _policies_page(request: Request[Any, Any, Any], session: AsyncSession,
                         caller: Caller, form: Form | None = None,
                         status: int = 200) -> Response[str]:
    rows = [policy_read(p) for p in await library.policies(session, caller)]
    return html(request, "cases/policies.html", status=status, menu="cases", rows=rows,
                form=form, editable=caller.role is Role.HQ_ADMIN,
                done=request.query_params.get("done"))


@get("/policies", include_in_schema=False)
async def policies(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                   caller: NamedDependency[Caller]) -> Response[str]:
    return await _policies_page(request, session, caller)


@post("/policies", include_in_schema=False)
async def save_policy(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                      caller: NamedDependency[Caller],
                      clock: NamedDependency[Clock]) -> Response[str]:
    """新增政策 (the HQ; others get the refusal above the form)."""
    form = await read_form(request, speaker(request))
    code = form.text("code", max_length=64)
    if code and not POLICY_CODE.match(code):
        form.errors["code"] = form.t("编码只能用字母、数字和 _ . -。",
                                     "Use letters, digits and _ . - only.")
    values = {"code": code, "title_zh": form.text("title_zh", max_length=200),
              "title_en": form.text("title_en", max_length=200),
              "source": form.text("source", max_length=200),
              "body": form.text("body", max_length=4000),
              "url": form.text("url", required=False, max_length=500)}
    if values["url"] and not str(values["url"]).startswith(("http://", "https://")):
        form.errors["url"] = form.t("链接须以 http:// 或 https:// 开头。",
                                    "A link starts with http:// or https://.")
    if not form.ok:
        return await _policies_page(request, session, caller, form, 422)
    await attempt(form, library.create_policy(
        session, caller, msgspec.convert(values, PolicyCreate), now=clock.now()), POLICY_FIELDS)
    if not form.ok:
        return await _policies_page(request, session, caller, form, form.status)
    return see_other("/console/cases/policies?done=created", htmx=htmx(request))


@post("/policies/{code:str}/active", include_in_schema=False)
async def policy_active(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                        caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                        code: StationCode) -> Response[str]:
    """停用 / 启用 a policy (the HQ): a retired policy can no longer be cited."""
    form = await read_form(request, speaker(request))
    active = form.choice("active", ("true", "false"))
    if not form.ok:
        return await _policies_page(request, session, caller, form, 422)
    await attempt(form, library.update_policy(session, caller, code,
                                              PolicyUpdate(active=active == "true"),
                                              now=clock.now()))
    if not form.ok:
        return await _policies_page(request, session, caller, form, form.status)
    return see_other("/console/cases/policies?done=updated", htmx=htmx(request))


async def _policy(session: AsyncSession, caller: Caller, code: str) -> Any:
    found = next((p for p in await library.policies(session, caller) if p.code == code), None)
    if found is None:
        raise NotFound("政策库中没有该政策。", "No such policy.", code="policy_not_found")
    return policy_read(found)


async def _edit_page(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                     code: str, form: Form | None = None, status: int = 200) -> Response[str]:
    return html(request, "cases/policy_edit.html", status=status, menu="cases",
                p=await _policy(session, caller, code), form=form)


@get("/policies/{code:str}/edit", include_in_schema=False)
async def edit_policy(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                      caller: NamedDependency[Caller], code: StationCode) -> Response[str]:
    """编辑政策 (the HQ; for anyone else the page does not exist)."""
    if caller.role is not Role.HQ_ADMIN:
        raise Forbidden("只有总部可以编辑政策库。", "Only the HQ edits the policy library.")
    return await _edit_page(request, session, caller, code)


@post("/policies/{code:str}/edit", include_in_schema=False)
async def save_policy_edit(request: Request[Any, Any, Any],
                           session: NamedDependency[AsyncSession],
                           caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                           code: StationCode) -> Response[str]:
    """PATCH /v1/cases/policies/{code}: a policy's titles, source, text and link (the HQ;
    others get the refusal above the form). A link can be changed, not removed."""
    form = await read_form(request, speaker(request))
    values: dict[str, Any] = {name: form.text(name, max_length=most)
                              for name, most in POLICY_TEXT}
    url = form.text("url", required=False, max_length=500)
    current = await _policy(session, caller, code)
    if url and not url.startswith(("http://", "https://")):
        form.errors["url"] = form.t("链接须以 http:// 或 https:// 开头。",
                                    "A link starts with http:// or https://.")
    elif not url and current.url:
        form.errors["url"] = form.t("链接不能删除，只能改为另一个链接。",
                                    "A link can be changed, not removed.")
    values["url"] = url or None
    if not form.ok:
        return await _edit_page(request, session, caller, code, form, 422)
    await attempt(form, library.update_policy(session, caller, code,
                                              msgspec.convert(values, PolicyUpdate),
                                              now=clock.now()))
    if not form.ok:
        return await _edit_page(request, session, caller, code, form, form.status)
    return see_other("/console/cases/policies?done=updated", htmx=htmx(request))


router = Router("/cases", route_handlers=[policies, save_policy, policy_active, edit_policy,
                                          save_policy_edit])
