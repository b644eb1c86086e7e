"""周研判: over four noisy baseline weeks (seeded Poisson counts at every station and union of
two regions), a planted spike at one station and a roster drop at another are flagged — and
nothing else; officers judge a signal, the list shows it, a sibling region sees nothing, a
station officer only its own station's; re-running the week (on demand and as the job) is
idempotent and keeps the judgement. Real app, real database, row-level security."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.cases.weekly.rules import Thresholds, Week, count_verdict, drop_verdict
from flexunion.core.clock import BEIJING, FixedClock
from flexunion.db.engine import bind_scope, make_engine, make_sessionmaker
from flexunion.db.scope import DbScope
from flexunion.jobs import service as jobs
from flexunion.jobs.service import Body
from tests.support.factories import Federation, bearer

REVIEW = "/v1/cases/weekly-review"
WEEK = Week.parse("2026-W49")  # Monday 30 Nov – Sunday 6 Dec 2026, Beijing
CATEGORIES = ("wage_distribution", "leave_scheduling", "labour_protection", "housing_commute",
              "skills_promotion", "dispatch")


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: a Poisson-distributed count, from the seeded generator."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def test_the_rule_flags_a_jump_not_a_wobble() -> None:
    rules = Thresholds()
    assert count_verdict(9, [8, 7, 10, 8], rules) is None
    assert count_verdict(4, [0, 0, 0, 0], rules) is None  # under min_count
    # four alike weeks (sd 0) do not make 14 a spike: the Poisson spread stands
    assert count_verdict(14, [8, 8, 8, 8], rules) is None
    v = count_verdict(25, [8, 8, 8, 8], rules)
    assert v is not None and v.threshold == pytest.approx(8 + 3 * math.sqrt(1.25 * 8 + 1))
    assert drop_verdict(12, 20, rules) is not None
    assert drop_verdict(15, 20, rules) is None  # 25 %
    assert drop_verdict(2, 8, rules) is None  # too few to begin with
    assert Week.of(datetime(2026, 11, 29, 16, 30, tzinfo=UTC)).code == "2026-W49"
    assert Week.parse("2026-W49").previous().code == "2026-W48"


@pytest.mark.parametrize("mean", [1.0, 2.0, 4.0, 8.0, 30.0])
def test_over_many_noisy_places_the_rule_rarely_fires_and_catches_spikes(mean: float) -> None:
    """2,000 places of Poisson noise: under 1 % are flagged; the same weeks with the last one
    doubled plus 10 are caught in more than 87 % of places."""
    rng, rules = random.Random(int(mean * 1000)), Thresholds()
    false = caught = 0
    for _ in range(2000):
        weeks = [poisson(rng, mean) for _ in range(5)]
        false += count_verdict(weeks[4], weeks[:4], rules) is not None
        caught += count_verdict(2 * weeks[4] + 10, weeks[:4], rules) is not None
    assert false < 20
    assert caught > 1750


@pytest.fixture
async def app_sessions(settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(settings.app_database_url, pool_size=2, max_overflow=0)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def plant(owner, fed: Federation) -> None:
    """Noise everywhere for W45–W49, the spike at the first station in W49, the rosters."""
    rng = random.Random(20261207)
    hq = fed.ids[fed.hq]
    r1, r2 = fed.regions
    places = [r1, *fed.stations[r1], r2, *fed.stations[r2]]
    spike = fed.stations[r1][0]
    rows = []
    for back in range(4, -1, -1):
        start = WEEK.start - timedelta(days=7 * back)
        for code in places:
            n = poisson(rng, 8.0)
            cats = [rng.choice(CATEGORIES) for _ in range(n)]
            if back == 0 and code == spike:
                cats += ["wage_distribution"] * 15
            for cat in cats:
                at = start + timedelta(seconds=rng.randrange(7 * 86400))
                rows.append({"fed": hq, "tenant": fed.ids[code], "no": uuid.uuid4().hex,
                             "cat": cat, "at": at})
    async with owner() as s, s.begin():
        await s.execute(text(
            "INSERT INTO cases (id, federation_id, tenant_id, case_no, is_member, contact,"
            " category, description, tags, tier, channel, place, status, route_details,"
            " created_by, created_at, updated_at) VALUES (gen_random_uuid(), :fed, :tenant,"
            " :no, false, '{}', :cat, '述', '{}', 'general', 'visit', '{}', 'assigned', '{}',"
            " 'test', :at, :at)"), rows)
        alpha = await s.scalar(text("SELECT id FROM platform_partners WHERE tenant_id = :f"
                                    " AND code = 'alpha'"), {"f": hq})
        # alpha's rosters: 20 active at the second station and 20 at the first in W48; in
        # W49 8 at the second (a 60 % drop), 19 at the first (one left: not a cluster).
        for when, counts in ((WEEK.start - timedelta(days=4), {1: 20, 0: 20}),
                             (WEEK.start + timedelta(days=2), {1: 8, 0: 19})):
            upload = uuid.uuid4()
            await s.execute(text(
                "INSERT INTO roster_uploads (id, federation_id, tenant_id, partner_id, source,"
                " crs, rows, uploaded_by, uploaded_at) VALUES (:id, :f, :f, :p, 'api',"
                " 'wgs84', 40, 'test', :at)"), {"id": upload, "f": hq, "p": alpha, "at": when})
            entries = []
            for i, active in counts.items():
                station = fed.ids[fed.stations[r1][i]]
                for j in range(20):
                    entries.append({"u": upload, "f": hq, "t": station, "ref": f"w{i}-{j}",
                                    "days": 3 if j < active else 0})
            await s.execute(text(
                "INSERT INTO roster_entries (federation_id, tenant_id, upload_id, worker_ref,"
                " platform, zone_code, active_days) VALUES (:f, :t, :u, :ref, 'alpha', 'Z1',"
                " :days)"), entries)


def flagged(body: dict) -> set[tuple[str, str, str, str]]:
    return {(s["kind"], s["place"]["dimension"], s["place"]["code"], s["detail"])
            for s in body["signals"]}


async def test_a_planted_spike_and_a_roster_drop_are_flagged_and_not_the_noise(
        client, owner, settings, app_sessions, federation: Federation,
        staff_token) -> None:
    fed = federation
    r1, r2 = fed.regions
    s1, s2 = fed.stations[r1]
    await plant(owner, fed)
    hq = await staff_token(fed, "hq_admin", fed.hq)
    region = await staff_token(fed, "regional_admin", r1)
    sibling = await staff_token(fed, "regional_admin", r2)
    officer1 = await staff_token(fed, "station_officer", s1)
    officer2 = await staff_token(fed, "station_officer", s2)

    r = await client.post(f"{REVIEW}/run", params={"week": WEEK.code}, headers=bearer(hq))
    assert r.status_code == 200, r.text
    assert r.json() == {"week": "2026-W49", "regions": [r1, r2], "signals": 3}
    expected = {("cases", "station", s1, ""), ("category", "station", s1, "wage_distribution"),
                ("roster_drop", "station", s2, "alpha")}
    listed = (await client.get(REVIEW, params={"week": WEEK.code}, headers=bearer(hq))).json()
    assert flagged(listed) == expected
    spike = next(s for s in listed["signals"] if s["kind"] == "cases")
    assert spike["region"] == r1 and spike["value"] >= 15 + 1
    assert spike["value"] >= spike["threshold"] > spike["baseline"]
    assert spike["place"]["tenant_id"] == str(fed.ids[s1]) and "前 4 周均值" in spike["why_zh"]
    drop = next(s for s in listed["signals"] if s["kind"] == "roster_drop")
    assert (drop["value"], drop["baseline"]) == (8, 20.0)

    # who sees what: the region all three, the sibling none, each station its own
    assert flagged((await client.get(REVIEW, params={"week": WEEK.code},
                                     headers=bearer(region))).json()) == expected
    assert (await client.get(REVIEW, params={"week": WEEK.code},
                             headers=bearer(sibling))).json()["signals"] == []
    assert {k for k, *_ in flagged((await client.get(
        REVIEW, params={"week": WEEK.code}, headers=bearer(officer1))).json())} == {
        "cases", "category"}
    assert flagged((await client.get(REVIEW, params={"week": WEEK.code},
                                     headers=bearer(officer2))).json()) == {
        ("roster_drop", "station", s2, "alpha")}

    # a judgement: the sibling region cannot reach it, the region records it
    judgement = {"judgement": "execution_deviation", "action": "约谈站长，核查派单规则",
                 "follow_up_node": "两周后复核", "follow_up_due": "2026-12-21"}
    path = f"{REVIEW}/signals/{spike['id']}/judgement"
    r = await client.post(path, json=judgement, headers=bearer(sibling))
    assert r.status_code == 404 and r.json()["code"] == "signal_not_found"
    r = await client.post(path, json=judgement, headers=bearer(region))
    assert r.status_code == 200, r.text
    assert r.json()["judgement_zh"] == "执行偏差" and r.json()["judged_by"].startswith(
        "regional_admin:")
    r = await client.post(path, json=judgement | {"judgement": "bogus"}, headers=bearer(region))
    assert r.status_code == 422 and r.json()["code"] == "validation_failed", r.text
    async with owner() as s:
        audited = await s.scalar(text("SELECT count(*) FROM audit_events WHERE action ="
                                      " 'weekly_review.judged' AND object_id = :id"),
                                 {"id": spike["id"]})
    assert audited == 1

    # re-run on demand and as the job: the same three rows, the judgement kept
    r = await client.post(f"{REVIEW}/run", params={"week": WEEK.code}, headers=bearer(region))
    assert r.status_code == 200 and r.json()["signals"] == 3
    body = msgspec.json.encode(Body(fed.ids[fed.hq], {"week": WEEK.code}))
    assert await jobs.run("weekly-review", body, sessions=app_sessions, settings=settings,
                          clock=FixedClock(datetime(2026, 12, 8, 10, tzinfo=BEIJING))) == 3
    again = (await client.get(REVIEW, params={"week": WEEK.code}, headers=bearer(hq))).json()
    assert {s["id"] for s in again["signals"]} == {s["id"] for s in listed["signals"]}
    kept = next(s for s in again["signals"] if s["id"] == spike["id"])
    assert kept["judgement"] == "execution_deviation" and kept["follow_up_due"] == "2026-12-21"

    # the counts function answers only managers and the weekly job, in their own subtree
    tenants = [fed.ids[c] for c in (r1, s1, s2)]

    async def counted(tenant: str, principal: str) -> int:
        session = app_sessions()
        bind_scope(session, lambda: DbScope(fed.ids[tenant], principal))
        async with session, session.begin():
            return len((await session.execute(text(
                "SELECT * FROM flexunion_weekly_review_counts(CAST(:t AS uuid[]), :s)"),
                {"t": tenants, "s": WEEK.start})).all())

    assert await counted(fed.hq, "system:jobs:weekly-review") > 0
    assert await counted(r1, f"regional_admin:{uuid.uuid4()}") > 0
    assert await counted(r2, f"regional_admin:{uuid.uuid4()}") == 0  # not its subtree
    assert await counted(s1, f"station_officer:{uuid.uuid4()}") == 0
    assert await counted(fed.hq, "system:jobs:sla-sweep") == 0
    assert await counted(fed.hq, f"hotline_operator:{uuid.uuid4()}") == 0
    async with owner() as s:
        alpha = await s.scalar(text("SELECT id FROM platform_partners WHERE tenant_id = :f"
                                    " AND code = 'alpha'"), {"f": fed.ids[fed.hq]})
    assert await counted(fed.hq, f"partner:{alpha}") == 0

    # the week before had no spike: nothing there; a bad week and a station's run refused
    r = await client.post(f"{REVIEW}/run", params={"week": "2026-W48"}, headers=bearer(hq))
    assert r.status_code == 200 and r.json()["signals"] == 0
    r = await client.get(REVIEW, params={"week": "2026-W54"}, headers=bearer(hq))
    assert r.status_code == 422 and r.json()["code"] == "week_invalid"
    r = await client.post(f"{REVIEW}/run", params={"week": WEEK.code}, headers=bearer(officer1))
    assert r.status_code == 403 and r.json()["code"] == "weekly_review_admin_only"
    r = await client.post(f"{REVIEW}/run", params={"week": "2099-W01"}, headers=bearer(hq))
    assert r.status_code == 409 and r.json()["code"] == "week_in_future"


async def test_disputes_overdue_zones_and_partners_are_counted_too(
        client, owner, federation: Federation, staff_token) -> None:
    """A quiet baseline (nothing), then in W49 six cases at one station in zone Z9 with beta,
    each a dispute addressed to alpha with an overdue clock: every source and dimension is
    flagged once; a station officer judges its own station's signal."""
    fed = federation
    r2 = fed.regions[1]
    t1 = fed.stations[r2][0]
    hq, station = fed.ids[fed.hq], fed.ids[t1]
    at = WEEK.start + timedelta(days=1, hours=3)
    async with owner() as s, s.begin():
        partners = dict((await s.execute(text(
            "SELECT code, id FROM platform_partners WHERE tenant_id = :f"), {"f": hq})).all())
        for i, cat in enumerate(CATEGORIES):
            case = await s.scalar(text(
                "INSERT INTO cases (id, federation_id, tenant_id, case_no, is_member, contact,"
                " partner_id, category, description, tags, tier, channel, place, status,"
                " route_details, created_by, created_at, updated_at) VALUES"
                " (gen_random_uuid(), :f, :t, :no, false, '{}', :p, :cat, '述', '{}', 'general',"
                " 'visit', '{\"zone\": \"Z9\"}', 'assigned', '{}', 'test', :at, :at)"
                " RETURNING id"),
                {"f": hq, "t": station, "no": f"q-{i}", "p": partners["beta"], "cat": cat,
                 "at": at})
            await s.execute(text(
                "INSERT INTO case_disputes (id, federation_id, tenant_id, case_id, case_no, kind,"
                " partner_id, statement, step, opened_by, opened_at, updated_at) VALUES"
                " (gen_random_uuid(), :f, :t, :c, :no, 'unpaid_pay', :p, '请结清', NULL, 'test',"
                " :at, :at)"), {"f": hq, "t": station, "c": case, "no": f"q-{i}",
                                "p": partners["alpha"], "at": at})
            await s.execute(text(
                "INSERT INTO case_clocks (id, federation_id, tenant_id, case_id, metric,"
                " target_minutes, policy_version, calendar_version, calendar_tenant_id,"
                " started_at, state, deadline, elapsed_minutes, remaining_minutes,"
                " budget_minutes, uncovered_years, derived_at) VALUES (gen_random_uuid(), :f,"
                " :t, :c, 'first_response', 240, 1, 0, :t, :at, 'running', :due, 0, 240, 240,"
                " '{}', :at)"), {"f": hq, "t": station, "c": case, "at": at,
                                 "due": at + timedelta(days=1)})
    admin = await staff_token(fed, "regional_admin", r2)
    officer = await staff_token(fed, "station_officer", t1)
    r = await client.post(f"{REVIEW}/run", params={"week": WEEK.code}, headers=bearer(admin))
    assert r.status_code == 200 and r.json()["regions"] == [r2], r.text
    listed = (await client.get(REVIEW, params={"week": WEEK.code},
                               headers=bearer(admin))).json()
    assert flagged(listed) == {("cases", "station", t1, ""), ("cases", "zone", "Z9", ""),
                               ("cases", "partner", "beta", ""),
                               ("disputes", "station", t1, ""),
                               ("disputes", "partner", "alpha", ""),
                               ("overdue", "station", t1, "")}
    assert all(s["value"] == 6 and s["baseline"] == 0 for s in listed["signals"])
    # the station officer sees the three placed at its station, and judges one
    own = (await client.get(REVIEW, params={"week": WEEK.code}, headers=bearer(officer))).json()
    assert {s["kind"] for s in own["signals"]} == {"cases", "disputes", "overdue"}
    overdue = next(s for s in own["signals"] if s["kind"] == "overdue")
    r = await client.post(f"{REVIEW}/signals/{overdue['id']}/judgement", headers=bearer(officer),
                          json={"judgement": "system_flaw", "action": "派单时限规则调整",
                                "follow_up_node": "下周例会", "follow_up_due": "2026-12-14"})
    assert r.status_code == 200 and r.json()["judgement_zh"] == "制度瑕疵", r.text
    zone = next(s for s in listed["signals"] if s["place"]["dimension"] == "zone")
    r = await client.post(f"{REVIEW}/signals/{zone['id']}/judgement", headers=bearer(officer),
                          json={"judgement": "individual", "action": "个案",
                                "follow_up_node": "结案", "follow_up_due": "2026-12-14"})
    assert r.status_code == 404  # a zone's signal is the region's, not the station's
