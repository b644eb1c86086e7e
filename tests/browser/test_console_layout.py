"""The console on a phone and from the keyboard, and offline: nothing is fetched from any
host but the app's own."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import sign_in
from tests.support.console import staff_account
from tests.support.factories import Federation


async def test_every_asset_comes_from_the_app_itself(page: Page, owner, live,
                                                     federation: Federation) -> None:
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((live.url, "data:"))
            else elsewhere.append(r.url))
    username, password = await staff_account(owner, federation.hq, "hq_admin")
    await sign_in(page, username, password)
    menus = [await a.get_attribute("href") for a in await page.locator("nav.sidenav a").all()]
    assert len(menus) >= 8
    for href in menus:
        answer = await page.goto(href or "")
        assert answer is not None and answer.status == 200, href
        await page.wait_for_load_state("networkidle")
    assert elsewhere == []


async def test_on_a_phone_the_menu_is_a_strip_and_nothing_overflows(
        browser: Browser, live, owner, federation: Federation) -> None:
    context = await browser.new_context(base_url=live.url, viewport={"width": 390, "height": 844},
                                        is_mobile=True, has_touch=True)
    page = await context.new_page()
    try:
        username, password = await staff_account(owner, federation.regions[0], "regional_admin")
        await sign_in(page, username, password)
        nav = await page.locator("nav.sidenav").bounding_box()
        main = await page.locator("main").bounding_box()
        assert nav and main and nav["y"] < main["y"]  # above the content, not beside it
        wide = await page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 390
    finally:
        await context.close()


async def test_the_keyboard_reaches_the_content_first(page: Page, owner,
                                                      federation: Federation) -> None:
    username, password = await staff_account(owner, federation.regions[0], "regional_admin")
    await sign_in(page, username, password)
    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="跳到正文")
    await expect(skip).to_be_focused()
    await expect(skip).to_be_visible()
    await page.keyboard.press("Enter")
    await expect(page.locator("main")).to_be_focused()
