"""需求台账 pages over HTTP (the browser tests drive the same pages in chromium): a walk-in
taken through the form, the filters, a sibling region's case as the 404 page, a 12351
operator who has the ledger only, the 政策库 the HQ edits and others read, the station's
suggestion QR, and the 待办 lists of the ledger."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from tests.support.bargaining import seed_item
from tests.support.console import csrf_of, signed_in
from tests.support.factories import Federation, bearer, join


async def _api_case(client: Any, staff_token: Any, fed: Federation, code: str,
                    role: str = "regional_admin", **extra: Any) -> dict[str, Any]:
    token = await staff_token(fed, role, code)
    body = {"channel": "visit", "category": "labour_protection",
            "description": "夏季没有发放防暑用品", "contact_name": "张三",
            "contact_phone": "13912345678"} | extra
    answer = await client.post("/v1/cases", json=body, headers=bearer(token))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def test_a_walk_in_taken_through_the_form_lands_in_the_ledger(
        live, owner, federation: Federation) -> None:
    station = federation.stations[federation.regions[0]][0]
    async with signed_in(live.url, owner, station, "station_officer") as c:
        form = await c.get("/console/cases/new")
        assert form.status_code == 200
        assert 'value="station" selected' in form.text  # a station officer's walk-in
        refused = await c.post("/console/cases", data={
            "_csrf": csrf_of(form.text), "channel": "station", "category": "dispatch",
            "description": "", "tier": "general", "contact_phone": "12"})
        assert refused.status_code == 422
        assert 'id="description-error"' in refused.text
        assert 'id="contact_phone-error"' in refused.text
        taken = await c.post("/console/cases", data={
            "_csrf": csrf_of(form.text), "channel": "station", "category": "dispatch",
            "description": "夜间派单距离过远", "tier": "difficult", "tags": "night_shift",
            "contact_name": "李四", "contact_phone": "13800001111", "partner": "alpha"})
        assert taken.status_code == 303, taken.text
        where = taken.headers["location"]
        assert re.fullmatch(r"/console/cases/[0-9a-f-]{36}\?done=intake", where)
        page = await c.get(where)
        assert page.status_code == 200
        assert "夜间派单距离过远" in page.text and "李*" in page.text and "138****1111" in page.text
        assert "13800001111" not in page.text  # stored masked only
        assert station in page.text
        listed = await c.get("/console/cases?tier=difficult&channel=station")
        assert where.split("?")[0] in listed.text
        other = await c.get("/console/cases?tier=complex")
        assert where.split("?")[0] not in other.text


async def test_a_sibling_regions_case_is_the_404_page(
        live, owner, client, staff_token, federation: Federation) -> None:
    r1, r2 = federation.regions
    theirs = await _api_case(client, staff_token, federation, r2)
    async with signed_in(live.url, owner, r1, "regional_admin") as c:
        page = await c.get(f"/console/cases/{theirs['id']}")
        assert page.status_code == 404
        assert 'data-testid="not-found"' in page.text
        missing = await c.get(f"/console/cases/{uuid.uuid4()}")
        assert missing.status_code == 404
        listed = await c.get("/console/cases")
        assert theirs["case_no"] not in listed.text
        step = await c.post(f"/console/cases/{theirs['id']}/accept",
                            data={"_csrf": csrf_of(listed.text)})
        assert step.status_code == 404


async def test_the_members_home_reads_the_case_page_marked_read_only(
        live, owner, client, sms, staff_token, federation: Federation) -> None:
    """会员所属工会只读 (0045): homed in region 1, working at region 2's station."""
    r1, r2 = federation.regions
    hq = await staff_token(federation, "hq_admin", federation.hq)
    member = await join(client, sms, federation, federation.stations[r1][0], approver_token=hq)
    case = await _api_case(client, staff_token, federation, federation.hq, role="hq_admin",
                           channel="station", station=federation.stations[r2][0],
                           member_no=member.body["member_no"])
    async with signed_in(live.url, owner, r1, "regional_admin") as c:
        page = await c.get(f"/console/cases/{case['id']}")
        assert page.status_code == 200, page.text
        assert 'data-testid="sight"' in page.text and "只读 · 会员所属工会" in page.text
    async with signed_in(live.url, owner, r2, "regional_admin") as c:
        page = await c.get(f"/console/cases/{case['id']}")
        assert page.status_code == 200 and 'data-testid="sight"' not in page.text


async def test_a_hotline_operator_has_the_ledger_only(
        live, owner, federation: Federation) -> None:
    region = federation.regions[0]
    async with signed_in(live.url, owner, region, "hotline_operator") as c:
        home = await c.get("/console/")
        assert home.status_code == 303 and home.headers["location"] == "/console/cases"
        ledger = await c.get("/console/cases")
        assert ledger.status_code == 200
        menus = re.findall(r'data-menu="([a-z]+)"', ledger.text)
        assert menus == ["cases"]
        assert (await c.get("/console/members")).status_code == 404
        form = await c.get("/console/cases/new")
        assert 'value="hotline" selected' in form.text
        taken = await c.post("/console/cases", data={
            "_csrf": csrf_of(form.text), "channel": "hotline", "category": "wage_arrears",
            "description": "平台拖欠三个月工资", "tier": "general", "contact_phone": "13700002222"})
        assert taken.status_code == 303, taken.text
        page = await c.get(taken.headers["location"])
        assert "12351" in page.text and "137****2222" in page.text
        out = await c.post("/console/logout", data={"_csrf": csrf_of(page.text)})
        assert out.status_code == 303


async def test_the_policy_library_is_kept_by_the_hq_and_read_by_the_regions(
        live, owner, federation: Federation) -> None:
    async with signed_in(live.url, owner, federation.hq, "hq_admin") as hq:
        page = await hq.get("/console/cases/policies")
        assert 'data-testid="policy-form"' in page.text
        bad = await hq.post("/console/cases/policies", data={
            "_csrf": csrf_of(page.text), "code": "heat 1", "title_zh": "高温津贴",
            "title_en": "Heat allowance", "source": "防暑降温措施管理办法", "body": "……"})
        assert bad.status_code == 422 and 'id="code-error"' in bad.text
        saved = await hq.post("/console/cases/policies", data={
            "_csrf": csrf_of(page.text), "code": "heat-allowance", "title_zh": "高温津贴",
            "title_en": "Heat allowance", "source": "防暑降温措施管理办法",
            "body": "6 月至 9 月发放高温津贴。"})
        assert saved.status_code == 303, saved.text
        again = await hq.post("/console/cases/policies", data={
            "_csrf": csrf_of(page.text), "code": "heat-allowance", "title_zh": "高温津贴",
            "title_en": "Heat allowance", "source": "x", "body": "y"})
        assert again.status_code == 409 and 'id="code-error"' in again.text
    async with signed_in(live.url, owner, federation.regions[0], "regional_admin") as region:
        page = await region.get("/console/cases/policies")
        assert "高温津贴" in page.text and 'data-testid="policy-form"' not in page.text
        refused = await region.post("/console/cases/policies/heat-allowance/active",
                                    data={"_csrf": csrf_of(page.text), "active": "false"})
        assert refused.status_code == 403 and 'data-testid="problem"' in refused.text


async def test_the_station_suggestion_qr_prints_from_the_ledger(
        live, owner, federation: Federation) -> None:
    r1, r2 = federation.regions
    mine, theirs = federation.stations[r1][0], federation.stations[r2][0]
    async with signed_in(live.url, owner, r1, "regional_admin") as c:
        page = await c.get(f"/console/cases/qr/{mine}")
        assert page.status_code == 200 and f"/v1/suggestions/{mine}" in page.text
        svg = await c.get(f"/console/cases/qr/{mine}/svg")
        assert svg.status_code == 200 and svg.headers["content-type"].startswith(
            "image/svg+xml") and svg.text.lstrip().startswith(("<?xml", "<svg"))
        assert (await c.get(f"/console/cases/qr/{theirs}")).status_code == 404
        assert (await c.get(f"/console/cases/qr/{r1}")).status_code == 404  # not a station


async def test_the_dashboard_lists_cases_to_accept_and_returned_cases(
        live, owner, client, staff_token, federation: Federation) -> None:
    r1 = federation.regions[0]
    station = federation.stations[r1][0]
    case = await _api_case(client, staff_token, federation, r1)
    token = await staff_token(federation, "regional_admin", r1)
    assigned = await client.post(f"/v1/cases/{case['id']}/assign", json={"lead": station},
                                 headers=bearer(token))
    assert assigned.status_code == 200, assigned.text
    async with signed_in(live.url, owner, station, "station_officer") as s:
        todo = await s.get("/console/")
        box = todo.text.split('data-testid="todo-cases-accept"')[1].split("</section>")[0]
        assert case["case_no"] in box
    async with signed_in(live.url, owner, r1, "regional_admin") as region:
        todo = await region.get("/console/")
        box = todo.text.split('data-testid="todo-cases-accept"')[1].split("</section>")[0]
        assert case["case_no"] not in box  # the station's to accept, not the region's
    station_token = await staff_token(federation, "station_officer", station)
    back = await client.post(f"/v1/cases/{case['id']}/return", json={"reason": "不归本站"},
                             headers=bearer(station_token))
    assert back.status_code == 200, back.text
    async with signed_in(live.url, owner, r1, "regional_admin") as region:
        todo = await region.get("/console/")
        box = todo.text.split('data-testid="todo-cases-returned"')[1].split("</section>")[0]
        assert case["case_no"] in box


async def test_policy_and_bargaining_routes_and_a_merge_through_the_forms(
        live, owner, client, staff_token, federation: Federation) -> None:
    r1 = federation.regions[0]
    hq = await staff_token(federation, "hq_admin", federation.hq)
    policy = {"code": "heat-2026", "title_zh": "高温津贴办法", "title_en": "Heat allowance",
              "source": "沪人社 7 号", "body": "6 月至 9 月发放高温津贴。"}
    assert (await client.post("/v1/cases/policies", json=policy, headers=bearer(hq))
            ).status_code == 201
    item = await seed_item(owner, federation, scope=r1, title="高温时段派单过密")
    first = await _api_case(client, staff_token, federation, r1)
    second = await _api_case(client, staff_token, federation, r1)
    async with signed_in(live.url, owner, r1, "regional_admin") as c:
        page = await c.get(f"/console/cases/{first['id']}")
        assert "高温津贴办法 (heat-2026)" in page.text and "高温时段派单过密" in page.text
        csrf = csrf_of(page.text)
        cited = await c.post(f"/console/cases/{first['id']}/route", data={
            "_csrf": csrf, "route": "policy", "reason": "属政策问题", "policy": "heat-2026"})
        assert cited.status_code == 303
        shown = await c.get(cited.headers["location"])
        assert 'data-testid="policy-cited"' in shown.text and "沪人社 7 号" in shown.text
        linked = await c.post(f"/console/cases/{second['id']}/route", data={
            "_csrf": csrf, "route": "bargaining", "reason": "共性问题", "agenda_item": ""})
        assert linked.status_code == 422 and 'id="agenda_item-error"' in linked.text
        linked = await c.post(f"/console/cases/{second['id']}/route", data={
            "_csrf": csrf, "route": "bargaining", "reason": "共性问题",
            "agenda_item": str(item)})
        assert linked.status_code == 303
        shown = await c.get(linked.headers["location"])
        agenda = shown.text.split('data-testid="agenda-item"')[1].split("</p>")[0]
        assert "高温时段派单过密" in agenda and "已收集" in agenda
        # the assign form: an unknown assisting unit is said next to its field
        refused = await c.post(f"/console/cases/{second['id']}/assign", data={
            "_csrf": csrf, "lead": r1, "assisting": "nobody", "feedback_days": "3"})
        assert refused.status_code == 422 and 'id="assisting-error"' in refused.text
        assigned = await c.post(f"/console/cases/{second['id']}/assign", data={
            "_csrf": csrf, "lead": r1, "assisting": "alpha", "feedback_days": "2",
            "evidence_required": "发放台账，班组签收记录"})
        assert assigned.status_code == 303
        refused = await c.post(f"/console/cases/{second['id']}/reassign", data={
            "_csrf": csrf, "lead": r1, "feedback_days": "3"})
        assert refused.status_code == 422 and 'id="reason-error"' in refused.text
        rows = refused.text.split('data-testid="assignments"')[1].split("</section>")[0]
        assert rows.count('data-status="assigned"') == 2  # nothing half-written
        assert "发放台账、班组签收记录" in rows


async def test_bargaining_route_files_the_case_as_a_report_through_the_form(
        live, owner, client, sms, staff_token, federation: Federation) -> None:
    r1 = federation.regions[0]
    station = federation.stations[r1][0]
    hq = await staff_token(federation, "hq_admin", federation.hq)
    member = await join(client, sms, federation, station, approver_token=hq)
    visit = await _api_case(client, staff_token, federation, r1)  # no member
    case = await _api_case(client, staff_token, federation, station, role="station_officer",
                           channel="station", member_no=member.body["member_no"],
                           partner="alpha")
    async with signed_in(live.url, owner, r1, "regional_admin") as c:
        page = await c.get(f"/console/cases/{case['id']}")
        form = page.text.split('data-testid="route-report"')[1].split("</fieldset>")[0]
        assert '<option value="commission_rates"' in form and "抽成比例" in form  # zh first
        csrf = csrf_of(page.text)
        refused = await c.post(f"/console/cases/{visit['id']}/route", data={
            "_csrf": csrf, "route": "bargaining", "reason": "共性问题",
            "report_topic": "commission_rates"})
        assert refused.status_code == 409 and 'id="report_topic-error"' in refused.text
        both = await c.post(f"/console/cases/{case['id']}/route", data={
            "_csrf": csrf, "route": "bargaining", "reason": "共性问题",
            "report_topic": "commission_rates", "agenda_item": str(uuid.uuid4())})
        assert both.status_code == 422 and 'id="report_topic-error"' in both.text
        filed = await c.post(f"/console/cases/{case['id']}/route", data={
            "_csrf": csrf, "route": "bargaining", "reason": "共性问题",
            "report_topic": "commission_rates", "report_title": "站点抽成过高"})
        assert filed.status_code == 303, filed.text
        shown = await c.get(filed.headers["location"])
        box = shown.text.split('data-testid="case-report"')[1].split("</div>")[0]
        assert "站点抽成过高" in box and "抽成比例" in box and "尚未进入协商清单" in box
    mine = await client.get("/v1/bargaining/reports", headers=bearer(member.token))
    assert [r["title"] for r in mine.json()["items"]] == ["站点抽成过高"]


async def test_a_duplicate_is_offered_for_merge_and_merged(
        live, owner, client, sms, staff_token, federation: Federation) -> None:
    r1 = federation.regions[0]
    station = federation.stations[r1][0]
    hq = await staff_token(federation, "hq_admin", federation.hq)
    worker = await join(client, sms, federation, station, approver_token=hq)
    no = worker.body["member_no"]
    first = await _api_case(client, staff_token, federation, r1, member_no=no)
    second = await _api_case(client, staff_token, federation, r1, member_no=no)
    async with signed_in(live.url, owner, r1, "regional_admin") as c:
        page = await c.get(f"/console/cases/{second['id']}")
        offered = page.text.split('data-testid="duplicates"')[1].split("</section>")[0]
        assert first["case_no"] in offered and 'data-testid="merge-form"' in page.text
        merged = await c.post(f"/console/cases/{second['id']}/merge", data={
            "_csrf": csrf_of(page.text), "into": first["id"], "reason": "同一诉求"})
        assert merged.status_code == 303
        shown = await c.get(merged.headers["location"])
        assert "已并单" in shown.text
        target = await c.get(f"/console/cases/{first['id']}")
        assert "并入一条诉求" in target.text


async def test_a_station_officer_prints_the_station_qr_from_the_ledger(
        live, owner, federation: Federation) -> None:
    station = federation.stations[federation.regions[0]][0]
    async with signed_in(live.url, owner, station, "station_officer") as c:
        ledger = await c.get("/console/cases")
        assert f'href="/console/cases/qr/{station}"' in ledger.text
        assert (await c.get(f"/console/cases/qr/{station}")).status_code == 200


async def test_the_ledger_pages_by_cursor(live, owner, client, staff_token, monkeypatch,
                                          federation: Federation) -> None:
    from flexunion.console import cases as pages

    monkeypatch.setattr(pages, "PAGE", 2)
    r1 = federation.regions[0]
    made = [await _api_case(client, staff_token, federation, r1) for _ in range(3)]
    async with signed_in(live.url, owner, r1, "regional_admin") as c:
        first = await c.get("/console/cases?channel=visit")
        assert [m["case_no"] in first.text for m in made] == [False, True, True]
        more = re.search(r'href="(/console/cases\?[^"]+)" data-testid="next-page"', first.text)
        assert more, "no next page"
        second = await c.get(more.group(1).replace("&amp;", "&"))
        assert [m["case_no"] in second.text for m in made] == [True, False, False]
        assert 'data-testid="next-page"' not in second.text
        bad = await c.get("/console/cases?after=not-a-cursor")
        assert bad.status_code == 422


async def test_the_station_page_links_its_suggestion_qr(live, owner,
                                                       federation: Federation) -> None:
    from tests.support.geo import seed_point

    r1 = federation.regions[0]
    station = federation.stations[r1][0]
    await seed_point(owner, federation, station, "pt-kept-by-station", 121.43, 31.18)
    await seed_point(owner, federation, r1, "pt-kept-by-region", 121.44, 31.19)
    async with signed_in(live.url, owner, r1, "regional_admin") as c:
        kept = await c.get("/console/stations/pt-kept-by-station")
        assert kept.status_code == 200
        assert f'href="/console/cases/qr/{station}" data-testid="suggestion-qr"' in kept.text
        regional = await c.get("/console/stations/pt-kept-by-region")
        assert regional.status_code == 200 and 'data-testid="suggestion-qr"' not in regional.text


async def test_the_case_page_links_each_piece_of_evidence_to_its_download(
        live, owner, client, staff_token, federation: Federation) -> None:
    r1, r2 = federation.regions
    token = bearer(await staff_token(federation, "regional_admin", r1))
    case = await _api_case(client, staff_token, federation, r1)
    other = await _api_case(client, staff_token, federation, r1)
    note = "平台客服回复：规则已调整。\n".encode()
    up = await client.post(f"/v1/cases/{case['id']}/attachments", headers=token,
                           files={"file": ("客服回复.txt", note, "application/octet-stream")})
    assert up.status_code == 201, up.text
    href = f"/console/cases/{case['id']}/attachments/{up.json()['id']}"
    async with signed_in(live.url, owner, r1, "regional_admin") as c:
        page = await c.get(f"/console/cases/{case['id']}")
        assert f'href="{href}"' in page.text and "客服回复.txt</a>" in page.text
        got = await c.get(href)
        assert got.status_code == 200 and got.content == note
        assert got.headers["content-type"] == "text/plain; charset=utf-8"
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["content-disposition"].endswith(
            "filename*=UTF-8''%E5%AE%A2%E6%9C%8D%E5%9B%9E%E5%A4%8D.txt")
        # through another case of the same region, or no such file: the 404 page
        for wrong in (f"/console/cases/{other['id']}/attachments/{up.json()['id']}",
                      f"/console/cases/{case['id']}/attachments/{uuid.uuid4()}"):
            missing = await c.get(wrong)
            assert missing.status_code == 404 and 'data-testid="not-found"' in missing.text
    async with signed_in(live.url, owner, r2, "regional_admin") as c:
        theirs = await c.get(href)
        assert theirs.status_code == 404 and note not in theirs.content
    async with httpx.AsyncClient(base_url=live.url) as anonymous:
        nobody = await anonymous.get(href)
        assert nobody.status_code == 303, nobody.status_code
        assert nobody.headers["location"].startswith("/console/login")
        assert note not in nobody.content
