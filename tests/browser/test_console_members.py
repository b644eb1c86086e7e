"""In a real browser: signing in and out, deciding an application, a sibling region's
member answering the same 404 as a missing one, a form without its CSRF token refused, and
an expired session going back to sign-in."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from playwright.async_api import Page, expect

from tests.browser.conftest import shoot, sign_in
from tests.support.console import staff_account
from tests.support.factories import Federation, join


async def test_sign_in_and_out(page: Page, owner, federation: Federation) -> None:
    username, password = await staff_account(owner, federation.regions[0], "regional_admin",
                                             name="王主席")
    await sign_in(page, username, password)
    await expect(page.get_by_test_id("who")).to_contain_text("王主席")
    await expect(page.get_by_role("heading", name="待办")).to_be_visible()
    await shoot(page, "dashboard")
    await page.get_by_role("link", name="EN", exact=True).click()
    await expect(page.get_by_role("heading", name="To do")).to_be_visible()
    await page.goto("/console/members")  # the choice is remembered
    await expect(page.get_by_role("heading", name="Members")).to_be_visible()
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"/console/login$"))
    await page.goto("/console/members")
    await expect(page).to_have_url(re.compile(r"/console/login\?next=%2Fconsole%2Fmembers$"))


async def test_wrong_password_is_shown_next_to_the_field(page: Page, owner,
                                                         federation: Federation) -> None:
    username, _ = await staff_account(owner, federation.regions[0], "regional_admin")
    await page.goto("/console/login")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill("not-the-password")
    await page.get_by_role("button", name="登录").click()
    await expect(page.locator("#password-error")).to_have_text("用户名或密码错误。")
    await expect(page.get_by_label("密码")).to_have_attribute("aria-invalid", "true")


async def test_approve_an_application(page: Page, owner, client, sms,
                                      federation: Federation) -> None:
    region = federation.regions[0]
    applicant = await join(client, sms, federation, federation.stations[region][0],
                           real_name="赵六")
    username, password = await staff_account(owner, region, "regional_admin")
    await sign_in(page, username, password)
    await page.get_by_test_id("todo-applications").get_by_role("link", name="赵*").click()
    await expect(page).to_have_url(re.compile(applicant.member_id))
    await page.get_by_role("button", name="批准入会").click()
    await expect(page.get_by_test_id("done")).to_be_visible()
    await expect(page.get_by_test_id("member-no")).to_have_text(re.compile(r"^\d{12}$"))
    await expect(page.get_by_test_id("history")).to_contain_text("申请中 → 正常")
    # a rejection needs its reason: said next to the field
    other = await join(client, sms, federation, federation.stations[region][0])
    await page.goto(f"/console/members/{other.member_id}")
    await page.get_by_role("button", name="驳回申请").click()
    await expect(page.locator("#reason-error")).to_have_text("此项必填。")
    await page.get_by_label(re.compile("理由")).fill("材料不全")
    await page.get_by_role("button", name="驳回申请").click()
    await expect(page.get_by_test_id("history")).to_contain_text("材料不全")


async def test_a_sibling_regions_member_is_the_same_404_as_a_missing_one(
        page: Page, owner, client, sms, federation: Federation) -> None:
    sibling = await join(client, sms, federation,
                         federation.stations[federation.regions[1]][0])
    username, password = await staff_account(owner, federation.regions[0], "regional_admin")
    await sign_in(page, username, password)
    foreign = await page.goto(f"/console/members/{sibling.member_id}")
    foreign_text = await page.get_by_test_id("not-found").inner_text()
    missing = await page.goto(f"/console/members/{uuid.uuid4()}")
    assert foreign is not None and missing is not None
    assert foreign.status == missing.status == 404
    assert await page.get_by_test_id("not-found").inner_text() == foreign_text


async def test_a_form_posted_without_its_csrf_token_is_refused(
        page: Page, owner, client, sms, federation: Federation) -> None:
    region = federation.regions[0]
    applicant = await join(client, sms, federation, federation.stations[region][0])
    username, password = await staff_account(owner, region, "regional_admin")
    await sign_in(page, username, password)
    await page.goto(f"/console/members/{applicant.member_id}")
    await page.locator('[data-testid="steps"] input[name="_csrf"]').evaluate(
        "el => el.remove()")
    await page.get_by_role("button", name="批准入会").click()
    await expect(page.get_by_test_id("error")).to_contain_text("CSRF")
    await page.goto(f"/console/members/{applicant.member_id}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("申请中")


async def test_an_expired_session_returns_to_sign_in(page: Page, owner, clock,
                                                     federation: Federation) -> None:
    username, password = await staff_account(owner, federation.regions[0], "regional_admin")
    await sign_in(page, username, password)
    clock.offset += timedelta(minutes=31)
    await page.get_by_role("link", name="会员", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/console/login\?next=%2Fconsole%2Fmembers$"))
    await sign_in_again(page, username, password)
    await expect(page.get_by_role("heading", name="会员")).to_be_visible()


async def sign_in_again(page: Page, username: str, password: str) -> None:
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录").click()
