"""The calendar as a file in tenants/: generated from chinese-calendar by the CLI, planned and
applied with the federation (idempotently: a second apply makes no new version), changes
land in a new version and the old one stays readable, errors name the file and field."""

from __future__ import annotations

import secrets
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.calendars import files
from flexunion.calendars.service import work_calendar
from flexunion.cli.tenants import tenants
from flexunion.provisioning.service import FederationFileError, apply_directory, plan_directory
from tests.support.factories import federation_spec

Owner = async_sessionmaker[AsyncSession]
DEMO = Path(__file__).resolve().parents[2] / "tenants" / "demo"


def folder_with_calendar(tmp: Path, calendar: dict[str, Any] | None = None) -> tuple[Path, str]:
    prefix = "t" + secrets.token_hex(4)
    folder = tmp / prefix
    folder.mkdir(parents=True)
    (folder / "federation.yaml").write_text(yaml.safe_dump(federation_spec(prefix),
                                                           allow_unicode=True))
    spec = calendar or yaml.safe_load(files.render(files.generate([2026]), folder / "x"))
    (folder / "calendar.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True))
    return folder, prefix


async def run(owner: Owner, folder: Path, *, apply: bool):  # type: ignore[no-untyped-def]
    async with owner() as session, session.begin():
        return await (apply_directory if apply else plan_directory)(session, folder)


async def versions(owner: Owner, prefix: str) -> list[int]:
    async with owner() as session:
        return list((await session.scalars(text(
            "SELECT v.version FROM calendar_versions v JOIN tenants t ON t.id = v.federation_id"
            " WHERE t.code = :hq ORDER BY 1"), {"hq": f"{prefix}-hq"})).all())


async def calendar_of(owner: Owner, prefix: str, code: str, version: int | None = None):  # type: ignore[no-untyped-def]
    async with owner() as session:
        tenant_id = (await session.execute(text("SELECT id FROM tenants WHERE code = :c"),
                                           {"c": code})).scalar_one()
        return await work_calendar(session, tenant_id, version)


def test_the_cli_writes_the_file_from_the_package_and_refuses_an_unknown_year(
        tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(tenants, ["calendar", "--years", "2025-2026", str(tmp_path)])
    assert done.exit_code == 0, done.output
    spec = files.load(tmp_path / "calendar.yaml")
    assert spec.covered_years == [2025, 2026] and spec.source.startswith("chinese-calendar")
    by_day = {d.date: d for d in spec.days}
    assert by_day[date(2026, 10, 1)].name_zh == "国庆节" and by_day[date(2026, 10, 1)].kind == (
        "holiday")
    assert by_day[date(2026, 10, 10)].kind == "workday"
    assert by_day[date(2025, 1, 26)].kind == "workday"  # a Sunday worked before 春节 2025
    refused = runner.invoke(tenants, ["calendar", "--years", "2026-2027", str(tmp_path)])
    assert refused.exit_code != 0 and "2027" in refused.output and "2004–2026" in refused.output


def test_the_demo_file_is_what_the_generator_writes_now() -> None:
    shipped = files.load(DEMO / "calendar.yaml")
    assert shipped.days == files.generate(shipped.covered_years).days
    assert shipped.covered_years == [2024, 2025, 2026]


async def test_plan_then_apply_then_nothing_to_do(owner: Owner, tmp_path: Path) -> None:
    folder, prefix = folder_with_calendar(tmp_path)
    planned = await run(owner, folder, apply=False)
    assert any(c.kind == "calendar" and c.action == "create" for c in planned.changes)
    days = [c for c in planned.changes if c.kind == "cal-day"]
    assert len(days) == len(files.generate([2026]).days) and {c.action for c in days} == {"create"}
    assert await versions(owner, prefix) == []  # plan wrote nothing
    await run(owner, folder, apply=True)
    assert await versions(owner, prefix) == [1]
    again = await run(owner, folder, apply=False)
    assert not [c for c in again.changes if c.kind.startswith("cal")
                and c.action in ("create", "update")]
    assert "cal-days" in again.render()
    await run(owner, folder, apply=True)
    assert await versions(owner, prefix) == [1]  # idempotent: no new version
    cal = await calendar_of(owner, prefix, f"{prefix}-r1")
    assert cal.version == 1 and not cal.is_working_day(date(2026, 10, 1))
    assert cal.is_working_day(date(2026, 10, 10)) and cal.covered_years == {2026}


async def test_a_changed_file_is_a_new_version_and_the_old_one_stays(owner: Owner,
                                                                      tmp_path: Path) -> None:
    folder, prefix = folder_with_calendar(tmp_path)
    await run(owner, folder, apply=True)
    spec = yaml.safe_load((folder / "calendar.yaml").read_text())
    spec["days"] = [d for d in spec["days"] if str(d["date"]) != "2026-10-07"]
    spec["days"].append({"date": date(2026, 10, 12), "kind": "holiday", "name_zh": "地方补休"})
    spec["local"] = {f"{prefix}-r1": [{"date": date(2026, 10, 13), "kind": "holiday",
                                       "name_zh": "区域活动日"}]}
    (folder / "calendar.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True))
    planned = (await run(owner, folder, apply=False)).render()
    assert "+ cal-day   " in planned and "2026-10-12" in planned
    assert f"{prefix}-hq 2026-10-07  (in the database, not in the files; not removed)" in planned
    await run(owner, folder, apply=True)
    assert await versions(owner, prefix) == [1, 2]
    r1 = await calendar_of(owner, prefix, f"{prefix}-r1")
    r2 = await calendar_of(owner, prefix, f"{prefix}-r2")
    assert not r1.is_working_day(date(2026, 10, 13)) and r2.is_working_day(date(2026, 10, 13))
    assert not r2.is_working_day(date(2026, 10, 12))
    assert not r2.is_working_day(date(2026, 10, 7))  # extra: kept, never removed by a file
    old = await calendar_of(owner, prefix, f"{prefix}-r1", version=1)
    assert old.is_working_day(date(2026, 10, 12)) and old.is_working_day(date(2026, 10, 13))


@pytest.mark.parametrize(("change", "field"), [
    ({"local": {"nowhere": []}}, "$.local.nowhere"),
    ({"weekly_hours": {"mon": ["12:00-09:00"]}}, "$.weekly_hours"),
    ({"colour": "red"}, "colour"),
])
async def test_a_bad_file_is_refused_whole(owner: Owner, tmp_path: Path,
                                                         change: dict[str, Any],
                                                         field: str) -> None:
    base = yaml.safe_load(files.render(files.generate([2026]), tmp_path / "x"))
    folder, prefix = folder_with_calendar(tmp_path, base | change)
    with pytest.raises(FederationFileError, match=r"calendar\.yaml") as caught:
        await run(owner, folder, apply=True)
    assert field in str(caught.value)
    assert await versions(owner, prefix) == []
