"""`flexunion services load-warnings` loads a region's weather warnings from a file once;
`flexunion tenants apply` applies service-groups.yaml beside the federation file, then finds
nothing to do; `flexunion services backfill-demographics` derives birth month and sex from the
sealed ID of a member who has none."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import text

from tests.cli.test_cli import flexunion, ok  # noqa: F401  (the fixture)
from tests.services.conftest import DEMO_GROUPS
from tests.support.factories import Federation, federation_spec, join


async def test_load_warnings_from_a_file_once(flexunion, owner,  # noqa: F811
                                              federation: Federation, tmp_path: Path) -> None:
    region = federation.regions[0]
    now = datetime.now(UTC)
    path = tmp_path / "warnings.yaml"
    path.write_text(yaml.safe_dump({"warnings": [
        {"source_ref": "SH-COLD-1", "kind": "cold", "level": "blue", "title_zh": "寒潮蓝色预警",
         "area_codes": [region], "valid_from": now.isoformat(),
         "valid_to": (now + timedelta(days=2)).isoformat()}]}, allow_unicode=True))
    assert "loaded 1 warning(s), 0 unchanged" in ok(
        await flexunion("services", "load-warnings", "--region", region, str(path)))
    assert "loaded 0 warning(s), 1 unchanged" in ok(
        await flexunion("services", "load-warnings", "--region", region, str(path)))
    async with owner() as s:
        kinds = (await s.execute(text("SELECT kind FROM weather_warnings WHERE tenant_id = :t"),
                                 {"t": federation.ids[region]})).scalars().all()
    assert kinds == ["cold"]


async def test_tenants_apply_takes_the_service_groups_file(flexunion,  # noqa: F811
                                                           tmp_path: Path) -> None:
    prefix = "t" + secrets.token_hex(4)
    folder = tmp_path / "tenants" / prefix
    folder.mkdir(parents=True)
    (folder / "federation.yaml").write_text(
        yaml.safe_dump(federation_spec(prefix, regions=1, stations=1), allow_unicode=True))
    (folder / DEMO_GROUPS.name).write_text(DEMO_GROUPS.read_text(encoding="utf-8"),
                                           encoding="utf-8")
    ok(await flexunion("tenants", "apply", str(tmp_path / "tenants")))
    again = ok(await flexunion("tenants", "plan", str(tmp_path / "tenants")))
    assert "service_group" in again and "+ service_group" not in again


async def test_backfill_derives_birth_month_and_sex(flexunion, owner, client, sms,  # noqa: F811
                                                    federation: Federation,
                                                    staff_token) -> None:
    joined = await join(client, sms, federation, federation.regions[0],
                        approver_token=await staff_token(federation, "hq_admin", federation.hq))
    async with owner() as s, s.begin():
        before = (await s.execute(text(
            "UPDATE members SET birth_month = NULL, sex = NULL WHERE id = :m"
            " RETURNING id"), {"m": joined.member_id})).scalar_one()
    assert before
    assert "filled" in ok(await flexunion("services", "backfill-demographics"))
    async with owner() as s:
        month, sex = (await s.execute(text(
            "SELECT birth_month, sex FROM members WHERE id = :m"),
            {"m": joined.member_id})).one()
    assert month is not None and month.day == 1 and sex in ("F", "M")
