"""In a real browser, 月度复盘: a regional admin opens the menu, sees the month's units ranked
where money and visits go next (the station whose member repeated a demand first), the
chart (reach, participation, hours per rider as inline SVG bars per station), the groups'
reach, and downloads the CSV (UTF-8 with BOM, no names); a bad month is shown as a problem."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.config import Settings
from flexunion.db.engine import make_engine, make_sessionmaker
from tests.browser.conftest import shoot, sign_in
from tests.services.conftest import drain, load_groups, load_services, member, push
from tests.services.test_platform_events import shift
from tests.support.bargaining import partner_client
from tests.support.console import staff_account
from tests.support.factories import Federation, bearer


@pytest.fixture
async def app_sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """App-role sessions, for the `service-groups` job the test runs as the worker would."""
    assert settings.app_database_url
    engine = make_engine(settings.app_database_url, pool_size=2, max_overflow=2)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def test_the_month_review_ranks_units_draws_the_chart_and_exports(
        page: Page, client, live, owner, sms, settings, clock, app_sessions,
        federation: Federation, staff_token) -> None:
    region = federation.regions[0]
    s0, s1 = federation.stations[region]
    await load_groups(owner, federation)
    await load_services(owner, federation)
    a, rider = await member(client, sms, federation, staff_token, at=s0)
    await member(client, sms, federation, staff_token, at=s1)
    alpha = await partner_client(client, owner, federation, "alpha")
    r = await push(client, alpha.token, shift(rider, hours=12, night_hours=10, zone_code="z-7"))
    assert r.status_code == 201, r.text
    await drain(owner, app_sessions, settings, clock, federation)
    r = await client.post("/v1/me/service-applications", json={"service": "health-check"},
                          headers=bearer(a.token) | {"Idempotency-Key": secrets.token_hex(8)})
    assert r.status_code == 201, r.text
    for _ in range(2):
        r = await client.post("/v1/me/cases", json={
            "category": "commission", "station": s0, "description": "抽成上调没有通知。"},
            headers=bearer(a.token) | {"Idempotency-Key": secrets.token_hex(8)})
        assert r.status_code == 201, r.text
    username, password = await staff_account(owner, region, "regional_admin", name="区域干部")
    await sign_in(page, username, password)
    await page.get_by_role("link", name="月度复盘", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("月度复盘")
    first = page.get_by_test_id("next-steps").locator("li").first
    await expect(first).to_have_attribute("data-unit", s0)
    await expect(first).to_contain_text("重复诉求 1 项")
    chart = page.get_by_test_id("chart")
    await expect(chart.locator(f'g[data-unit="{s0}"] rect')).to_have_count(3)
    await expect(chart.locator(f'g[data-unit="{s0}"] rect[data-key="reach"]')) \
        .to_have_attribute("data-value", "100%")
    await expect(chart.locator(f'g[data-unit="{s1}"] rect[data-key="reach"]')) \
        .to_have_attribute("data-value", "0%")
    row = page.get_by_test_id("groups").locator('tr[data-group="new-registration"]')
    await expect(row.locator('td[data-col="members"]')).to_have_text("2")
    await expect(row.locator('td[data-col="reach"]')).to_have_text("50%")
    await expect(page.get_by_test_id("zones").locator('tr[data-zone="z-7"]')).to_be_visible()
    await shoot(page, "service-review")
    async with page.expect_download() as waiting:
        await page.get_by_test_id("export").click()
    download = await waiting.value
    assert download.suggested_filename.startswith("service-review-")
    data = Path(await download.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert f",{s0}," in text and "张三丰" not in text
    form = page.get_by_test_id("pick-month")
    await form.get_by_label("月份").fill("2026-13")
    await form.get_by_role("button", name="查看").click()
    await expect(page.get_by_test_id("problem")).to_contain_text("2026-11")
