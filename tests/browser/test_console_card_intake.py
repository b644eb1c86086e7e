"""扫码识别会员 in a real browser (issue 15, "Referral at the place of work"): a station
officer of region B takes a walk-in (现场受理) from a member homed in region A by the card the
member presents — pasted, and scanned with the camera (Chromium's fake camera playing the
card's own QR code) through the card check's scanner and jsQR. The form shows whom it will
link (masked name, 会员号, home union, as the card check shows) before anything is entered;
the case is linked and A's region reads it; a forged card is refused next to the field and
nothing is entered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from playwright.async_api import Page, async_playwright, expect
from sqlalchemy import text

from tests.browser.conftest import chromium_path, shoot, sign_in
from tests.browser.test_console_cards import tampered
from tests.cards.conftest import card, svg_modules
from tests.support.console import staff_account
from tests.support.factories import Federation, Joined, bearer, join


async def _a_homed_member(client: Any, sms: Any, staff_token: Any,
                          federation: Federation) -> tuple[Joined, dict[str, Any]]:
    home = federation.stations[federation.regions[0]][0]
    admin = await staff_token(federation, "regional_admin", federation.regions[0])
    joined = await join(client, sms, federation, home, approver_token=admin)
    return joined, await card(client, joined)


async def _fill_demand(page: Page) -> None:
    intake = page.get_by_test_id("intake-form")
    await expect(intake.get_by_label("受理渠道")).to_have_value("station")
    await intake.get_by_label("类别").select_option("commission")
    await intake.get_by_label("诉求内容").fill("外地会员：抽成上调未公示")


async def _cases(owner: Any, federation: Federation) -> int:
    async with owner() as s:
        return int(await s.scalar(text("SELECT count(*) FROM cases WHERE federation_id = :f"),
                                  {"f": federation.ids[federation.hq]}) or 0)


async def _home_reads(client: Any, staff_token: Any, federation: Federation,
                      case_url: str) -> None:
    """A's regional union reads the case taken in B, as 会员所属工会 (read only)."""
    token = await staff_token(federation, "regional_admin", federation.regions[0])
    seen = await client.get(f"/v1/cases/{case_url.rsplit('/', 1)[1]}", headers=bearer(token))
    assert seen.status_code == 200, seen.text
    assert seen.json()["sight"]["code"] == "home"


async def test_a_pasted_card_links_the_member_and_a_forged_one_is_refused(
        page: Page, client, owner, sms, staff_token, federation: Federation) -> None:
    joined, presented = await _a_homed_member(client, sms, staff_token, federation)
    home = federation.stations[federation.regions[0]][0]
    desk = federation.stations[federation.regions[1]][0]
    username, password = await staff_account(owner, desk, "station_officer", name="乙站干事")
    await sign_in(page, username, password)
    await page.get_by_role("link", name="需求台账", exact=True).click()
    await page.get_by_test_id("new-case").click()
    await _fill_demand(page)
    section = page.get_by_test_id("member-card")
    await expect(section).to_contain_text("扫码识别会员")
    before = await _cases(owner, federation)

    # A forged card: the preview says why, and entering it is refused next to the field.
    await section.get_by_label("会员卡内容").fill(tampered(presented["token"]))
    refused = page.get_by_test_id("card-holder-refused")
    await expect(refused).to_contain_text("签名无效（伪造或篡改）")
    await expect(refused).to_have_attribute("data-reason", "bad_signature")
    await page.get_by_role("button", name="录入台账").click()
    await expect(page.locator("#card-error")).to_contain_text("签名无效")
    await expect(page.get_by_label("会员卡内容")).to_have_attribute("aria-invalid", "true")
    assert await _cases(owner, federation) == before

    # The real card (pasted wrapped over lines, as a copied card may come): whom it links.
    token = presented["token"]
    await section.get_by_label("会员卡内容").fill(f"{token[:300]}\n{token[300:]}")
    await expect(page.get_by_test_id("card-holder-name")).to_contain_text("张**")
    await expect(page.get_by_test_id("card-holder-no")).to_have_text(joined.body["member_no"])
    await expect(page.get_by_test_id("card-holder-home")).to_contain_text(home)
    await expect(page.locator("#card-error")).to_have_count(0)  # the refusal was of the last
    await shoot(page, "case-intake-card")
    await page.get_by_role("button", name="录入台账").click()
    await expect(page.get_by_test_id("done")).to_be_visible()
    fields = page.get_by_test_id("case-fields")
    await expect(fields).to_contain_text("张**")
    await expect(fields).to_contain_text("会员")
    await expect(fields).not_to_contain_text("非会员")
    assert await _cases(owner, federation) == before + 1
    await _home_reads(client, staff_token, federation, page.url.split("?")[0])


def _camera_file(svg: str, where: Path, pixels: int = 6) -> Path:
    """The card's QR code as a one-frame YUV4MPEG2 video (black on white, 960×720), for
    Chromium's fake camera (--use-file-for-fake-video-capture)."""
    dark = svg_modules(svg)
    modules = np.where(dark, 16, 235).astype(np.uint8).repeat(pixels, 0).repeat(pixels, 1)
    width, height = 960, 720
    assert modules.shape[0] <= height and modules.shape[1] <= width, modules.shape
    luma = np.full((height, width), 235, dtype=np.uint8)
    top, left = (height - modules.shape[0]) // 2, (width - modules.shape[1]) // 2
    luma[top:top + modules.shape[0], left:left + modules.shape[1]] = modules
    chroma = np.full((height // 2, width // 2), 128, dtype=np.uint8)
    path = where / "card.y4m"
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
                     + b"FRAME\n" + luma.tobytes() + chroma.tobytes() + chroma.tobytes())
    return path


async def test_the_camera_scans_the_card_into_the_walk_in_form(
        live, client, owner, sms, staff_token, federation: Federation, tmp_path: Path) -> None:
    joined, presented = await _a_homed_member(client, sms, staff_token, federation)
    video = _camera_file(presented["qr_svg"], tmp_path)
    desk = federation.stations[federation.regions[1]][0]
    username, password = await staff_account(owner, desk, "station_officer", name="乙站干事")
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=chromium_path(), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream",
                  "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-video-capture={video}"])
        try:
            context = await browser.new_context(base_url=live.url, locale="zh-CN",
                                                timezone_id="Asia/Shanghai",
                                                viewport={"width": 1280, "height": 860})
            await context.grant_permissions(["camera"], origin=live.url)
            context.set_default_timeout(20_000)
            page = await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await sign_in(page, username, password)
            await page.goto("/console/cases/new")
            await _fill_demand(page)
            before = await _cases(owner, federation)
            await page.get_by_test_id("member-card").get_by_role("button", name="扫码").click()
            # jsQR reads the code; the field holds the card, the form is not sent by itself,
            # and the preview names the member.
            await expect(page.get_by_label("会员卡内容")).to_have_value(presented["token"])
            await expect(page.get_by_test_id("card-holder-name")).to_contain_text("张**")
            await expect(page.get_by_test_id("card-holder-no")).to_have_text(
                joined.body["member_no"])
            await expect(page.locator("#qr-video video")).to_have_count(0)  # camera let go
            assert await _cases(owner, federation) == before
            await page.get_by_role("button", name="录入台账").click()
            await expect(page.get_by_test_id("done")).to_be_visible()
            await expect(page.get_by_test_id("case-fields")).to_contain_text("张**")
            assert await _cases(owner, federation) == before + 1
            await _home_reads(client, staff_token, federation, page.url.split("?")[0])
            assert not errors, errors
        finally:
            await browser.close()
