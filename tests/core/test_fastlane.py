"""The fast lane (core/fastlane.py): the hot operations answer exactly as their routes do —
the same status, problem code, body and headers — whether the lane takes a request or hands
it to the pipeline; the lane takes only the plainest requests, and every lane matches its
route's access, limits and parameters."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from flexunion.app import create_app
from flexunion.config import Settings
from flexunion.core.fastlane import FastLanes, Lane, lane
from tests.cards.conftest import VERIFY, card, member
from tests.support.factories import Federation, bearer, worker_login
from tests.support.geo import seed_point
from tests.support.server import LiveServer

VOLATILE = ("request_id", "checked_at", "at")  # the clock reads differ


@pytest.fixture
def slow(settings: Settings, sms: Any, clock: Any) -> Iterator[LiveServer]:
    """The same app without its fast lanes: every request through the pipeline."""
    server = LiveServer(create_app(settings, sms=sms, clock=clock, fast_lanes=False)).start()
    yield server
    server.stop()


@pytest.fixture
async def slow_client(slow: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=slow.url, timeout=60) as c:
        yield c


@pytest.fixture
def lanes_taken(live: LiveServer) -> Iterator[list[str]]:
    """The paths the live app's lanes answered themselves (not handed to the pipeline)."""
    lanes: FastLanes = live.server.config.app.fast_lanes
    taken: list[str] = []
    serve = lanes.serve

    async def spy(app: Any, one: Lane, scope: Any, receive: Any, send: Any) -> Any:
        handed = await serve(app, one, scope, receive, send)
        if handed is None:
            taken.append(scope["path"])
        return handed

    lanes.serve = spy  # type: ignore[method-assign]
    yield taken
    del lanes.serve


def _seen(r: httpx.Response) -> tuple[int, str, dict[str, Any]]:
    body = r.json()
    for key in VOLATILE:
        body.pop(key, None)
    return r.status_code, r.headers["content-type"], body


async def same(fast: httpx.AsyncClient, slow: httpx.AsyncClient, method: str, url: str,
               **kw: Any) -> httpx.Response:
    a = await fast.request(method, url, **kw)
    b = await slow.request(method, url, **kw)
    assert _seen(a) == _seen(b), (url, kw, a.text, b.text)
    assert a.headers.get("x-request-id") and b.headers.get("x-request-id")
    assert set(a.headers) - {"date"} == set(b.headers) - {"date"}, (a.headers, b.headers)
    return a


async def test_healthz_through_the_lane_is_what_the_route_answers(
        client: httpx.AsyncClient, slow_client: httpx.AsyncClient,
        lanes_taken: list[str]) -> None:
    r = await same(client, slow_client, "GET", "/healthz")
    assert r.content == b'{"status":"ok"}'
    assert lanes_taken == ["/healthz"]
    r = await client.get("/healthz", headers={"X-Request-ID": "client-id-1234"})
    assert r.headers["x-request-id"] == "client-id-1234"
    # Other methods and OPTIONS stay the pipeline's.
    await same(client, slow_client, "POST", "/healthz")
    o = await client.options("/healthz")
    assert o.status_code == 204 and "GET" in o.headers["allow"]
    assert lanes_taken == ["/healthz", "/healthz"]


async def test_card_verify_answers_as_its_route_for_every_shape_of_request(
        client: httpx.AsyncClient, slow_client: httpx.AsyncClient, sms: Any,
        federation: Federation, staff_token: Any, lanes_taken: list[str]) -> None:
    joined = await member(client, sms, federation, staff_token)
    token = (await card(client, joined))["token"]
    officer = await staff_token(federation, "station_officer",
                                federation.stations[federation.regions[1]][0])
    auth = bearer(officer)
    ok = await same(client, slow_client, "POST", VERIFY, json={"card": token}, headers=auth)
    assert ok.json()["reason"] == "ok"
    assert lanes_taken == [VERIFY]
    json_auth = {**auth, "Content-Type": "application/json"}
    for body in (b'{"card": "not.a.card"}', b'{"card": ""}', b'{"card": 5}', b'{}', b"",
                 b"[", b'{"card": "x", "more": 1}', b'{"card": "a\\u0000b"}',
                 b'{"card": "\\ud800"}', b'{"card": "' + b"x" * 5000 + b'"}',
                 b'{"card": "' + b"x" * 9000 + b'"}', b"null"):
        await same(client, slow_client, "POST", VERIFY, content=body, headers=json_auth)
    worker = joined.token
    for headers in ({}, bearer("garbage"), {"Authorization": "Basic Zm9vOmJhcg=="},
                    bearer(worker), {**auth, "Content-Type": "text/plain"}, auth):
        await same(client, slow_client, "POST", VERIFY, json={"card": token}, headers=headers)
    # Only the plain requests were the lane's: the valid card, the card refused on its face
    # (200 with a reason), and the last, plain again.
    assert lanes_taken == [VERIFY] * 3


async def test_nearby_and_resolve_answer_as_their_routes(
        client: httpx.AsyncClient, slow_client: httpx.AsyncClient, sms: Any, owner: Any,
        federation: Federation, lanes_taken: list[str]) -> None:
    r1 = federation.regions[0]
    for i, (lon, lat) in enumerate([(121.4502, 31.2001), (121.452, 31.203), (121.46, 31.21)]):
        await seed_point(owner, federation, r1, f"fl-{i}", lon, lat,
                         amenities=["toilet", "hot_meals"] if i else ["toilet"])
    worker, _ = await worker_login(client, sms, federation.hq)
    auth = bearer(worker)
    nearby = "/v1/geo/stations/nearby"
    fast = ["lat=31.2&lon=121.45", "lat=31.2&lon=121.45&limit=2&radius_m=5000",
            "lat=31.2&lon=121.45&crs=gcj02", "lat=31.2&lon=121.45&amenity=hot_meals",
            "lat=31.2&lon=121.45&amenity=toilet&amenity=hot_meals&open_now=true",
            "lat=31.2&lon=121.45&open_now=false", "lon=121.45&lat=31.2&crs=bd09"]
    handed = ["lat=31.2", "lat=abc&lon=121.45", "lat=31.2&lon=121.45&limit=0",
              "lat=31.2&lon=121.45&limit=05", "lat=31.2&lon=121.45&limit=51",
              "lat=31.2&lon=121.45&open_now=1", "lat=31.2&lon=121.45&crs=mars",
              "lat=31.2&lat=31.3&lon=121.45", "lat=%33%31.2&lon=121.45",
              "lat=3.12e1&lon=121.45", "lat=95&lon=121.45", "lat=nan&lon=121.45",
              "lat=31.2&lon=121.45&amenity=sauna", "lat=31.2&lon=121.45&amenity=",
              "lat=31.2&lon=121.45&other=1", "lat=031.2&lon=121.45", "lat=-0&lon=121.45",
              "lat=31.2&lon=121.45&radius_m=+3"]
    for query in fast + handed:
        await same(client, slow_client, "GET", f"{nearby}?{query}", headers=auth)
    resolve = "/v1/geo/resolve"
    for query in ("lat=31.2&lon=121.45", "lat=31.2&lon=121.45&crs=gcj02", "lat=95&lon=1",
                  "lat=31.2", "lat=31.2&lon=121.45&crs=x"):
        await same(client, slow_client, "GET", f"{resolve}?{query}", headers=auth)
    await same(client, slow_client, "GET", f"{nearby}?lat=31.2&lon=121.45")  # no token
    taken = [p for p in lanes_taken if p == nearby]
    # -0 is plain enough (Litestar reads it as the lane does); the rest of `handed` is not.
    assert len(taken) == len(fast) + 1, lanes_taken
    assert lanes_taken.count(resolve) == 2, lanes_taken


def test_a_lane_must_match_its_route(settings: Settings) -> None:
    from flexunion.config import AUDIENCE_ADMIN

    async def work(request: Any) -> dict[str, str]:
        return {}

    app = create_app(settings, fast_lanes=False)
    FastLanes([lane("GET", "/healthz", work)]).check(app)
    for bad in (lane("GET", "/healthz", work, {"audiences": (AUDIENCE_ADMIN,)}),
                lane("GET", "/no-such-path", work),
                lane("GET", "/v1/geo/resolve", work, query=frozenset({"lat", "secret"})),
                lane("POST", "/v1/cards/verify", work, max_body=1 << 20)):
        with pytest.raises(RuntimeError):
            FastLanes([bad]).check(app)
