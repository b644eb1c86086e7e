"""One unit of work per request: one session, one transaction, committed once.

The session is opened lazily, on a handler's first use. A handler that has used it has its
response held back: the pipeline commits only when it answered below 400, and only then
sends it, so a client never sees success for a write that did not land. A handler that never
used it (a health check, an answer from memory, a refusal before any query) has nothing to
commit: its response goes straight out, unbuffered. Side effects registered with
`after_commit` run after the commit (after the answer, when there was nothing to commit) and
never inside the transaction. Handlers reach the session through the `uow` dependency;
services never commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import msgspec
from litestar.utils.scope.state import ScopeState
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.core.problems import PROBLEM_JSON, database_problem, problem_body
from flexunion.db.engine import DatabaseUnavailable, apply_scope, bind_scope
from flexunion.db.scope import DbScope

if TYPE_CHECKING:
    from litestar.types import Scope

log = logging.getLogger(__name__)

# A service holds only the session: it registers its after-commit effects on the session
# (`after_commit(session, effect)`), and the unit of work runs them with its own, after the
# commit, or drops them with a rollback. The app's outbound channels (the SMS gateway and the
# keyring that opens sealed phones) ride on every session of its sessionmaker (`OUTBOUND` in
# `Session.info`); a session made elsewhere (a CLI, a test's owner session) has none.
AFTER_COMMIT = "flexunion.after_commit"
OUTBOUND = "flexunion.outbound"


@dataclass(frozen=True, slots=True)
class Outbound:
    """sms: an SMS gateway (auth/workers/sms.py: `send_notice`); keyring: opens sealed
    phones (core/secrets.py)."""

    sms: Any
    keyring: Any


def after_commit(session: AsyncSession, effect: Callable[[], Awaitable[None]]) -> None:
    session.info.setdefault(AFTER_COMMIT, []).append(effect)


def outbound(session: AsyncSession) -> Outbound | None:
    """The app's outbound channels (`.sms`, `.keyring`), or None outside the app."""
    return session.info.get(OUTBOUND)

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


class UnitOfWork:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], scope: DbScope) -> None:
        self._sessionmaker = sessionmaker
        self.scope = scope
        self._session: AsyncSession | None = None
        self._after_commit: list[Callable[[], Awaitable[None]]] = []
        self.keep_on_error = False

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            self._session = self._sessionmaker()
            bind_scope(self._session, lambda: self.scope)
        return self._session

    @property
    def opened(self) -> bool:
        """Whether anything asked for the session (it may not have begun a transaction)."""
        return self._session is not None

    @property
    def started(self) -> bool:
        return self._session is not None and self._session.in_transaction()

    async def rescope(self, scope: DbScope) -> None:
        self.scope = scope
        if self.started:
            await apply_scope(self.session, scope)

    def after_commit(self, effect: Callable[[], Awaitable[None]]) -> None:
        self._after_commit.append(effect)

    async def commit(self) -> None:
        if self.started:
            await self.session.commit()

    async def rollback(self) -> None:
        self._after_commit.clear()
        if self._session is not None:
            self._session.info.pop(AFTER_COMMIT, None)
            await self._session.rollback()

    async def run_after_commit(self) -> None:
        effects, self._after_commit = self._after_commit, []
        if self._session is not None:
            effects += self._session.info.pop(AFTER_COMMIT, [])
        for effect in effects:
            try:
                await effect()
            except Exception:  # a side effect must not turn a landed write into an error
                log.exception("after-commit effect failed")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def problem_messages(
    status: int,
    code: str,
    title: str,
    title_en: str,
    *,
    detail: str | None = None,
    detail_en: str | None = None,
    path: str | None = None,
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    body = msgspec.json.encode(
        problem_body(
            status=status,
            code=code,
            title=title,
            title_en=title_en,
            detail=detail,
            detail_en=detail_en,
            instance=path,
            request_id=request_id,
        )
    )
    raw_headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    for name, value in (headers or {}).items():
        raw_headers.append((name.lower().encode(), value.encode()))
    if request_id:
        raw_headers.append((b"x-request-id", request_id.encode()))
    return [
        {"type": "http.response.start", "status": status, "headers": raw_headers},
        {"type": "http.response.body", "body": body, "more_body": False},
    ]


def commit_failure(exc: BaseException, path: str, request_id: str) -> list[dict[str, Any]]:
    problem = database_problem(exc)
    if problem is not None:
        return problem_messages(
            problem["status"], problem["code"], problem["title"], problem["title_en"],
            detail=problem.get("detail"), detail_en=problem.get("detail_en"),
            path=path, request_id=request_id, headers=problem.get("headers"),
        )
    log.error("commit failed", exc_info=exc)
    return problem_messages(
        500, "internal_error", "服务内部错误", "Internal server error",
        path=path, request_id=request_id,
    )


def body_ends(message: dict[str, Any]) -> bool:
    """Whether nothing of the request body follows this message."""
    return message["type"] != "http.request" or not message.get("more_body", False)


async def receive_until(receive: Receive, answered: asyncio.Event) -> dict[str, Any]:
    """The client's next message, or `http.disconnect` once the answer is whole (a handler
    streaming a response waits for the client to leave; held back, the client cannot).
    Only for a wait past the request body: the body itself is read straight from `receive`
    (it is on its way; two tasks and a wait per body read would cost ~10 µs for nothing)."""
    if answered.is_set():
        return {"type": "http.disconnect"}
    incoming = asyncio.ensure_future(receive())
    done = asyncio.ensure_future(answered.wait())
    await asyncio.wait({incoming, done}, return_when=asyncio.FIRST_COMPLETED)
    done.cancel()
    if incoming.done():
        return incoming.result()
    incoming.cancel()
    return {"type": "http.disconnect"}


async def run_buffered(
    app: Callable[..., Awaitable[None]],
    scope: dict[str, Any],
    receive: Receive,
    uow: UnitOfWork,
) -> tuple[int, list[dict[str, Any]]]:
    """Run the handler with its response held back; return status and messages.

    A streamed response (a large file) finishes only when the client has left; the client
    here cannot leave before it has the answer, so once the whole answer is captured the
    handler hears `http.disconnect`."""
    messages: list[dict[str, Any]] = []
    status = 500
    answered = asyncio.Event()

    async def capture(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            answered.set()

    body_done = False

    async def listen() -> dict[str, Any]:
        nonlocal body_done
        if not body_done and not answered.is_set():
            message = await receive()
            body_done = body_ends(message)
            return message
        return await receive_until(receive, answered)

    await app(scope, listen, capture)
    # Only captured, not sent: Litestar marked the response as started when the handler's
    # start message passed its error handling, and would then answer an error raised after
    # this (storing an idempotent answer, say) with a bare 500 instead of problem+json.
    ScopeState.from_scope(cast("Scope", scope)).response_started = False
    return status, messages


async def finish(
    uow: UnitOfWork, status: int, messages: list[dict[str, Any]], send: Send, scope: dict[str, Any]
) -> None:
    """Commit on success (rollback otherwise), then send what the client sees."""
    request_id = scope.get("state", {}).get("request_id", "")
    if status < 400 or uow.keep_on_error:
        try:
            await uow.commit()
        except (DBAPIError, DatabaseUnavailable) as exc:
            await uow.rollback()
            messages = commit_failure(exc, scope.get("path", ""), request_id)
    else:
        await uow.rollback()
    for message in messages:
        await send(message)
    if status < 400:
        await uow.run_after_commit()


async def run_unit(
    app: Callable[..., Awaitable[None]],
    scope: dict[str, Any],
    receive: Receive,
    send: Send,
    uow: UnitOfWork,
) -> None:
    """Run the handler in `uow`: its answer is held back and sent after the commit when the
    handler opened the session before answering (`run_buffered` + `finish`), and passed
    straight through when it had not (nothing to commit; `after_commit` effects then run
    after the answer). A session first opened while a response streams (after its start
    went out) is committed when it ends, rolled back on error."""
    messages: list[dict[str, Any]] = []
    status = 500
    through = False
    answered = False
    body_done = False
    woken: asyncio.Event | None = None

    async def relay(message: dict[str, Any]) -> None:
        nonlocal status, through, answered, woken
        if through:
            await send(message)
            return
        if message["type"] == "http.response.start":
            status = message["status"]
            if not uow.opened:
                through = True
                await send(message)
                return
        messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            answered = True
            if woken is not None:
                woken.set()

    async def listen() -> dict[str, Any]:
        nonlocal woken, body_done
        if through:
            return await receive()
        if answered:
            return {"type": "http.disconnect"}
        if not body_done:
            message = await receive()
            body_done = body_ends(message)
            return message
        woken = woken or asyncio.Event()
        return await receive_until(receive, woken)

    await app(scope, listen, relay)
    if through:
        if status < 400 or uow.keep_on_error:
            await uow.commit()
        else:
            await uow.rollback()
        if status < 400:
            await uow.run_after_commit()
        return
    # Only captured, not sent: see run_buffered.
    ScopeState.from_scope(cast("Scope", scope)).response_started = False
    await finish(uow, status, messages, send, scope)
