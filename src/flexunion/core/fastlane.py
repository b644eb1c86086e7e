"""The fast lane: the few hottest operations answered before Litestar's router, with the
least per-request machinery that keeps every guarantee of the pipeline.

A lane is declared next to its route (`LANES` in the domain's routes.py) and serves one
exact method and path: `GET /healthz`, `POST /v1/cards/verify`, `GET /v1/geo/resolve`,
`GET /v1/geo/stations/nearby`. The route itself stays as it is: routed, validated and
documented by Litestar (the OpenAPI document does not change), and it answers every request
the lane does not take.

The lane takes only a request it can answer exactly as the route would, and hands anything
else to the full pipeline untouched (its body replayed):

- the request id (the client's X-Request-ID when sane) and the same access line;
- the same token check (`TokenService.verify` with the route's audiences, then its roles);
  any refusal — no token, a bad one, a wrong role — goes to the pipeline, which answers the
  401/403 it always did;
- input only of the plainest shape: no NUL in any header, a query string without escapes
  whose every parameter the lane knows, written as Litestar and the input guard would take
  it (decimal numbers, `true`/`false`, enum values, within the route's bounds), a JSON body
  within the route's size limit decoded strictly into the route's own type. Anything else
  (a missing or malformed value, an unknown or repeated parameter, an escape, a body too
  large) is the pipeline's, which answers its 4xx problem+json with the same code;
- the route's own work (one function both call), in a lazily opened unit of work: no
  session, no transaction unless the work asks for one; if it did, the lane commits before
  it sends (as core/uow.py does) and runs the after-commit effects after. A domain error, a
  database error, anything raised: the unit of work is rolled back and the request goes to
  the pipeline, which does the work again and answers as it always did (the lanes only
  read, so doing it twice changes nothing);
- the same body bytes (Litestar's JSON encoder) and headers (content-type, content-length,
  X-Request-ID).

Why before the router rather than as a Litestar `@asgi` handler: measured in process, an
`@asgi` handler still pays the router, Litestar's exception layers, the pipeline layer and
the before_send hook, which is most of what separated /healthz from a bare hello-world; see
docs/architecture.md, "The fast lane" (figures of 2026-12-07).
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.serialization import encode_json
from litestar.types import Receive, Scope, Send

from flexunion.core.context import Caller
from flexunion.core.logs import access_line
from flexunion.core.request_id import ensure_request_id
from flexunion.core.uow import UnitOfWork
from flexunion.db.scope import DbScope

T = TypeVar("T")
_JSON = b"application/json"
# A query value the lanes take as it stands: no escapes, no spaces, nothing to decode.
_PLAIN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# Numbers as Litestar reads a float, in their plainest decimal form (no exponent, no inf/nan:
# those go to the pipeline, which refuses them with its own codes).
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]{0,2})(?:\.[0-9]{1,15})?")
_DIGITS = re.compile(r"0|[1-9][0-9]{0,8}")


class Declined(Exception):
    """Raised by a lane's work: this request is the full pipeline's."""


@dataclass(slots=True)
class LaneRequest:
    """What a lane's work reads: the app's state, the verified caller (None for a public
    lane), the query parameters (one value each; `repeated` ones as lists), the body, and a
    unit of work whose session opens only when asked for."""

    state: Any
    caller: Caller | None
    query: dict[str, str]
    lists: dict[str, list[str]]
    body: bytes
    request_id: str
    _uow: UnitOfWork | None = None

    @property
    def uow(self) -> UnitOfWork:
        if self._uow is None:
            caller = self.caller
            scope = (caller.db_scope(self.request_id) if caller
                     else DbScope(None, "anonymous", self.request_id))
            self._uow = UnitOfWork(self.state.sessionmaker, scope)
        return self._uow


Work = Callable[[LaneRequest], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Lane:
    """One operation's fast lane. `work` returns what the route returns (encoded as
    Litestar encodes it) or raises `Declined`; `query` names every query parameter it
    takes (others: declined), `repeated` those that may come more than once; `max_body`
    None means no body (a request with one is declined)."""

    method: str
    path: str
    work: Work
    audiences: tuple[str, ...] = ()
    roles: frozenset[Any] | None = None
    query: frozenset[str] = frozenset()
    repeated: frozenset[str] = frozenset()
    max_body: int | None = None
    status: int = 200
    key: tuple[str, str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", (self.method, self.path))


def lane(method: str, path: str, work: Work, opt: dict[str, Any] | None = None,
         **more: Any) -> Lane:
    """A lane with the access of the route's `opt` preset (core/http.py)."""
    opt = opt or {}
    roles = opt.get("roles")
    return Lane(method, path, work, audiences=tuple(opt.get("audiences") or ()),
                roles=frozenset(roles) if roles else None, **more)


def decimal(value: str | None) -> float:
    """A required query number in its plainest form, else Declined."""
    if value is None or not _DECIMAL.fullmatch(value):
        raise Declined
    return float(value)


def member(value: str | None, kind: Callable[[str], T], default: T) -> T:
    """An enum's member named by its value (`default` when absent), else Declined."""
    if value is None:
        return default
    try:
        return kind(value)
    except ValueError as exc:
        raise Declined from exc


def integer(value: str | None, default: int, low: int, high: int) -> int:
    """A query integer in decimal digits within [low, high] (the route's bounds), else
    Declined; `default` when absent."""
    if value is None:
        return default
    if not _DIGITS.fullmatch(value):
        raise Declined
    number = int(value)
    if not low <= number <= high:
        raise Declined
    return number


def boolean(value: str | None) -> bool | None:
    if value is None:
        return None
    if value == "true":
        return True
    if value == "false":
        return False
    raise Declined


def _query(raw: bytes, lane: Lane) -> tuple[dict[str, str], dict[str, list[str]]] | None:
    single: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    if not raw:
        return single, lists
    for pair in raw.decode("latin-1").split("&"):
        key, eq, value = pair.partition("=")
        if not eq or key not in lane.query or not _PLAIN.fullmatch(value):
            return None
        if key in lane.repeated:
            lists.setdefault(key, []).append(value)
        elif key in single:
            return None
        else:
            single[key] = value
    return single, lists


def _replay(chunks: list[bytes], more: bool, receive: Receive) -> Receive:
    """What the pipeline reads when the lane declines after reading some of the body: what
    was read, then (if the client sends more) the rest from the client."""
    pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": more}]

    async def replay() -> Any:
        if pending:
            return pending.pop()
        return await receive()

    return replay


def _route_of(app: Litestar, lane: Lane) -> tuple[Any, Any]:
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path == lane.path:
            handlers: dict[Any, tuple[Any, Any]] = dict(route.route_handler_map)
            found = handlers.get(lane.method)
            if found is not None:
                return found
    raise RuntimeError(f"fast lane {lane.method} {lane.path} has no route")


async def _discard(uow: UnitOfWork | None) -> None:
    if uow is not None:
        try:
            await uow.rollback()
        finally:
            await uow.close()


class FastLanes:
    """Every lane of the app, by (method, path)."""

    def __init__(self, lanes: list[Lane]) -> None:
        self.lanes = {lane.key: lane for lane in lanes}

    def check(self, app: Litestar) -> None:
        """Each lane stands for a route of `app` with the same access, body limit and (a
        subset of its) query parameters; raise at start-up otherwise."""
        for lane in self.lanes.values():
            handler, kwargs_model = _route_of(app, lane)
            opt = handler.opt
            roles = opt.get("roles")
            taken = {p.field_alias for p in kwargs_model.expected_query_params}
            problems = [
                what for what, ok in (
                    ("audiences", tuple(opt.get("audiences") or ()) == lane.audiences),
                    ("roles", (frozenset(roles) if roles else None) == lane.roles),
                    ("query", lane.query <= taken),
                    ("max_body", lane.max_body is None
                     or handler.resolve_request_max_body_size() == lane.max_body),
                    ("status", handler.status_code == lane.status),
                    ("idempotent", not opt.get("idempotent") and not opt.get("console")),
                ) if not ok]
            if problems:
                raise RuntimeError(f"fast lane {lane.method} {lane.path} differs from its "
                                   f"route in {', '.join(problems)}")

    async def serve(self, app: Litestar, lane: Lane, scope: Scope, receive: Receive,
                    send: Send) -> Receive | None:
        """Answer the request (None), or return the `receive` the full pipeline must read
        it from (the body replayed when the lane read it)."""
        authorization = None
        has_body = False
        for key, value in scope["headers"]:
            if b"\x00" in value:
                return receive
            key = key.lower()
            if key == b"authorization":
                authorization = value
            elif key == b"content-length":
                has_body = value.strip() not in (b"", b"0")
            elif key == b"transfer-encoding":
                has_body = True
            elif key == b"content-type" and value != _JSON:
                return receive
        request_id = ensure_request_id(scope)
        state = app.state
        caller: Caller | None = None
        if lane.audiences:
            if authorization is None:
                return receive
            scheme, _, token = authorization.decode("latin-1").partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                return receive
            try:
                caller = await state.tokens.verify(token, lane.audiences)
            except Exception:  # the pipeline answers the refusal (401), as it always did
                return receive
            if lane.roles is not None and caller.role not in lane.roles:
                return receive
        query = _query(scope.get("query_string", b""), lane) if lane.query else ({}, {})
        if query is None:
            return receive
        body = b""
        if has_body:
            if lane.max_body is None:
                return receive
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return _replay(chunks, False, receive)
                chunk = message.get("body", b"")
                chunks.append(chunk)
                size += len(chunk)
                more = message.get("more_body", False)
                if size > lane.max_body:
                    return _replay(chunks, more, receive)
                if not more:
                    break
            body = b"".join(chunks)
            receive = _replay(chunks, False, receive)
        elif lane.max_body is not None:
            return receive  # a body is required: the pipeline says so (422)
        request = LaneRequest(state, caller, query[0], query[1], body, request_id)
        try:
            answer = encode_json(await lane.work(request))
            uow = request._uow
            if uow is not None and uow.opened:
                await uow.commit()  # before the answer is sent, as core/uow.py does
        except Exception:  # the pipeline does it again and answers as it always did
            await _discard(request._uow)
            return receive
        except BaseException:
            await _discard(request._uow)
            raise
        try:
            await send({"type": "http.response.start", "status": lane.status, "headers": [
                (b"content-type", _JSON), (b"content-length", str(len(answer)).encode()),
                (b"x-request-id", request_id.encode())]})
            await send({"type": "http.response.body", "body": answer, "more_body": False})
            started = scope["state"].get("started")
            access_line(request_id, lane.method, scope["path"], lane.status,
                        time.perf_counter() - started if started is not None else 0.0)
            if uow is not None:
                await uow.run_after_commit()  # after the answer, as core/uow.py runs them
        finally:
            if uow is not None:
                await uow.close()
        return None


class FlexunionApp(Litestar):
    """Litestar with the fast lanes in front of its router (see the module docstring)."""

    __slots__ = ("fast_lanes",)

    def __init__(self, *args: Any, fast_lanes: FastLanes | None = None, **kwargs: Any) -> None:
        self.fast_lanes = fast_lanes
        super().__init__(*args, **kwargs)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        lanes = self.fast_lanes
        if lanes is not None and scope["type"] == "http":
            lane = lanes.lanes.get((scope["method"], scope["path"]))
            if lane is not None:
                scope["app"] = scope["litestar_app"] = self
                scope.setdefault("state", {})
                receive = await lanes.serve(self, lane, scope, receive, send)
                if receive is None:
                    return
        await super().__call__(scope, receive, send)
