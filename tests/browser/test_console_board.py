"""In a real browser: the agenda board (协商清单) — an item moved two steps shows in its new
column with both steps on its timeline; asking for 已表决通过 without a passed ballot is
refused with the ballot_required message; the filters narrow the board (HTMX and plain GET);
a ballot opened on an agreed item is on the dashboard's 进行中的表决 and has its own page
(early close needs a reason; the count and a recount that matches)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from playwright.async_api import Page, expect

from tests.browser.conftest import shoot, sign_in
from tests.support.bargaining import DETAILS, seed_item
from tests.support.console import signed_in, staff_account
from tests.support.factories import Federation, bearer, join

ITEMS = "/v1/admin/bargaining/items"


async def _officer(page: Page, owner, fed: Federation) -> None:
    username, password = await staff_account(owner, fed.regions[0], "regional_admin",
                                             name="周协商")
    await sign_in(page, username, password)


async def test_an_item_moves_two_steps_and_shows_in_its_column(
        page: Page, owner, client, federation: Federation, staff_token) -> None:
    r1 = federation.regions[0]
    admin = await staff_token(federation, "regional_admin", r1)
    made = await client.post(ITEMS, headers=bearer(admin), json={
        "partner": "alpha", "topic": "commission_rates", "title": "降低外卖抽成比例",
        "summary": "骑手普遍反映每单抽成过高", "details": DETAILS["commission_rates"]})
    assert made.status_code == 201, made.text
    item = made.json()["id"]
    await seed_item(owner, federation, topic="dispatch_rules", title="派单规则不透明",
                    status="in_negotiation")
    await seed_item(owner, federation, topic="appeals", title="申诉复核时限过长",
                    status="collected", partner="beta")
    await _officer(page, owner, federation)
    await page.get_by_role("link", name="协商清单", exact=True).click()
    await expect(page.get_by_test_id("column-collected")).to_contain_text("降低外卖抽成比例")

    await page.get_by_role("link", name="降低外卖抽成比例").click()
    await expect(page).to_have_url(re.compile(item))
    await expect(page.get_by_test_id("details")).to_contain_text("现行抽成比例")
    await expect(page.locator('[data-field="proposed_rate_pct"]')).to_have_text("18.0%")
    await page.get_by_label("理由").fill("附议人数虽未达门槛，但问题普遍")
    await page.get_by_role("button", name="→ 审核中").click()
    await expect(page.get_by_test_id("done")).to_be_visible()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("审核中")
    await page.get_by_label("理由").fill("列入本季度协商")
    await page.get_by_role("button", name="→ 已列入协商清单").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("已列入协商清单")
    timeline = page.get_by_test_id("timeline")
    await expect(timeline).to_contain_text("已收集 → 审核中")
    await expect(timeline).to_contain_text("附议人数虽未达门槛，但问题普遍")
    await expect(timeline).to_contain_text("审核中 → 已列入协商清单")
    await expect(timeline).to_contain_text("列入本季度协商")

    await page.get_by_role("link", name="← 协商清单").click()
    on_agenda = page.get_by_test_id("column-on_agenda")
    await expect(on_agenda).to_contain_text("降低外卖抽成比例")
    await expect(on_agenda).to_contain_text("抽成比例 Commission rates")
    await expect(on_agenda).to_contain_text("阿尔法平台")
    await expect(page.get_by_test_id("count-on_agenda")).to_have_text("1")
    await expect(page.get_by_test_id("column-collected")).not_to_contain_text("降低外卖抽成比例")
    await expect(page.get_by_test_id("count-collected")).to_have_text("1")
    await expect(page.get_by_test_id("count-in_negotiation")).to_have_text("1")
    await shoot(page, "board")


async def test_ratified_needs_a_passed_ballot(page: Page, owner,
                                             federation: Federation) -> None:
    item = await seed_item(owner, federation, status="agreed", title="恶劣天气超时顺延",
                           topic="overtime")
    await _officer(page, owner, federation)
    await page.goto(f"/console/board/{item}")
    await page.get_by_label("理由").fill("直接批准")
    await page.get_by_role("button", name="→ 已表决通过").click()
    await expect(page.get_by_test_id("problem")).to_have_text(
        "只有通过的批准表决才能使事项变为「已表决通过」。")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("已达成一致")
    await expect(page.get_by_label("理由")).to_have_value("直接批准")
    await page.goto(f"/console/board/{item}")
    await page.get_by_role("link", name="EN", exact=True).click()
    await page.get_by_label("Reason").fill("straight through")
    await page.get_by_role("button", name="→ Ratified").click()
    await expect(page.get_by_test_id("problem")).to_have_text(
        "Only a passed ratification ballot makes an item 'ratified'.")


async def test_the_filters_narrow_the_board(page: Page, owner,
                                            federation: Federation) -> None:
    r1 = federation.regions[0]
    await seed_item(owner, federation, scope=r1, topic="dispatch_rules", title="派单规则不透明")
    await seed_item(owner, federation, scope=r1, partner="beta", title="贝塔抽成过高",
                    status="on_agenda")
    await seed_item(owner, federation, scope=federation.hq, title="全国统一申诉时限",
                    topic="appeals", status="deferred")
    await _officer(page, owner, federation)
    await page.goto("/console/board")
    board = page.get_by_test_id("board")
    for title in ("派单规则不透明", "贝塔抽成过高", "全国统一申诉时限"):
        await expect(board).to_contain_text(title)
    await page.get_by_label("议题").select_option("dispatch_rules")  # HTMX: columns only
    await expect(board).not_to_contain_text("贝塔抽成过高")
    await expect(page.get_by_test_id("board")).to_contain_text("派单规则不透明")
    await expect(page).to_have_url(re.compile(r"topic=dispatch_rules"))
    await page.get_by_label("议题").select_option("")
    await page.get_by_label("平台").select_option("beta")
    await expect(page.get_by_test_id("board")).not_to_contain_text("派单规则不透明")
    await expect(page.get_by_test_id("board")).to_contain_text("贝塔抽成过高")
    await page.get_by_label("平台").select_option("")
    await page.get_by_label("范围").select_option(federation.hq)
    await expect(page.get_by_test_id("board")).not_to_contain_text("贝塔抽成过高")
    await expect(page.get_by_test_id("count-deferred")).to_have_text("1")
    await page.get_by_label("范围").select_option("")
    await page.get_by_label("标题或摘要").fill("派单")
    await expect(page.get_by_test_id("board")).not_to_contain_text("全国统一申诉时限")
    await expect(page.get_by_test_id("board")).to_contain_text("派单规则不透明")
    # Without JavaScript the same filters are a plain GET.
    await page.goto(f"/console/board?partner=beta&region={r1}")
    await expect(page.get_by_label("平台")).to_have_value("beta")
    await expect(page.get_by_test_id("board")).to_contain_text("贝塔抽成过高")
    await expect(page.get_by_test_id("board")).not_to_contain_text("派单规则不透明")
    await expect(page.get_by_test_id("count-on_agenda")).to_have_text("1")
    await expect(page.get_by_test_id("count-collected")).to_have_text("0")


async def test_open_a_ballot_and_follow_it_from_the_dashboard(
        page: Page, owner, client, sms, federation: Federation, staff_token) -> None:
    r1 = federation.regions[0]
    hq = await staff_token(federation, "hq_admin", federation.hq)
    await join(client, sms, federation, federation.stations[r1][0], approver_token=hq)
    item = await seed_item(owner, federation, status="agreed", title="连续送单四小时后休息",
                           topic="rest")
    await _officer(page, owner, federation)
    await page.goto(f"/console/board/{item}")
    await expect(page.get_by_test_id("ballots")).to_contain_text("只保存回执的哈希")
    await page.get_by_label(re.compile("表决问题")).fill("是否同意休息安排的协商结果？")
    await page.get_by_role("button", name="发起表决").click()
    await expect(page).to_have_url(re.compile(r"/console/board/ballots/[0-9a-f-]{36}\?done="))
    ballot_url = page.url.split("?")[0]
    await expect(page.get_by_test_id("electorate")).to_have_text("1")
    await expect(page.get_by_test_id("voted")).to_have_text("0")
    await expect(page.get_by_test_id("secrecy")).to_contain_text("谁投了票与投了什么分开保存")

    await page.get_by_role("link", name="待办", exact=True).click()
    todo = page.get_by_test_id("todo-ballots")
    await todo.get_by_role("link", name="是否同意休息安排的协商结果？").click()
    await expect(page).to_have_url(ballot_url)
    # The item does not move by hand while its members vote.
    await page.goto(f"/console/board/{item}")
    await page.get_by_label("理由").fill("重新协商")
    await page.get_by_role("button", name="→ 协商中").click()
    await expect(page.get_by_test_id("problem")).to_have_text(
        "会员正在对该事项表决，请先结束表决。")

    await page.get_by_test_id("ballots").get_by_role("link", name=re.compile("休息安排")).click()
    await page.get_by_role("button", name="提前结束并计票").click()
    await expect(page.locator("#close_reason-error")).to_have_text("提前结束表决须写明理由。")
    await page.get_by_label(re.compile("提前结束的理由")).fill("协商会议提前")
    await page.get_by_role("button", name="提前结束并计票").click()
    await expect(page.get_by_test_id("result")).to_contain_text("未达法定人数")
    await page.get_by_role("button", name="重新计票").click()
    await expect(page.get_by_test_id("recounts")).to_contain_text("与保存的结果一致")


async def test_answer_many_items_with_a_template(page: Page, owner,
                                                 federation: Federation) -> None:
    first = await seed_item(owner, federation, title="高温补贴标准")
    await seed_item(owner, federation, title="夜间配送加价")
    await seed_item(owner, federation, title="暂不处理的事项")
    await _officer(page, owner, federation)
    await page.goto("/console/board")
    await page.get_by_text("答复模板 (0)").click()
    form = page.get_by_test_id("template-form")
    await form.get_by_label(re.compile("代码")).fill("Bad Code")
    await form.get_by_label("中文标题").fill("转入审核")
    await form.get_by_label("英文标题").fill("Under review")
    await form.get_by_label(re.compile("正文")).fill("《{title}》已转入审核：{reason}")
    await form.get_by_label(re.compile("同时流转到")).select_option("under_review")
    await form.get_by_role("button", name="保存模板").click()
    await expect(page.locator("#code-error")).to_contain_text("小写字母")
    await form.get_by_label(re.compile("代码")).fill("to-review")
    await form.get_by_role("button", name="保存模板").click()
    await expect(page.get_by_test_id("done")).to_have_text("答复模板已保存。")

    bulk = page.get_by_test_id("bulk")
    await bulk.get_by_role("button", name="答复所选事项").click()
    await expect(page.locator("#item_ids-error")).to_be_visible()
    for title in ("高温补贴标准", "夜间配送加价"):
        await page.get_by_role("checkbox", name=f"选择 {title}").check()
    await page.get_by_label(re.compile(r"理由（可用于")).fill("问题集中")
    await bulk.get_by_role("button", name="答复所选事项").click()
    await expect(page.get_by_test_id("done")).to_have_text("已按模板答复所选事项。")
    under_review = page.get_by_test_id("column-under_review")
    await expect(under_review).to_contain_text("高温补贴标准")
    await expect(under_review).to_contain_text("夜间配送加价")
    await expect(page.get_by_test_id("column-collected")).to_contain_text("暂不处理的事项")
    await page.goto(f"/console/board/{first}")
    await expect(page.get_by_test_id("timeline")).to_contain_text(
        "《高温补贴标准》已转入审核：问题集中")
    await expect(page.get_by_test_id("timeline")).to_contain_text("已收集 → 审核中")


async def test_a_sibling_regions_item_and_ballot_are_the_same_404_as_missing_ones(
        live, owner, federation: Federation) -> None:
    theirs = await seed_item(owner, federation, scope=federation.regions[1])
    async with signed_in(live.url, owner, federation.regions[0], "regional_admin") as client:
        foreign = await client.get(f"/console/board/{theirs}")
        missing = await client.get(f"/console/board/{uuid.uuid4()}")
        assert foreign.status_code == missing.status_code == 404
        assert 'data-testid="not-found"' in foreign.text
        ballot = await client.get(f"/console/board/ballots/{uuid.uuid4()}")
        assert ballot.status_code == 404 and 'data-testid="not-found"' in ballot.text
    async with signed_in(live.url, owner, federation.stations[federation.regions[0]][0],
                         "station_officer") as client:
        assert (await client.get("/console/board")).status_code == 404


async def test_record_a_round_and_follow_its_overdue_promise(
        page: Page, owner, clock, federation: Federation) -> None:
    item = await seed_item(owner, federation, status="on_agenda", title="申诉答复时限",
                           topic="appeals")
    await _officer(page, owner, federation)
    await page.goto(f"/console/board/{item}")
    await expect(page.locator('[data-field="current_deadline_hours"]')).to_have_text("168 小时")
    await page.get_by_text("记录一轮协商").click()
    form = page.get_by_test_id("round-form")
    await form.get_by_label("协商日期").fill("2025-03-01")
    await form.get_by_label("工会方出席人").fill("王主席")
    await form.get_by_label("平台方出席人").fill("李经理")
    await form.get_by_label("纪要").fill("双方就申诉答复时限交换意见")
    await form.get_by_label("工会方立场").fill("72 小时内答复")
    await form.get_by_label(re.compile("平台承诺提供的数据")).fill("近三个月申诉处理时长分布")
    await form.get_by_role("button", name="记录本轮协商").click()
    await expect(page.locator("#promise_due-error")).to_have_text("此项必填。")
    due = (clock.now() - timedelta(days=3)).date().isoformat()
    await form.get_by_label("承诺交付日期").fill(due)
    await form.get_by_role("button", name="记录本轮协商").click()
    await expect(page.get_by_test_id("done")).to_be_visible()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("协商中")
    await expect(page.get_by_test_id("rounds")).to_contain_text("72 小时内答复")
    await expect(page.get_by_test_id("promises")).to_contain_text("已逾期")
    await expect(page.get_by_test_id("timeline")).to_contain_text("已列入协商清单 → 协商中")
    await shoot(page, "board-item")
    await page.get_by_role("link", name="待办", exact=True).click()
    await page.get_by_test_id("todo-promises").get_by_role(
        "link", name="近三个月申诉处理时长分布").click()
    await expect(page).to_have_url(re.compile(f"/console/board/{item}$"))
