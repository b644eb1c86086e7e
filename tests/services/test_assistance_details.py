"""Special-category data (健康与家庭信息): sealed at rest, read only by the case's handlers —
never by a partner, another region's staff or HQ — masked in lists, and purged by the
`assistance-purge` job after the retention period, audited."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import msgspec
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.config import Settings
from flexunion.core.clock import BEIJING
from flexunion.db.engine import bind_scope, make_engine, make_sessionmaker
from flexunion.db.scope import DbScope
from flexunion.jobs import service as jobs
from flexunion.jobs.service import Body
from tests.support.assistance import ADMIN, DETAILS, applied, approved, budget, desk
from tests.support.bargaining import partner_client
from tests.support.factories import Federation, bearer


@pytest.fixture
async def app_sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(settings.app_database_url, pool_size=2, max_overflow=0)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def _visible(sessions: async_sessionmaker[AsyncSession], scope: DbScope,
                   table: str) -> int:
    async with sessions() as s:
        bind_scope(s, lambda: scope)
        async with s.begin():
            return int(await s.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


async def test_only_the_handlers_read_the_details(client, sms, owner, app_sessions,
                                                  federation: Federation, staff_token) -> None:
    fed = federation
    d = await desk(client, sms, fed, staff_token)
    case = await applied(client, d)
    # stored sealed: the plain text is nowhere in the row
    async with owner() as s:
        sealed = await s.scalar(text("SELECT sealed FROM assistance_details WHERE case_id = :c"),
                                {"c": case})
    assert sealed and "肾".encode() not in sealed and "透析".encode() not in bytes(sealed)
    # its handlers: the station's officer and the region's committee
    for token in (d.officer, d.region):
        r = await client.get(f"{ADMIN}/cases/{case}", headers=bearer(token))
        assert r.status_code == 200 and r.json()["details"] == DETAILS, r.text
    # HQ sees the case (its subtree) but not the details
    r = await client.get(f"{ADMIN}/cases/{case}", headers=bearer(d.hq))
    assert r.status_code == 200 and r.json()["details"] is None
    # another region's staff and another station's officer: no such case at all
    other_region = await staff_token(fed, "regional_admin", fed.regions[1])
    other_station = await staff_token(fed, "station_officer", fed.stations[fed.regions[0]][1])
    for token in (other_region, other_station):
        r = await client.get(f"{ADMIN}/cases/{case}", headers=bearer(token))
        assert r.status_code == 404 and r.json()["code"] == "assistance_case_not_found"
        listed = (await client.get(f"{ADMIN}/cases", headers=bearer(token))).json()
        assert case not in [c["id"] for c in listed]
    # a list masks them, even for the handlers
    listed = (await client.get(f"{ADMIN}/cases", headers=bearer(d.region))).json()
    row = next(c for c in listed if c["id"] == case)
    assert row["details"].startswith("●●●") and "肾" not in msgspec.json.encode(listed).decode()
    # a partner's API has no such route, and in the database a partner sees no row
    alpha = await partner_client(client, owner, fed, "alpha")
    r = await client.get(f"{ADMIN}/cases/{case}", headers=bearer(alpha.token))
    assert r.status_code == 401
    hq_id = fed.ids[fed.hq]
    async with owner() as s:
        client_id = await s.scalar(text("SELECT client_id FROM partner_clients"
                                        " WHERE tenant_id = :t LIMIT 1"), {"t": hq_id})
    for scope in (DbScope(hq_id, f"partner:{client_id}"),
                  DbScope(fed.ids[fed.regions[0]], f"partner:{client_id}"),
                  DbScope(fed.ids[fed.regions[1]], "regional_admin:other"),
                  DbScope(hq_id, "hq_admin:tester")):
        assert await _visible(app_sessions, scope, "assistance_details") == 0, scope
    assert await _visible(app_sessions, DbScope(fed.ids[fed.regions[0]], "regional_admin:x"),
                          "assistance_details") == 1
    for table in ("assistance_cases", "assistance_details"):
        assert await _visible(app_sessions, DbScope(hq_id, f"partner:{client_id}"), table) == 0


async def test_details_are_purged_after_retention(client, sms, owner, clock, settings,
                                                  app_sessions, federation: Federation,
                                                  staff_token) -> None:
    fed = federation
    d = await desk(client, sms, fed, staff_token)
    r = await client.put(f"{ADMIN}/policy", headers=bearer(d.hq), json={
        "yearly_cap_fen": 500000, "urgent_step_hours": 24, "ordinary_step_days": 5,
        "retention_days": 30})
    assert r.status_code == 200
    year = clock.now().astimezone(BEIJING).year
    line = await budget(client, d, year, 1_000_000)
    closed = await approved(client, d, 100000)
    r = await client.post(f"{ADMIN}/cases/{closed}/grants", headers=bearer(d.region),
                          json={"amount_fen": 100000, "budget_line": line["code"]})
    assert r.status_code == 200, r.text
    r = await client.post(f"{ADMIN}/cases/{closed}/follow-up", headers=bearer(d.officer),
                          json={"note": "回访：已出院，情况好转"})
    assert r.status_code == 200 and r.json()["step"] == "closed", r.text
    still_open = await applied(client, d)
    body = msgspec.json.encode(Body(fed.ids[fed.hq], {}))
    # before the retention period: nothing to purge
    assert await jobs.run("assistance-purge", body, sessions=app_sessions, settings=settings,
                          clock=clock) == 0
    clock.advance(days=31)
    assert await jobs.run("assistance-purge", body, sessions=app_sessions, settings=settings,
                          clock=clock) == 1
    assert await jobs.run("assistance-purge", body, sessions=app_sessions, settings=settings,
                          clock=clock) == 0  # idempotent
    async with owner() as s:
        left = (await s.execute(text("SELECT case_id::text FROM assistance_details"
                                     " WHERE case_id = ANY(:c)"),
                                {"c": [uuid.UUID(closed), uuid.UUID(still_open)]})).scalars().all()
        audited = await s.scalar(text(
            "SELECT count(*) FROM audit_events WHERE action = 'assistance.details_purged'"
            " AND object_id = :c AND actor = 'system:jobs:assistance-purge'"), {"c": closed})
    assert left == [still_open] and audited == 1
    r = await client.get(f"{ADMIN}/cases/{closed}", headers=bearer(d.region))
    read = r.json()
    assert read["details"] is None and read["details_purged_at"] is not None
    assert read["granted_fen"] == 100000  # the ledger itself is kept
