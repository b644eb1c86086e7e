"""Dependencies every handler may ask for by name: uow, session, caller, settings, clock;
and the app-wide stores a domain router names (geo, attachments)."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from litestar.di import Provide
from litestar.types import Scope
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.errors import Unauthenticated
from flexunion.core.uow import UnitOfWork

# The scope of the request being handled, set by the pipeline (core/middleware.py) before
# the handler runs. The providers below read it instead of taking the request: Litestar
# validates a provider's parameters through a signature model on every call (a msgspec
# conversion of all the request's keyword arguments, ~3 µs), and skips that only for a
# provider without parameters. A context variable is per task, and Litestar calls
# providers and handler in the request's own task (or a child, which copies it).
current_scope: ContextVar[Scope] = ContextVar("flexunion_scope")


def _state() -> dict[str, Any]:
    state: dict[str, Any] = current_scope.get()["state"]
    return state


def _app_state() -> Any:
    return current_scope.get()["app"].state


def _uow() -> UnitOfWork:
    uow: UnitOfWork = _state()["uow"]
    return uow


def _session() -> AsyncSession:
    return _uow().session


def _caller() -> Caller:
    caller: Caller | None = _state().get("caller")
    if caller is None:  # a route that asks for a caller must declare audiences
        raise Unauthenticated("此接口需要登录凭证（Bearer 令牌）。",
                              "This endpoint needs a bearer token.", code="token_missing")
    return caller


def _settings() -> Settings:
    settings: Settings = _app_state().settings
    return settings


def _geo() -> Any:
    return _app_state().geo


def _attachments() -> Any:
    return _app_state().attachments


def _clock() -> Clock:
    clock: Clock = _app_state().clock
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
