"""机构客户端 in the console (需求台账 › 调解与法律援助): HQ and regional admins manage the
machine clients a provider of their subtree logs in with (cases/provider_desk/): the list
(name, client id, created, last used, state), 新建 — the secret shown once, on the answer to
the form itself (never after a redirect, in a cookie or a URL; the page's address becomes the
plain list, so a reload shows no secret), as the partner-client page does —, 更换密钥 and
停用, each asking to be confirmed first: the list's button posts without `confirmed` and gets
the confirmation page; its 确认 button posts again with `confirmed=yes` and the service acts.

Each action is the API's service call (cases/provider_desk/service.py: who may, audit); a
provider outside the caller's subtree, or any other role, gets the 404 page."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.provider_desk import service as desk
from flexunion.console.forms import Form, attempt, read_form
from flexunion.console.referrals import provider_view
from flexunion.console.render import html, see_other, speaker
from flexunion.core.context import Caller
from flexunion.core.errors import NotFound

Code = Annotated[str, PathParameter(max_length=64)]
ClientUuid = Annotated[uuid.UUID, PathParameter()]
ACTIONS = ("rotate", "disable")


def _base(code: str) -> str:
    return f"/console/cases/providers/{code}/clients"


async def _page(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                code: str, *, form: Form | None = None, status: int = 200,
                secret: tuple[str, str] | None = None) -> Response[str]:
    rows = await desk.list_clients(session, caller, code)  # who may: the service decides
    return html(request, "referrals/clients.html", status=status, menu="cases",
                p=await provider_view(session, caller, code), clients=rows, form=form,
                secret=secret, base=_base(code), done=request.query_params.get("done"))


@get("/providers/{code:str}/clients", include_in_schema=False)
async def clients(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                  caller: NamedDependency[Caller], code: Code) -> Response[str]:
    return await _page(request, session, caller, code)


@post("/providers/{code:str}/clients", include_in_schema=False)
async def create_client(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                        caller: NamedDependency[Caller], code: Code) -> Response[str]:
    """新建机构客户端: the secret is on this answer only."""
    form = await read_form(request, speaker(request))
    name = form.text("name", max_length=200)
    if not form.ok or name is None:
        return await _page(request, session, caller, code, form=form, status=422)
    made = await attempt(form, desk.create_client(session, caller, code, name))
    if made is None or not form.ok:
        return await _page(request, session, caller, code, form=form, status=form.status)
    client, secret = made
    return await _page(request, session, caller, code, status=201,
                       secret=(client.client_id, secret))


async def _confirm(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                   code: str, client_id: uuid.UUID, action: str) -> Response[str]:
    rows = await desk.list_clients(session, caller, code)
    found = next((c for c in rows if c.id == client_id), None)
    if found is None:
        raise NotFound("没有这个机构客户端。", "This provider client is not known.",
                       code="provider_client_not_found")
    return html(request, "referrals/client_confirm.html", menu="cases",
                p=await provider_view(session, caller, code), c=found, action=action,
                base=_base(code))


async def _act(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
               code: str, client_id: uuid.UUID, action: str) -> Response[str]:
    form = await read_form(request, speaker(request))
    if form.values.get("confirmed") != "yes":  # the list's button: ask first
        return await _confirm(request, session, caller, code, client_id, action)
    if action == "rotate":
        rotated = await attempt(form, desk.rotate_secret(session, caller, code, client_id))
        if rotated is None or not form.ok:
            return await _page(request, session, caller, code, form=form, status=form.status)
        client, secret = rotated
        return await _page(request, session, caller, code, secret=(client.client_id, secret))
    await attempt(form, desk.disable_client(session, caller, code, client_id))
    if not form.ok:
        return await _page(request, session, caller, code, form=form, status=form.status)
    return see_other(f"{_base(code)}?done=disabled",
                     htmx=request.headers.get("hx-request") == "true")


@post("/providers/{code:str}/clients/{client_id:uuid}/rotate", include_in_schema=False)
async def rotate_client(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                        caller: NamedDependency[Caller], code: Code,
                        client_id: ClientUuid) -> Response[str]:
    """更换密钥 (after 确认): the old secret stops working now; the new one is on this answer
    only."""
    return await _act(request, session, caller, code, client_id, "rotate")


@post("/providers/{code:str}/clients/{client_id:uuid}/disable", include_in_schema=False)
async def disable_client(request: Request[Any, Any, Any],
                         session: NamedDependency[AsyncSession],
                         caller: NamedDependency[Caller], code: Code,
                         client_id: ClientUuid) -> Response[str]:
    """停用 (after 确认): no new token, and a token issued before is refused."""
    return await _act(request, session, caller, code, client_id, "disable")


# Registered with roles {HQ_ADMIN, REGIONAL_ADMIN} (console/routes.py): others get the 404 page.
router = Router("/cases", route_handlers=[clients, create_client, rotate_client,
                                          disable_client])
