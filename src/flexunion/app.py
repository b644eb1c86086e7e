"""create_app(): plugins, routers, error handlers, lifecycle — nothing else."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from litestar import Litestar, Request, Response
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import (
    JsonRenderPlugin,
    RedocRenderPlugin,
    SwaggerRenderPlugin,
    YamlRenderPlugin,
)
from litestar.openapi.spec import Components, SecurityScheme, Tag
from litestar.static_files import create_static_files_router

from flexunion import __version__
from flexunion.audit.routes import router as audit_router
from flexunion.auth.keys import KeyStore
from flexunion.auth.routes import router as auth_router
from flexunion.auth.sessions.service import SessionReader
from flexunion.auth.tokens import TokenService
from flexunion.auth.workers.sms import SmsGateway, gateway_for
from flexunion.bargaining.ballots.service import refuse_while_voting
from flexunion.bargaining.board import service as board
from flexunion.bargaining.evidence.store import FilesystemStore
from flexunion.bargaining.routes import router as bargaining_router
from flexunion.calendars.routes import router as calendars_router
from flexunion.cases.routes import router as cases_router
from flexunion.config import Settings
from flexunion.consent import service as consent
from flexunion.consent.routes import router as consent_router
from flexunion.console import errors as console_errors
from flexunion.console.routes import router as console_router
from flexunion.contracts.agreements import outcomes as agreement_outcomes
from flexunion.contracts.routes import router as contracts_router
from flexunion.contracts.rules.routes import router as platform_rules_router
from flexunion.core.clock import Clock
from flexunion.core.deps import DEPENDENCIES, resolve_in_turn
from flexunion.core.fastlane import FastLanes, FlexunionApp
from flexunion.core.http import document_problems
from flexunion.core.middleware import PipelineMiddleware
from flexunion.core.openapi import (
    ItemConstraints,
    document_closed_structs,
    document_optional_bodies,
)
from flexunion.core.problems import EXCEPTION_HANDLERS, http_exception_handler
from flexunion.core.request_id import stamp_response
from flexunion.core.secrets import Keyring, load_master_secret
from flexunion.core.strict import StrictRequest
from flexunion.core.system_routes import LANES as SYSTEM_LANES
from flexunion.core.system_routes import router as system_router
from flexunion.core.uow import OUTBOUND, Outbound
from flexunion.db.engine import make_engine, make_sessionmaker
from flexunion.db.migrate import check_app_role
from flexunion.db.runtime import app_url
from flexunion.db.urls import to_asyncpg
from flexunion.federation.routes import router as federation_router
from flexunion.geo.checkins.service import erase_on_withdrawal as erase_checkins
from flexunion.geo.registry import GeoRegistry
from flexunion.geo.routes import LANES as GEO_LANES
from flexunion.geo.routes import router as geo_router
from flexunion.inbox.routes import router as inbox_router
from flexunion.jobs import service as jobs
from flexunion.me.routes import router as me_router
from flexunion.membership import service as membership_service
from flexunion.membership.cards.holders import HolderStore
from flexunion.membership.routes import LANES as MEMBERSHIP_LANES
from flexunion.membership.routes import router as membership_router
from flexunion.services.groups import service as service_groups
from flexunion.services.routes import router as services_router
from flexunion.transfers.routes import router as transfers_router

# The API docs UIs' JavaScript and CSS ship in the package (static/, with their licences):
# /schema works offline and where the public CDNs are blocked.
DOCS_ASSETS = "/schema-assets"
docs_assets_router = create_static_files_router(
    DOCS_ASSETS, directories=[Path(__file__).with_name("static")], name="schema-assets",
    cache_control=CacheControlHeader(max_age=86400), include_in_schema=False)

# One router per domain, each carrying its own paths, tags, security and access presets.
ROUTERS = [system_router, auth_router, federation_router, calendars_router, consent_router,
           me_router, membership_router, transfers_router, geo_router, bargaining_router,
           contracts_router, services_router,
           cases_router, platform_rules_router, inbox_router, audit_router, docs_assets_router,
           console_router]
# The hottest operations, answered before the router when the request is of the plainest
# shape; their routes above document them and answer everything else (core/fastlane.py).
LANES = [*SYSTEM_LANES, *MEMBERSHIP_LANES, *GEO_LANES]


def app_database_url(settings: Settings) -> str:
    return app_url(settings)


# Put in each docs page's <head> before its scripts: the browser loads nothing from another
# host (Redoc's sidebar logo would come from its CDN), and asks for no /favicon.ico.
_DOCS_HEAD = (
    '<meta http-equiv="Content-Security-Policy" content="default-src \'self\'; '
    "script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'\">"
    '<link rel="icon" href="data:,">'
)


def openapi_config() -> OpenAPIConfig:
    """/schema is Redoc (as before), /schema/swagger Swagger UI (try requests with a token),
    both from the package's own copies; /schema/openapi.json and .yaml the document. No
    other UI is mounted (Litestar's defaults load RapiDoc and Elements from CDNs)."""
    redoc = f"{DOCS_ASSETS}/redoc"
    swagger = f"{DOCS_ASSETS}/swagger-ui"
    return OpenAPIConfig(
        title="flexunion 工会联合会服务 API",
        version=__version__,
        description=(
            "新就业形态劳动者（骑手、司机）工会服务：线上入会、电子会籍、异地接转、服务驿站、协商清单。\n\n"
            "Union federation service for platform workers. Errors are RFC 9457 problem+json with "
            "a stable `code`. Mobile writes take an `Idempotency-Key` header. Tokens: bearer JWT "
            "(EdDSA), audiences flexunion-mobile / flexunion-admin / flexunion-partner."
        ),
        tags=[
            Tag(name="system 系统"),
            Tag(name="auth 认证"),
            Tag(name="federation 联合会"),
            Tag(name="me 我的"),
            Tag(name="members 会员"),
            Tag(name="cards 会员卡"),
            Tag(name="transfers 接转"),
            Tag(name="geo 服务区域"),
            Tag(name="stations 驿站"),
            Tag(name="census 摸清底数"),
            Tag(name="reports 问题提报"),
            Tag(name="agenda 协商清单"),
            Tag(name="ballots 表决"),
            Tag(name="negotiation 协商轮次"),
            Tag(name="partner 平台方"),
            Tag(name="audit 审计"),
        ],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
                "client_basic": SecurityScheme(
                    type="http", scheme="basic",
                    description="OAuth2 client credentials at /oauth/token (client_secret_basic)",
                ),
            }
        ),
        path="/schema",
        render_plugins=[
            RedocRenderPlugin(js_url=f"{redoc}/redoc.standalone.js", google_fonts=False,
                              favicon=_DOCS_HEAD),
            SwaggerRenderPlugin(
                js_url=f"{swagger}/swagger-ui-bundle.js", css_url=f"{swagger}/swagger-ui.css",
                standalone_preset_js_url=f"{swagger}/swagger-ui-standalone-preset.js",
                favicon=_DOCS_HEAD),
            JsonRenderPlugin(),
            YamlRenderPlugin(),
        ],
    )


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """A path no route has, or not by that method: a console page under /console (no
    console router saw it), problem+json everywhere else."""
    if request.url.path.startswith("/console"):
        return console_errors.http_error(request, exc)
    return http_exception_handler(request, exc)


HANDLERS: dict[Any, Any] = {**EXCEPTION_HANDLERS, HTTPException: http_error}


def create_app(
    settings: Settings,
    *,
    sms: SmsGateway | None = None,
    clock: Clock | None = None,
    oidc_http: httpx.AsyncClient | None = None,
    fast_lanes: bool = True,
) -> Litestar:
    clock = clock or Clock()
    keyring = Keyring(load_master_secret(settings))
    # Upward hooks, which a lower domain cannot import: withdrawing the location consent
    # erases the worker's check-ins in that same transaction; no staff step moves an agenda
    # item while its members vote.
    consent.on_withdrawal("location_checkin", "geo:erase-checkins", erase_checkins)
    board.guard_steps("ballots:voting", refuse_while_voting)
    board.after_steps("contracts:clause-from-item", agreement_outcomes.on_item_step)
    board.read_links("contracts:clauses", agreement_outcomes.item_links)
    # A join approved or a member moved: their service groups are re-evaluated (a job queued
    # in that transaction).
    membership_service.on_member_changed("services:groups", service_groups.member_changed)
    # A domain queues a job through core.queue in its own transaction (jobs/service.py).
    jobs.install()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        url = app_database_url(settings)
        await check_app_role(url)
        engine = make_engine(url, pool_size=settings.pool.size,
                             max_overflow=settings.pool.max_overflow)
        app.state.engine = engine
        # Every request's session carries the outbound channels for after-commit effects
        # (an SMS notice of a case's status: inbox/service.py).
        app.state.sessionmaker = make_sessionmaker(engine, info={OUTBOUND: Outbound(
            sms=app.state.sms, keyring=keyring)})
        # Bare asyncpg for one-statement reads through SECURITY DEFINER functions that
        # need no tenant scope (card holder status): no session, no transaction.
        app.state.reader = await asyncpg.create_pool(
            to_asyncpg(url), min_size=1, max_size=max(2, settings.pool.size // 2))
        # Console sessions are read through the same pool (one statement, no transaction).
        app.state.console_sessions = SessionReader(app.state.reader, clock, settings)
        app.state.key_store = KeyStore(app.state.sessionmaker, keyring)
        app.state.tokens = TokenService(settings, app.state.key_store, clock)
        owned_http = oidc_http is None
        app.state.oidc_http = oidc_http or httpx.AsyncClient(timeout=10)
        app.state.geo = GeoRegistry(to_asyncpg(url), poll_seconds=settings.geo.poll_seconds)
        await app.state.geo.start()
        # Card holders' statuses in memory, kept current by NOTIFY (membership/cards/holders.py).
        app.state.card_holders = HolderStore(
            to_asyncpg(url), poll_seconds=settings.membership.card_poll_seconds,
            local_engines=[engine.sync_engine])
        await app.state.card_holders.start()
        # What startup built (routes, models, indexes, pools) lives as long as the process:
        # out of the collector's sight, a full collection no longer walks it again and again
        # while requests allocate. A small gain: one run showed 2–7 µs less server CPU per
        # request, and with the collector off altogether /healthz gained only ~3 µs.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await app.state.card_holders.close()
            await app.state.geo.close()
            if owned_http:
                await app.state.oidc_http.aclose()
            await app.state.reader.close()
            await engine.dispose()

    lanes = FastLanes(LANES) if fast_lanes else None
    app = FlexunionApp(
        route_handlers=ROUTERS,
        fast_lanes=lanes,
        # One layer: OPTIONS answers Allow, then the token, the input guard (unstorable text
        # and loose scalars refused before any session opens) and the unit of work
        # (core/middleware.py).
        middleware=[PipelineMiddleware],
        request_class=StrictRequest,  # JSON bodies decoded strictly (core/strict.py)
        plugins=[ItemConstraints()],
        before_send=[stamp_response],
        dependencies=DEPENDENCIES,
        # Litestar types the mapping's handlers loosely; each takes (Request, its exception).
        exception_handlers=HANDLERS,
        openapi_config=openapi_config(),
        lifespan=[lifespan],
        request_max_body_size=settings.api.request_max_body_bytes,
        debug=False,
        logging_config=None,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.keyring = keyring
    app.state.sms = sms or gateway_for(settings.auth.sms_backend, settings.data_dir)
    app.state.attachments = FilesystemStore(settings.data_dir / "attachments")
    resolve_in_turn(app)  # dependencies awaited in turn, not in a task group each request
    # The OpenAPI document, built once: every operation with every problem it can answer.
    document_problems(app, max_body=settings.api.request_max_body_bytes)
    document_optional_bodies(app)
    document_closed_structs(app)
    if lanes is not None:
        lanes.check(app)  # each lane has its route's access, limits and parameters
    return app
