"""审计 in a real browser: a regional admin filters the trail of the region by object type and
finds the approval of a member; by action prefix and object id; keyset pages by seq; a
sibling region's entries are not shown; and the page says how an operator checks the chain."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.browser.conftest import sign_in
from tests.support.console import staff_account
from tests.support.factories import Federation, join


async def test_the_trail_filtered_by_object_type_shows_an_approval(
        page: Page, client, owner, sms, staff_token, federation: Federation) -> None:
    r1, r2 = federation.regions
    admin = await staff_token(federation, "regional_admin", r1)
    mine = await join(client, sms, federation, federation.stations[r1][0], approver_token=admin)
    theirs = await join(client, sms, federation, federation.stations[r2][0],
                        approver_token=await staff_token(federation, "regional_admin", r2))
    username, password = await staff_account(owner, r1, "regional_admin")
    await sign_in(page, username, password)
    await page.get_by_role("link", name="审计").click()
    await expect(page.get_by_test_id("chain-check")).to_contain_text("flexunion audit verify")

    await page.get_by_label("对象类型").fill("member")
    await page.get_by_role("button", name="筛选").click()
    await expect(page).to_have_url(re.compile(r"object_type=member"))
    trail = page.get_by_test_id("audit")
    approval = trail.locator("tbody tr", has_text="membership.approved").filter(
        has_text=mine.member_id)
    await expect(approval).to_have_count(1)
    await expect(approval).to_contain_text(federation.stations[r1][0])
    await expect(trail).not_to_contain_text(theirs.member_id)  # a sibling region's member
    await expect(trail).not_to_contain_text("console_session")
    await expect(trail.get_by_role("link", name=mine.member_id).first).to_have_attribute(
        "href", f"/console/members/{mine.member_id}")

    # The same member's entries by action prefix and object id: applied, then approved.
    await page.get_by_label(re.compile("^操作")).fill("membership.")
    await page.get_by_label("对象编号").fill(mine.member_id)
    await page.get_by_role("button", name="筛选").click()
    rows = trail.locator("tbody tr[data-seq]")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text("membership.approved")
    await expect(rows.nth(1)).to_contain_text("membership.applied")
    seqs = [int(s or 0) for s in await rows.evaluate_all(
        "rs => rs.map(r => r.dataset.seq)")]
    assert seqs[0] > seqs[1]

    # Keyset paging: below the newest entry's seq, only the older one is left.
    await page.goto(f"/console/audit?object_id={mine.member_id}&before={seqs[0]}")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-seq", str(seqs[1]))
    await expect(page.get_by_role("link", name="回到最新")).to_be_visible()
