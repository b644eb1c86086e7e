"""An agenda item that reaches in_force produces its clause from the agreed outcome (the last
round's outcome and the item's details), drafted into the collective agreement of the item's
scope with its platform, linked both ways: the clause names the item, the item's read lists
its clauses. Real database, real app, the board's real transition route."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from tests.contracts.conftest import in_force, load_templates
from tests.support.bargaining import partner_id, seed_item
from tests.support.factories import Federation, bearer

BOARD = "/v1/admin/bargaining/items"


async def _agreed(owner, fed: Federation, item: uuid.UUID, outcome: str) -> None:
    """A round that recorded the item's agreed outcome (as the rounds' API would)."""
    pid = await partner_id(owner, fed)
    async with owner() as s, s.begin():
        round_id = (await s.execute(text(
            "INSERT INTO negotiation_rounds (id, federation_id, tenant_id, partner_id, held_on,"
            " parties, minutes, created_by, created_at) VALUES (gen_random_uuid(), :f, :t, :p,"
            " current_date, '[]', '纪要', 'test', now()) RETURNING id"),
            {"f": fed.ids[fed.hq], "t": fed.ids[fed.regions[0]], "p": pid})).scalar_one()
        await s.execute(text(
            "INSERT INTO negotiation_round_items (round_id, item_id, federation_id, tenant_id,"
            " partner_id, union_position, outcome) VALUES (:r, :i, :f, :t, :p, '降至 18%', :o)"),
            {"r": round_id, "i": item, "f": fed.ids[fed.hq], "t": fed.ids[fed.regions[0]],
             "p": pid, "o": outcome})


async def _into_force(client, token: str, item: uuid.UUID):
    r = await client.post(f"{BOARD}/{item}/transitions",
                          json={"to": "in_force", "reason": "批准后生效"}, headers=bearer(token))
    assert r.status_code == 200, r.text


async def test_an_item_in_force_drafts_its_clause_linked_both_ways(
        client, owner, federation: Federation, staff_token) -> None:
    await load_templates(owner, federation)
    regional = await staff_token(federation, "regional_admin", federation.regions[0])
    item = await seed_item(owner, federation, status="ratified")
    await _agreed(owner, federation, item, "抽成比例由 25% 降至 18%，自下季度起执行")
    await _into_force(client, regional, item)
    r = await client.get(f"/v1/admin/contracts/items/{item}/clauses",
                         headers=bearer(regional))
    [clause] = r.json()
    assert clause["agenda_item_id"] == str(item) and clause["origin"] == "agenda_item"
    assert clause["template"] == "outcome.commission"
    assert clause["parameters"] == {"max_rate_pct": 18.0}  # the item's proposed rate
    assert clause["missing_parameters"] == []
    assert clause["text"] == "平台对劳动者每单收入的抽成比例不超过 18%。"
    assert clause["condition"] == "commission_rate * 100.0 <= params.max_rate_pct"
    assert clause["status"]["code"] == "draft"
    read = (await client.get(f"{BOARD}/{item}", headers=bearer(regional))).json()
    assert read["links"] == [{"kind": "clause", "id": clause["id"], "title": "抽成比例过高",
                              "status": "draft",
                              "href": f"/v1/admin/contracts/clauses/{clause['id']}"}]
    agreement = (await client.get(f"/v1/admin/contracts/agreements/{clause['agreement_id']}",
                                  headers=bearer(regional))).json()
    assert agreement["kind"]["code"] == "collective" and agreement["partner"] == "alpha"
    assert agreement["scope"] == federation.regions[0]
    # A second item joins the same draft; in force, then a third item opens version 2.
    rest = await seed_item(owner, federation, status="ratified", topic="rest", title="休息")
    await _into_force(client, regional, rest)
    v1 = (await client.get(f"/v1/admin/contracts/agreements/{agreement['id']}/versions/1",
                           headers=bearer(regional))).json()
    assert [c["template"] for c in v1["clauses"]] == ["outcome.commission", "outcome.rest"]
    assert v1["clauses"][1]["parameters"] == {"max_continuous_minutes": 240}  # the default
    assert (await in_force(client, regional, agreement["id"], 1)).status_code == 200
    late = await seed_item(owner, federation, status="ratified", topic="appeals", title="申诉")
    await _into_force(client, regional, late)
    v2 = (await client.get(f"/v1/admin/contracts/agreements/{agreement['id']}/versions/2",
                           headers=bearer(regional))).json()
    assert v2["status"]["code"] == "draft"
    assert [c["origin"] for c in v2["clauses"]] == ["renewal", "renewal", "agenda_item"]
    read = (await client.get(f"{BOARD}/{item}", headers=bearer(regional))).json()
    assert [link["status"] for link in read["links"]] == ["in_force", "draft"]
    async with owner() as s:
        audited = (await s.execute(text(
            "SELECT count(*) FROM audit_events WHERE action = 'contracts.clause_from_item'"
            " AND payload->>'agenda_item' = :i"), {"i": str(item)})).scalar_one()
    assert audited == 1


async def test_without_a_template_the_outcome_text_is_the_clause(
        client, owner, federation: Federation, staff_token) -> None:
    regional = await staff_token(federation, "regional_admin", federation.regions[0])
    item = await seed_item(owner, federation, status="ratified", topic="dispatch_rules",
                           title="顺路单")
    await _agreed(owner, federation, item, "取消顺路单强制叠加")
    await _into_force(client, regional, item)
    [clause] = (await client.get(f"/v1/admin/contracts/items/{item}/clauses",
                                 headers=bearer(regional))).json()
    assert (clause["template"], clause["text"], clause["condition"]) == (
        None, "取消顺路单强制叠加", None)


async def test_a_detail_that_does_not_fit_is_left_to_fill_in(
        client, owner, federation: Federation, staff_token) -> None:
    await load_templates(owner, federation)
    regional = await staff_token(federation, "regional_admin", federation.regions[0])
    item = await seed_item(owner, federation, status="ratified", topic="commission_rates")
    async with owner() as s, s.begin():  # 抽成上限 is at most 100 (%): 150 does not fit
        await s.execute(text("UPDATE agenda_items SET details = '{\"current_rate_pct\": 25,"
                             " \"proposed_rate_pct\": 150}' WHERE id = :i"), {"i": item})
    await _into_force(client, regional, item)
    [clause] = (await client.get(f"/v1/admin/contracts/items/{item}/clauses",
                                 headers=bearer(regional))).json()
    assert clause["missing_parameters"] == ["max_rate_pct"]
    assert clause["text"] == "平台对劳动者每单收入的抽成比例不超过 ${max_rate_pct}%。"
    r = await in_force(client, regional, clause["agreement_id"], 1)
    assert r.status_code == 409 and r.json()["code"] == "clause_incomplete"
    assert r.json()["clauses"] == {clause["key"]: ["max_rate_pct"]}
    r = await client.patch(f"/v1/admin/contracts/clauses/{clause['id']}",
                           json={"parameters": {"max_rate_pct": 20}}, headers=bearer(regional))
    assert r.status_code == 200 and r.json()["missing_parameters"] == []
    assert (await in_force(client, regional, clause["agreement_id"], 1)).status_code == 200
