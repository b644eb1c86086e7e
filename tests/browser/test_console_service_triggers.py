"""In a real browser, 触发规则: a regional admin sees HQ's rules in effect and saves the
region's own version from today (the old versions kept, the new one in effect); a station
officer sees the 送清凉 notice a heat warning over its region left at its station."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.config import Settings
from flexunion.db.engine import make_engine, make_sessionmaker
from tests.browser.conftest import shoot, sign_in
from tests.services.test_triggers import hq_set, load, run_triggers
from tests.support.console import staff_account
from tests.support.factories import Federation, bearer


@pytest.fixture
async def app_sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """App-role sessions, for the `service-triggers` job the test runs as the worker would."""
    assert settings.app_database_url
    engine = make_engine(settings.app_database_url, pool_size=2, max_overflow=2)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def test_a_region_saves_its_own_version_and_a_station_sees_its_notice(
        page: Page, client, live, owner, settings, clock, app_sessions,
        federation: Federation, staff_token) -> None:
    r0 = federation.regions[0]
    await load(owner, federation, hq_set())
    username, password = await staff_account(owner, r0, "regional_admin")
    await sign_in(page, username, password)
    await page.get_by_role("link", name="触发规则", exact=True).click()
    hq_row = page.get_by_test_id("rule-sets").locator(f'tr[data-unit="{federation.hq}"]')
    await expect(hq_row).to_contain_text("生效中")
    await expect(hq_row).to_contain_text("night-health")
    form = page.get_by_test_id("rules-form")
    rules = form.get_by_label("规则（YAML")
    await expect(rules).to_contain_text("night-health")  # prefilled from the rules in effect
    text = (await rules.input_value()).replace("value: 4", "value: 3")
    await rules.fill(text)
    await form.get_by_label("修订说明").fill("夜班 3 小时起推送体检")
    await form.get_by_role("button", name="保存为新版本").click()
    await expect(page.get_by_test_id("done")).to_contain_text("已保存为新版本")
    mine = page.get_by_test_id("rule-sets").locator(f'tr[data-unit="{r0}"]')
    await expect(mine).to_have_count(1)
    await expect(mine).to_contain_text("生效中")
    await expect(mine).to_contain_text("night_hours>=3")
    await shoot(page, "service-triggers")
    await form.get_by_label("规则（YAML").fill("- code: x\n  event: shift_worked\n"
                                               "  actions: [{do: station_notice}]\n")
    await form.get_by_role("button", name="保存为新版本").click()
    await expect(page.get_by_role("alert").first).to_contain_text("station_notice")

    admin = await staff_token(federation, "regional_admin", r0)
    now = datetime.now(UTC)
    r = await client.post("/v1/admin/services/weather-warnings", headers=bearer(admin), json={
        "warnings": [{"source_ref": "HEAT-B", "kind": "heat", "level": "orange",
                      "title_zh": "高温橙色预警", "area_codes": [r0],
                      "valid_from": now.isoformat(),
                      "valid_to": (now + timedelta(hours=8)).isoformat()}]})
    assert r.status_code == 201, r.text
    await run_triggers(owner, app_sessions, settings, clock, federation)
    station = federation.stations[r0][0]
    username, password = await staff_account(owner, station, "station_officer")
    await page.context.clear_cookies()
    await sign_in(page, username, password)
    await page.get_by_role("link", name="触发规则", exact=True).click()
    notice = page.get_by_test_id("trigger-actions").locator('tr[data-action="station_notice"]')
    await expect(notice).to_have_count(1)
    await expect(notice).to_contain_text("送清凉")
    await expect(page.get_by_test_id("rules-form")).to_have_count(0)
