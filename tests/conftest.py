"""Test fixtures: one real, migrated PostgreSQL per run (per xdist worker), the real app on a
real socket.

Only the outside world is faked: the SMS gateway (a recording fake) and the clock
(real time plus a movable offset).

The suite runs in parallel (pytest-xdist, `-n auto --dist loadgroup` in pyproject.toml):
every worker is a pytest session of its own, with its own tmp_path_factory directory and so
its own embedded PostgreSQL, app server and fakes; `-n 0` runs it in one process."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.app import create_app
from flexunion.auth.keys import KeyStore, ensure_active_key
from flexunion.auth.tokens import TokenService
from flexunion.auth.workers.sms import RecordingSmsGateway
from flexunion.config import Settings
from flexunion.core.context import Role
from flexunion.core.secrets import Keyring
from flexunion.db.engine import bind_scope, make_engine, make_sessionmaker
from flexunion.db.runtime import owner_session
from flexunion.db.scope import DbScope
from tests.support import database
from tests.support.clock import ShiftableClock
from tests.support.factories import Federation, make_federation
from tests.support.server import LiveServer

TEST_SECRET = "flexunion-test-secret-not-for-production"
TEST_ISSUER = "http://flexunion.test"


def run_in_thread(coro_fn: Callable[[], Awaitable[Any]]) -> Any:
    """Run a coroutine to completion on a private loop (session fixtures are sync)."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro_fn())  # type: ignore[arg-type]
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


@pytest.fixture(scope="session")
def test_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[database.TestDatabase]:
    db = database.create(tmp_path_factory.mktemp("pg"))
    yield db
    db.stop()


@pytest.fixture(scope="session")
def settings(test_db: database.TestDatabase, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    s = Settings(
        database_url=test_db.owner_url,
        app_database_url=test_db.app_url,
        data_dir=tmp_path_factory.mktemp("data"),
        secret_key=TEST_SECRET,
        issuer=TEST_ISSUER,
        load_demo=False,
    )

    async def ensure_key() -> None:
        async with owner_session(s) as session:
            await ensure_active_key(session, Keyring(TEST_SECRET.encode()))

    run_in_thread(ensure_key)
    return s


@pytest.fixture(scope="session")
def sms() -> RecordingSmsGateway:
    return RecordingSmsGateway()


@pytest.fixture(scope="session")
def clock() -> ShiftableClock:
    return ShiftableClock()


@pytest.fixture(autouse=True)
def _reset_clock(clock: ShiftableClock) -> Iterator[None]:
    yield
    clock.offset = type(clock.offset)()


@pytest.fixture(scope="session")
def live(settings: Settings, sms: RecordingSmsGateway,
         clock: ShiftableClock) -> Iterator[LiveServer]:
    server = LiveServer(create_app(settings, sms=sms, clock=clock)).start()
    yield server
    server.stop()


@pytest.fixture
async def client(live: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=live.url, timeout=60, limits=limits) as c:
        yield c


@pytest.fixture
async def owner(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Owner sessions, for arranging and inspecting rows behind the API's back."""
    assert settings.database_url
    engine = make_engine(settings.database_url, pool_size=2, max_overflow=2)
    factory = make_sessionmaker(engine)
    scope = DbScope(None, "test:owner")

    def session() -> AsyncSession:
        s = factory()
        bind_scope(s, lambda: scope)  # audit events written here name an actor
        return s

    yield session  # type: ignore[misc]
    await engine.dispose()


@pytest.fixture
async def tokens(settings: Settings, clock: ShiftableClock) -> AsyncIterator[TokenService]:
    assert settings.database_url
    engine = make_engine(settings.database_url, pool_size=1, max_overflow=0)
    yield TokenService(settings, KeyStore(make_sessionmaker(engine), Keyring(TEST_SECRET.encode())),
                       clock)
    await engine.dispose()


@pytest.fixture
def staff_token(tokens: TokenService) -> Callable[..., Awaitable[str]]:
    """A signed staff/partner token for a tenant of a federation built in the test."""

    async def issue(fed: Federation, role: str, code: str, subject: str = "tester") -> str:
        token, _ = await tokens.issue(role=Role(role), subject=subject, tenant_id=fed.ids[code],
                                      tenant_code=code)
        return token

    return issue


@pytest.fixture
async def federation(owner: async_sessionmaker[AsyncSession], tmp_path: Any) -> Federation:
    return await make_federation(owner, tmp_path)


@pytest.fixture
async def other_federation(owner: async_sessionmaker[AsyncSession], tmp_path: Any) -> Federation:
    return await make_federation(owner, tmp_path / "other")


# ---- pytest-xdist ------------------------------------------------------------------------


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Make `@pytest.mark.xdist_group` work under `--dist loadgroup`: pytest-xdist (3.8)
    puts an item in its group by appending `@<group>` to `item._nodeid`, which pytest ≥ 9.2
    no longer reads (an item's nodeid is `str(item._id)`), so without this every test would
    be a group of its own, silently. Runs in each worker, after every other collection hook
    (tests/fuzz renames its items); does nothing once xdist has added the suffix itself."""
    if not getattr(config.option, "loadgroup", False) or not hasattr(config, "workerinput"):
        return
    for item in items:
        names = sorted({str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                        for mark in item.iter_markers("xdist_group")})
        if names and "@" not in item.nodeid and hasattr(item, "_id"):
            suffixed = f"{item.nodeid}@{'_'.join(names)}"  # as xdist would name it
            item._id = type(item._id).parse(suffixed)  # type: ignore[attr-defined]


WORKER_SUMMARIES: list[str] = []


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object | None) -> None:
    """In the xdist controller: keep the lines a worker left for the summary (tests/fuzz's
    tally: a worker prints no summary of its own)."""
    WORKER_SUMMARIES.extend(getattr(node, "workeroutput", {}).get("summary_lines", []))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in WORKER_SUMMARIES:
        terminalreporter.write_line(line)
