"""争议处置 and 转介 pages over HTTP (the browser tests drive the same pages in chromium): a
case opened as a dispute through its page's form (refusals next to their fields), the
dispute's page with its checklist filled from an attachment, a slot requested from the
platform, the ladder climbed one rung and refused the next without evidence or a reason;
the 调解与法律援助 providers a regional admin adds and edits (a station officer reads them);
a case referred by booking a slot from the picker (the same slot twice refused), by a
hand-over, and cancelled; the 争议 list in my sight (not a sibling region's, not a 12351
operator's page) — against the real app and database."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

from tests.support.bargaining import partner_client
from tests.support.console import csrf_of, signed_in
from tests.support.factories import Federation, bearer

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 32
HOURS = "\n".join(f"{d} 09:00-12:00 13:00-17:00"
                  for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))


async def api_case(client: Any, token: str, **extra: Any) -> dict[str, Any]:
    body = {"channel": "visit", "category": "wage_arrears", "partner": "alpha",
            "description": "三个月的跑单收入没有结算", "contact_name": "张三",
            "contact_phone": "13912345678"} | extra
    answer = await client.post("/v1/cases", json=body, headers=bearer(token))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def error(page: str, name: str) -> str:
    found = re.search(rf'id="{name}-error" role="alert">([^<]*)<', page)
    assert found, f"no error next to {name}"
    return html.unescape(found.group(1))


async def test_a_case_opened_as_a_dispute_climbs_its_ladder_through_the_forms(
        live, owner, client, clock, staff_token, federation: Federation) -> None:
    r1, r2 = federation.regions
    token = await staff_token(federation, "regional_admin", r1)
    case = await api_case(client, token)
    cid = case["id"]
    upload = await client.post(f"/v1/cases/{cid}/attachments", headers=bearer(token),
                               files={"file": ("考勤.png", PNG, "image/png")})
    assert upload.status_code == 201, upload.text
    attachment = upload.json()["id"]
    async with signed_in(live.url, owner, r1, "regional_admin") as c:
        page = await c.get(f"/console/cases/{cid}")
        assert 'data-testid="dispute-form"' in page.text
        csrf = csrf_of(page.text)
        refused = await c.post(f"/console/cases/{cid}/dispute/open", data={
            "_csrf": csrf, "kind": "social_insurance", "statement": ""})
        assert refused.status_code == 422
        assert error(refused.text, "statement") == "此项必填。"
        refused = await c.post(f"/console/cases/{cid}/dispute/open", data={
            "_csrf": csrf, "kind": "social_insurance", "statement": "请核对参保"})
        assert refused.status_code == 422
        assert "争议类型" in error(refused.text, "kind")
        assert (await c.get(f"/console/cases/{cid}/dispute")).status_code == 404
        opened = await c.post(f"/console/cases/{cid}/dispute/open", data={
            "_csrf": csrf, "kind": "unpaid_pay", "statement": "请结清 9–11 月跑单收入。"})
        assert opened.status_code == 303, opened.text
        assert opened.headers["location"] == f"/console/cases/{cid}/dispute?done=opened"

        d = await c.get(opened.headers["location"])
        assert d.status_code == 200
        assert 'data-testid="dispute-kind">欠薪' in d.text
        assert 'data-slot="attendance" data-state="missing"' in d.text
        assert 'data-step="reminder"' in d.text  # only the next rung is offered
        back = await c.get(f"/console/cases/{cid}")
        assert 'data-testid="dispute-link"' in back.text
        assert 'data-testid="dispute-form"' not in back.text

        # evidence: an unknown attachment refused next to its field, then the real one
        bad = await c.post(f"/console/cases/{cid}/dispute/evidence", data={
            "_csrf": csrf, "slot": "attendance", "attachment": str(uuid.uuid4())})
        assert bad.status_code == 422
        assert "没有这个附件" in error(bad.text, "attachment")
        linked = await c.post(f"/console/cases/{cid}/dispute/evidence", data={
            "_csrf": csrf, "slot": "attendance", "attachment": attachment})
        assert linked.status_code == 303, linked.text
        again = await c.post(f"/console/cases/{cid}/dispute/evidence", data={
            "_csrf": csrf, "slot": "attendance", "attachment": attachment})
        assert again.status_code == 409
        assert "已归入" in error(again.text, "attachment")

        # a slot requested from the platform, with its working-day deadline
        bad = await c.post(f"/console/cases/{cid}/dispute/request", data={
            "_csrf": csrf, "slot": "payroll", "days": "40"})
        assert bad.status_code == 422 and error(bad.text, "days")
        asked = await c.post(f"/console/cases/{cid}/dispute/request", data={
            "_csrf": csrf, "slot": "payroll", "days": "3", "note": "请提供收入明细"})
        assert asked.status_code == 303, asked.text
        d = await c.get(f"/console/cases/{cid}/dispute")
        assert 'data-slot="attendance" data-state="filled"' in d.text
        assert "考勤.png" in d.text
        sha = upload.json()["sha256"]
        assert sha[:12] in d.text
        assert 'data-slot="payroll" data-state="requested"' in d.text

        # 提示, then 会商: its minutes, and the waiver while 工资表 is still missing
        done = await c.post(f"/console/cases/{cid}/dispute/step", data={
            "_csrf": csrf, "step": "reminder", "reason": "先行提示平台"})
        assert done.status_code == 303, done.text
        d = await c.get(f"/console/cases/{cid}/dispute")
        assert 'data-step="consultation"' in d.text and 'name="evidence_waiver"' in d.text
        skip = await c.post(f"/console/cases/{cid}/dispute/step", data={
            "_csrf": csrf, "step": "letter", "reason": "跳级", "letter": "函"})
        assert skip.status_code == 409
        assert "逐级" in error(skip.text, "step")
        no_minutes = await c.post(f"/console/cases/{cid}/dispute/step", data={
            "_csrf": csrf, "step": "consultation", "reason": "会商"})
        assert no_minutes.status_code == 422 and error(no_minutes.text, "minutes")
        no_waiver = await c.post(f"/console/cases/{cid}/dispute/step", data={
            "_csrf": csrf, "step": "consultation", "reason": "会商", "minutes": "双方会商"})
        assert no_waiver.status_code == 409
        assert "证据尚未固定" in error(no_waiver.text, "evidence_waiver")
        ok = await c.post(f"/console/cases/{cid}/dispute/step", data={
            "_csrf": csrf, "step": "consultation", "reason": "会商", "minutes": "双方会商",
            "evidence_waiver": "平台逾期未提供收入明细"})
        assert ok.status_code == 303, ok.text
        d = await c.get(f"/console/cases/{cid}/dispute")
        assert 'data-testid="waiver">平台逾期未提供收入明细' in d.text
        assert 'data-step="letter"' in d.text and 'name="evidence_waiver"' not in d.text
        assert "双方会商" in d.text
        # 发函, 整改复核 and 衔接, each with what it carries (the waiver stands recorded)
        no_letter = await c.post(f"/console/cases/{cid}/dispute/step", data={
            "_csrf": csrf, "step": "letter", "reason": "发函"})
        assert no_letter.status_code == 422 and error(no_letter.text, "letter")
        for fields in ({"step": "letter", "reason": "发函", "letter": "请于十日内整改"},
                       {"step": "review", "reason": "复核", "corrected": "no"}):
            assert (await c.post(f"/console/cases/{cid}/dispute/step",
                                 data={"_csrf": csrf} | fields)).status_code == 303
        d = await c.get(f"/console/cases/{cid}/dispute")
        assert 'data-step="handover"' in d.text and 'name="to_name"' in d.text
        no_name = await c.post(f"/console/cases/{cid}/dispute/step", data={
            "_csrf": csrf, "step": "handover", "reason": "移交", "to": "labour_inspection"})
        assert no_name.status_code == 422 and error(no_name.text, "to_name")
        handed = await c.post(f"/console/cases/{cid}/dispute/step", data={
            "_csrf": csrf, "step": "handover", "reason": "移交", "to": "labour_inspection",
            "to_name": "区劳动保障监察大队", "sent": "诉求书，会商纪要"})
        assert handed.status_code == 303, handed.text
        d = await c.get(f"/console/cases/{cid}/dispute")
        assert 'data-testid="ladder-ended"' in d.text and 'data-testid="step-form"' not in d.text
        assert "区劳动保障监察大队" in d.text and "未整改" in d.text
    # the platform answers 提示 through its machine API; the ladder's history shows it
    alpha = await partner_client(client, owner, federation, "alpha")
    view = await client.get(f"/v1/partner/cases/{cid}/dispute", headers=bearer(alpha.token))
    assert view.status_code == 200, view.text
    reminder = view.json()["steps"][0]["id"]
    replied = await client.post(
        f"/v1/partner/cases/{cid}/dispute/steps/{reminder}/reply",
        headers=bearer(alpha.token) | {"Idempotency-Key": uuid.uuid4().hex},
        json={"text": "将于 12 月 15 日前补发。"})
    assert replied.status_code == 200, replied.text
    clock.advance(days=10)  # past the request's 3 working days, the platform silent
    async with signed_in(live.url, owner, r1, "regional_admin") as c:
        d = await c.get(f"/console/cases/{cid}/dispute")
        assert 'data-slot="payroll" data-state="overdue"' in d.text
        assert 'data-testid="reply">平台答复' in d.text and "将于 12 月 15 日前补发。" in d.text
    async with signed_in(live.url, owner, r2, "regional_admin") as c:
        assert (await c.get(f"/console/cases/{cid}/dispute")).status_code == 404


async def test_a_hotline_operator_is_not_offered_the_dispute_or_referral_forms(
        live, owner, client, staff_token, federation: Federation) -> None:
    region = federation.regions[0]
    case = await api_case(client, await staff_token(federation, "regional_admin", region))
    async with signed_in(live.url, owner, region, "hotline_operator") as c:
        page = await c.get(f"/console/cases/{case['id']}")
        assert page.status_code == 200
        assert 'data-testid="dispute-form"' not in page.text
        assert 'data-testid="book-form"' not in page.text
        refused = await c.post(f"/console/cases/{case['id']}/referrals/handover", data={
            "_csrf": csrf_of(page.text), "provider": "x-aid", "sent_what": "材料",
            "sent_to": "王律师"})
        assert refused.status_code == 403
        assert "转介由办理诉求的工会工作人员进行" in refused.text
        # the 争议 list is not theirs (the 404 page), nor its ledger tab
        assert 'data-testid="tab-disputes"' not in page.text
        assert (await c.get("/console/cases/disputes")).status_code == 404


async def test_the_dispute_list_shows_my_disputes_and_not_a_sibling_regions(
        live, owner, client, staff_token, federation: Federation) -> None:
    r1, r2 = federation.regions
    token = await staff_token(federation, "regional_admin", r1)
    case = await api_case(client, token)
    opened = await client.post(f"/v1/cases/{case['id']}/dispute", headers=bearer(token),
                               json={"kind": "unpaid_pay", "statement": "请结清。"})
    assert opened.status_code == 201, opened.text
    async with signed_in(live.url, owner, r1, "regional_admin") as c:
        page = await c.get("/console/cases/disputes")
        assert page.status_code == 200 and f'data-case="{case["id"]}"' in page.text
        assert 'data-testid="tab-disputes"' in page.text
        # an unknown filter value is ignored; a bad cursor is the 422 page
        assert f'data-case="{case["id"]}"' in (await c.get(
            "/console/cases/disputes", params={"kind": "nope", "step": "nope"})).text
        none = await c.get("/console/cases/disputes", params={"kind": "work_injury"})
        assert f'data-case="{case["id"]}"' not in none.text and "没有符合条件的争议" in none.text
        assert (await c.get("/console/cases/disputes", params={"after": "x"})).status_code \
            == 422
    async with signed_in(live.url, owner, r2, "regional_admin") as c:
        page = await c.get("/console/cases/disputes")
        assert page.status_code == 200 and f'data-case="{case["id"]}"' not in page.text


def provider_form(code: str, serves: str, **over: str) -> dict[str, str]:
    return {"code": code, "kind": "legal_aid", "name_zh": "法律援助工作站",
            "name_en": "Legal aid station", "address": "某路 1 号", "lon": "121.43",
            "lat": "31.18", "crs": "wgs84", "serves": serves, "hours": HOURS,
            "slot_minutes": "30", "phone": "021-12348"} | over


async def test_providers_are_kept_by_a_region_and_a_case_is_referred_to_one(
        live, owner, client, staff_token, federation: Federation) -> None:
    r1, r2 = federation.regions
    station = federation.stations[r1][0]
    code = f"{r1}-aid"
    async with signed_in(live.url, owner, r1, "regional_admin") as c:
        page = await c.get("/console/cases/providers")
        assert page.status_code == 200 and 'data-testid="provider-form"' in page.text
        csrf = csrf_of(page.text)
        bad = await c.post("/console/cases/providers", data={
            "_csrf": csrf} | provider_form(code, r1, hours="monday 9-5", lon="200"))
        assert bad.status_code == 422
        assert error(bad.text, "hours") and error(bad.text, "lon")
        bad = await c.post("/console/cases/providers", data={
            "_csrf": csrf} | provider_form(code, r2))
        assert bad.status_code == 422
        assert "不是该地区工会辖下的组织" in error(bad.text, "serves")
        made = await c.post("/console/cases/providers",
                            data={"_csrf": csrf} | provider_form(code, r1))
        assert made.status_code == 303, made.text
        taken = await c.post("/console/cases/providers",
                             data={"_csrf": csrf} | provider_form(code, r1))
        assert taken.status_code == 409 and error(taken.text, "code")
        edit = await c.get(f"/console/cases/providers/{code}/edit")
        assert edit.status_code == 200 and "mon 09:00-12:00 13:00-17:00" in edit.text
        saved = await c.post(f"/console/cases/providers/{code}/edit", data={
            "_csrf": csrf, "active": "true"} | provider_form(code, r1, name_zh="区法律援助站"))
        assert saved.status_code == 303, saved.text
        listed = await c.get("/console/cases/providers")
        assert f'data-provider="{code}"' in listed.text and "区法律援助站" in listed.text
    async with signed_in(live.url, owner, station, "station_officer") as c:
        page = await c.get("/console/cases/providers")
        assert f'data-provider="{code}"' in page.text
        assert 'data-testid="provider-form"' not in page.text
        # the edit page does not exist for an officer (a refused page is the 404 page)
        assert (await c.get(f"/console/cases/providers/{code}/edit")).status_code == 404
        refused = await c.post("/console/cases/providers", data={
            "_csrf": csrf_of(page.text)} | provider_form(f"{r1}-two", r1))
        assert refused.status_code == 403
        assert "由总部或地区工会维护" in refused.text

    token = await staff_token(federation, "regional_admin", r1)
    first, second = await api_case(client, token), await api_case(client, token)
    async with signed_in(live.url, owner, r1, "regional_admin") as c:
        page = await c.get(f"/console/cases/{first['id']}")
        assert 'data-testid="book-form"' in page.text
        csrf = csrf_of(page.text)
        slots = re.findall(rf'<option value="({re.escape(code)}\|[^"]+)"', page.text)
        assert slots, "the picker offers the provider's grid"
        empty = await c.post(f"/console/cases/{first['id']}/referrals/book",
                             data={"_csrf": csrf, "slot": ""})
        assert empty.status_code == 422 and error(empty.text, "slot")
        off_grid = re.sub(r"T(\d\d):\d\d:00", r"T\1:07:00", html.unescape(slots[-1]))
        bad = await c.post(f"/console/cases/{first['id']}/referrals/book",
                           data={"_csrf": csrf, "slot": off_grid})
        assert bad.status_code == 422
        assert "不在机构的开放时间" in error(bad.text, "slot")
        booked = await c.post(f"/console/cases/{first['id']}/referrals/book",
                              data={"_csrf": csrf, "slot": html.unescape(slots[0])})
        assert booked.status_code == 303, booked.text
        twice = await c.post(f"/console/cases/{second['id']}/referrals/book",
                             data={"_csrf": csrf, "slot": html.unescape(slots[0])})
        assert twice.status_code == 409
        assert "该时段已被预约" in error(twice.text, "slot")
        handed = await c.post(f"/console/cases/{second['id']}/referrals/handover", data={
            "_csrf": csrf, "provider": code, "sent_what": "证据索引与诉求材料",
            "sent_to": "王律师"})
        assert handed.status_code == 303, handed.text
        page = await c.get(f"/console/cases/{first['id']}")
        assert 'data-testid="referral" data-status="booked"' in page.text
        rid = re.search(r'/referrals/([0-9a-f-]{36})/cancel', page.text)
        assert rid
        no_reason = await c.post(f"/console/cases/{first['id']}/referrals/{rid.group(1)}"
                                 "/cancel", data={"_csrf": csrf, "reason": ""})
        assert no_reason.status_code == 422 and error(no_reason.text, "reason")
        cancelled = await c.post(f"/console/cases/{first['id']}/referrals/{rid.group(1)}"
                                 "/cancel", data={"_csrf": csrf, "reason": "职工改约"})
        assert cancelled.status_code == 303
        page = await c.get(f"/console/cases/{first['id']}")
        assert 'data-status="cancelled"' in page.text and "职工改约" in page.text
        other = await c.get(f"/console/cases/{second['id']}")
        assert "王律师" in other.text and 'data-status="handed_over"' in other.text
