"""The fuzz run's callers, built once through the real API and services: a worker who joined
and was approved (an active member), an HQ admin, and a platform partner's OAuth2 client;
and real values for path parameters (the federation's tenant codes, another worker's
application, an agenda item on the board), so that some requests reach past the 404."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests

from flexunion.auth.keys import KeyStore
from flexunion.auth.partners.service import create_partner_client
from flexunion.auth.tokens import TokenService
from flexunion.auth.workers.sms import RecordingSmsGateway
from flexunion.config import AUDIENCE_ADMIN, AUDIENCE_MOBILE, AUDIENCE_PARTNER, Settings
from flexunion.core.context import Role
from flexunion.core.secrets import Keyring
from flexunion.db.engine import bind_scope, make_engine, make_sessionmaker
from flexunion.db.scope import DbScope
from tests.conftest import TEST_SECRET, run_in_thread
from tests.fuzz.harness import TALLY, Actors
from tests.support.bargaining import seed_item
from tests.support.clock import ShiftableClock
from tests.support.factories import join, make_federation
from tests.support.server import LiveServer


@pytest.fixture(scope="session")
def actors(settings: Settings, live: LiveServer, sms: RecordingSmsGateway,
           clock: ShiftableClock) -> Actors:
    async def build() -> Actors:
        assert settings.database_url
        engine = make_engine(settings.database_url, pool_size=2, max_overflow=0)
        factory = make_sessionmaker(engine)
        scope = DbScope(None, "test:fuzz")

        def owner() -> Any:
            session = factory()
            bind_scope(session, lambda: scope)
            return session

        try:
            fed = await make_federation(owner, Path(tempfile.mkdtemp(prefix="fuzz-fed-")))  # type: ignore[arg-type]
            tokens = TokenService(settings, KeyStore(factory, Keyring(TEST_SECRET.encode())),
                                  clock)
            hq, _ = await tokens.issue(role=Role.HQ_ADMIN, subject="fuzz",
                                       tenant_id=fed.ids[fed.hq], tenant_code=fed.hq)
            async with owner() as s, s.begin():
                client_id, secret = await create_partner_client(
                    s, tenant_code=fed.hq, partner_code="alpha", name="fuzz 模糊测试")
            item = await seed_item(owner, fed, status="on_agenda")  # type: ignore[arg-type]
        finally:
            await engine.dispose()
        async with httpx.AsyncClient(base_url=live.url, timeout=60) as client:
            granted = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                                        auth=(client_id, secret))
            assert granted.status_code == 200, granted.text
            station = fed.stations[fed.regions[0]][0]
            worker = await join(client, sms, fed, station, approver_token=hq)
            assert worker.body["status"] == "active", worker.body
            # Another worker's application, for the staff operations on a member.
            applicant = await join(client, sms, fed, station)
        return Actors(fed, {AUDIENCE_MOBILE: worker.token, AUDIENCE_ADMIN: hq,
                            AUDIENCE_PARTNER: granted.json()["access_token"]},
                      {"code": fed.all_codes(), "member_id": [applicant.member_id],
                       "item_id": [str(item)]})

    built: Actors = run_in_thread(build)
    return built


@pytest.fixture(scope="session")
def http() -> Iterator[requests.Session]:
    """One keep-alive session for every fuzz request (schemathesis speaks `requests`)."""
    with requests.Session() as session:
        yield session


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Name each operation's test by its operation in its node id, as in its title: with
    pytest ≥ 9.2 schemathesis' items all get the id `test_openapi.py::test_operation`
    (pytest now builds the id from `originalname` and a callspec, which they lack), so a
    failure's summary line, `--lf` and `--deselect` could not tell the operations apart."""
    for item in items:
        label = getattr(item, "operation_label", None)
        if label and "[" not in item.nodeid and hasattr(item, "_id") and item.parent:
            item._id = item.parent._id.child(item.originalname).with_params(label)  # type: ignore[attr-defined]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in TALLY.summary():
        terminalreporter.write_line(line)
