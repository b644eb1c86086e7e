"""办理统计: hand-made cases with known outcomes give exactly the expected counts and rates
per handling unit, a sibling region's cases are not counted, an empty denominator gives
null, the period is a month or a quarter in Beijing time, and the CSV — against the real app
and the real database under row-level security."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pytest

from flexunion.cases.figures.periods import Period
from flexunion.core.clock import BEIJING
from tests.support.factories import Federation, bearer, join

STAFF, FIGURES = "/v1/cases", "/v1/cases/figures"


def key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(8)}


def test_periods_are_months_and_quarters_in_beijing_time() -> None:
    nov, q4 = Period.parse("2026-11"), Period.parse("2026Q4")
    assert (nov.start, nov.end) == (datetime(2026, 11, 1, tzinfo=BEIJING),
                                    datetime(2026, 12, 1, tzinfo=BEIJING))
    assert (q4.start, q4.end) == (datetime(2026, 10, 1, tzinfo=BEIJING),
                                  datetime(2027, 1, 1, tzinfo=BEIJING))
    assert Period.parse("2026-12").end == datetime(2027, 1, 1, tzinfo=BEIJING)
    # 16:30 UTC on 31 Oct is already November in Beijing
    assert Period.month_of(datetime(2026, 10, 31, 16, 30, tzinfo=UTC)).code == "2026-11"
    assert Period.parse("2026-01").previous().code == "2025-12"
    assert Period.parse("2026Q1").previous().code == "2025Q4"


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "2026Q5", "26Q4", "2026-1", "nov"])
def test_a_bad_period_is_refused(bad: str) -> None:
    with pytest.raises(Exception) as caught:
        Period.parse(bad)
    assert getattr(caught.value, "code", None) == "period_invalid"


def by_unit(body: dict) -> dict[str, dict]:
    return {u["unit"]["code"]: u for u in body["units"]}


RATES = ("response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate",
         "reopen_rate")


async def test_rates_per_handling_unit_sibling_left_out_nulls_and_csv(
        client, sms, clock, federation: Federation, staff_token) -> None:
    r1, r2 = federation.regions
    s1, s2 = federation.stations[r1]
    t1 = federation.stations[r2][0]
    hq = await staff_token(federation, "hq_admin", federation.hq)
    region = await staff_token(federation, "regional_admin", r1)
    other = await staff_token(federation, "regional_admin", r2)
    officer = await staff_token(federation, "station_officer", s2)
    member = await join(client, sms, federation, s1, approver_token=hq)
    number = member.body["member_no"]
    # Monday 2 November 2026, 09:00 Beijing: a working day
    clock.offset = datetime(2026, 11, 2, 9, tzinfo=BEIJING) - datetime.now(UTC)

    async def enter(token: str, station: str | None, member_no: str | None = None) -> str:
        r = await client.post(STAFF, headers=bearer(token), json={
            "channel": "visit", "category": "wage_arrears", "description": "工资拖欠。"}
            | ({"station": station} if station else {})
            | ({"member_no": member_no} if member_no else {}))
        assert r.status_code == 201, r.text
        return r.json()["id"]

    async def step(token: str, cid: str, path: str, data: dict | None = None) -> None:
        r = await client.post(f"{STAFF}/{cid}/{path}", headers=bearer(token), json=data or {})
        assert r.status_code == 200, (path, r.text)

    async def rate(cid: str, rating: str) -> None:
        r = await client.post(f"/v1/me/cases/{cid}/rating", headers=bearer(member.token)
                              | key(), json={"rating": rating})
        assert r.status_code == 201, r.text

    resolved = {"outcome": "resolved", "worker_informed": True, "worker_accepts": True}
    instant = {"route": "instant", "reason": "当场答复"}
    coordinate = {"route": "coordinate", "reason": "需平台配合"}
    # A (s1, led by s2): accepted at once, 限期协调, answered, closed, 满意, then reopened
    a = await enter(region, s1, number)
    await step(region, a, "assign", {"lead": s2})
    await step(officer, a, "accept")
    await step(officer, a, "route", coordinate)
    await step(officer, a, "answer", {"text": "已协调平台补发。"})
    await step(region, a, "follow-up", resolved)
    await rate(a, "satisfied")
    r = await client.post(f"/v1/me/cases/{a}/reopen", headers=bearer(member.token) | key(),
                          json={"reason": "没到账"})
    assert r.status_code == 200, r.text
    # B, C (s1, no lead): answered the same morning, closed, 基本满意 / 不满意
    for rating in ("basically_satisfied", "dissatisfied"):
        cid = await enter(region, s1, number)
        await step(region, cid, "route", instant)
        await step(region, cid, "answer", {"text": "已结清。"})
        await step(region, cid, "follow-up", resolved)
        await rate(cid, rating)
    # D (s1): nobody answers it; E (s1, led by s2): accepted at once, 限期协调
    await enter(region, s1)
    e = await enter(region, s1)
    await step(region, e, "assign", {"lead": s2})
    await step(officer, e, "accept")
    await step(officer, e, "route", coordinate)
    # F in the sibling region: answered and closed
    f = await enter(other, t1)
    await step(other, f, "route", instant)
    await step(other, f, "answer", {"text": "已答复。"})
    await step(other, f, "follow-up", resolved)

    # a week later (Monday 9 November): D's first response is breached by time, E is
    # answered past its 3 working days; G, at the region itself, is new and unanswered
    # (tokens are checked on the wall clock: those issued before the shift still hold)
    clock.advance(days=7)
    await step(officer, e, "answer", {"text": "平台已整改。"})
    await enter(region, None)

    got = await client.get(FIGURES, params={"period": "2026-11"}, headers=bearer(region))
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["period"], body["kind"]) == ("2026-11", "month")
    units = by_unit(body)
    assert list(units) == sorted([r1, s1, s2])  # nothing of the sibling region
    one, two, own = units[s1], units[s2], units[r1]
    assert one["unit"]["kind"] == "station" and own["unit"]["kind"] == "regional"
    # s1: B, C (met, closed, rated 基本满意 / 不满意) and D (breached, open)
    assert {k: one[k] for k in ("received", "responded_on_time", "response_judged", "closed",
                                "satisfied", "basically_satisfied", "rated",
                                "resolved_on_time", "resolution_stopped", "reopened",
                                "ever_closed", "supervised")} == {
        "received": 3, "responded_on_time": 2, "response_judged": 3, "closed": 2,
        "satisfied": 0, "basically_satisfied": 1, "rated": 2, "resolved_on_time": 2,
        "resolution_stopped": 2, "reopened": 0, "ever_closed": 2, "supervised": 0}
    assert [one[k] for k in RATES] == [pytest.approx(2 / 3), pytest.approx(2 / 3), 0.5,
                                       1.0, 0.0]
    # s2, the lead unit that answered A (reopened, so not closed now) and E (late)
    assert (two["received"], two["supervised"], two["resolved_on_time"],
            two["resolution_stopped"]) == (2, 2, 1, 2)
    assert [two[k] for k in RATES] == [1.0, 0.0, 1.0, 0.5, 1.0]
    # the region's own G: nothing judged yet — null, never 0 (but 0 of 1 received closed)
    assert own["received"] == 1
    assert [own[k] for k in RATES] == [None, 0.0, None, None, None]
    total = body["total"]
    assert (total["received"], total["supervised"]) == (6, 2)
    assert [total[k] for k in RATES] == [0.8, pytest.approx(2 / 6), pytest.approx(2 / 3),
                                         0.75, pytest.approx(1 / 3)]

    # the sibling region sees only its own station; HQ sees all four units
    theirs = (await client.get(FIGURES, params={"period": "2026-11"},
                               headers=bearer(other))).json()
    assert list(by_unit(theirs)) == [t1] and theirs["total"]["received"] == 1
    assert [theirs["total"][k] for k in RATES] == [1.0, 1.0, None, 1.0, 0.0]
    everyone = (await client.get(FIGURES, params={"period": "2026-11"},
                                 headers=bearer(hq))).json()
    assert set(by_unit(everyone)) == {r1, s1, s2, t1} and everyone["total"]["received"] == 7

    # an empty period: no unit, every rate null
    october = (await client.get(FIGURES, params={"period": "2026-10"},
                                headers=bearer(region))).json()
    assert october["units"] == [] and october["total"]["received"] == 0
    assert [october["total"][k] for k in RATES] == [None] * 5
    # back to today (December): a new case counts in the quarter, not in November
    clock.offset = type(clock.offset)()
    await enter(region, s1)
    q4 = by_unit((await client.get(FIGURES, params={"period": "2026Q4"},
                                   headers=bearer(region))).json())
    nov = by_unit((await client.get(FIGURES, params={"period": "2026-11"},
                                    headers=bearer(region))).json())
    assert (q4[s1]["received"], nov[s1]["received"]) == (4, 3)

    # the CSV: BOM, CRLF, Chinese headers, a row per unit and the total, null as empty
    csv = await client.get(f"{FIGURES}.csv", params={"period": "2026-11"},
                           headers=bearer(region))
    assert csv.status_code == 200, csv.text
    assert csv.headers["content-type"].startswith("text/csv")
    assert 'filename="case-figures-2026-11.csv"' in csv.headers["content-disposition"]
    assert csv.content.startswith(b"\xef\xbb\xbf")
    lines = csv.content.decode("utf-8-sig").split("\r\n")
    assert lines[0].startswith("统计期,办理单位编码,办理单位,受理件数,按时响应件数,应响应件数,"
                               "响应率")
    assert lines[-1] == "" and len(lines) == 1 + 3 + 1 + 1
    rows = {line.split(",")[1]: line.split(",") for line in lines[1:-1]}
    assert rows[s1][3:7] == ["3", "2", "3", "66.7%"]
    # today G's first response is past its deadline too: judged now, and breached
    assert rows[r1][3:9] == ["1", "0", "1", "0.0%", "0", "0.0%"]
    assert rows[r1][12] == "" and rows[r1][15] == ""  # no rating, no stopped clock: empty
    assert rows[""][2] == "合计" and rows[""][3] == "6"

    # a bad period: 422 with its code (JSON and CSV); a station officer: refused
    for path in (FIGURES, f"{FIGURES}.csv"):
        for bad in ("2026-13", "2026Q5", "Q4"):
            r = await client.get(path, params={"period": bad}, headers=bearer(region))
            assert r.status_code == 422 and r.json()["code"] == "period_invalid", r.text
    r = await client.get(FIGURES, params={"period": "2026-11"}, headers=bearer(officer))
    assert r.status_code == 403, r.text
