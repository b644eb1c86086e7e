"""Transfer suggestions (接转提示) from check-ins: the rule on its own, then through the API
with time moved by the `clock` fixture (check-ins are at most a day old, so each simulated
day is one request at that day's clock)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import httpx
import numpy as np
from sqlalchemy import func, select

from flexunion.geo.checkins.models import TransferSuggestion
from flexunion.geo.checkins.suggestions import daily_votes, decide, near_home
from flexunion.geo.index import AreaIndex, AreaRef, PointIndex
from flexunion.geo.registry import GeoSnapshot
from tests.geo.test_checkins import (
    BORDER_LON,
    IN_R1,
    IN_R2,
    R1_BOX,
    R2_BOX,
    at_local,
    check_in,
    consent,
    key,
    member,
    pt,
    seed_jurisdictions,
    stored,
)
from tests.support.factories import Federation, Joined, bearer, make_federation
from tests.support.geo import offset, seed_area, square

HOME, AWAY, ELSEWHERE = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
CITIES = {HOME: "上海市", AWAY: "杭州市", ELSEWHERE: "深圳市"}
D0 = date(2026, 3, 1)


def days(*regions: uuid.UUID | None) -> list[tuple[date, uuid.UUID | None]]:
    return [(D0, r) for r in regions]


# ---- the rule, without the database ------------------------------------------------------


def test_a_day_votes_only_with_a_strict_majority_of_known_places() -> None:
    points = (days(AWAY, AWAY, HOME)
              + [(D0 + timedelta(1), r) for r in (AWAY, HOME)]  # a tie
              + [(D0 + timedelta(2), r) for r in (None, None, AWAY)]  # mostly nowhere known
              + [(D0 + timedelta(3), r) for r in (AWAY, AWAY, HOME, ELSEWHERE)]  # 2 of 4
              + [(D0 + timedelta(4), HOME)])
    assert daily_votes(points) == {D0: AWAY, D0 + timedelta(4): HOME}


def test_the_decision() -> None:
    def votes(**counts: int) -> dict[date, uuid.UUID]:
        out, n = {}, 0
        for name, k in counts.items():
            for _ in range(k):
                out[D0 + timedelta(n)] = {"home": HOME, "away": AWAY, "else_": ELSEWHERE}[name]
                n += 1
        return out

    rule = {"home": HOME, "min_days": 8, "city_of": CITIES.get}
    offer = decide(votes(home=5, away=9), **rule)
    assert offer is not None and (offer.region, offer.days) == (AWAY, 9)
    assert decide(votes(home=7, away=7), **rule) is None  # not enough days
    assert decide(votes(home=14), **rule) is None  # home never
    assert decide(votes(away=9), **rule, cooling={AWAY}) is None  # dismissed lately
    assert decide(votes(away=8, else_=8), **rule) is None  # two cities tied: say nothing
    assert decide(votes(away=9, else_=8), **rule).region == AWAY  # type: ignore[union-attr]
    same_city = {**rule, "city_of": {HOME: "上海市", AWAY: "上海市"}.get}
    assert decide(votes(away=14), **same_city) is None  # another district of the same city
    no_city = {**rule, "city_of": {}.get}
    assert decide(votes(away=8), **no_city).region == AWAY  # type: ignore[union-attr]


def test_near_home_is_measured_in_metres() -> None:
    refs = [AreaRef(id=uuid.uuid4(), kind="jurisdiction", code=c, name_zh=c, name_en=c,
                    tenant_id=t, tenant_code=c) for c, t in (("home", HOME), ("away", AWAY))]
    snap = GeoSnapshot(uuid.uuid4(), 1, AreaIndex(refs, np.array([R1_BOX, R2_BOX])),
                       PointIndex([]), {})
    pts = [offset(BORDER_LON, 31.2, east, 0) for east in (50, 150, 400)]
    assert near_home(snap, [0], pts, [100, 100, 100]).tolist() == [True, False, False]
    assert near_home(snap, [0], pts, [200, 200, 500]).tolist() == [True, True, True]
    assert near_home(snap, [], pts, [1e6] * 3).tolist() == [False] * 3


# ---- through the API ---------------------------------------------------------------------


async def day_at(client: httpx.AsyncClient, clock, worker: Joined, day: int,
                 where: tuple[float, float], n: int = 3, hour: int = 12, **extra) -> dict:
    """`n` check-ins at `where`, ten minutes apart, on local day `day` (0 = today)."""
    now = at_local(clock, day, hour)
    r = await check_in(client, worker.token,
                       *[pt(where, now - timedelta(minutes=10 * k), **extra) for k in range(n)])
    assert r.status_code == 201, r.text
    return r.json()


async def offered(owner, worker: Joined) -> list[TransferSuggestion]:
    async with owner() as s:
        return list((await s.scalars(select(TransferSuggestion).where(
            TransferSuggestion.member_id == uuid.UUID(worker.member_id))
            .order_by(TransferSuggestion.offered_at))).all())


async def test_nine_days_away_in_another_city_offer_exactly_one_suggestion(
        client, sms, federation: Federation, staff_token, owner, clock) -> None:
    await seed_jurisdictions(owner, federation)
    r2 = federation.regions[1]
    worker = await member(client, sms, federation, staff_token)
    for day in range(-13, -9):  # four days at home ...
        assert (await day_at(client, clock, worker, day, IN_R1))["suggestion"] is None
    for n, day in enumerate(range(-9, -2), start=1):  # ... seven away: not yet
        assert (await day_at(client, clock, worker, day, IN_R2))["suggestion"] is None, n
    # The eighth day away, from two batches at once (a phone and its retry queue).
    now = at_local(clock, -2)
    both = await asyncio.gather(*[check_in(client, worker.token, pt(IN_R2, now)),
                                  check_in(client, worker.token, pt(IN_R2, now, accuracy_m=5))])
    assert all(r.status_code == 201 for r in both), [r.text for r in both]
    first, second = (r.json()["suggestion"] for r in both)
    assert first is not None and first == second
    assert first["to"]["code"] == r2 and first["status"] == "offered" and first["days_away"] == 8
    city = first["to"]["city"]
    assert first["message_zh"].startswith(f"您近14天中有8天主要在{city}")
    assert first["status_zh"] == "待确认"
    # Many more check-ins away: still that one suggestion.
    for day in range(-1, 4):
        body = await day_at(client, clock, worker, day, IN_R2, n=20)
        assert body["suggestion"]["id"] == first["id"]
    assert len(await offered(owner, worker)) == 1
    listed = (await client.get("/v1/me/transfer-suggestions", headers=bearer(worker.token))).json()
    assert [s["id"] for s in listed] == [first["id"]]


async def test_riding_along_the_border_never_suggests(
        client, sms, federation: Federation, staff_token, owner, clock) -> None:
    await seed_jurisdictions(owner, federation)
    r2 = federation.regions[1]
    worker = await member(client, sms, federation, staff_token)
    east, west = offset(BORDER_LON, 31.2, 30, 0), offset(BORDER_LON, 31.2, -30, 0)
    for day in range(-13, 1):
        now = at_local(clock, day)
        # 15 points, every 4 minutes, starting and ending on the far side: 8 of 15 are in r2.
        points = [pt(east if k % 2 == 0 else west, now - timedelta(minutes=4 * k))
                  for k in range(15)]
        r = await check_in(client, worker.token, *points)
        assert r.status_code == 201, r.text
        assert r.json()["suggestion"] is None, day
        assert sum(i["jurisdiction"]["union"]["code"] == r2 for i in r.json()["items"]) == 8
    assert await offered(owner, worker) == []
    assert await stored(owner, worker) == 14 * 15


async def test_inaccurate_points_do_not_vote(client, sms, federation: Federation, staff_token,
                                             owner, clock) -> None:
    await seed_jurisdictions(owner, federation)
    worker = await member(client, sms, federation, staff_token)
    for day in range(-9, 1):
        body = await day_at(client, clock, worker, day, IN_R2, accuracy_m=350)
        assert body["suggestion"] is None and not any(i["votes"] for i in body["items"])
    assert await offered(owner, worker) == []


async def test_dismissed_then_still_away_waits_for_the_cooldown(
        client, sms, federation: Federation, staff_token, owner, clock) -> None:
    await seed_jurisdictions(owner, federation)
    worker = await member(client, sms, federation, staff_token)
    for day in range(-40, -33):
        await day_at(client, clock, worker, day, IN_R2, n=1)
    suggestion = (await day_at(client, clock, worker, -33, IN_R2, n=1))["suggestion"]
    assert suggestion is not None
    url = f"/v1/me/transfer-suggestions/{suggestion['id']}/dismiss"
    r = await client.post(url, headers=bearer(worker.token) | key())
    assert r.status_code == 200 and r.json()["status"] == "dismissed", r.text
    assert r.json()["status_zh"] == "已忽略" and r.json()["decided_at"]
    again = await client.post(url, headers=bearer(worker.token) | key())
    assert again.status_code == 409 and again.json()["code"] == "suggestion_not_open"

    for day in range(-32, -3):  # 29 more days away: no new suggestion within 30 days
        assert (await day_at(client, clock, worker, day, IN_R2, n=1))["suggestion"] is None, day
    assert (await day_at(client, clock, worker, -3, IN_R2, n=1, hour=11))["suggestion"] is None
    fresh = (await day_at(client, clock, worker, -3, IN_R2, n=1, hour=13))["suggestion"]
    assert fresh is not None and fresh["id"] != suggestion["id"] and fresh["days_away"] == 14
    assert [s.status for s in await offered(owner, worker)] == ["dismissed", "offered"]


async def test_accept_asks_for_the_transfer_and_only_the_owner_may(
        client, sms, federation: Federation, staff_token, owner, clock) -> None:
    await seed_jurisdictions(owner, federation)
    r2 = federation.regions[1]
    worker = await member(client, sms, federation, staff_token)
    other = await member(client, sms, federation, staff_token)
    for day in range(-8, 0):
        body = await day_at(client, clock, worker, day, IN_R2, n=1)
    sid = body["suggestion"]["id"]

    for step in ("accept", "dismiss"):
        r = await client.post(f"/v1/me/transfer-suggestions/{sid}/{step}",
                              headers=bearer(other.token) | key())
        assert r.status_code == 404 and r.json()["code"] == "suggestion_not_found", r.text
    assert (await client.get("/v1/me/transfer-suggestions",
                             headers=bearer(other.token))).json() == []
    r = await client.post(f"/v1/me/transfer-suggestions/{uuid.uuid4()}/accept",
                          headers=bearer(worker.token) | key())
    assert r.status_code == 404 and r.json()["code"] == "suggestion_not_found"

    headers = bearer(worker.token) | key()
    accepted = await client.post(f"/v1/me/transfer-suggestions/{sid}/accept", headers=headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted" and accepted.json()["transfer_id"]
    replay = await client.post(f"/v1/me/transfer-suggestions/{sid}/accept", headers=headers)
    assert replay.json() == accepted.json() and replay.headers["idempotent-replayed"] == "true"
    twice = await client.post(f"/v1/me/transfer-suggestions/{sid}/accept",
                              headers=bearer(worker.token) | key())
    assert twice.status_code == 409 and twice.json()["code"] == "suggestion_not_open"

    transfers = (await client.get("/v1/me/transfers", headers=bearer(worker.token))).json()
    assert [t["id"] for t in transfers] == [accepted.json()["transfer_id"]]
    assert transfers[0]["to"]["code"] == r2 and transfers[0]["status"] == "requested"
    # The transfer is open now: being away more offers nothing new.
    assert (await day_at(client, clock, worker, 0, IN_R2, n=2))["suggestion"] is None
    assert len(await offered(owner, worker)) == 1


async def test_no_suggestion_while_a_transfer_is_open_or_within_the_same_city(
        client, sms, owner, staff_token, clock, tmp_path) -> None:
    fed = await make_federation(owner, tmp_path, regions=5)  # r1 and r5 share a city
    r1, r2, r5 = fed.regions[0], fed.regions[1], fed.regions[4]
    await seed_jurisdictions(owner, fed)
    next_door = square(121.40, 31.05, 121.50, 31.15)  # south of r1, same city
    await seed_area(owner, fed, r5, "jurisdiction", "r5-land", next_door)
    moving = await member(client, sms, fed, staff_token)
    r = await client.post("/v1/me/transfers", json={"to": r2},
                          headers=bearer(moving.token) | key())
    assert r.status_code == 201, r.text
    local = await member(client, sms, fed, staff_token)
    for day in range(-9, 1):
        assert (await day_at(client, clock, moving, day, IN_R2, n=1))["suggestion"] is None
        body = await day_at(client, clock, local, day, (121.45, 31.10), n=1)
        assert body["suggestion"] is None
        assert body["items"][0]["jurisdiction"]["union"]["code"] == r5
    assert await offered(owner, moving) == [] and await offered(owner, local) == []
    cities = {t["code"]: t["city"] for t in (await client.get(
        "/v1/me/federation/tenants", headers=bearer(local.token))).json()}
    assert cities[r1] == cities[r5] != cities[r2]


async def test_withdrawing_consent_erases_and_closes_the_open_suggestion(
        client, sms, federation: Federation, staff_token, owner, clock) -> None:
    await seed_jurisdictions(owner, federation)
    worker = await member(client, sms, federation, staff_token)
    for day in range(-7, 1):
        body = await day_at(client, clock, worker, day, IN_R2, n=1)
    assert body["suggestion"] is not None
    await consent(client, worker.token, granted=False)
    listed = (await client.get("/v1/me/transfer-suggestions", headers=bearer(worker.token))).json()
    assert [s["status"] for s in listed] == ["dismissed"]
    assert await stored(owner, worker) == 0
    async with owner() as s:
        assert await s.scalar(select(func.count()).select_from(TransferSuggestion).where(
            TransferSuggestion.status == "offered",
            TransferSuggestion.member_id == uuid.UUID(worker.member_id))) == 0
    # Consent again and the history starts from nothing.
    await consent(client, worker.token)
    assert (await day_at(client, clock, worker, 1, IN_R2, n=1))["suggestion"] is None
