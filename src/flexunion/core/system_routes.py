"""Liveness, readiness and the public discovery documents."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get
from litestar.di import NamedDependency
from sqlalchemy import text

from flexunion.config import AUDIENCE_ADMIN, AUDIENCE_MOBILE, AUDIENCE_PARTNER, AUDIENCE_PROVIDER
from flexunion.core.errors import ServiceUnavailable
from flexunion.core.fastlane import Lane, LaneRequest
from flexunion.core.http import problems
from flexunion.core.uow import UnitOfWork
from flexunion.db.migrate import schema_state

ALIVE = {"status": "ok"}


@get("/healthz", tags=["system 系统"], summary="存活检查 Liveness")
async def healthz() -> dict[str, str]:
    return ALIVE


async def _alive(request: LaneRequest) -> dict[str, str]:
    return ALIVE


@get("/readyz", tags=["system 系统"],
     summary="就绪检查 Readiness (database reachable, schema at head)",
     responses=problems({503: "database_unavailable, schema_outdated: the schema lacks "
                              "migrations this release needs"}))
async def readyz(uow: NamedDependency[UnitOfWork]) -> dict[str, str]:
    try:
        current = await uow.session.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception as exc:
        raise ServiceUnavailable("数据库无法连接。", "The database is not reachable.",
                                 code="database_unavailable",
                                 headers={"Retry-After": "1"}) from exc
    state = schema_state(current)
    if state == "behind":
        raise ServiceUnavailable("数据库结构缺少本版本需要的迁移，请先运行 flexunion migrate。",
                                 "The schema lacks migrations this release needs.",
                                 code="schema_outdated")
    return {"status": "ready", "schema": current or "", "schema_state": state}


@get("/.well-known/jwks.json", tags=["auth 认证"], summary="签名公钥 JWKS", cache=False)
async def jwks(request: Request[Any, Any, Any]) -> dict[str, Any]:
    keys: dict[str, Any] = await request.app.state.key_store.jwks()
    return keys


@get(
    "/.well-known/oauth-authorization-server",
    tags=["auth 认证"],
    summary="授权服务元数据 OAuth 2.0 server metadata (RFC 8414)",
)
async def oauth_metadata(request: Request[Any, Any, Any]) -> dict[str, Any]:
    issuer = request.app.state.settings.issuer
    return {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "token_endpoint": f"{issuer}/oauth/token",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "token_endpoint_auth_signing_alg_values_supported": ["EdDSA"],
        "flexunion_audiences": {
            "mobile": AUDIENCE_MOBILE,
            "admin": AUDIENCE_ADMIN,
            "partner": AUDIENCE_PARTNER,
            "provider": AUDIENCE_PROVIDER,
        },
    }


router = Router("/", route_handlers=[healthz, readyz, jwks, oauth_metadata])
# Answered before the router (core/fastlane.py); the route above documents it.
LANES = [Lane("GET", "/healthz", _alive)]
