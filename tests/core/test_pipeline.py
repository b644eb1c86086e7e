"""The request pipeline (core/middleware.py, core/uow.py, core/logs.py): what each handler
gets is read from what it declares; an answer is held back only when the handler used the
session, and then sent only after the commit; the access line's cheap path writes what the
JSON formatter would."""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any, cast

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.config import Settings
from flexunion.core import logs
from flexunion.core.middleware import reaches_unit
from flexunion.core.uow import UnitOfWork, run_unit
from flexunion.db.engine import make_engine, make_sessionmaker
from flexunion.db.scope import DbScope


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    assert settings.app_database_url
    engine = make_engine(settings.app_database_url, pool_size=2, max_overflow=0)
    yield make_sessionmaker(engine)
    await engine.dispose()


def _scope() -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": "/x", "headers": [], "state": {}}


async def _nothing() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def test_an_answer_that_needed_no_session_goes_out_before_the_handler_ends(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    uow = UnitOfWork(sessions, DbScope(None, "anonymous"))
    sent: list[dict[str, Any]] = []
    ran: list[str] = []
    go_on = asyncio.Event()

    async def handler(scope: Any, receive: Any, send: Any) -> None:
        uow.after_commit(lambda: _note(ran, "effect"))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await go_on.wait()
        await send({"type": "http.response.body", "body": b"ok", "more_body": False})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    task = asyncio.ensure_future(run_unit(handler, _scope(), _nothing, send, uow))
    for _ in range(20):
        await asyncio.sleep(0)
    assert [m["type"] for m in sent] == ["http.response.start"]  # not held back
    go_on.set()
    await task
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert ran == ["effect"] and not uow.opened


async def _note(ran: list[str], what: str) -> None:
    ran.append(what)


async def test_an_answer_after_a_query_is_held_until_the_commit(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    uow = UnitOfWork(sessions, DbScope(None, "anonymous"))
    seen: list[tuple[str, bool]] = []
    ran: list[str] = []

    async def handler(scope: Any, receive: Any, send: Any) -> None:
        await uow.session.execute(text("SELECT 1"))
        uow.after_commit(lambda: _note(ran, "effect"))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        assert seen == []  # held back while the transaction is open
        await send({"type": "http.response.body", "body": b"ok", "more_body": False})
        assert seen == []

    async def send(message: dict[str, Any]) -> None:
        seen.append((message["type"], uow.started))  # started: a transaction still open
        assert ran == []  # effects only after the answer

    await run_unit(handler, _scope(), _nothing, send, uow)
    await uow.close()
    assert seen == [("http.response.start", False), ("http.response.body", False)]
    assert ran == ["effect"]


@pytest.mark.parametrize("query_first", [True, False], ids=["after-a-query", "no-query"])
async def test_a_failed_answer_rolls_back_and_runs_no_effect(
        sessions: async_sessionmaker[AsyncSession], query_first: bool) -> None:
    uow = UnitOfWork(sessions, DbScope(None, "anonymous"))
    ran: list[str] = []
    statuses: list[int] = []

    async def handler(scope: Any, receive: Any, send: Any) -> None:
        if query_first:
            await uow.session.execute(text("SELECT 1"))
        uow.after_commit(lambda: _note(ran, "effect"))
        await send({"type": "http.response.start", "status": 409, "headers": []})
        await send({"type": "http.response.body", "body": b"no", "more_body": False})

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])
            assert not uow.started  # rolled back first

    await run_unit(handler, _scope(), _nothing, send, uow)
    await uow.close()
    assert statuses == [409] and ran == []


def _handlers(app: Litestar) -> dict[tuple[str, str], Any]:
    found = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                for method in handler.http_methods:
                    found[(method, route.path)] = handler
    return found


def test_only_handlers_that_cannot_reach_the_database_go_without_a_unit(live: Any) -> None:
    app = live.server.config.app
    handlers = _handlers(app)
    assert not reaches_unit(handlers[("GET", "/healthz")])
    for key in [("GET", "/readyz"), ("GET", "/v1/me/membership"),
                ("POST", "/v1/cards/verify")]:  # session, session, request (state["uow"])
        assert reaches_unit(handlers[key]), key
    free = {key for key, handler in handlers.items() if not reaches_unit(handler)}
    for key in free:
        handler = handlers[key]
        assert not handler.opt.get("idempotent"), key
        names = set(handler.parsed_fn_signature.parameters)
        assert not names & {"uow", "session", "request", "scope"}, key


def test_no_handler_resolves_its_dependencies_in_a_task_group(live: Any) -> None:
    """core/deps.resolve_in_turn split every batch: each is awaited alone, in an order that
    keeps every dependency after what it depends on."""
    app = live.server.config.app
    models = [model for route in app.routes if isinstance(route, HTTPRoute)
              for _handler, model in route.route_handler_map.values()]
    assert any(model.dependency_batches for model in models)
    for model in models:
        assert all(len(batch) == 1 for batch in model.dependency_batches)
        done: set[str] = set()
        for (dependency,) in model.dependency_batches:
            assert {d.key for d in dependency.dependencies} <= done, dependency.key
            done.add(dependency.key)


async def test_healthz_answers_with_its_request_id_and_one_access_line(
        client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="flexunion.access"):
        answer = await client.get("/healthz", headers={"X-Request-ID": "pipeline-test-1"})
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}
    assert answer.headers["x-request-id"] == "pipeline-test-1"
    lines = [r for r in caplog.records
             if r.name == "flexunion.access" and getattr(r, "request_id", "") == "pipeline-test-1"]
    assert len(lines) == 1 and lines[0].status == 200 and lines[0].path == "/healthz"


@pytest.fixture
def configured() -> Iterator[io.StringIO]:
    """logs.configure() as `serve` runs it, into a buffer; the logging setup restored after."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, logs._writer
    stream = io.StringIO()
    logs.configure("INFO")
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    try:
        yield stream
    finally:
        root.handlers[:], level, logs._writer = saved[0], saved[1], saved[2]
        root.setLevel(level)


@contextmanager
def alone() -> Iterator[None]:
    """Only the configured handler on the root logger (pytest adds its own to every test)."""
    root = logging.getLogger()
    saved = root.handlers[:]
    assert logs._writer is not None
    root.handlers[:] = [logs._writer.handler]
    try:
        yield
    finally:
        root.handlers[:] = saved


async def test_the_cheap_access_line_is_what_the_json_formatter_writes(
        configured: io.StringIO) -> None:
    paths = ["/v1/me", '/odd"path\\x', "/区域/\x01", "/lone\udcff"]
    with alone():
        assert logs._writer is not None and logs._writer.usable()
        for path in paths:
            logs.access_line("req-12345678", "GET", path, 201, 0.0123456)
        assert configured.getvalue() == ""  # queued: written after this turn of the loop
        await asyncio.sleep(logs.AccessWriter.FLUSH_SECONDS * 3)
    written = [json.loads(line) for line in configured.getvalue().splitlines()]
    record = logging.makeLogRecord({
        "name": "flexunion.access", "levelname": "INFO", "levelno": logging.INFO,
        "msg": "request", "request_id": "req-12345678", "method": "GET", "path": "/v1/me",
        "status": 201, "duration_ms": 12.35})
    reference = json.loads(logs.JsonFormatter().format(record))
    assert list(written[0]) == list(reference)  # the same fields in the same order
    assert {k: v for k, v in written[0].items() if k != "ts"} == {
        k: v for k, v in reference.items() if k != "ts"}
    assert [line["path"] for line in written[:3]] == paths[:3]
    assert written[3]["path"] == "/lone\udcff"


async def test_anyone_else_listening_gets_standard_records(
        configured: io.StringIO, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="flexunion.access"):  # adds a root handler
        assert logs._writer is not None and not logs._writer.usable()
        logs.access_line("req-87654321", "POST", "/v1/x", 422, 0.001)
    assert [(r.name, r.path, r.status) for r in caplog.records
            if r.name == "flexunion.access"] == [("flexunion.access", "/v1/x", 422)]
    access = logging.getLogger("flexunion.access")
    with alone():
        access.setLevel(logging.WARNING)
        try:
            assert not logs._writer.usable()
            logs.access_line("req-87654321", "GET", "/quiet", 200, 0.001)
            await asyncio.sleep(logs.AccessWriter.FLUSH_SECONDS * 3)
        finally:
            access.setLevel(logging.NOTSET)
        assert logs._writer.usable()
    assert "/quiet" not in configured.getvalue()


def test_named_dependencies_take_no_parameters() -> None:
    """core/deps.py's providers read the scope the pipeline set: a provider with parameters
    would be validated through a signature model on every call again (the slow path)."""
    from flexunion.core.deps import DEPENDENCIES

    for name, provide in DEPENDENCIES.items():
        assert not inspect.signature(provide.dependency).parameters, name


async def test_each_request_task_reads_its_own_scope() -> None:
    """Requests interleave at every await; a provider must still read its own request's
    scope (a context variable per task, not one shared slot)."""
    from flexunion.core import deps
    from flexunion.core.context import Caller, Role

    async def one(n: int) -> list[str]:
        caller = Caller(role=Role.HQ_ADMIN, subject=f"s{n}", tenant_id=uuid.uuid4(),
                        tenant_code=f"t{n}", audience="flexunion-admin")
        deps.current_scope.set(cast(Any, {"state": {"caller": caller}}))
        seen = []
        for _ in range(5):
            await asyncio.sleep(0)  # every other task runs (and sets its scope) here
            seen.append(deps._caller().subject)
        return seen

    answers = await asyncio.gather(*(asyncio.create_task(one(n)) for n in range(20)))
    assert answers == [[f"s{n}"] * 5 for n in range(20)]
