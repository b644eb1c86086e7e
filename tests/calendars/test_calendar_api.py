"""The calendar over the real HTTP app: who reads and who changes which layer, every change a
new version with the old ones still answering, the deadline preview with its uncovered-year
flag, and PostgreSQL refusing a region's write into the federation's layer by itself."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import text

from flexunion.calendars import files
from flexunion.config import Settings
from flexunion.db.urls import to_asyncpg
from flexunion.provisioning.service import apply_directory
from tests.support.factories import Federation, bearer, make_federation

ADMIN = "/v1/admin/calendar"


@pytest.fixture
async def fed(owner, tmp_path: Path) -> Federation:
    """A federation whose calendar (2026, from chinese-calendar) came from its file."""
    made = await make_federation(owner, tmp_path)
    folder = tmp_path / made.hq.removesuffix("-hq")
    (folder / "calendar.yaml").write_text(files.render(files.generate([2026]), folder / "x"))
    async with owner() as session, session.begin():
        await apply_directory(session, folder)
    return made


@pytest.fixture
async def tokens(fed: Federation, staff_token) -> dict[str, str]:
    r1, r2 = fed.regions
    return {"hq": await staff_token(fed, "hq_admin", fed.hq),
            "r1": await staff_token(fed, "regional_admin", r1),
            "r2": await staff_token(fed, "regional_admin", r2),
            "s1": await staff_token(fed, "station_officer", fed.stations[r1][0])}


def days_of(body: dict) -> dict[str, dict]:
    return {d["date"]: d for d in body["days"]}


async def test_staff_read_the_calendar_they_count_on(client: httpx.AsyncClient,
                                                     tokens: dict[str, str]) -> None:
    r = await client.get(ADMIN, headers=bearer(tokens["hq"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == 1 and body["covered_years"] == [2026]
    assert body["weekly_hours"]["mon"] == ["09:00-12:00", "13:30-18:00"]
    assert body["weekly_hours"]["sat"] == []
    national = days_of(body)["2026-10-01"]
    assert national["name_zh"] == "国庆节" and national["kind"] == "holiday"
    assert national["kind_label"].startswith("休息日") and national["layer"] == "federation"
    assert days_of(body)["2026-10-10"]["kind"] == "workday"
    station = await client.get(ADMIN, headers=bearer(tokens["s1"]))
    assert station.status_code == 200 and station.json()["days"] == body["days"]


async def test_a_region_adds_local_days_only_its_subtree_counts_on(
        client: httpx.AsyncClient, tokens: dict[str, str], owner, fed: Federation) -> None:
    put = await client.put(f"{ADMIN}/days", headers=bearer(tokens["r1"]), json={"days": [
        {"date": "2026-10-09", "kind": "holiday", "name_zh": "区域补休", "name_en": "Local day"}]})
    assert put.status_code == 200, put.text
    assert put.json()["version"] == 2
    local = days_of(put.json())["2026-10-09"]
    assert local["layer"] == "local" and local["version"] == 2
    for who, sees in (("r1", True), ("s1", True), ("r2", False), ("hq", False)):
        got = days_of((await client.get(ADMIN, headers=bearer(tokens[who]))).json())
        assert ("2026-10-09" in got) is sees, who
    # 2 working days from 30 Sep 10:00: 8 and 9 Oct, or, with 9 Oct off, 8 and 10 Oct
    query = {"from": "2026-09-30T10:00:00+08:00", "days": 2}
    r1 = (await client.get(f"{ADMIN}/deadline", params=query, headers=bearer(tokens["s1"])))
    r2 = (await client.get(f"{ADMIN}/deadline", params=query, headers=bearer(tokens["r2"])))
    assert r1.status_code == 200, r1.text
    assert r1.json()["deadline"] == "2026-10-10T10:00:00Z"
    assert r2.json()["deadline"] == "2026-10-09T10:00:00Z"
    assert r1.json()["uncovered"] is False and r1.json()["warning_zh"] is None
    async with owner() as session:
        actions = (await session.execute(text(
            "SELECT action FROM audit_events WHERE object_type = 'calendar'"
            " AND tenant_id = (SELECT id FROM tenants WHERE code = :c)"),
            {"c": fed.regions[0]})).scalars().all()
    assert actions == ["calendar.days_set"]


async def test_every_change_is_a_version_and_old_versions_still_answer(
        client: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    hq = bearer(tokens["hq"])
    gone = await client.delete(f"{ADMIN}/days/2026-10-10", headers=hq)
    assert gone.status_code == 200, gone.text
    assert gone.json()["version"] == 2 and "2026-10-10" not in days_of(gone.json())
    old = await client.get(ADMIN, params={"version": 1}, headers=hq)
    assert days_of(old.json())["2026-10-10"]["kind"] == "workday"
    again = await client.delete(f"{ADMIN}/days/2026-10-10", headers=hq)
    assert again.status_code == 404 and again.json()["code"] == "calendar_day_not_found"
    same = {"date": "2026-10-01", "kind": "holiday", "name_zh": "国庆节",
            "name_en": "National Day"}
    unchanged = await client.put(f"{ADMIN}/days", headers=hq, json={"days": [same]})
    assert unchanged.json()["version"] == 2  # nothing changed: no new version
    renamed = await client.put(f"{ADMIN}/days", headers=hq,
                               json={"days": [same | {"name_zh": "国庆"}]})
    assert renamed.json()["version"] == 3 and days_of(renamed.json())["2026-10-01"][
        "name_zh"] == "国庆"
    versions = (await client.get(f"{ADMIN}/versions", headers=hq)).json()
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert versions[-1]["actor"] == "operator:tenants-apply"
    missing = await client.get(ADMIN, params={"version": 99}, headers=hq)
    assert missing.status_code == 404 and missing.json()["code"] == "calendar_version_not_found"


async def test_concurrent_changes_get_one_version_each(client: httpx.AsyncClient,
                                                        tokens: dict[str, str]) -> None:
    """The HQ and a region write at once: each change its own number, none lost."""
    async def put(who: str, day: int) -> httpx.Response:
        return await client.put(f"{ADMIN}/days", headers=bearer(tokens[who]), json={"days": [
            {"date": f"2026-11-{day:02d}", "kind": "holiday", "name_zh": f"测试{day}"}]})
    answers = await asyncio.gather(*(put("hq" if d % 2 else "r1", d) for d in range(2, 10)))
    assert [a.status_code for a in answers] == [200] * 8
    assert sorted(a.json()["version"] for a in answers) == list(range(2, 10))
    versions = (await client.get(f"{ADMIN}/versions", headers=bearer(tokens["hq"]))).json()
    assert [v["version"] for v in versions] == list(range(9, 0, -1))
    seen = days_of((await client.get(ADMIN, headers=bearer(tokens["r1"]))).json())
    assert all(f"2026-11-{d:02d}" in seen for d in range(2, 10))


async def test_weekly_hours_and_covered_years_are_the_hqs(client: httpx.AsyncClient,
                                                          tokens: dict[str, str]) -> None:
    week = {d: ["09:00-12:00", "13:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
    body = {"weekly_hours": week, "makeup_day_hours": ["09:00-12:00", "13:00-17:00"],
            "covered_years": [2026, 2027]}
    refused = await client.put(f"{ADMIN}/hours", headers=bearer(tokens["r1"]), json=body)
    assert refused.status_code == 403 and refused.json()["code"] == "calendar_hq_only"
    bad = await client.put(f"{ADMIN}/hours", headers=bearer(tokens["hq"]),
                           json=body | {"weekly_hours": {"mon": ["12:00-09:00"]}})
    assert bad.status_code == 422 and bad.json()["code"] == "calendar_hours_invalid"
    query = {"from": "2026-12-30T10:00:00+08:00", "days": 5}
    before = (await client.get(f"{ADMIN}/deadline", params=query,
                               headers=bearer(tokens["r1"]))).json()
    assert before["uncovered"] is True and before["uncovered_years"] == [2027]
    assert "2027" in before["warning_zh"] and "2027" in before["warning_en"]
    ok = await client.put(f"{ADMIN}/hours", headers=bearer(tokens["hq"]), json=body)
    assert ok.status_code == 200, ok.text
    assert ok.json()["version"] == 2 and ok.json()["weekly_hours"]["fri"][1] == "13:00-17:00"
    after = (await client.get(f"{ADMIN}/deadline", params=query,
                              headers=bearer(tokens["r1"]))).json()
    assert after["uncovered"] is False and after["deadline"] == "2027-01-06T09:00:00Z"


async def test_who_may_not_change_what(client: httpx.AsyncClient,
                                       tokens: dict[str, str]) -> None:
    day = {"date": "2026-11-02", "kind": "holiday", "name_zh": "测试"}
    station = await client.put(f"{ADMIN}/days", headers=bearer(tokens["s1"]), json={"days": [day]})
    assert station.status_code == 403 and station.json()["code"] == "forbidden"
    twice = await client.put(f"{ADMIN}/days", headers=bearer(tokens["hq"]),
                             json={"days": [day, day]})
    assert twice.status_code == 422 and twice.json()["code"] == "calendar_day_duplicate"
    region = await client.delete(f"{ADMIN}/days/2026-10-01", headers=bearer(tokens["r1"]))
    assert region.status_code == 404  # not a day of the region's own layer
    for bad in ({"from": "2026-09-30T10:00:00", "days": 1},  # no offset
                {"from": "2026-09-30T10:00:00+08:00"},
                {"from": "2026-09-30T10:00:00+08:00", "days": 1, "minutes": 5},
                {"from": "0001-01-01T00:00:00+14:00", "days": 0},
                {"from": "9999-12-31T23:00:00+00:00", "minutes": 720000}):
        r = await client.get(f"{ADMIN}/deadline", params=bad, headers=bearer(tokens["hq"]))
        assert r.status_code == 422 and r.json()["code"] == "calendar_preview_invalid", bad
    assert (await client.get(ADMIN, headers=bearer(tokens["hq"]))).json()["version"] == 1


async def test_postgresql_keeps_a_region_out_of_the_federations_layer(
        fed: Federation, settings: Settings) -> None:
    app = await asyncpg.connect(to_asyncpg(settings.app_database_url or ""))
    hq, region = fed.ids[fed.hq], fed.ids[fed.regions[0]]
    insert = ("INSERT INTO calendar_days (id, federation_id, tenant_id, version, day, kind,"
              " name_zh, name_en) VALUES (gen_random_uuid(), $1, $2, 1, $3, 'holiday', 'x', '')")
    try:
        for principal, tenant_layer in (("regional_admin:x", hq), ("station_officer:x", region),
                                        ("hq_admin:x", region)):
            scope = region if principal.startswith(("regional", "station")) else hq
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with app.transaction():
                    await app.execute("SELECT set_config('flexunion.tenant_id', $1, true),"
                                      " set_config('flexunion.principal', $2, true)",
                                      str(scope), principal)
                    await app.execute(insert, hq, tenant_layer, date(2026, 11, 2))
        with pytest.raises(asyncpg.InsufficientPrivilegeError):  # append-only: no UPDATE grant
            async with app.transaction():
                await app.execute("SELECT set_config('flexunion.tenant_id', $1, true),"
                                  " set_config('flexunion.principal', 'hq_admin:x', true)",
                                  str(hq))
                await app.execute("UPDATE calendar_days SET name_zh = 'y'")
        async with app.transaction():  # the region's own layer is its to write
            await app.execute("SELECT set_config('flexunion.tenant_id', $1, true),"
                              " set_config('flexunion.principal', 'regional_admin:x', true)",
                              str(region))
            await app.execute(insert, hq, region, date(2026, 11, 2))
    finally:
        await app.close()
