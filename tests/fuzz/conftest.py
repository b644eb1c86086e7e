"""The fuzz run's callers, built once through the real API and services: a worker who joined
and was approved (an active member), an HQ admin, and a platform partner's OAuth2 client;
and real values for path parameters (the federation's tenant codes, another worker's
application, an agenda item on the board), so that some requests reach past the 404."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests

from flexunion.auth.workers.sms import RecordingSmsGateway
from flexunion.config import (
    AUDIENCE_ADMIN,
    AUDIENCE_MOBILE,
    AUDIENCE_PARTNER,
    AUDIENCE_PROVIDER,
    Settings,
)
from tests.conftest import run_in_thread
from tests.fuzz.harness import TALLY, Actors
from tests.support.bargaining import seed_item
from tests.support.callers import staffed_federation
from tests.support.clock import ShiftableClock
from tests.support.factories import join
from tests.support.server import LiveServer


@pytest.fixture(scope="session")
def actors(settings: Settings, live: LiveServer, sms: RecordingSmsGateway,
           clock: ShiftableClock) -> Actors:
    async def build() -> Actors:
        staffed = await staffed_federation(
            settings, clock, live.url, "fuzz",
            seed=lambda owner, fed: seed_item(owner, fed, status="on_agenda"))
        fed, hq, item = staffed.fed, staffed.hq_token, staffed.seeded
        async with httpx.AsyncClient(base_url=live.url, timeout=60) as client:
            station = fed.stations[fed.regions[0]][0]
            worker = await join(client, sms, fed, station, approver_token=hq)
            assert worker.body["status"] == "active", worker.body
            # Another worker's application, for the staff operations on a member.
            applicant = await join(client, sms, fed, station)
        return Actors(fed, {AUDIENCE_MOBILE: worker.token, AUDIENCE_ADMIN: hq,
                            AUDIENCE_PARTNER: staffed.partner_token,
                            AUDIENCE_PROVIDER: staffed.provider_token},
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


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In an xdist worker, hand the tally to the controller, which prints it (tests/conftest.py
    pytest_testnodedown); the module runs on one worker (its xdist_group)."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output.setdefault("summary_lines", []).extend(TALLY.summary())
