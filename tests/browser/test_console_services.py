"""服务窗口 and 服务目录 in a real browser: a regional admin adds the region's own entry to
the catalogue (HQ's entries shown as federation-wide, not editable here); a member applies
for 法律咨询 in the app, the region's window returns it for 补件, the member's upload puts it
back under review and the window approves it; a station officer files a walk-in and takes
the member's file at the counter."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.browser.conftest import shoot, sign_in
from tests.services.conftest import load_services
from tests.support.console import staff_account
from tests.support.factories import Federation, bearer, join

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def test_a_region_extends_the_catalogue(page: Page, owner,
                                              federation: Federation) -> None:
    await load_services(owner, federation)
    username, password = await staff_account(owner, federation.regions[0], "regional_admin")
    await sign_in(page, username, password)
    await page.get_by_role("link", name="服务目录", exact=True).click()
    catalogue = page.get_by_test_id("catalogue")
    await expect(catalogue.locator('tr[data-code="legal-advice"]')
                 ).to_contain_text("总部（全联合会）")
    form = page.get_by_test_id("entry-form")
    await form.get_by_label("代码（小写字母、数字、连字符）").fill("rider-lounge")
    await form.get_by_label("名称（中文）").fill("骑手驿站预约")
    await form.get_by_label("名称（英文）").fill("Rider lounge booking")
    await form.get_by_label("材料清单").fill("photo | 照片 | Photo | 选填")
    await form.get_by_label("办理时限（工作日）").fill("2")
    await form.get_by_role("button", name="保存").click()
    await expect(page.get_by_test_id("done")).to_contain_text("服务已保存")
    row = page.get_by_test_id("catalogue").locator('tr[data-code="rider-lounge"]')
    await expect(row).to_contain_text("照片（选填）")
    await expect(row).to_contain_text(federation.regions[0])
    await shoot(page, "service-catalogue")
    await page.locator('tr[data-code="hardship"] a').click()
    await expect(page.get_by_role("heading", level=2)).to_contain_text("该服务由其他单位维护")
    await expect(page.get_by_test_id("entry-form")).to_have_count(0)


async def test_the_window_returns_for_materials_then_approves(
        page: Page, client, owner, federation: Federation, sms, staff_token) -> None:
    await load_services(owner, federation)
    hq = await staff_token(federation, "hq_admin", federation.hq)
    m = await join(client, sms, federation, federation.stations[federation.regions[0]][0],
                   approver_token=hq)
    r = await client.post("/v1/me/service-applications", json={"service": "legal-advice"},
                          headers=bearer(m.token) | {"Idempotency-Key": "b1"})
    assert r.status_code == 201, r.text
    app = r.json()
    username, password = await staff_account(owner, federation.regions[0], "regional_admin")
    await sign_in(page, username, password)
    await page.get_by_role("link", name="服务窗口", exact=True).click()
    row = page.locator(f'tr[data-id="{app["id"]}"]')
    await expect(row.get_by_test_id("member")).to_contain_text(m.body["member_no"])
    await expect(row.get_by_test_id("member")).to_contain_text("*")  # the name masked
    await page.get_by_role("link", name=app["number"]).click()
    await expect(page.get_by_test_id("member")).to_contain_text(m.body["member_no"])
    await expect(page.locator('tr[data-material="facts"]')).to_contain_text("缺")
    more = page.get_by_test_id("request-more-form")
    await more.get_by_label("情况说明", exact=True).check()
    await more.get_by_label("说明", exact=True).fill("请上传情况说明")
    await more.get_by_role("button", name="退回补件").click()
    await expect(page.get_by_test_id("status")).to_contain_text("待补件")
    await page.goto("/console/service-window?tab=returned")
    await expect(page.locator(f'tr[data-id="{app["id"]}"]')).to_be_visible()
    r = await client.post(f"/v1/me/service-applications/{app['id']}/materials",
                          headers=bearer(m.token) | {"Idempotency-Key": "b2"},
                          data={"material": "facts"},
                          files={"file": ("facts.pdf", PDF, "application/pdf")})
    assert r.status_code == 201, r.text
    await page.goto(f"/console/service-window/{app['id']}")
    await expect(page.get_by_test_id("status")).to_contain_text("待审")
    await expect(page.locator('tr[data-material="facts"]')).to_contain_text("facts.pdf")
    await shoot(page, "service-window-application")
    await page.get_by_test_id("approve-form").get_by_role("button", name="同意办理").click()
    await expect(page.get_by_test_id("status")).to_contain_text("已办结（同意）")
    await page.goto("/console/service-window?tab=done")
    await expect(page.locator(f'tr[data-id="{app["id"]}"]')).to_be_visible()


async def test_a_station_files_a_walk_in(page: Page, client, owner, federation: Federation, sms,
                                         staff_token) -> None:
    await load_services(owner, federation)
    station = federation.stations[federation.regions[0]][0]
    hq = await staff_token(federation, "hq_admin", federation.hq)
    m = await join(client, sms, federation, station, approver_token=hq)
    username, password = await staff_account(owner, station, "station_officer")
    await sign_in(page, username, password)
    await page.get_by_role("link", name="服务窗口", exact=True).click()
    await page.get_by_test_id("walk-in").click()
    form = page.get_by_test_id("walk-in-form")
    await form.get_by_label("会员号").fill(m.body["member_no"])
    await form.locator("select[name=service]").select_option("skills-training")
    await form.get_by_role("button", name="提交申请").click()
    await expect(page.get_by_test_id("application")).to_contain_text("窗口代办")
    await expect(page.get_by_test_id("status")).to_contain_text("待审")
    await expect(page.locator('tr[data-material="id_photo"]')).to_contain_text("缺")
    upload = page.get_by_test_id("material-form")
    await upload.locator("select[name=material]").select_option("id_photo")
    await upload.locator("input[name=file]").set_input_files(
        files=[{"name": "photo.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    await upload.get_by_role("button", name="上传材料").click()
    await expect(page.locator('tr[data-material="id_photo"]')).to_contain_text("photo.pdf")
    mine = (await client.get("/v1/me/service-applications", headers=bearer(m.token))).json()
    assert len(mine) == 1 and mine[0]["channel"] == "walk_in" and mine[0]["missing"] == []
