"""需求台账's SLA pages over HTTP on a frozen clock (the real app, database and sweep): a case
page's 办理时限 panel (deadline, working time left then overdue by, the pause, an approved
extension, the loud warning of a deadline in a year the calendar does not cover), the 超期件
and 督办 lists paged by cursor in the caller's scope and linked from the 待办's cards, and the
政策库's edit form (the HQ's; errors next to their fields; others refused)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from flexunion.core.clock import FixedClock
from tests.cases.test_clocks import Desk, bj, calendar_federation, token_maker
from tests.cases.test_sweep import (  # noqa: F401 (fixtures)
    app_sessions,
    frozen,
    real_tokens,
    sweep_as_job,
)
from tests.support.console import csrf_of, signed_in
from tests.support.factories import Federation


def part(page: str, testid: str) -> str:
    """The element with `data-testid="<testid>"`, up to the end of its section/table."""
    assert f'data-testid="{testid}"' in page, testid
    return page.split(f'data-testid="{testid}"', 1)[1].split("</section>")[0]


def clock_row(page: str, metric: str) -> str:
    found = re.search(rf'<tr data-clock="{metric}"[^>]*>(.*?)</tr>', page, re.S)
    assert found, f"no {metric} clock on the page"
    return found.group(0)


@pytest.fixture
async def fed(owner, tmp_path: Path) -> Federation:
    return await calendar_federation(owner, tmp_path)


async def looked(live: Any, owner: Any, code: str, path: str, lang: str = "zh") -> str:
    """The page as a regional admin signed in now (the frozen clock jumps past the console
    session's idle limit between looks)."""
    async with signed_in(live.url, owner, code, "regional_admin") as c:
        c.cookies.set("flexunion_lang", lang)
        answer = await c.get(path)
        assert answer.status_code == 200, answer.text
        return answer.text


async def test_the_case_page_shows_each_clock_live(
        live, client, owner, fed: Federation,
        real_tokens, frozen: FixedClock) -> None:  # noqa: F811
    desk = Desk(client, fed, token_maker(real_tokens))
    r1 = fed.regions[0]
    s1 = fed.stations[r1][0]
    case = await desk.enter(s1)  # Monday 12 Oct 09:00: first response due 14:30
    path = f"/console/cases/{case['id']}"
    frozen.at = bj(2026, 10, 12, 10)
    page = await looked(live, owner, r1, path)
    row = clock_row(page, "first_response")
    assert 'data-state="running"' in row and "首次响应" in row and "计时中" in row
    assert "2026-10-12 14:30" in row
    assert "剩余 3 小时（工作时间）" in row  # 10:00–12:00, 13:30–14:30
    assert 'data-testid="clock-uncovered"' not in page
    assert 'data-clock="resolution"' not in page  # starts at acceptance

    await desk.post(s1, f"/{case['id']}/pause", {"reason": "waiting_worker"})
    row = clock_row(await looked(live, owner, r1, path), "first_response")
    assert 'data-state="paused"' in row and 'data-testid="clock-paused"' in row
    assert "等待职工补充" in row and "自 2026-10-12 10:00" in row
    assert "恢复后重算" in row  # a paused clock has no deadline

    frozen.at = bj(2026, 10, 12, 11)
    await desk.post(s1, f"/{case['id']}/resume", {})
    frozen.at = bj(2026, 10, 12, 17)  # the deadline moved an hour, to 15:30: passed
    row = clock_row(await looked(live, owner, r1, path), "first_response")
    assert 'data-state="breached"' in row and "已超期" in row
    assert "2026-10-12 15:30" in row
    assert "已超期 1 小时 30 分（工作时间）" in row  # 15:30–17:00, computed live
    row = clock_row(await looked(live, owner, r1, path, lang="en"), "first_response")
    assert "First response" in row and "overdue by 1 h 30 min (working time)" in row


async def test_an_approved_extension_and_an_uncovered_year_are_shown(
        live, client, owner, fed: Federation,
        real_tokens, frozen: FixedClock) -> None:  # noqa: F811
    desk = Desk(client, fed, token_maker(real_tokens))
    r1 = fed.regions[0]
    s1 = fed.stations[r1][0]
    case = await desk.enter(r1, station=s1)
    cid = case["id"]
    frozen.advance(minutes=5)
    await desk.post(r1, f"/{cid}/assign", {"lead": s1})
    frozen.advance(minutes=5)
    await desk.post(s1, f"/{cid}/accept")
    frozen.advance(minutes=5)
    await desk.post(r1, f"/{cid}/extension-request", {"days": 2, "reason": "平台数据未到"})
    page = await looked(live, owner, r1, f"/console/cases/{cid}")
    assert "延期申请待审批 2 个工作日" in part(page, "extensions")
    frozen.advance(minutes=5)
    await desk.post(fed.hq, f"/{cid}/extension-decision",
                    {"decision": "approve", "reason": "同意延期"})
    page = await looked(live, owner, r1, f"/console/cases/{cid}")
    granted = part(page, "extensions")
    assert "已批准延期 2 个工作日" in granted and "同意延期" in granted
    assert "待审批" not in granted
    assert 'data-state="met"' in clock_row(page, "first_response")
    assert 'data-state="running"' in clock_row(page, "resolution")

    # 30 Dec: a 特别复杂 case's 5 working days reach 2027, which the calendar lacks.
    frozen.at = bj(2026, 12, 30, 10)
    late = await desk.enter(r1, tier="complex")
    frozen.advance(minutes=5)
    await desk.post(r1, f"/{late['id']}/assign", {"lead": r1})
    frozen.advance(minutes=5)
    await desk.post(r1, f"/{late['id']}/accept")
    page = await looked(live, owner, r1, f"/console/cases/{late['id']}")
    warning = re.findall(r'<div class="flash flash-error" role="alert" '
                         r'data-testid="clock-uncovered" data-metric="([a-z_]+)">(.*?)</div>',
                         page, re.S)
    assert [m for m, _ in warning] == ["resolution"]
    assert "办结" in warning[0][1] and "2027" in warning[0][1] and "须人工核对" in warning[0][1]
    row = clock_row(page, "resolution")
    assert "2027-01-06 18:00" in row and "未核定" in row
    assert "未核定" not in clock_row(page, "first_response")


async def test_the_overdue_and_escalated_lists_page_by_cursor_in_my_scope(
        live, client, owner, fed: Federation, real_tokens, frozen: FixedClock,  # noqa: F811
        app_sessions, monkeypatch) -> None:  # noqa: F811
    from flexunion.console import cases as pages

    monkeypatch.setattr(pages, "PAGE", 2)
    desk = Desk(client, fed, token_maker(real_tokens))
    r1, r2 = fed.regions
    s1 = fed.stations[r1][0]
    made = []
    for _ in range(3):  # first responses due 14:30, 14:31, 14:32
        made.append(await desk.enter(s1))
        frozen.advance(minutes=1)
    frozen.at = bj(2026, 10, 12, 16)
    assert await sweep_as_job(app_sessions, fed, frozen.at, timedelta(0)) == 3
    nos = [m["case_no"] for m in made]

    async with signed_in(live.url, owner, r1, "regional_admin") as c:
        todo = (await c.get("/console/")).text
        assert 'href="/console/cases/overdue" data-testid="see-all-overdue"' in todo
        assert 'href="/console/cases/escalated" data-testid="see-all-escalated"' in todo
        ledger = (await c.get("/console/cases")).text
        assert 'data-testid="tab-overdue"' in ledger and 'data-testid="tab-escalated"' in ledger

        first = await c.get("/console/cases/overdue")
        assert first.status_code == 200
        table = part(first.text, "overdue")
        assert [no in table for no in nos] == [True, True, False]  # oldest deadline first
        assert table.index(nos[0]) < table.index(nos[1])
        assert f'href="/console/cases/{made[0]["id"]}"' in table
        assert "2026-10-12 14:30" in table and "首次响应" in table and "1 小时 30 分" in table
        more = re.search(r'href="(/console/cases/overdue\?after=[^"]+)" data-testid="next-page"',
                         first.text)
        assert more, "no next page"
        second = part((await c.get(more.group(1))).text, "overdue")
        assert [no in second for no in nos] == [False, False, True]
        assert 'data-testid="next-page"' not in second
        assert (await c.get("/console/cases/overdue?after=nope")).status_code == 422

        first = await c.get("/console/cases/escalated")
        assert first.status_code == 200
        table = part(first.text, "escalated")
        shown = [no for no in nos if no in table]
        assert len(shown) == 2 and f"<td>{s1}</td>" in table and f"<td>{r1}</td>" in table
        more = re.search(r'href="(/console/cases/escalated\?after=[^"]+)" '
                         r'data-testid="next-page"', first.text)
        assert more, "no next page"
        second = part((await c.get(more.group(1))).text, "escalated")
        assert sorted(shown + [no for no in nos if no in second]) == sorted(nos)
        assert (await c.get("/console/cases/escalated?after=nope")).status_code == 422

    # A sibling region sees none of it; the station sees its overdue cases, nothing escalated
    # to it (the escalation went up to the region).
    async with signed_in(live.url, owner, r2, "regional_admin") as c:
        late = (await c.get("/console/cases/overdue")).text
        assert not any(no in late for no in nos) and "没有超期件" in late
        empty = (await c.get("/console/cases/escalated")).text
        assert not any(no in empty for no in nos) and "没有升级到本单位或下级单位的超期件" in empty
    async with signed_in(live.url, owner, s1, "station_officer") as c:
        assert nos[0] in (await c.get("/console/cases/overdue")).text
        up = (await c.get("/console/cases/escalated")).text
        assert not any(no in up for no in nos)
    async with signed_in(live.url, owner, r1, "hotline_operator") as c:  # the ledger's pages
        assert nos[0] in (await c.get("/console/cases/overdue")).text
        assert (await c.get("/console/cases/escalated")).status_code == 200


async def _policy(c: Any, code: str, url: str | None = None) -> str:
    page = await c.get("/console/cases/policies")
    saved = await c.post("/console/cases/policies", data={
        "_csrf": csrf_of(page.text), "code": code, "title_zh": "高温津贴",
        "title_en": "Heat allowance", "source": "防暑降温措施管理办法",
        "body": "6 月至 9 月发放高温津贴。", "url": url or ""})
    assert saved.status_code == 303, saved.text
    return csrf_of(page.text)


async def test_the_hq_edits_a_policy_and_others_cannot(
        live, owner, federation: Federation) -> None:
    async with signed_in(live.url, owner, federation.hq, "hq_admin") as hq:
        csrf = await _policy(hq, "heat", url="https://example.com/heat")
        listed = (await hq.get("/console/cases/policies")).text
        assert 'href="/console/cases/policies/heat/edit" data-testid="edit-policy"' in listed
        form = await hq.get("/console/cases/policies/heat/edit")
        assert form.status_code == 200
        assert 'value="高温津贴"' in form.text and 'value="https://example.com/heat"' in form.text
        edit = {"_csrf": csrf, "title_zh": "高温津贴发放办法", "title_en": "Heat allowance rules",
                "source": "人社部发〔2012〕89号", "body": "高温天气作业应发放高温津贴。",
                "url": "ftp://example.com/heat"}
        bad = await hq.post("/console/cases/policies/heat/edit", data=edit | {"title_en": ""})
        assert bad.status_code == 422
        assert 'id="url-error"' in bad.text and 'id="title_en-error"' in bad.text
        assert 'value="高温津贴发放办法"' in bad.text  # what was typed is kept
        cleared = await hq.post("/console/cases/policies/heat/edit", data=edit | {"url": ""})
        assert cleared.status_code == 422 and "链接不能删除" in cleared.text
        no_csrf = await hq.post("/console/cases/policies/heat/edit",
                                data=edit | {"_csrf": "", "url": "https://example.com/x"})
        assert no_csrf.status_code == 403
        saved = await hq.post("/console/cases/policies/heat/edit",
                              data=edit | {"url": "https://example.com/heat-2012"})
        assert saved.status_code == 303
        assert saved.headers["location"] == "/console/cases/policies?done=updated"
        row = (await hq.get(saved.headers["location"])).text.split('data-policy="heat"')[1]
        row = row.split("</tr>")[0]
        assert "高温津贴发放办法" in row and "人社部发〔2012〕89号" in row
        assert "https://example.com/heat-2012" in row and "有效" in row
        assert (await hq.get("/console/cases/policies/nope/edit")).status_code == 404
        missing = await hq.post("/console/cases/policies/nope/edit", data=edit)
        assert missing.status_code == 404
    async with signed_in(live.url, owner, federation.regions[0], "regional_admin") as region:
        page = await region.get("/console/cases/policies")
        assert "高温津贴发放办法" in page.text and 'data-testid="edit-policy"' not in page.text
        assert (await region.get("/console/cases/policies/heat/edit")).status_code == 404
        refused = await region.post("/console/cases/policies/heat/edit", data=edit | {
            "_csrf": csrf_of(page.text), "url": "https://example.com/mine",
            "title_zh": "改过"})
        assert refused.status_code == 403 and 'data-testid="problem"' in refused.text
    async with signed_in(live.url, owner, federation.hq, "hq_admin") as hq:
        row = (await hq.get("/console/cases/policies")).text.split('data-policy="heat"')[1]
        assert "改过" not in row.split("</tr>")[0]
