"""In a real browser, 分类清单: a regional admin opens the menu, picks 夜间/高温外勤, filters by
the region and the delivery zone, sees the member (masked name, why: the night hours), the
services offered, and downloads the CSV (UTF-8 with BOM, masked)."""

from __future__ import annotations

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
from tests.support.factories import Federation


@pytest.fixture
async def app_sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """App-role sessions, for the `service-groups` job the test runs as the worker would."""
    assert settings.app_database_url
    engine = make_engine(settings.app_database_url, pool_size=2, max_overflow=2)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def test_the_group_list_filters_by_place_and_zone_and_the_csv_downloads(
        page: Page, client, live, owner, sms, settings, clock, app_sessions,
        federation: Federation, staff_token) -> None:
    r1 = federation.regions[0]
    await load_groups(owner, federation)
    await load_services(owner, federation)
    joined, rider = await member(client, sms, federation, staff_token)
    alpha = await partner_client(client, owner, federation, "alpha")
    r = await push(client, alpha.token, shift(rider, hours=12, night_hours=10, zone_code="z-7"),
                   shift(rider, hours=12, night_hours=11, zone_code="z-7"))
    assert r.status_code == 201, r.text
    await drain(owner, app_sessions, settings, clock, federation)
    username, password = await staff_account(owner, r1, "regional_admin", name="区域干部")
    await sign_in(page, username, password)
    await page.get_by_role("link", name="分类清单", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("分类清单")
    form = page.get_by_test_id("group-form")
    await form.get_by_label("服务分组").select_option("night-heat-outdoor")
    await form.get_by_label("组织编码").fill(r1)
    await form.get_by_label("配送片区").fill("z-7")
    await form.get_by_role("button", name="查看").click()
    row = page.get_by_test_id("group-members").locator(f'tr[data-member="{joined.member_id}"]')
    await expect(row).to_contain_text("张*")
    await expect(row).to_contain_text("night_hours: 21.0")
    await expect(page.get_by_test_id("offers")).to_contain_text("送清凉")
    await shoot(page, "service-groups")
    async with page.expect_download() as waiting:
        await page.get_by_test_id("csv").click()
    download = await waiting.value
    assert download.suggested_filename == "service-group-night-heat-outdoor.csv"
    data = Path(await download.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").strip().split("\r\n")
    assert len(lines) == 2 and "张*" in lines[1] and "张三丰" not in lines[1]
    await form.get_by_label("配送片区").fill("z-8")
    await form.get_by_role("button", name="查看").click()
    await expect(page.get_by_test_id("group-members")).to_contain_text("没有会员")
