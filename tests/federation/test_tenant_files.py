"""Federations as files: plan writes nothing, apply converges, errors name file and field."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.federation.models import PlatformPartner, Tenant
from flexunion.provisioning.service import FederationFileError, apply_directory, plan_directory
from tests.support.factories import Federation, federation_spec

Owner = async_sessionmaker[AsyncSession]
DEMO = Path(__file__).resolve().parents[2] / "tenants" / "demo"


def new_prefix() -> str:
    return "t" + secrets.token_hex(4)


def write(folder: Path, spec: dict[str, Any] | str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    body = spec if isinstance(spec, str) else yaml.safe_dump(spec, allow_unicode=True)
    (folder / "federation.yaml").write_text(body)
    return folder


async def plan(owner: Owner, folder: Path):
    async with owner() as session, session.begin():
        return await plan_directory(session, folder)


async def apply(owner: Owner, folder: Path):
    async with owner() as session, session.begin():
        return await apply_directory(session, folder)


async def snapshot(owner: Owner, prefix: str) -> dict[str, Any]:
    """Everything a write could touch: the federation's tenants and partners with their
    row versions (xmin changes on any UPDATE, even one that sets the same values), the
    audit head, and how many times this federation's apply was audited."""
    async with owner() as session:
        tenants = dict((await session.execute(text(
            "SELECT code, xmin::text FROM tenants WHERE code LIKE :p"),
            {"p": f"{prefix}-%"})).all())
        partners = (await session.execute(text(
            "SELECT p.code, p.xmin::text FROM platform_partners p JOIN tenants t"
            " ON t.id = p.tenant_id WHERE t.code = :hq ORDER BY p.code"),
            {"hq": f"{prefix}-hq"})).all()
        head = (await session.execute(text("SELECT seq FROM audit_chain_head"))).scalar_one()
        applied = (await session.execute(text(
            "SELECT count(*) FROM audit_events WHERE action = 'federation.applied'"
            " AND object_id = :hq"), {"hq": f"{prefix}-hq"})).scalar_one()
    return {"tenants": tenants, "partners": partners, "audit_head": head, "applied": applied}


async def test_plan_writes_nothing_then_apply_creates_then_converges(owner: Owner,
                                                                      tmp_path: Path) -> None:
    prefix = new_prefix()
    folder = write(tmp_path / prefix, federation_spec(prefix, regions=2, stations=2))
    before = await snapshot(owner, prefix)

    planned = await plan(owner, folder)
    assert {(c.action, c.kind) for c in planned.changes} == {
        ("create", "hq"), ("create", "partner"), ("create", "regional"), ("create", "station")}
    assert planned.count("create") == 1 + 2 + 2 + 4
    assert planned.summary().startswith("9 to create, 0 to update")
    assert await snapshot(owner, prefix) == before

    applied = await apply(owner, folder)
    assert applied.count("create") == 9 and applied.changed
    after_first = await snapshot(owner, prefix)
    assert len(after_first["tenants"]) == 7 and len(after_first["partners"]) == 2
    assert after_first["applied"] == 1
    async with owner() as session:
        rows = {t.code: t for t in (await session.scalars(
            select(Tenant).where(Tenant.code.like(f"{prefix}-%")))).all()}
        partners = {p.id: p.code for p in (await session.scalars(
            select(PlatformPartner).where(PlatformPartner.tenant_id == rows[f"{prefix}-hq"].id)))}
    hq = rows[f"{prefix}-hq"]
    assert hq.kind == "hq" and hq.federation_id == hq.id and hq.parent_id is None
    r1, s11, s12 = rows[f"{prefix}-r1"], rows[f"{prefix}-r1-s1"], rows[f"{prefix}-r1-s2"]
    assert (r1.kind, r1.parent_id, r1.adcode, r1.city) == ("regional", hq.id, "330106", "杭州市")
    assert (s11.kind, s11.parent_id, s11.federation_id) == ("station", r1.id, hq.id)
    assert (partners[s11.partner_id], partners[s12.partner_id]) == ("alpha", "beta")

    again = await apply(owner, folder)
    assert {c.action for c in again.changes} == {"unchanged"}
    assert again.count("unchanged") == 9 and not again.changed
    assert again.summary().startswith("0 to create, 0 to update, 9 unchanged")
    assert await snapshot(owner, prefix) == after_first  # no row touched, no audit row


async def test_renaming_shows_old_and_new_then_applies(owner: Owner, tmp_path: Path) -> None:
    prefix = new_prefix()
    spec = federation_spec(prefix)
    folder = write(tmp_path / prefix, spec)
    await apply(owner, folder)
    old_name = spec["regions"][0]["name_zh"]
    spec["regions"][0]["name_zh"] = "徐汇区新就业形态劳动者工会"
    spec["partners"][1]["name_en"] = "Beta Logistics"
    write(folder, spec)
    before = await snapshot(owner, prefix)

    planned = await plan(owner, folder)
    updates = {c.code: c.fields for c in planned.changes if c.action == "update"}
    assert updates == {
        f"{prefix}-r1": {"name_zh": (old_name, "徐汇区新就业形态劳动者工会")},
        "beta": {"name_en": ("Beta Platform", "Beta Logistics")},
    }
    assert f"name_zh: '{old_name}' → '徐汇区新就业形态劳动者工会'" in planned.render()
    assert planned.count("unchanged") == 7
    assert await snapshot(owner, prefix) == before

    applied = await apply(owner, folder)
    assert applied.count("update") == 2
    async with owner() as session:
        region = await session.scalar(select(Tenant).where(Tenant.code == f"{prefix}-r1"))
        assert region is not None and region.name_zh == "徐汇区新就业形态劳动者工会"
        payload = (await session.execute(text(
            "SELECT payload FROM audit_events WHERE action = 'federation.applied'"
            " AND object_id = :hq ORDER BY seq DESC LIMIT 1"), {"hq": f"{prefix}-hq"})).scalar_one()
    assert payload == {"file": "federation.yaml", "created": 0, "updated": 2}
    assert (await snapshot(owner, prefix))["applied"] == 2


async def test_several_federations_in_one_folder(owner: Owner, tmp_path: Path) -> None:
    a, b = new_prefix(), new_prefix()
    write(tmp_path / "tenants" / "one", federation_spec(a, regions=1, stations=1))
    write(tmp_path / "tenants" / "two", federation_spec(b, regions=2, stations=1))
    (tmp_path / "tenants" / "README.md").write_text("not a federation")
    (tmp_path / "tenants" / "empty").mkdir()

    planned = await plan(owner, tmp_path / "tenants")
    assert planned.count("create") == (1 + 2 + 1 + 1) + (1 + 2 + 2 + 2)
    applied = await apply(owner, tmp_path / "tenants")
    assert applied.count("create") == 12
    async with owner() as session:
        rows = (await session.scalars(select(Tenant).where(
            Tenant.code.like(f"{a}-%") | Tenant.code.like(f"{b}-%")))).all()
    by_code = {t.code: t for t in rows}
    assert len(rows) == 3 + 5
    for prefix in (a, b):
        fed = by_code[f"{prefix}-hq"].id
        assert {t.federation_id for c, t in by_code.items() if c.startswith(prefix)} == {fed}
    assert (await snapshot(owner, a))["applied"] == 1 and (await snapshot(owner, b))["applied"] == 1
    assert (await apply(owner, tmp_path / "tenants")).count("unchanged") == 12


async def test_tenants_missing_from_the_files_are_extra_and_kept(owner: Owner,
                                                                 tmp_path: Path) -> None:
    prefix = new_prefix()
    spec = federation_spec(prefix, regions=2, stations=2)
    folder = write(tmp_path / prefix, spec)
    await apply(owner, folder)
    spec["regions"] = spec["regions"][:1]
    spec["regions"][0]["stations"] = spec["regions"][0]["stations"][:1]
    write(folder, spec)

    for run in (plan, apply):
        result = await run(owner, folder)
        extra = {(c.kind, c.code) for c in result.changes if c.action == "extra"}
        assert extra == {("station", f"{prefix}-r1-s2"), ("regional", f"{prefix}-r2"),
                         ("station", f"{prefix}-r2-s1"), ("station", f"{prefix}-r2-s2")}
        assert "(in the database, not in the files; not removed)" in result.render()
        assert not result.changed
    assert len((await snapshot(owner, prefix))["tenants"]) == 7
    assert (await snapshot(owner, prefix))["applied"] == 1


def _bad(mutate) -> dict[str, Any]:
    spec = federation_spec(new_prefix(), regions=2, stations=2)
    mutate(spec)
    return spec


def _set(path: tuple[Any, ...], value: Any):
    def mutate(spec: dict[str, Any]) -> None:
        node = spec
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return mutate


def _same_station_code(spec: dict[str, Any]) -> None:
    spec["regions"][1]["stations"][0]["code"] = spec["regions"][0]["stations"][1]["code"]


def _same_partner_code(spec: dict[str, Any]) -> None:
    spec["partners"].append(dict(spec["partners"][0], name_en="Alpha again"))


FILE_ERRORS = {
    "adcode as a number": (
        _set(("regions", 0, "adcode"), 310104),
        ["Expected `str`, got `int`", "$.regions[0].adcode"]),
    "adcode of five digits": (
        _set(("regions", 0, "adcode"), "31010"), ["$.regions[0].adcode"]),
    "adcode with a trailing newline": (
        _set(("regions", 1, "adcode"), "310104\n"), ["$.regions[1].adcode"]),
    "code with a trailing newline": (
        _set(("federation", "code"), "abc\n"), ["$.federation.code"]),
    "code in capitals": (
        _set(("regions", 0, "stations", 1, "code"), "Caohejing"),
        ["$.regions[0].stations[1].code"]),
    "unknown key": (
        _set(("regions", 0, "stations", 1, "phone"), "123"),
        ["unknown field `phone`", "$.regions[0].stations[1]"]),
    "missing key": (
        lambda spec: spec["regions"][1].pop("city"), ["missing required field `city`",
                                                      "$.regions[1]"]),
    "empty name": (_set(("federation", "name_zh"), ""), ["$.federation.name_zh"]),
    "station partner not in partners": (
        _set(("regions", 0, "stations", 0, "partner"), "gamma"),
        ["$.regions[0].stations[0].partner", "'gamma' is not in $.partners"]),
    "duplicate code": (
        _same_station_code,
        ["$.regions[1].stations[0].code", "already used at $.regions[0].stations[1].code"]),
    "region code equal to the hq code": (
        lambda spec: spec["regions"][1].update(code=spec["federation"]["code"]),
        ["$.regions[1].code", "already used at $.federation.code"]),
    "duplicate partner": (
        _same_partner_code, ["$.partners[2].code", "already used at $.partners[0].code"]),
}


@pytest.mark.parametrize("case", FILE_ERRORS)
async def test_file_errors_name_the_file_and_the_field(owner: Owner, tmp_path: Path,
                                                       case: str) -> None:
    mutate, expected = FILE_ERRORS[case]
    spec = _bad(mutate)
    folder = write(tmp_path / "fed", spec)
    for run in (plan, apply):
        with pytest.raises(FederationFileError) as err:
            await run(owner, folder)
        message = str(err.value)
        assert message.startswith(f"{folder / 'federation.yaml'}: "), message
        for part in expected:
            assert part in message, message
    prefix = spec["federation"]["code"].split("-")[0]
    assert (await snapshot(owner, prefix))["tenants"] == {}


@pytest.mark.parametrize(("body", "expected"), [
    ("federation: [\n", "not valid YAML"),
    ("federation:\n  code: a\n\tname_zh: x\n", "not valid YAML"),
    ("", "Expected `object`, got `null`"),
    ("- just\n- a list\n", "Expected `object`, got `array`"),
])
async def test_unreadable_files(owner: Owner, tmp_path: Path, body: str, expected: str) -> None:
    folder = write(tmp_path / "fed", body)
    with pytest.raises(FederationFileError) as err:
        await plan(owner, folder)
    assert str(err.value).startswith(f"{folder / 'federation.yaml'}: ")
    assert expected in str(err.value)


async def test_empty_or_missing_folder(owner: Owner, tmp_path: Path) -> None:
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(FederationFileError, match=r"no federation.yaml here or in its sub-folders"):
        await plan(owner, tmp_path / "empty")
    with pytest.raises(FederationFileError, match="not a folder"):
        await plan(owner, tmp_path / "nowhere")


async def test_code_used_by_another_federation(owner: Owner, tmp_path: Path,
                                               federation: Federation) -> None:
    taken = federation.stations[federation.regions[0]][0]
    prefix = new_prefix()
    spec = federation_spec(prefix)
    spec["regions"][1]["stations"][1]["code"] = taken
    folder = write(tmp_path / prefix, spec)
    for run in (plan, apply):
        with pytest.raises(FederationFileError) as err:
            await run(owner, folder)
        assert str(err.value) == (f"{folder / 'federation.yaml'}: $.regions[1].stations[1].code:"
                                  f" code '{taken}' belongs to another federation")
    # An existing region as the hq of a new file.
    spec = federation_spec(prefix)
    spec["federation"]["code"] = federation.regions[1]
    write(folder, spec)
    with pytest.raises(FederationFileError,
                       match=r"\$\.federation\.code: .* is a regional, not an hq"):
        await plan(owner, folder)
    assert (await snapshot(owner, prefix))["tenants"] == {}


async def test_code_that_exists_as_another_kind(owner: Owner, tmp_path: Path) -> None:
    prefix = new_prefix()
    spec = federation_spec(prefix, regions=2, stations=2)
    folder = write(tmp_path / prefix, spec)
    await apply(owner, folder)
    before = await snapshot(owner, prefix)
    # The station r2-s2 becomes a third region; a new partner too, so that a
    # write would happen before the bad region if the checks came late.
    station = spec["regions"][1]["stations"].pop()
    spec["partners"].append({"code": "gamma", "name_zh": "伽马", "name_en": "Gamma"})
    spec["regions"].append({"code": station["code"], "name_zh": "区域", "name_en": "Region",
                            "adcode": "440305", "city": "深圳市"})
    write(folder, spec)
    for run in (plan, apply):
        with pytest.raises(FederationFileError) as err:
            await run(owner, folder)
        assert str(err.value) == (
            f"{folder / 'federation.yaml'}: $.regions[2].code:"
            f" '{station['code']}' exists as a station, the file says regional")
    assert await snapshot(owner, prefix) == before


async def test_a_code_in_two_files_is_refused_before_anything(owner: Owner, tmp_path: Path) -> None:
    a, b = new_prefix(), new_prefix()
    spec_b = federation_spec(b)
    spec_b["regions"][0]["code"] = f"{a}-r2"
    write(tmp_path / "one", federation_spec(a))
    write(tmp_path / "two", spec_b)
    for run in (plan, apply):
        with pytest.raises(FederationFileError) as err:
            await run(owner, tmp_path)
        assert str(err.value) == (
            f"{tmp_path / 'two' / 'federation.yaml'}: $.regions[0].code: code '{a}-r2' is also"
            f" declared in {tmp_path / 'one' / 'federation.yaml'} at $.regions[1].code")
    assert (await snapshot(owner, a))["tenants"] == {}


async def test_an_error_in_the_second_federation_applies_nothing(owner: Owner, tmp_path: Path,
                                                                 federation: Federation) -> None:
    """The first federation is flushed, the second fails against the database: the
    caller's one transaction rolls back and nothing of either remains."""
    a, b = new_prefix(), new_prefix()
    spec_b = federation_spec(b)
    spec_b["regions"][0]["stations"][0]["code"] = federation.stations[federation.regions[1]][1]
    folder = tmp_path / "tenants"  # not tmp_path itself: the fixture's file is there
    write(folder / "a", federation_spec(a))
    write(folder / "b", spec_b)
    head_before = (await snapshot(owner, a))["audit_head"]

    async with owner() as session:
        await session.begin()
        with pytest.raises(FederationFileError,
                           match=r"b/federation\.yaml: \$\.regions\[0\]\.stations\[0\]\.code:"
                                 r" .*another federation"):
            await apply_directory(session, folder)
        flushed = await session.scalar(
            select(func.count()).select_from(Tenant).where(Tenant.code.like(f"{a}-%")))
        assert flushed == 7  # the first federation was written in this transaction...
        await session.rollback()

    for prefix in (a, b):  # ...and the rollback took all of it back
        after = await snapshot(owner, prefix)
        assert after["tenants"] == {} and after["partners"] == [] and after["applied"] == 0
    assert after["audit_head"] == head_before


async def test_the_demo_federation_applies_cleanly(owner: Owner) -> None:
    """tenants/demo uses fixed codes shared with the running service: applied in a
    transaction that is rolled back."""
    async with owner() as session:
        await session.begin()
        try:
            planned = await plan_directory(session, DEMO)
            assert planned.count("update") == 0 and planned.count("extra") == 0
            applied = await apply_directory(session, DEMO)
            assert applied.count("create") + applied.count("unchanged") == len(applied.changes)
            hq = await session.scalar(select(Tenant).where(Tenant.code == "demo-hq"))
            assert hq is not None and hq.kind == "hq"
            tree = (await session.scalars(
                select(Tenant).where(Tenant.federation_id == hq.id))).all()
            regions = [t for t in tree if t.kind == "regional"]
            stations = [t for t in tree if t.kind == "station"]
            partners = (await session.scalars(
                select(PlatformPartner).where(PlatformPartner.tenant_id == hq.id))).all()
            assert len(regions) == 2 and len({r.city for r in regions}) == 2
            assert {r.adcode for r in regions} == {"310104", "330106"}
            assert len(stations) >= 3 and {s.parent_id for s in stations} == {r.id for r in regions}
            assert len(partners) >= 2
            assert {s.partner_id for s in stations} <= {p.id for p in partners}
            assert {c.action for c in (await apply_directory(session, DEMO)).changes} == {
                "unchanged"}
        finally:
            await session.rollback()


async def test_an_area_file_without_crs_is_pointed_out(owner: Owner, tmp_path: Path) -> None:
    """Amap data read as WGS84 is about 500 m off: a plan says when the system is assumed."""
    prefix = new_prefix()
    spec = federation_spec(prefix, regions=1, stations=0)
    region = spec["regions"][0]["code"]
    outline = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"code": f"{prefix}-j", "name_zh": "辖区",
                                          "name_en": "Area", "tenant": region},
        "geometry": {"type": "Polygon", "coordinates": [[[121.40, 31.18], [121.47, 31.18],
                                                         [121.47, 31.22], [121.40, 31.18]]]}}]}
    folder = tmp_path / prefix
    (folder / "areas").mkdir(parents=True)
    (folder / "areas" / "j.geojson").write_text(json.dumps(outline))
    spec["areas"] = [{"file": "areas/j.geojson", "kind": "jurisdiction"}]
    write(folder, spec)
    planned = await plan(owner, folder)
    assert len(planned.warnings) == 1 and "$.areas[0]" in planned.warnings[0]
    assert "gcj02" in planned.warnings[0] and "! " in planned.render()
    spec["areas"][0]["crs"] = "wgs84"  # said explicitly: nothing to point out
    write(folder, spec)
    assert (await plan(owner, folder)).warnings == []
