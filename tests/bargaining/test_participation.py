"""流动议事: a member may see and support another region's board while a participation grant
(from check-ins there, an open case there, or a regional admin) is active; expired or revoked,
the board is out of reach again. Real database, real app, the real job."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.config import Settings
from flexunion.core.clock import FixedClock
from flexunion.db.engine import make_engine, make_sessionmaker
from flexunion.jobs import service as jobs
from tests.jobs.conftest import body
from tests.support.bargaining import seed_item
from tests.support.factories import Federation, bearer, join


@pytest.fixture
async def app_sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions as the app role, for the job (it binds its own scope)."""
    assert settings.app_database_url
    engine = make_engine(settings.app_database_url, pool_size=2, max_overflow=2)
    yield make_sessionmaker(engine)
    await engine.dispose()


def _key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(8)}


async def _member(client, sms, fed: Federation, staff_token, region: int = 0):
    hq = await staff_token(fed, "hq_admin", fed.hq)
    return await join(client, sms, fed, fed.stations[fed.regions[region]][0], approver_token=hq)


async def _checkins(owner, fed: Federation, member, region: int, n: int,
                    days_ago: float = 1) -> None:
    where = fed.ids[fed.stations[fed.regions[region]][0]]
    async with owner() as s, s.begin():
        for _ in range(n):
            await s.execute(text(
                "INSERT INTO location_checkins (id, federation_id, tenant_id, member_id,"
                " worker_id, recorded_at, local_day, lon, lat, jurisdiction_tenant_id)"
                " SELECT gen_random_uuid(), m.federation_id, m.tenant_id, m.id, m.worker_id,"
                " now() - make_interval(secs => :ago), current_date, 121.45, 31.15, :where"
                " FROM members m WHERE m.id = :m"),
                {"m": uuid.UUID(member.member_id), "where": where, "ago": days_ago * 86400})


async def _audits(owner, action: str, grant_id: str) -> list[str]:
    async with owner() as s:
        return list((await s.scalars(text(
            "SELECT actor FROM audit_events WHERE action = :a AND object_id = :g"
            ), {"a": action, "g": grant_id})).all())


async def _run(app_sessions, settings: Settings, fed: Federation, at: datetime) -> int | None:
    return await jobs.run("participation", body(fed.ids[fed.hq]), sessions=app_sessions,
                          settings=settings, clock=FixedClock(at))


async def test_checkins_grant_the_region_and_the_grant_expires(
    client, sms, owner, federation: Federation, staff_token, app_sessions, settings: Settings,
) -> None:
    first = await seed_item(owner, federation, scope=federation.regions[1])
    second = await seed_item(owner, federation, scope=federation.regions[1], title="派单不公")
    m = await _member(client, sms, federation, staff_token, region=0)
    url = f"/v1/bargaining/items/{first}/support"
    # No grant: the other region's item is not on my board, and support is refused.
    r = await client.put(url, headers=bearer(m.token) | _key())
    assert r.status_code == 404 and r.json()["code"] == "agenda_item_not_found"
    assert (await client.get("/v1/me/participation", headers=bearer(m.token))).json() == []

    # Too few check-ins, or too old: the job grants nothing.
    need = settings.bargaining.participation_min_checkins
    await _checkins(owner, federation, m, 1, need - 1)
    await _checkins(owner, federation, m, 1, 3,
                    days_ago=settings.bargaining.participation_window_days + 1)
    now = datetime.now(UTC)
    assert await _run(app_sessions, settings, federation, now) == 0
    # Check-ins in the home region count for nothing either.
    await _checkins(owner, federation, m, 0, need)
    assert await _run(app_sessions, settings, federation, now) == 0

    await _checkins(owner, federation, m, 1, 1)
    assert await _run(app_sessions, settings, federation, now) == 1
    mine = (await client.get("/v1/me/participation", headers=bearer(m.token))).json()
    assert len(mine) == 1
    g = mine[0]
    assert (g["region"], g["home_region"], g["reason"], g["active"]) == (
        federation.regions[1], federation.regions[0], "checkins", True)
    assert g["evidence"] == {"checkins": need,
                             "days": settings.bargaining.participation_window_days}
    assert g["granted_by"] == "system:jobs:participation"
    assert await _audits(owner, "participation.granted", g["id"]) == [
        "system:jobs:participation"]

    # Granted: I see the item and support it, once.
    assert (await client.get(f"/v1/bargaining/items/{first}",
                             headers=bearer(m.token))).status_code == 200
    for _ in range(2):
        r = await client.put(url, headers=bearer(m.token) | _key())
        assert r.status_code == 200, r.text
        assert r.json()["support_count"] == 1
    board = (await client.get("/v1/bargaining/items", headers=bearer(m.token))).json()
    assert {first, second} <= {uuid.UUID(i["id"]) for i in board["items"]}
    # The public timeline too.
    assert (await client.get(f"/v1/bargaining/items/{first}/timeline",
                             headers=bearer(m.token))).status_code == 200

    # The next run renews it (audited), and the expiry moves on.
    later = now + timedelta(hours=1)
    assert await _run(app_sessions, settings, federation, later) == 1
    renewed = (await client.get("/v1/me/participation", headers=bearer(m.token))).json()[0]
    assert renewed["id"] == g["id"] and renewed["expires_at"] > g["expires_at"]
    assert len(await _audits(owner, "participation.renewed", g["id"])) == 1

    # Time passes without renewal: the grant lapses and the region is out of reach again.
    async with owner() as s, s.begin():
        await s.execute(text(
            "UPDATE participation_grants SET granted_at = now() - interval '40 days',"
            " renewed_at = NULL, expires_at = now() - interval '1 minute' WHERE id = :g"),
            {"g": g["id"]})
    r = await client.put(f"/v1/bargaining/items/{second}/support",
                         headers=bearer(m.token) | _key())
    assert r.status_code == 404 and r.json()["code"] == "agenda_item_not_found"
    assert (await client.get(f"/v1/bargaining/items/{first}",
                             headers=bearer(m.token))).status_code == 404
    expired = (await client.get("/v1/me/participation", headers=bearer(m.token))).json()[0]
    assert expired["active"] is False


async def test_a_regional_admin_grants_and_revokes_by_hand(
    client, sms, owner, federation: Federation, staff_token,
) -> None:
    item = await seed_item(owner, federation, scope=federation.regions[1])
    m = await _member(client, sms, federation, staff_token, region=0)
    mine_admin = await staff_token(federation, "regional_admin", federation.regions[1])
    sibling = await staff_token(federation, "regional_admin", federation.regions[0])
    grant = {"member_id": m.member_id, "region": federation.regions[1],
             "note": "在本区站点长期接单"}
    # The sibling region's admin cannot grant for a region not theirs.
    r = await client.post("/v1/admin/bargaining/participation", json=grant,
                          headers=bearer(sibling))
    assert r.status_code == 403 and r.json()["code"] == "scope_not_yours"
    # Nor for the member's home.
    r = await client.post("/v1/admin/bargaining/participation",
                          json=grant | {"region": federation.regions[0]}, headers=bearer(sibling))
    assert r.status_code == 409 and r.json()["code"] == "participation_home_region"
    r = await client.post("/v1/admin/bargaining/participation",
                          json=grant | {"member_id": str(uuid.uuid4())},
                          headers=bearer(mine_admin))
    assert r.status_code == 404 and r.json()["code"] == "member_not_found"
    r = await client.post("/v1/admin/bargaining/participation",
                          json=grant | {"region": "nowhere"}, headers=bearer(mine_admin))
    assert r.status_code == 422 and r.json()["code"] == "unknown_region"
    r = await client.post("/v1/admin/bargaining/participation", json=grant | {"days": 7},
                          headers=bearer(mine_admin))
    assert r.status_code == 201, r.text
    g = r.json()
    assert (g["reason"], g["note"], g["active"]) == ("manual", "在本区站点长期接单", True)
    assert g["granted_by"].startswith("regional_admin:")

    r = await client.put(f"/v1/bargaining/items/{item}/support", headers=bearer(m.token) | _key())
    assert r.status_code == 200 and r.json()["support_count"] == 1

    # Both regions' staff see the grant; the home region's admin may not revoke it.
    for token in (mine_admin, sibling):
        listed = (await client.get("/v1/admin/bargaining/participation?active=true",
                                   headers=bearer(token))).json()
        assert [x["id"] for x in listed] == [g["id"]]
    revoke = f"/v1/admin/bargaining/participation/{g['id']}/revoke"
    r = await client.post(revoke, json={"reason": "误授"}, headers=bearer(sibling))
    assert r.status_code == 404 and r.json()["code"] == "participation_grant_not_found"
    r = await client.post(revoke, json={"reason": "已不在本区工作"}, headers=bearer(mine_admin))
    assert r.status_code == 200 and r.json()["active"] is False
    r = await client.post(revoke, json={"reason": "again"}, headers=bearer(mine_admin))
    assert r.status_code == 409 and r.json()["code"] == "participation_revoked"

    # Revoked: the item is out of reach; my support stays counted (one row per member).
    r = await client.delete(f"/v1/bargaining/items/{item}/support",
                            headers=bearer(m.token) | _key())
    assert r.status_code == 404
    assert [x["active"] for x in (await client.get(
        "/v1/me/participation", headers=bearer(m.token))).json()] == [False]
    assert len(await _audits(owner, "participation.granted", g["id"])) == 1
    assert len(await _audits(owner, "participation.revoked", g["id"])) == 1
    # A worker may not grant; a station officer may not either.
    r = await client.post("/v1/admin/bargaining/participation", json=grant,
                          headers=bearer(m.token))
    assert r.status_code in (401, 403)


async def test_a_revoked_grant_is_not_regranted_by_the_job(
    client, sms, owner, federation: Federation, staff_token, app_sessions, settings: Settings,
) -> None:
    m = await _member(client, sms, federation, staff_token, region=0)
    await _checkins(owner, federation, m, 1, settings.bargaining.participation_min_checkins)
    now = datetime.now(UTC)
    assert await _run(app_sessions, settings, federation, now) == 1
    g = (await client.get("/v1/me/participation", headers=bearer(m.token))).json()[0]
    admin = await staff_token(federation, "regional_admin", federation.regions[1])
    r = await client.post(f"/v1/admin/bargaining/participation/{g['id']}/revoke",
                          json={"reason": "核实不在本区"}, headers=bearer(admin))
    assert r.status_code == 200
    assert await _run(app_sessions, settings, federation, now + timedelta(minutes=5)) == 0


async def test_an_open_case_in_another_region_grants_it(
    client, sms, owner, federation: Federation, staff_token, app_sessions, settings: Settings,
) -> None:
    m = await _member(client, sms, federation, staff_token, region=0)
    where = federation.ids[federation.stations[federation.regions[1]][0]]
    await _open_case(owner, m, where, status="closed", no="closed")  # a closed case: nothing
    await _open_case(owner, m, federation.ids[federation.stations[federation.regions[0]][0]],
                     no="home")  # a case at home: nothing
    assert await _run(app_sessions, settings, federation, datetime.now(UTC)) == 0
    case = await _open_case(owner, m, where)
    assert await _run(app_sessions, settings, federation, datetime.now(UTC)) == 1
    g = (await client.get("/v1/me/participation", headers=bearer(m.token))).json()[0]
    assert (g["reason"], g["region"], g["evidence"]) == ("case", federation.regions[1],
                                                         {"case_id": str(case)})


async def _open_case(owner, member, tenant: uuid.UUID, *, status: str = "assigned",
                     no: str = "open") -> uuid.UUID:
    """An open case handled at `tenant`, written as the owner (the demand ledger's own tests
    file cases through the API; here only its place and status matter)."""
    async with owner() as s, s.begin():
        return uuid.UUID(str((await s.execute(text(
            "INSERT INTO cases (id, federation_id, tenant_id, case_no, worker_id, member_id,"
            " is_member, contact, partner_id, category, description, tags, tier, channel, place,"
            " status, route_details, created_by, created_at, updated_at)"
            " SELECT gen_random_uuid(), m.federation_id, :t, :no || left(m.id::text, 8),"
            " m.worker_id, m.id, true, '{}', p.id, 'commission', '述', '{}', 'general', 'app',"
            " '{}', :status, '{}', 'test', now(), now() FROM members m"
            " JOIN platform_partners p ON p.tenant_id = m.federation_id AND p.code = 'alpha'"
            " WHERE m.id = :m RETURNING id"),
            {"t": tenant, "m": uuid.UUID(member.member_id), "status": status,
             "no": f"grant-{no}-"})).scalar_one()))
