"""Opt-in location check-ins (位置打卡) through the real API: consent, membership, batches,
idempotency, bad input, reading back in any crs, erasure and retention."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select, text

from flexunion.db.engine import apply_scope
from flexunion.db.retention import PRINCIPAL, purge
from flexunion.db.scope import DbScope
from flexunion.geo.checkins.models import LocationCheckin
from flexunion.geo.crs import Crs, from_wgs84
from tests.support.factories import Federation, Joined, bearer, join, worker_login
from tests.support.geo import SHANGHAI, seed_area, square

SH = ZoneInfo("Asia/Shanghai")
# r1's jurisdiction is the SHANGHAI box; r2's the box just east of it: they share lon 121.50.
R1_BOX = square(*SHANGHAI)
R2_BOX = square(121.50, 31.15, 121.60, 31.25)
BORDER_LON = 121.50
IN_R1 = (121.45, 31.20)
IN_R2 = (121.55, 31.20)
NOWHERE = (121.70, 31.20)


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def seed_jurisdictions(owner, fed: Federation) -> None:
    """Seed before the test's first geo request: the federation's index then loads once."""
    r1, r2 = fed.regions[:2]
    await seed_area(owner, fed, r1, "jurisdiction", "r1-land", R1_BOX)
    await seed_area(owner, fed, r2, "jurisdiction", "r2-land", R2_BOX)


async def consent(client: httpx.AsyncClient, token: str, granted: bool = True) -> None:
    r = await client.post("/v1/me/consents", headers=bearer(token) | key(),
                          json={"purpose": "location_checkin", "version": "1", "granted": granted})
    assert r.status_code == 201, r.text


async def member(client: httpx.AsyncClient, sms, fed: Federation, staff_token, *,
                 home: str | None = None, consented: bool = True) -> Joined:
    """An active member homed at r1's first station (its region is r1), with consent."""
    r1 = fed.regions[0]
    home = home or fed.stations[r1][0]
    region = home if home in fed.regions else home.rsplit("-", 1)[0]
    worker = await join(client, sms, fed, home,
                        approver_token=await staff_token(fed, "regional_admin", region))
    assert worker.body["status"] == "active"
    if consented:
        await consent(client, worker.token)
    return worker


def pt(lonlat: tuple[float, float], at: datetime | None = None, **more) -> dict:
    body = {"lon": lonlat[0], "lat": lonlat[1], **more}
    if at is not None:
        body["recorded_at"] = at.isoformat()
    return body


async def check_in(client: httpx.AsyncClient, token: str, *points: dict,
                   headers: dict | None = None) -> httpx.Response:
    return await client.post("/v1/me/checkins", json={"points": list(points)},
                             headers=bearer(token) | (headers or key()))


def at_local(clock, days: int, hour: int = 12) -> datetime:
    """Move the clock to `hour` o'clock (Asia/Shanghai) `days` from today; the new now."""
    real = datetime.now(UTC)
    day = real.astimezone(SH).date() + timedelta(days=days)
    clock.offset = datetime.combine(day, time(hour), tzinfo=SH) - real
    return clock.now()


async def stored(owner, worker: Joined) -> int:
    async with owner() as s:
        return await s.scalar(select(func.count()).select_from(LocationCheckin)
                              .where(LocationCheckin.worker_id == uuid.UUID(worker.worker_id)))


# ---- who may check in ------------------------------------------------------------------


async def test_only_active_members_with_consent_check_in(
        client, sms, federation: Federation, staff_token, owner) -> None:
    await seed_jurisdictions(owner, federation)
    outsider, _ = await worker_login(client, sms, federation.hq)
    await consent(client, outsider)
    r = await check_in(client, outsider, pt(IN_R1))
    assert r.status_code == 403 and r.json()["code"] == "membership_required"

    worker = await member(client, sms, federation, staff_token, consented=False)
    r = await check_in(client, worker.token, pt(IN_R1))
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "consent_required"

    await consent(client, worker.token)
    assert (await check_in(client, worker.token, pt(IN_R1))).status_code == 201
    await consent(client, worker.token, granted=False)  # the latest consent decides
    r = await check_in(client, worker.token, pt(IN_R1))
    assert r.status_code == 403 and r.json()["code"] == "consent_required"
    assert await stored(owner, worker) == 0  # and withdrawing erased the first one

    applicant = await join(client, sms, federation, federation.regions[0])  # not approved
    await consent(client, applicant.token)
    r = await check_in(client, applicant.token, pt(IN_R1))
    assert r.status_code == 403 and r.json()["code"] == "member_not_active"
    assert r.json()["member_status"] == "applicant"


# ---- what is stored and read back ----------------------------------------------------------


async def test_batch_is_stored_with_jurisdictions_and_read_back_in_any_crs(
        client, sms, federation: Federation, staff_token, owner, clock) -> None:
    await seed_jurisdictions(owner, federation)
    r1, r2 = federation.regions[:2]
    worker = await member(client, sms, federation, staff_token)
    now = clock.now()
    gcj = from_wgs84(*IN_R2, Crs.GCJ02)
    r = await check_in(
        client, worker.token,
        pt(IN_R1, now - timedelta(minutes=30), accuracy_m=12),
        pt(gcj, now - timedelta(minutes=20), crs="gcj02"),
        pt((BORDER_LON, 31.20), now - timedelta(minutes=10)),
        pt(NOWHERE, now - timedelta(minutes=5), accuracy_m=500))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["suggestion"] is None
    a, b, border, nowhere = body["items"]
    assert a["jurisdiction"]["union"]["code"] == r1 and a["votes"] is True
    assert a["jurisdiction"]["area"]["code"] == "r1-land"
    assert a["local_day"] == (now - timedelta(minutes=30)).astimezone(SH).date().isoformat()
    # Answered in the system it was sent in; stored in WGS84.
    assert b["crs"] == "gcj02" and b["lon"] == pytest.approx(gcj[0], abs=1e-6)
    assert b["jurisdiction"]["union"]["code"] == r2
    assert b["jurisdiction"]["union"]["name_zh"] and "city" in b["jurisdiction"]["union"]
    # On the shared line the member's own region counts, flagged as a border.
    assert border["jurisdiction"]["union"]["code"] == r1
    assert border["jurisdiction"]["on_border"] is True
    assert nowhere["jurisdiction"] is None and nowhere["votes"] is False
    async with owner() as s:
        row = await s.get(LocationCheckin, uuid.UUID(b["id"]))
        assert row.lon == pytest.approx(IN_R2[0], abs=1e-6)
        assert row.lat == pytest.approx(IN_R2[1], abs=1e-6)
        assert row.tenant_id == federation.ids[federation.stations[r1][0]]

    listed = await client.get("/v1/me/checkins", params={"limit": 3, "crs": "bd09"},
                              headers=bearer(worker.token))
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert [i["id"] for i in page["items"]] == [nowhere["id"], border["id"], b["id"]]
    assert page["items"][2]["crs"] == "bd09"
    assert page["items"][2]["lon"] == pytest.approx(from_wgs84(*IN_R2, Crs.BD09)[0], abs=1e-6)
    assert page["items"][2]["jurisdiction"]["area"]["code"] == "r2-land"
    rest = (await client.get("/v1/me/checkins", params={"cursor": page["next_cursor"]},
                             headers=bearer(worker.token))).json()
    assert [i["id"] for i in rest["items"]] == [a["id"]] and rest["next_cursor"] is None
    assert rest["items"][0]["lon"] == pytest.approx(IN_R1[0])

    # Nobody else sees them.
    other, _ = await worker_login(client, sms, federation.hq)
    theirs = await client.get("/v1/me/checkins", headers=bearer(other))
    assert theirs.status_code == 200 and theirs.json()["items"] == []
    bad = await client.get("/v1/me/checkins", params={"crs": "utm"}, headers=bearer(worker.token))
    assert bad.status_code in (400, 422) and bad.json()["code"] == "validation_failed"


async def test_a_retried_batch_is_stored_once(
        client, sms, federation: Federation, staff_token, owner, clock) -> None:
    await seed_jurisdictions(owner, federation)
    worker = await member(client, sms, federation, staff_token)
    now = clock.now()
    batch = [pt(IN_R1, now - timedelta(minutes=m)) for m in (3, 2, 1)]
    headers = key()
    first = await check_in(client, worker.token, *batch, headers=headers)
    again = await check_in(client, worker.token, *batch, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    assert await stored(owner, worker) == 3
    # The phone lost the answer and re-sends its buffer under a new key: still stored once.
    resent = await check_in(client, worker.token, *batch, pt(IN_R1))
    assert resent.status_code == 201
    ids = [i["id"] for i in resent.json()["items"]]
    assert ids[:3] == [i["id"] for i in first.json()["items"]]
    assert await stored(owner, worker) == 4


def _body(now: datetime) -> dict[str, object]:
    good = pt(IN_R1)
    return {
        "absurd longitude": ([good, pt((200.0, 31.2))], "coordinate_out_of_range"),
        "absurd latitude": ([pt((121.4, -95.0))], "coordinate_out_of_range"),
        "unknown crs": ([pt(IN_R1, crs="utm50")], "validation_failed"),
        "empty batch": ([], "validation_failed"),
        "101 points": ([good] * 101, "validation_failed"),
        "future": ([good, pt(IN_R1, now + timedelta(minutes=10))], "recorded_at_in_future"),
        "too old": ([pt(IN_R1, now - timedelta(hours=25))], "recorded_at_too_old"),
        "no time zone": ([{**good, "recorded_at": "2026-01-01T08:00:00"}], "validation_failed"),
        "negative accuracy": ([pt(IN_R1, accuracy_m=-1)], "validation_failed"),
        "unknown field": ([pt(IN_R1, altitude=3)], "validation_failed"),
        "missing latitude": ([{"lon": 121.45}], "validation_failed"),
        "null coordinate": ([{"lon": None, "lat": 31.2}], "validation_failed"),
    }


@pytest.mark.parametrize("case", list(_body(datetime.now(UTC))))
async def test_bad_batches_are_refused_whole(
        client, sms, federation: Federation, staff_token, owner, clock, case: str) -> None:
    await seed_jurisdictions(owner, federation)
    worker = await member(client, sms, federation, staff_token)
    points, code = _body(clock.now())[case]
    r = await client.post("/v1/me/checkins", json={"points": points},
                          headers=bearer(worker.token) | key())
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code
    if code not in ("validation_failed",):
        assert r.json()["index"] == len(points) - 1
    assert await stored(owner, worker) == 0


async def test_malformed_and_keyless_requests(client, sms, federation: Federation, staff_token,
                                              owner) -> None:
    await seed_jurisdictions(owner, federation)
    worker = await member(client, sms, federation, staff_token)
    r = await client.post("/v1/me/checkins", json={"points": [pt(IN_R1)]},
                          headers=bearer(worker.token))
    assert r.status_code == 400 and r.json()["code"] == "idempotency_key_required"
    r = await client.post("/v1/me/checkins", content=b"{not json",
                          headers=bearer(worker.token) | key()
                          | {"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "malformed_request"
    r = await client.post("/v1/me/checkins", json=[pt(IN_R1)], headers=bearer(worker.token) | key())
    assert r.status_code == 422 and r.json()["code"] == "validation_failed"
    assert await stored(owner, worker) == 0


# ---- erasure and retention -----------------------------------------------------------------


async def test_erase_withdraw_and_purge(client, sms, federation: Federation, staff_token, owner,
                                        clock) -> None:
    await seed_jurisdictions(owner, federation)
    me = await member(client, sms, federation, staff_token)
    other = await member(client, sms, federation, staff_token)
    now = clock.now()
    for worker in (me, other):
        r = await check_in(client, worker.token, pt(IN_R1, now - timedelta(minutes=2)), pt(IN_R2))
        assert r.status_code == 201, r.text

    r = await client.delete("/v1/me/checkins", headers=bearer(me.token))
    assert r.status_code == 400 and r.json()["code"] == "idempotency_key_required"
    r = await client.delete("/v1/me/checkins", headers=bearer(me.token) | key())
    assert r.status_code == 200 and r.json() == {"erased": 2}
    assert (await client.get("/v1/me/checkins", headers=bearer(me.token))).json()["items"] == []
    assert await stored(owner, other) == 2

    # Withdrawing the consent erases at once (and is audited by count, never by place).
    assert (await check_in(client, me.token, pt(IN_R1))).status_code == 201
    await consent(client, me.token, granted=False)
    assert await stored(owner, me) == 0 and await stored(owner, other) == 2
    async with owner() as s:
        payloads = (await s.execute(text(
            "SELECT payload FROM audit_events WHERE action = 'location.checkins_erased'"
            " AND object_id = :w ORDER BY seq"), {"w": me.worker_id})).scalars().all()
    assert [p["why"] for p in payloads] == ["requested", "consent_withdrawn"]
    assert payloads[0]["count"] == 2 and "lon" not in payloads[0]

    # Retention: past `checkin_retention_days` the purge deletes them; younger ones stay.
    async with owner() as s, s.begin():
        await s.execute(text(
            "UPDATE location_checkins SET recorded_at = now() - interval '91 days'"
            " WHERE worker_id = :w AND lon = :lon"), {"w": other.worker_id, "lon": IN_R1[0]})
    async with owner() as s, s.begin():
        await apply_scope(s, DbScope(None, PRINCIPAL))  # the purge answers its principal only
        removed = await purge(s, checkin_retention_days=90)
    assert removed["location_checkins"] >= 1
    left = (await client.get("/v1/me/checkins", headers=bearer(other.token))).json()["items"]
    assert [i["lon"] for i in left] == [pytest.approx(IN_R2[0])]
