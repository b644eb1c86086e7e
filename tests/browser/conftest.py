"""Browser tests: Debian's chromium (README: `apt-get install -y chromium`), driven by
Playwright for Python, against the real app on a loopback socket and the real database.

A missing browser fails every test here (never a skip). A failing test leaves a screenshot
in tests/browser/failures/. With FLEXUNION_SCREENSHOTS=<dir> the tests also save the
named screenshots docs/console.md shows (`shoot(page, name)`):

    FLEXUNION_SCREENSHOTS=docs/console .venv/bin/pytest tests/browser
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

FAILURES = Path(__file__).with_name("failures")


def chromium_path() -> str:
    found = os.environ.get("FLEXUNION_CHROMIUM") or shutil.which("chromium") or shutil.which(
        "chromium-browser")
    if not found:
        pytest.fail("No chromium found: install it with `apt-get install -y chromium` "
                    "(README), or point FLEXUNION_CHROMIUM at a Chromium binary.")
    return found


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """One worker runs every browser test (pytest-xdist, --dist loadgroup): one chromium at a
    time on the machine, as when the suite runs in one process."""
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=chromium_path(), headless=True,
                                           args=["--no-sandbox", "--disable-gpu"])
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Browser, live: Any, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=live.url, locale="zh-CN",
                                        timezone_id="Asia/Shanghai",
                                        viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        FAILURES.mkdir(exist_ok=True)
        for n, p in enumerate(context.pages):
            await p.screenshot(path=str(FAILURES / f"{request.node.name}-{n}.png"),
                               full_page=True)
    await context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


async def shoot(page: Page, name: str) -> None:
    """A screenshot for docs/console.md, when FLEXUNION_SCREENSHOTS names where."""
    where = os.environ.get("FLEXUNION_SCREENSHOTS")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(where) / f"{name}.png"), full_page=True)


async def sign_in(page: Page, username: str, password: str) -> None:
    """Through the sign-in form, as an officer would."""
    await page.goto("/console/login")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url("**/console/")
