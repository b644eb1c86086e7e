"""Dependencies every handler may ask for by name: uow, session, caller, settings, clock;
and the app-wide stores a domain router names (geo, attachments)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.errors import Unauthenticated
from flexunion.core.uow import UnitOfWork


def _uow(request: Request[Any, Any, Any]) -> UnitOfWork:
    uow: UnitOfWork = request.scope["state"]["uow"]
    return uow


def _session(request: Request[Any, Any, Any]) -> AsyncSession:
    return _uow(request).session


def _caller(request: Request[Any, Any, Any]) -> Caller:
    caller: Caller | None = request.scope["state"].get("caller")
    if caller is None:  # a route that asks for a caller must declare audiences
        raise Unauthenticated("此接口需要登录凭证（Bearer 令牌）。",
                              "This endpoint needs a bearer token.", code="token_missing")
    return caller


def _settings(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _geo(request: Request[Any, Any, Any]) -> Any:
    return request.app.state.geo


def _attachments(request: Request[Any, Any, Any]) -> Any:
    return request.app.state.attachments


def _clock(request: Request[Any, Any, Any]) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


DEPENDENCIES = {
    "uow": Provide(_uow, sync_to_thread=False),
    "session": Provide(_session, sync_to_thread=False),
    "caller": Provide(_caller, sync_to_thread=False),
    "settings": Provide(_settings, sync_to_thread=False),
    "clock": Provide(_clock, sync_to_thread=False),
    "geo": Provide(_geo, sync_to_thread=False),
    "attachments": Provide(_attachments, sync_to_thread=False),
}


def resolve_in_turn(app: Any) -> int:
    """Resolve each handler's dependencies one after another instead of concurrently.

    Litestar puts a handler's independent dependencies in one batch and resolves a batch of
    two or more in an anyio task group: a task per dependency, several event-loop turns,
    ~30 µs a request here — more than most handlers' own work, and for nothing: every
    provider above returns at once (litestar-org/litestar#4563, open). Splitting each batch
    into single ones keeps the order (a batch only depends on earlier ones) and makes
    Litestar await them in turn. Returns how many batches were split; tests/core checks
    that none is left, so a Litestar release that moves this fails there, not silently."""
    from litestar.routes import HTTPRoute

    split = 0
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for _handler, model in route.route_handler_map.values():
            batches = model.dependency_batches
            if any(len(batch) > 1 for batch in batches):
                split += sum(len(batch) > 1 for batch in batches)
                model.dependency_batches = [
                    {dependency} for batch in batches
                    for dependency in sorted(batch, key=lambda d: d.key)]
    return split
