"""会员卡核验 in a real browser: a station officer of another region pastes a member's card
(from GET /v1/me/card) and reads 有效 in very large type with the masked holder, member number
and home union; a tampered card reads 无效 with its reason; text that is no card at all is an
error next to the field; and the 扫码 button, without a camera, says so and leaves the field
to paste into."""

from __future__ import annotations

import json

from playwright.async_api import Page, expect

from tests.browser.conftest import shoot, sign_in
from tests.cards.conftest import b64, card, unb64
from tests.support.console import staff_account
from tests.support.factories import Federation, join


def tampered(token: str) -> str:
    """The same card with another member number in its claims, the signature left as it was."""
    header, payload, signature = token.split(".")
    claims = json.loads(unb64(payload))
    claims["member_no"] = "999999999999"
    return ".".join([header, b64(json.dumps(claims).encode()), signature])


async def test_verify_a_pasted_card_then_a_tampered_one(page: Page, client, owner, sms,
                                                        staff_token,
                                                        federation: Federation) -> None:
    home = federation.stations[federation.regions[0]][0]
    admin = await staff_token(federation, "regional_admin", federation.regions[0])
    joined = await join(client, sms, federation, home, approver_token=admin)
    token = (await card(client, joined))["token"]
    desk = federation.stations[federation.regions[1]][0]
    username, password = await staff_account(owner, desk, "station_officer")
    await sign_in(page, username, password)
    await page.get_by_role("link", name="会员卡核验").click()

    await page.get_by_label("会员卡内容").fill(token)
    await page.get_by_role("button", name="核验", exact=True).click()
    verdict = page.get_by_test_id("verdict")
    await expect(verdict).to_have_text("有效")
    await expect(verdict).to_have_class("verdict-ok")
    size = await verdict.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    assert size >= 40, size  # very large type
    await expect(page.get_by_test_id("verdict-reason")).to_contain_text("有效会员卡")
    await expect(page.get_by_test_id("holder-name")).to_have_text("张**")
    await expect(page.get_by_test_id("holder-no")).to_have_text(joined.body["member_no"])
    await expect(page.get_by_test_id("holder-home")).to_contain_text(home)
    await expect(page.get_by_label("会员卡内容")).to_have_value("")  # ready for the next one
    await shoot(page, "card-check")

    await page.get_by_label("会员卡内容").fill(tampered(token))
    await page.get_by_role("button", name="核验", exact=True).click()
    await expect(verdict).to_have_text("无效")
    await expect(verdict).to_have_class("verdict-bad")
    await expect(verdict).to_have_attribute("data-reason", "bad_signature")
    await expect(page.get_by_test_id("verdict-reason")).to_contain_text("签名无效（伪造或篡改）")
    await expect(page.get_by_test_id("holder")).to_have_count(0)

    await page.get_by_label("会员卡内容").fill("https://example.com/not-a-card")
    await page.get_by_role("button", name="核验", exact=True).click()
    await expect(page.locator("#card-error")).to_contain_text("无法识别的会员卡")
    await expect(page.get_by_label("会员卡内容")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_test_id("verdict")).to_have_count(0)


async def test_in_english_and_without_a_camera(page: Page, owner,
                                               federation: Federation) -> None:
    username, password = await staff_account(owner, federation.hq, "hq_admin")
    await sign_in(page, username, password)
    await page.goto("/console/lang/en?next=/console/cards")
    await page.get_by_role("button", name="Scan").click()  # headless: no camera to open
    await expect(page.locator(".qr-message")).to_contain_text("Camera unavailable")
    await expect(page.get_by_label("Card text")).to_be_focused()
    await page.get_by_role("button", name="Verify").click()
    await expect(page.locator("#card-error")).to_have_text("This field is required.")
