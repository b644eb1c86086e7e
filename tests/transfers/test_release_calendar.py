"""The release deadline is counted on the origin's working calendar (the federation's days,
its region's local days over them; the fixture's is tenants/demo/calendar.yaml, 2024–2026):
国庆 and its 调休 as the calendar has them, a day HQ changes through the calendar API moves the
next request's deadline (not the one already set), and a deadline that reaches a year the
calendar does not cover is flagged — in the API and on the console's transfer pages —
instead of being counted Monday to Friday silently."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import httpx

from flexunion.core.clock import BEIJING
from tests.support.console import signed_in
from tests.support.factories import Federation, Joined, bearer, join
from tests.transfers.conftest import Staff

CALENDAR = "/v1/admin/calendar"


async def _ask_at(client: httpx.AsyncClient, clock, worker: Joined, to: str,
                  at: datetime) -> dict:
    """The worker asks for a transfer with the service's clock at `at` (then back to now)."""
    clock.offset = at - datetime.now(UTC)
    try:
        asked = await client.post("/v1/me/transfers", json={"to": to}, headers=bearer(
            worker.token) | {"Idempotency-Key": secrets.token_hex(8)})
    finally:
        clock.offset = timedelta()
    assert asked.status_code == 201, asked.text
    return dict(asked.json())


def _due(body: dict) -> datetime:
    return datetime.fromisoformat(body["release_due_at"]).astimezone(BEIJING)


async def _member(client: httpx.AsyncClient, sms, staff: Staff, region: str) -> Joined:
    return await join(client, sms, staff.fed, region, approver_token=staff.region[region])


async def test_the_deadline_counts_the_calendars_holidays_and_makeup_days(
        client: httpx.AsyncClient, sms, staff: Staff, clock) -> None:
    r1, r2, _ = staff.fed.regions
    # Wed 30 Sep 10:00: Oct 1–7 国庆 off; Oct 8, 9, 10 (Saturday 调休), 12, 13 → end of 13 Oct.
    before_national_day = await _ask_at(client, clock, await _member(client, sms, staff, r1), r2,
                                        datetime(2026, 9, 30, 10, 0, tzinfo=BEIJING))
    assert _due(before_national_day) == datetime(2026, 10, 14, 0, 0, tzinfo=BEIJING)
    assert before_national_day["release_due_uncovered"] is False
    assert before_national_day["release_due_uncovered_years"] == []
    assert before_national_day["release_due_warning_zh"] is None
    # Fri 18 Sep: Sunday 20 Sep is a 调休 working day; 25–27 Sep 中秋 off:
    # 20, 21, 22, 23, 24 → end of Thursday 24 Sep (Monday to Friday would say 25 Sep).
    makeup = await _ask_at(client, clock, await _member(client, sms, staff, r1), r2,
                           datetime(2026, 9, 18, 16, 0, tzinfo=BEIJING))
    assert _due(makeup) == datetime(2026, 9, 25, 0, 0, tzinfo=BEIJING)
    assert makeup["release_due_uncovered"] is False


async def test_a_day_hq_changes_moves_the_next_requests_deadline(
        client: httpx.AsyncClient, sms, staff: Staff, clock) -> None:
    r1, r2, r3 = staff.fed.regions
    start = datetime(2026, 9, 30, 10, 0, tzinfo=BEIJING)
    first = await _ask_at(client, clock, await _member(client, sms, staff, r1), r2, start)
    assert _due(first) == datetime(2026, 10, 14, 0, 0, tzinfo=BEIJING)
    put = await client.put(f"{CALENDAR}/days", headers=bearer(staff.hq), json={"days": [
        {"date": "2026-10-09", "kind": "holiday", "name_zh": "国庆节补休",
         "name_en": "Extra day"}]})
    assert put.status_code == 200, put.text
    # 9 Oct off now: Oct 8, 10, 12, 13, 14 → end of 14 Oct.
    second = await _ask_at(client, clock, await _member(client, sms, staff, r1), r2, start)
    assert _due(second) == datetime(2026, 10, 15, 0, 0, tzinfo=BEIJING)
    assert second["release_due_uncovered"] is False
    # The first transfer keeps the deadline it was given.
    again = await client.get(f"/v1/admin/transfers/{first['id']}", headers=bearer(staff.hq))
    assert _due(again.json()) == datetime(2026, 10, 14, 0, 0, tzinfo=BEIJING)
    # A region's own day counts for transfers out of that region only (the origin answers).
    local = await client.put(f"{CALENDAR}/days", headers=bearer(staff.region[r3]), json={
        "days": [{"date": "2026-10-08", "kind": "holiday", "name_zh": "区域补休"}]})
    assert local.status_code == 200, local.text
    from_r3 = await _ask_at(client, clock, await _member(client, sms, staff, r3), r2, start)
    to_r3 = await _ask_at(client, clock, await _member(client, sms, staff, r1), r3, start)
    assert _due(from_r3) == datetime(2026, 10, 16, 0, 0, tzinfo=BEIJING)  # 10, 12, 13, 14, 15
    assert _due(to_r3) == datetime(2026, 10, 15, 0, 0, tzinfo=BEIJING)


async def test_a_deadline_in_an_uncovered_year_is_flagged_in_the_api_and_the_console(
        client: httpx.AsyncClient, live, owner, sms, staff: Staff, clock) -> None:
    fed: Federation = staff.fed
    r1, r2, _ = fed.regions
    worker = await _member(client, sms, staff, r1)
    # Mon 28 Dec 2026: 29, 30, 31 Dec, then 2027, which the calendar does not cover — counted
    # on weekly hours (1 Jan a Friday, 4 Jan), so the deadline (end of 4 Jan) is provisional.
    asked = await _ask_at(client, clock, worker, r2, datetime(2026, 12, 28, 10, 0, tzinfo=BEIJING))
    assert _due(asked) == datetime(2027, 1, 5, 0, 0, tzinfo=BEIJING)
    assert asked["release_due_uncovered"] is True
    assert asked["release_due_uncovered_years"] == [2027]
    assert "2027" in asked["release_due_warning_zh"]
    assert "须人工核对" in asked["release_due_warning_zh"]
    assert "does not cover 2027" in asked["release_due_warning_en"]
    staff_read = (await client.get(f"/v1/admin/transfers/{asked['id']}",
                                   headers=bearer(staff.region[r1]))).json()
    assert staff_read["release_due_uncovered"] is True
    assert staff_read["release_due_uncovered_years"] == [2027]
    mine = (await client.get("/v1/me/membership", headers=bearer(worker.token))).json()
    assert mine["transfers"][0]["release_due_uncovered_years"] == [2027]

    # A transfer whose deadline is covered carries no warning.
    covered = await _ask_at(client, clock, await _member(client, sms, staff, r1), r2,
                            datetime(2026, 12, 7, 10, 0, tzinfo=BEIJING))
    assert covered["release_due_uncovered"] is False

    async with signed_in(live.url, owner, r1, "regional_admin") as c:
        page = await c.get(f"/console/transfers/{asked['id']}")
        assert page.status_code == 200, page.text
        assert 'data-testid="release-uncovered"' in page.text
        assert "工作日历未覆盖 2027 年的法定节假日" in page.text
        assert "2027-01-05" in page.text
        plain = await c.get(f"/console/transfers/{covered['id']}")
        assert plain.status_code == 200
        assert 'data-testid="release-uncovered"' not in plain.text
        listed = await c.get("/console/transfers?direction=outgoing&status=requested")
        assert listed.status_code == 200
        row = listed.text.split(f'data-transfer="{asked["id"]}"')[1].split("</tr>")[0]
        assert 'data-testid="release-uncovered"' in row
        other = listed.text.split(f'data-transfer="{covered["id"]}"')[1].split("</tr>")[0]
        assert 'data-testid="release-uncovered"' not in other
