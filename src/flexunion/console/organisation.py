"""组织: the federation tree as far as the officer's union reaches — 总部, the regional unions,
their stations (names, codes, city, the platform partner a station serves, whether joins are
approved at once) — and, for HQ admins only, the platform partners' API clients (平台接入客户端):
list, create, disable, and rotate a secret. A new secret is shown once, on the answer to the
form itself (never after a redirect, never in a cookie or URL), and stored only hashed."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.auth.partners import service as partner_clients
from flexunion.console.forms import Form, attempt, read_form
from flexunion.console.render import html, see_other, speaker
from flexunion.core.context import Caller, Role
from flexunion.federation import directory
from flexunion.federation import service as federation
from flexunion.federation.schemas import TenantRead

ClientId = Annotated[uuid.UUID, PathParameter()]
KIND_ORDER = {"hq": 0, "regional": 1, "station": 2}
CLIENT_FIELDS = {"unknown_partner": "partner"}


async def _visible_tenants(session: AsyncSession) -> list[TenantRead]:
    """Every tenant of the caller's subtree, through the API's paged list."""
    found: list[TenantRead] = []
    cursor: str | None = None
    while True:
        page = await federation.list_tenants(session, kind=None, cursor=cursor, limit=200)
        found += page.items
        cursor = page.next_cursor
        if cursor is None:
            return found


def _tree(tenants: list[TenantRead]) -> list[tuple[int, TenantRead]]:
    """(depth, tenant) in tree order; the caller's own top tenants are the roots."""
    ids = {t.id for t in tenants}
    children: dict[uuid.UUID | None, list[TenantRead]] = {}
    for t in tenants:
        children.setdefault(t.parent_id if t.parent_id in ids else None, []).append(t)
    out: list[tuple[int, TenantRead]] = []

    def walk(parent: uuid.UUID | None, depth: int) -> None:
        for t in sorted(children.get(parent, []), key=lambda t: (KIND_ORDER[t.kind], t.code)):
            out.append((depth, t))
            walk(t.id, depth + 1)

    walk(None, 0)
    return out


async def _page(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller, *,
                form: Form | None = None, status: int = 200,
                secret: tuple[str, str] | None = None) -> Response[str]:
    tenants = await _visible_tenants(session)
    fed = await directory.federation_of(session, caller)
    entries = (await directory.my_directory(session, caller)).by_id
    partners = await directory.partners(session, fed)
    context: dict[str, Any] = {}
    if caller.role is Role.HQ_ADMIN:
        codes = {p.id: p.code for p in partners.values()}
        context["clients"] = [(c, codes.get(c.partner_id, "?"))
                              for c in await partner_clients.clients(session)]
    return html(request, "organisation/tree.html", status=status, menu="organisation",
                tree=_tree(tenants), entries=entries, partners=partners,
                hq=caller.role is Role.HQ_ADMIN, form=form, secret=secret,
                done=request.query_params.get("done"), **context)


@get("/", include_in_schema=False)
async def organisation(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                       caller: NamedDependency[Caller]) -> Response[str]:
    return await _page(request, session, caller)


# ---- partner clients: HQ admins only (their own Router, roles {HQ_ADMIN}) -------------------


# An answer that carries a secret is `no-store` like every page, and its `data-replace-url`
# makes the browser's address the plain page (static/console.js): reloading it shows the
# list without the secret and does not post the form again.


@post("/clients", include_in_schema=False)
async def create_client(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                        caller: NamedDependency[Caller]) -> Response[str]:
    """新建平台接入客户端: the secret is on this answer only."""
    form = await read_form(request, speaker(request))
    name = form.text("name", max_length=200)
    partner = form.text("partner", max_length=63)
    if not form.ok or name is None or partner is None:
        return await _page(request, session, caller, form=form, status=422)
    made = await attempt(form, partner_clients.create_client(
        session, caller, partner_code=partner, name=name), CLIENT_FIELDS)
    if made is None or not form.ok:
        return await _page(request, session, caller, form=form, status=form.status)
    client, secret = made
    return await _page(request, session, caller, status=201, secret=(client.client_id, secret))


@post("/clients/{client_id:uuid}/rotate", include_in_schema=False)
async def rotate_client(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                        caller: NamedDependency[Caller], client_id: ClientId) -> Response[str]:
    """更换密钥: the old secret stops working now; the new one is on this answer only."""
    form = await read_form(request, speaker(request))
    rotated = await attempt(form, partner_clients.rotate_secret(session, client_id))
    if rotated is None or not form.ok:
        return await _page(request, session, caller, form=form, status=form.status)
    client, secret = rotated
    return await _page(request, session, caller, secret=(client.client_id, secret))


@post("/clients/{client_id:uuid}/disable", include_in_schema=False)
async def disable_client(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                         caller: NamedDependency[Caller], client_id: ClientId) -> Response[str]:
    """停用: the client gets no new token."""
    form = await read_form(request, speaker(request))
    await attempt(form, partner_clients.disable_client(session, client_id))
    if not form.ok:
        return await _page(request, session, caller, form=form, status=form.status)
    return see_other("/console/organisation?done=disabled",
                     htmx=request.headers.get("hx-request") == "true")


router = Router("/organisation", route_handlers=[organisation])
# Registered with roles {HQ_ADMIN} (console/routes.py): others get the 404 page.
clients = Router("/organisation", route_handlers=[create_client, rotate_client, disable_client])
