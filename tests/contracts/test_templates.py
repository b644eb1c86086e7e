"""条款模板: HQ keeps the clause templates (seeded from tenants/demo/clause-templates.yaml);
a template's condition is type-checked against its evidence schema and parameters when saved
— an invalid or ill-typed one is a 422 with a stable code and the line and column, and
nothing is written. Real database, real app."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.contracts.conftest import load_templates
from tests.support.factories import Federation, bearer

URL = "/v1/admin/contracts/templates"
VENUE = {"code": "union.venue2", "kind": "union", "title_zh": "活动场地", "title_en": "Venue",
         "text": "不少于 ${area_m2} 平方米",
         "parameters": [{"name": "area_m2", "type": "double", "label_zh": "面积",
                         "label_en": "Area", "min": 1}],
         "evidence_schema": {"area_m2": "double", "open": {"hours": "int"}},
         "condition": "area_m2 >= params.area_m2 && open.hours >= 40"}


async def _count(owner, fed: Federation, code: str) -> int:
    async with owner() as s:
        return (await s.execute(text("SELECT count(*) FROM clause_templates WHERE code = :c AND"
                                     " federation_id = :f"),
                                {"c": code, "f": fed.ids[fed.hq]})).scalar_one()


async def test_the_demo_templates_are_applied_once_and_read_by_staff(
        client, owner, federation: Federation, staff_token) -> None:
    first = await load_templates(owner, federation)
    assert sorted(n.split(":")[0] for n in first) == ["create"] * 10
    again = await load_templates(owner, federation)
    assert {n.split(":")[0] for n in again} == {"unchanged"}
    officer = await staff_token(federation, "station_officer",
                                federation.stations[federation.regions[0]][0])
    r = await client.get(URL, headers=bearer(officer), params={"kind": "union"})
    assert r.status_code == 200
    assert [t["code"] for t in r.json()] == ["union.data", "union.founding", "union.funding",
                                             "union.transfer", "union.venue"]
    funding = (await client.get(f"{URL}/union.funding", headers=bearer(officer))).json()
    assert funding["title_zh"] == "经费列支" and funding["parameters"][0]["name"] == "rate_pct"


async def test_hq_saves_a_template_and_a_new_revision(client, owner, federation: Federation,
                                                      staff_token) -> None:
    hq = await staff_token(federation, "hq_admin", federation.hq)
    r = await client.post(URL, json=VENUE, headers=bearer(hq))
    assert r.status_code == 200, r.text
    assert r.json()["revision"] == 1
    r = await client.post(URL, json=VENUE | {"text": "不少于 ${area_m2} 平米"}, headers=bearer(hq))
    assert r.json()["revision"] == 2
    regional = await staff_token(federation, "regional_admin", federation.regions[0])
    r = await client.post(URL, json=VENUE | {"code": "union.mine"}, headers=bearer(regional))
    assert r.status_code == 403 and r.json()["code"] == "templates_hq_only"
    assert await _count(owner, federation, "union.mine") == 0


@pytest.mark.parametrize(("change", "code", "where"), [
    ({"condition": "area_m2 >= params.area_m2 &&\n open.hours >= 40.0"},
     "condition_ill_typed", {"line": 2, "column": 13}),
    ({"condition": "area_m2 >= params.area"}, "condition_ill_typed", {"line": 1, "column": 18}),
    ({"condition": "area_m2 >="}, "condition_syntax", {"line": 1, "column": 11}),
    ({"condition": "area_m2 + 1.0"}, "condition_not_boolean", {"line": 1, "column": 1}),
    ({"evidence_schema": {"area_m2": "decimal"}}, "evidence_schema_invalid",
     {"path": "area_m2"}),
    ({"text": "${height}"}, "template_invalid", {"path": "text"}),
    ({"kind": "outcome"}, "template_invalid", {"path": "topic"}),
    ({"parameters": [{"name": "area_m2", "type": "enum", "label_zh": "面积",
                      "label_en": "Area"}]}, "template_invalid", {"path": "parameters[0]"}),
])
async def test_an_ill_typed_template_is_refused_with_where_and_nothing_written(
        client, owner, federation: Federation, staff_token, change, code, where) -> None:
    hq = await staff_token(federation, "hq_admin", federation.hq)
    r = await client.post(URL, json=VENUE | change, headers=bearer(hq))
    assert r.status_code == 422, r.text
    body = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert body["code"] == code
    assert {k: body[k] for k in where} == where
    assert await _count(owner, federation, VENUE["code"]) == 0


def test_a_templates_file_with_an_ill_typed_condition_is_refused_before_the_database(
        tmp_path) -> None:
    from flexunion.contracts.templates import files

    bad = tmp_path / files.FILE_NAME
    bad.write_text(
        "templates:\n"
        "  - {code: union.venue, kind: union, title_zh: 活动场地, title_en: Venue,\n"
        "     text: '${area_m2}', parameters: [{name: area_m2, type: double, label_zh: 面积,\n"
        "     label_en: Area}], evidence_schema: {area_m2: double},\n"
        "     condition: 'area_m2 >= params.area_m2 && area_m2 > 1'}\n", encoding="utf-8")
    with pytest.raises(files.TemplatesFileError) as found:
        files.load(bad)
    assert "$.templates[0].condition: condition_ill_typed" in str(found.value)
    assert "(line 1, column 38)" in str(found.value)
