"""Map tiles in a real browser: with no setting the maps draw on a plain background and ask
no tile server; with GCJ-02 tiles configured (Amap/Tianditu style), the tiles are fetched
and the layers are shifted to GCJ-02 so they line up."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import prcoords
import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import sign_in
from tests.browser.test_console_stations import code, create, station
from tests.support.console import staff_account
from tests.support.factories import Federation
from tests.support.server import LiveServer

# Any image the app serves itself stands in for a tile server (no outside requests here).
TILES = "/console/static/vendor/leaflet/images/layers.png?z={z}&x={x}&y={y}"
LON, LAT = 121.40, 31.17  # WGS-84, Shanghai


@pytest.fixture
async def gcj_live(settings, sms, clock) -> AsyncIterator[LiveServer]:
    from flexunion.app import create_app

    tiled = dataclasses.replace(settings, console=dataclasses.replace(
        settings.console, tiles=TILES, tiles_crs="gcj02"))
    server = LiveServer(create_app(tiled, sms=sms, clock=clock)).start()
    yield server
    server.stop()


async def _drawn_at(page: Page) -> list[float]:
    await expect(page.get_by_test_id("stations-map")).to_have_attribute("data-ready", "1")
    return await page.evaluate(
        "() => { const l = window.flexunionMaps[0].layer.getLayers()[0].getLatLng();"
        " return [l.lng, l.lat]; }")


async def test_plain_background_by_default_and_gcj02_tiles_shift_the_layers(
        page: Page, browser: Browser, gcj_live: LiveServer, owner, client, staff_token,
        federation: Federation) -> None:
    region = federation.regions[0]
    admin = await staff_token(federation, "regional_admin", region)
    await create(client, admin, station(code(), region, LON, LAT))
    username, password = await staff_account(owner, region, "regional_admin")

    tiles: list[str] = []
    page.on("request", lambda r: tiles.append(r.url) if "layers.png?z=" in r.url else None)
    await sign_in(page, username, password)
    await page.goto("/console/stations")
    lon, lat = await _drawn_at(page)
    assert (lon, lat) == pytest.approx((LON, LAT), abs=1e-9)
    assert tiles == []

    context = await browser.new_context(base_url=gcj_live.url)
    tiled = await context.new_page()
    tiled.on("request", lambda r: tiles.append(r.url) if "layers.png?z=" in r.url else None)
    try:
        await sign_in(tiled, username, password)
        await tiled.goto("/console/stations")
        lon, lat = await _drawn_at(tiled)
        # GCJ-02 lies ~0.0046° east and ~0.0019° south of WGS-84 here; the page's shift
        # (its own JavaScript) must agree with prcoords, the library the API uses
        gcj = prcoords.wgs_gcj((LAT, LON))
        assert (lon, lat) == pytest.approx((gcj.lon, gcj.lat), abs=1e-7)
        assert 0.003 < lon - LON < 0.006 and -0.003 < lat - LAT < -0.001, (lon, lat)
        assert tiles, "the configured tiles were not fetched"
    finally:
        await context.close()
