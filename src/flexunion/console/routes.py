"""The console's router: the sign-in pages (public), every signed-in page under `/console`
(`opt["console"]`: the pipeline opens the session from its cookie; the roles of each menu
decide who reaches its pages; CSRF checked before any unsafe handler), logout, and the
package's own static files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import CacheControlHeader, Cookie
from litestar.di import NamedDependency
from litestar.static_files import create_static_files_router

from flexunion.auth.sessions import service as sessions
from flexunion.console import (
    areas,
    assistance,
    audit,
    board,
    cards,
    case_policies,
    case_steps,
    cases,
    census,
    checkpoints,
    clause_templates,
    compliance,
    contract_edits,
    contracts,
    csrf,
    dashboard,
    disputes,
    figures,
    members,
    organisation,
    participation,
    provider_clients,
    rectification,
    referrals,
    rules,
    service_catalogue,
    service_groups,
    service_review,
    service_triggers,
    service_window,
    signin,
    stations,
    transfers,
    weekly,
)
from flexunion.console import ballots as ballot_pages
from flexunion.console.errors import EXCEPTION_HANDLERS
from flexunion.console.menus import ALL, HQ, LEDGER, UNIONS
from flexunion.console.render import STATIC, see_other
from flexunion.core.clock import Clock
from flexunion.core.uow import UnitOfWork


@post("/logout", include_in_schema=False)
async def logout(request: Request[Any, Any, Any], uow: NamedDependency[UnitOfWork],
                 clock: NamedDependency[Clock]) -> Response[str]:
    """退出: the session ends in PostgreSQL (every instance stops honouring it at once)."""
    await sessions.end(uow, clock, request.scope["state"]["console_session"])
    gone = Cookie(key=sessions.COOKIE, value="", path=sessions.COOKIE_PATH, max_age=0,
                  httponly=True, samesite="lax")
    return see_other("/console/login", cookies=[gone],
                     htmx=request.headers.get("hx-request") == "true")


@get("/", include_in_schema=False)
async def root() -> Response[str]:
    """The site's front door leads to the console (the API lives under /v1, docs /schema)."""
    return see_other("/console/")


def signed_in(*pages: Any, roles: frozenset[Any] = ALL) -> Router:
    """Pages for a signed-in officer of one of `roles` (others get the 404 page)."""
    return Router("/", route_handlers=list(pages), opt={"console": True, "roles": roles})


# Each page module's router, with the roles its menu has (console/menus.py).
PAGES = [
    # 待办 and 退出 for every role (a 12351 operator's 待办 leads to the ledger)
    signed_in(dashboard.router, logout, roles=LEDGER),
    signed_in(members.router, roles=ALL),
    # one line per page module, after this one: signed_in(<module>.router, roles=…)
    signed_in(transfers.router, roles=UNIONS),
    signed_in(organisation.router, roles=ALL),
    signed_in(organisation.clients, roles=frozenset({HQ})),
    signed_in(census.router, roles=UNIONS),
    signed_in(cards.router, roles=ALL),
    signed_in(audit.router, roles=UNIONS),
    signed_in(board.router, ballot_pages.router, participation.router, roles=UNIONS),
    signed_in(contracts.router, contract_edits.router, clause_templates.router,
              checkpoints.router, roles=UNIONS),
    signed_in(compliance.router, roles=UNIONS),
    signed_in(stations.router, roles=ALL),
    signed_in(areas.router, roles=UNIONS),
    signed_in(cases.router, case_steps.router, case_policies.router, roles=LEDGER),
    signed_in(disputes.router, referrals.router, roles=LEDGER),
    signed_in(provider_clients.router, roles=UNIONS),
    signed_in(weekly.router, roles=ALL),
    signed_in(rectification.router, roles=UNIONS),
    signed_in(rectification.owners, roles=ALL),
    signed_in(figures.router, roles=UNIONS),
    signed_in(rules.router, roles=ALL),
    signed_in(service_window.router, service_catalogue.router, roles=ALL),
    signed_in(assistance.router, roles=ALL),
    signed_in(service_groups.router, roles=ALL),
    signed_in(service_triggers.router, roles=ALL),
    signed_in(service_review.router, roles=ALL),
]


static = create_static_files_router(
    STATIC, directories=[Path(__file__).with_name("static")], name="console-static",
    cache_control=CacheControlHeader(max_age=3600), include_in_schema=False)

router = Router("/", include_in_schema=False, route_handlers=[
    root,
    signin.router,
    static,
    Router("/console", exception_handlers=EXCEPTION_HANDLERS, before_request=csrf.check,
           route_handlers=PAGES),
])
