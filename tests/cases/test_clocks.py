"""SLA clocks on cases through the real app and database, on a frozen clock: deadlines across
国庆 2026 with its make-up Saturday worked out by hand, pauses and extensions, a deadline
reaching the uncovered year 2027, merge, the overdue list and the sweeps."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from flexunion.auth.keys import KeyStore
from flexunion.auth.tokens import TokenService
from flexunion.calendars import files
from flexunion.cases.clocks import service as clocks
from flexunion.core.clock import BEIJING, Clock, FixedClock
from flexunion.core.context import Role
from flexunion.core.secrets import Keyring
from flexunion.db.engine import bind_scope, make_engine, make_sessionmaker
from flexunion.db.scope import DbScope
from flexunion.provisioning.service import apply_directory
from tests.support.factories import Federation, bearer, make_federation, worker_login

STAFF = "/v1/cases"


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=BEIJING)  # type: ignore[misc]


@pytest.fixture
def frozen(clock, monkeypatch) -> FixedClock:
    """The app's clock stands still until the test moves it (tokens are signed on real time
    by `real_tokens`: PyJWT checks their expiry against the wall clock)."""
    fixed = FixedClock(bj(2026, 9, 30, 10))
    monkeypatch.setattr(clock, "now", fixed.now)
    return fixed


@pytest.fixture
async def real_tokens(settings):
    from tests.conftest import TEST_SECRET

    engine = make_engine(settings.database_url, pool_size=1, max_overflow=0)
    yield TokenService(settings, KeyStore(make_sessionmaker(engine),
                                          Keyring(TEST_SECRET.encode())), Clock())
    await engine.dispose()


def token_maker(real_tokens: TokenService):
    async def issue(fed: Federation, role: str, code: str, subject: str = "tester") -> str:
        token, _ = await real_tokens.issue(role=Role(role), subject=subject,
                                           tenant_id=fed.ids[code], tenant_code=code)
        return token
    return issue


async def calendar_federation(owner, tmp_path: Path) -> Federation:
    """A federation whose calendar (2026 from chinese-calendar) came from its file."""
    made = await make_federation(owner, tmp_path)
    folder = tmp_path / made.hq.removesuffix("-hq")
    (folder / "calendar.yaml").write_text(files.render(files.generate([2026]), folder / "x"))
    async with owner() as session, session.begin():
        await apply_directory(session, folder)
    return made


@pytest.fixture
async def fed(owner, tmp_path: Path) -> Federation:
    return await calendar_federation(owner, tmp_path)


class Desk:
    """Fresh tokens at the frozen time (an advance of days would expire older ones)."""

    def __init__(self, client, fed: Federation, staff_token) -> None:
        self.client, self.fed, self.staff_token = client, fed, staff_token

    async def as_(self, code: str) -> dict[str, str]:
        role = ("hq_admin" if code == self.fed.hq else "regional_admin"
                if code in self.fed.regions else "station_officer")
        return bearer(await self.staff_token(self.fed, role, code))

    async def post(self, code: str, path: str, body: dict[str, Any] | None = None,
                   expect: int = 200) -> dict[str, Any]:
        r = await self.client.post(f"{STAFF}{path}", headers=await self.as_(code),
                                   json=body if body is not None else {})
        assert r.status_code == expect, r.text
        return r.json()

    async def case(self, code: str, cid: str) -> dict[str, Any]:
        r = await self.client.get(f"{STAFF}/{cid}", headers=await self.as_(code))
        assert r.status_code == 200, r.text
        return r.json()

    async def enter(self, code: str, **over: Any) -> dict[str, Any]:
        body = {"category": "commission", "description": "抽成上调未公示。", "channel": "visit"}
        return await self.post(code, "", body | over, expect=201)


def clock_of(case: dict[str, Any], metric: str) -> dict[str, Any]:
    return next(c for c in case["clocks"] if c["metric"]["code"] == metric)


def at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(BEIJING) if value else None


async def test_deadlines_across_national_day_pause_and_extension_by_hand(
        client, owner, fed: Federation, real_tokens, frozen: FixedClock):
    desk = Desk(client, fed, token_maker(real_tokens))
    r1 = fed.regions[0]
    s1 = fed.stations[r1][0]
    case = await desk.enter(r1, station=s1)  # Wednesday 30 Sep 10:00
    cid = case["id"]
    first = clock_of(case, "first_response")
    # 4 working hours: 10:00–12:00 and 13:30–15:30
    assert first["state"]["code"] == "running" and at(first["deadline"]) == bj(2026, 9, 30, 15, 30)
    assert first["target_minutes"] == 240 and first["calendar_version"] >= 1
    assert first["uncovered"] is False and first["warning_zh"] is None
    assert [c["metric"]["code"] for c in case["clocks"]] == ["first_response"]

    frozen.advance(minutes=59)  # every step at its own instant: events are ordered by time
    await desk.post(r1, f"/{cid}/assign", {"lead": s1})
    frozen.advance(minutes=1)
    accepted = await desk.post(s1, f"/{cid}/accept")  # 11:00
    assert clock_of(accepted, "first_response")["state"]["code"] == "met"
    assert clock_of(accepted, "first_response")["elapsed_minutes"] == 60
    resolution = clock_of(accepted, "resolution")
    # not routed yet: 限期协调 by tier (一般: 3 working days) — 8 Oct, 9 Oct, Saturday 10 Oct
    assert resolution["target_days"] == 3 and at(resolution["deadline"]) == bj(2026, 10, 10, 18)
    assert resolution["budget_minutes"] == (5.5 + 3 * 7.5) * 60

    frozen.advance(minutes=30)  # re-routing changes the target, not the start
    instant = await desk.post(r1, f"/{cid}/route", {"route": "instant", "reason": "当场可答"})
    res = clock_of(instant, "resolution")
    assert res["target_days"] == 0 and at(res["deadline"]) == bj(2026, 9, 30, 18)
    assert at(res["started_at"]) == bj(2026, 9, 30, 11) and res["elapsed_minutes"] == 30
    frozen.advance(minutes=1)
    back = await desk.post(r1, f"/{cid}/route", {"route": "coordinate", "reason": "需平台协调"})
    assert at(clock_of(back, "resolution")["deadline"]) == bj(2026, 10, 10, 18)

    frozen.at = bj(2026, 9, 30, 16)
    paused = await desk.post(s1, f"/{cid}/pause", {"reason": "waiting_partner_data",
                                                    "note": "等平台调取派单记录"})
    res = clock_of(paused, "resolution")
    assert res["state"]["code"] == "paused" and res["deadline"] is None
    assert res["pause_reason"]["zh"] == "等待平台提供数据"
    assert res["elapsed_minutes"] == 60 + 150  # 11:00–12:00, 13:30–16:00
    await desk.post(s1, f"/{cid}/pause", {"reason": "waiting_worker"}, expect=409)

    frozen.at = bj(2026, 10, 8, 10)  # across the holiday: nothing ran while paused
    still = clock_of(await desk.case(r1, cid), "resolution")
    assert still["state"]["code"] == "paused" and still["elapsed_minutes"] == 210
    resumed = await desk.post(s1, f"/{cid}/resume", {})
    # 1680 − 210 = 1470 minutes left from Thu 8 Oct 10:00: 8 Oct 6.5 h, 9 Oct 7.5 h, the
    # make-up Saturday 10 Oct 7.5 h, Sunday off, then Monday 12 Oct 09:00–12:00
    assert at(clock_of(resumed, "resolution")["deadline"]) == bj(2026, 10, 12, 12)
    await desk.post(s1, f"/{cid}/resume", {}, expect=409)

    frozen.advance(hours=1)
    await desk.post(r1, f"/{cid}/extension-request", {"days": 2, "reason": "平台数据未到"})
    await desk.post(r1, f"/{cid}/extension-request", {"days": 1, "reason": "x"}, expect=409)
    for who, code in ((s1, 403), (r1, 403)):  # the handling unit; the one who asked
        body = await desk.post(who, f"/{cid}/extension-decision", {"decision": "approve"},
                               expect=code)
        assert body["code"] == "extension_not_superior"
    frozen.advance(minutes=1)
    granted = await desk.post(fed.hq, f"/{cid}/extension-decision",
                              {"decision": "approve", "reason": "同意"})
    # two working days after the deadline in force (12 Oct 12:00): the close of 14 Oct
    assert at(clock_of(granted, "resolution")["deadline"]) == bj(2026, 10, 14, 18)
    await desk.post(fed.hq, f"/{cid}/extension-decision", {"decision": "approve"}, expect=409)

    frozen.at = bj(2026, 10, 9, 10)
    answered = await desk.post(s1, f"/{cid}/answer", {"text": "平台已恢复原抽成。"})
    res = clock_of(answered, "resolution")
    assert res["state"]["code"] == "met" and at(res["deadline"]) == bj(2026, 10, 14, 18)
    follow = clock_of(answered, "follow_up")
    # 5 working days from Fri 9 Oct: Sat 10 (make-up), Mon 12, 13, 14, 15 Oct
    assert follow["state"]["code"] == "running" and at(follow["deadline"]) == bj(2026, 10, 15, 18)
    await desk.post(s1, f"/{cid}/pause", {"reason": "waiting_worker"}, expect=409)
    async with owner() as s:
        actions = [a for (a,) in (await s.execute(text(
            "SELECT action FROM audit_events WHERE object_id = :i ORDER BY seq"),
            {"i": cid})).all()]
        stored = (await s.execute(text(
            "SELECT metric, state, policy_version, calendar_version FROM case_clocks"
            " WHERE case_id = :i ORDER BY started_at, metric"), {"i": cid})).all()
    clock_steps = {"case.paused", "case.resumed", "case.extension_requested",
                   "case.extension_decided"}
    assert [a for a in actions if a in clock_steps] == [
        "case.paused", "case.resumed", "case.extension_requested", "case.extension_decided"]
    assert [(m, st) for m, st, _, _ in stored] == [
        ("first_response", "met"), ("resolution", "met"), ("follow_up", "running")]
    assert {p for _, _, p, _ in stored} == {1}


async def test_a_deadline_reaching_2027_is_flagged_uncovered(
        client, fed: Federation, real_tokens, frozen: FixedClock):
    desk = Desk(client, fed, token_maker(real_tokens))
    r1 = fed.regions[0]
    frozen.at = bj(2026, 12, 30, 10)
    case = await desk.enter(r1, tier="complex")
    assert clock_of(case, "first_response")["uncovered"] is False
    await desk.post(r1, f"/{case['id']}/assign", {"lead": r1})
    accepted = await desk.post(r1, f"/{case['id']}/accept")
    res = clock_of(accepted, "resolution")
    # 5 working days (特别复杂): 31 Dec, then 2027 counted on weekly hours only — 1 Jan is a
    # Friday the calendar cannot know as 元旦 — 1, 4, 5, 6 Jan
    assert res["target_days"] == 5 and at(res["deadline"]) == bj(2027, 1, 6, 18)
    assert res["uncovered"] is True and res["uncovered_years"] == [2027]
    assert "2027" in res["warning_zh"] and "2027" in res["warning_en"]
    assert clock_of(accepted, "first_response")["uncovered"] is False


async def test_refused_clock_steps_write_nothing(client, owner, fed: Federation, real_tokens,
                                                frozen: FixedClock):
    desk = Desk(client, fed, token_maker(real_tokens))
    r1, r2 = fed.regions
    cid = (await desk.enter(r1))["id"]
    await desk.post(r1, f"/{cid}/pause", {"reason": "lunch"}, expect=422)
    early = await desk.post(r1, f"/{cid}/extension-request", {"days": 2, "reason": "x"},
                            expect=409)
    assert early["code"] == "extension_not_applicable"
    none = await desk.post(fed.hq, f"/{cid}/extension-decision", {"decision": "refuse"},
                           expect=409)
    assert none["code"] == "no_extension_pending"
    assert (await desk.post(r2, f"/{cid}/pause", {"reason": "waiting_worker"}, expect=404)
            )["code"] == "case_not_found"
    async with owner() as s:
        kinds = [k for (k,) in (await s.execute(text(
            "SELECT kind FROM case_events WHERE case_id = :i"), {"i": cid})).all()]
    assert kinds == ["intake"]
    # too late: the deadline passed (no event needed for that), so no extension
    await desk.post(r1, f"/{cid}/assign", {"lead": r1})
    await desk.post(r1, f"/{cid}/accept")
    frozen.at = bj(2026, 10, 12, 10)  # due Saturday 10 Oct 18:00 (the make-up day)
    late = await desk.post(r1, f"/{cid}/extension-request", {"days": 1, "reason": "x"},
                           expect=409)
    assert late["code"] == "extension_too_late"
    shown = clock_of(await desk.case(r1, cid), "resolution")
    assert shown["state"]["code"] == "breached" and shown["remaining_minutes"] == -60


async def test_merge_cancels_the_merged_cases_clocks_and_the_worker_sees_them(
        client, sms, fed: Federation, real_tokens, frozen: FixedClock):
    desk = Desk(client, fed, token_maker(real_tokens))
    r1 = fed.regions[0]
    s1 = fed.stations[r1][0]
    _, worker = await worker_login(client, sms, fed.hq)
    token, _ = await real_tokens.issue(role=Role.WORKER, subject=worker, tenant_id=fed.ids[fed.hq],
                                       tenant_code=fed.hq)
    made = []
    for _ in range(2):
        r = await client.post("/v1/me/cases", headers=bearer(token) | {
            "Idempotency-Key": secrets.token_hex(8)}, json={
            "category": "commission", "description": "抽成上调。", "station": s1})
        assert r.status_code == 201, r.text
        made.append(r.json())
    assert clock_of(made[0], "first_response")["calendar_version"] >= 1  # the worker pinned it
    frozen.advance(minutes=20)
    await desk.post(r1, f"/{made[1]['id']}/merge", {"into": made[0]["id"]})
    merged = clock_of(await desk.case(r1, made[1]["id"]), "first_response")
    kept = clock_of(await desk.case(r1, made[0]["id"]), "first_response")
    assert merged["state"]["code"] == "cancelled" and merged["elapsed_minutes"] == 20
    assert kept["state"]["code"] == "running"
    mine = await client.get(f"/v1/me/cases/{made[0]['id']}", headers=bearer(token))
    assert clock_of(mine.json(), "first_response")["state"]["code"] == "running"


async def test_overdue_list_is_time_not_events_in_scope_and_paged(
        client, settings, fed: Federation, real_tokens, frozen: FixedClock):
    desk = Desk(client, fed, token_maker(real_tokens))
    r1, r2 = fed.regions
    frozen.at = bj(2026, 10, 12, 9)
    a = (await desk.enter(r1))["id"]  # first response due 14:30 (09:00–12:00, 13:30–14:30)
    frozen.advance(minutes=10)
    b = (await desk.enter(r1))["id"]
    c = (await desk.enter(r2))["id"]
    p = (await desk.enter(r1))["id"]
    await desk.post(r1, f"/{p}/pause", {"reason": "waiting_worker"})
    done = (await desk.enter(r1))["id"]
    await desk.post(r1, f"/{done}/route", {"route": "instant", "reason": "当场答复"})
    frozen.advance(minutes=1)
    await desk.post(r1, f"/{done}/answer", {"text": "已答复"})
    empty = await client.get(f"{STAFF}/overdue", headers=await desk.as_(r1))
    assert empty.status_code == 200 and empty.json()["items"] == []

    frozen.at = bj(2026, 10, 12, 15)  # no event since: the cached states still say running
    seen = await client.get(f"{STAFF}/overdue", headers=await desk.as_(r1))
    items = seen.json()["items"]
    assert [i["case_id"] for i in items] == [a, b]  # oldest deadline first; not p, done, c
    assert items[0]["clock"]["state"]["code"] == "breached"
    assert at(items[0]["overdue_since"]) == bj(2026, 10, 12, 14, 30)
    assert items[0]["clock"]["metric"]["zh"] == "首次响应"
    other = await client.get(f"{STAFF}/overdue", headers=await desk.as_(r2))
    assert [i["case_id"] for i in other.json()["items"]] == [c]
    page = await client.get(f"{STAFF}/overdue", params={"limit": 1}, headers=await desk.as_(r1))
    assert [i["case_id"] for i in page.json()["items"]] == [a]
    nxt = await client.get(f"{STAFF}/overdue", params={"limit": 1, "cursor": page.json()[
        "next_cursor"]}, headers=await desk.as_(r1))
    assert [i["case_id"] for i in nxt.json()["items"]] == [b]
    assert (await client.get(f"{STAFF}/overdue", params={"cursor": "nope"},
                             headers=await desk.as_(r1))).status_code == 422

    # The sweeps, as the jobs will run them: the app role, a system principal, the
    # federation's scope (RLS applies).
    engine = make_engine(settings.app_database_url, pool_size=1, max_overflow=0)
    try:
        session = make_sessionmaker(engine)()
        bind_scope(session, lambda: DbScope(fed.ids[fed.hq], "system:jobs:sla-sweep"))
        async with session, session.begin():
            late = await clocks.breaches(session, bj(2026, 10, 12, 15))
            assert {str(r.case_id) for r in late} == {a, b, c}
            # at 14:00, 30 working minutes ahead: a (14:30); 40 minutes: a, b and c (14:40);
            # the paused p has no deadline and is never due
            due = await clocks.due_reminders(session, bj(2026, 10, 12, 14), timedelta(minutes=30))
            assert {str(r.case_id) for r in due} == {a}
            due = await clocks.due_reminders(session, bj(2026, 10, 12, 14), timedelta(minutes=40))
            assert {str(r.case_id) for r in due} == {a, b, c}
            # across the lunch break: at 11:50, 40 working minutes reach 14:00 only (10 min
            # before 12:00, 30 after 13:30) — a due at 14:30 is 70 working minutes away
            due = await clocks.due_reminders(session, bj(2026, 10, 12, 11, 50),
                                             timedelta(minutes=70))
            assert {str(r.case_id) for r in due} == {a}
    finally:
        await engine.dispose()


async def test_the_sweep_and_the_overdue_list_read_the_partial_index(
        owner, settings, fed: Federation):
    """3,000 cases, 97 % of their clocks ended: the repository's own statements, explained as
    the app role under the jobs' and a regional admin's scope, read a partial index of the
    open clocks, never the whole table."""
    from sqlalchemy import event

    hq, r1 = fed.ids[fed.hq], fed.ids[fed.regions[0]]
    async with owner() as s, s.begin():
        await s.execute(text(
            "WITH c AS (INSERT INTO cases (id, federation_id, tenant_id, case_no, is_member,"
            " contact, category, description, tags, tier, channel, place, status, route_details,"
            " created_by, created_at, updated_at) SELECT gen_random_uuid(), :hq, :r1,"
            " 'plan-' || g, false, '{}', 'commission', 'x', '{}', 'general', 'visit', '{}',"
            " 'received', '{}', 'test', now(), now() FROM generate_series(1, 3000) g"
            " RETURNING id)"
            " INSERT INTO case_clocks (id, federation_id, tenant_id, case_id, metric,"
            " target_minutes, policy_version, calendar_version, calendar_tenant_id, started_at,"
            " state, deadline, elapsed_minutes, remaining_minutes, budget_minutes,"
            " uncovered_years, ended_at, derived_at) SELECT gen_random_uuid(), :hq, :r1, c.id,"
            " 'first_response', 240, 1, 0, :r1, now(), x.state, now() - random() * interval"
            " '9 days' + interval '1 day', 0, 240, 240, '{}',"
            " CASE WHEN x.state = 'met' THEN now() END, now()"
            " FROM c, LATERAL (SELECT CASE WHEN random() < 0.97 THEN 'met' ELSE 'running' END"
            " AS state WHERE c.id IS NOT NULL) x"), {"hq": hq, "r1": r1})
        await s.execute(text("ANALYZE case_clocks"))
        await s.execute(text("ANALYZE cases"))
    engine = make_engine(settings.app_database_url, pool_size=1, max_overflow=0)
    sent: list[tuple[str, Any]] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _record(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "case_clocks" in statement and not statement.startswith("EXPLAIN"):
            sent.append((statement, parameters))

    async def plan(scope: DbScope, call) -> str:  # type: ignore[no-untyped-def]
        session = make_sessionmaker(engine)()
        bind_scope(session, lambda: scope)
        async with session, session.begin():
            await call(session)
            statement, parameters = sent[-1]
            conn = await session.connection()
            rows = (await conn.exec_driver_sql("EXPLAIN " + statement, parameters)).all()
            return "\n".join(r[0] for r in rows)

    now = datetime.now(BEIJING)
    try:
        for scope in (DbScope(hq, "system:jobs:sla-sweep"),
                      DbScope(r1, "regional_admin:planner")):
            for call in (lambda s: clocks.breaches(s, now, limit=50),
                         lambda s: clocks.overdue(s, now, after=None, limit=21),
                         lambda s: clocks.due_reminders(s, now, timedelta(hours=2))):
                shown = await plan(scope, call)
                # one of the two partial indexes of open clocks (by deadline; by tenant)
                assert " ix_case_clocks_open_" in shown, shown
                assert "Seq Scan on case_clocks" not in shown, shown
    finally:
        await engine.dispose()
