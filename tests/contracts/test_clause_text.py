"""A draft clause's text is editable (PATCH text; the console's edit form has it): it is the
clause's own wording from then on — a later change of parameters alone keeps it — the diff
shows it clause by clause, and putting the version in force signs the new text into the
clause's document. A signed (in force) clause's text never changes: only a renewal does.
Real database, real app."""

from __future__ import annotations

import base64
import json

from sqlalchemy import text

from tests.contracts.conftest import add_clause, in_force, load_templates, make_agreement
from tests.support.factories import Federation, bearer

ADMIN = "/v1/admin/contracts"
NEW_TEXT = "平台方按劳动者报酬总额的 ${rate} 列支工会经费，于每季度首月十五日前划拨。"


def _payload(jws: str) -> dict:
    part = jws.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


async def test_a_draft_clauses_text_is_edited_diffed_and_signed(
        client, owner, federation: Federation, staff_token) -> None:
    await load_templates(owner, federation)
    regional = await staff_token(federation, "regional_admin", federation.regions[0])
    aid = (await make_agreement(client, regional, scope=federation.regions[0]))["id"]
    r = await add_clause(client, regional, aid, 1, template="union.funding",
                         parameters={"rate_pct": 2})
    assert r.status_code == 201, r.text
    v1_clause = r.json()
    r = await client.patch(f"{ADMIN}/clauses/{v1_clause['id']}", json={"text": "   "},
                           headers=bearer(regional))
    assert r.status_code == 422, r.text
    assert (await in_force(client, regional, aid, 1)).status_code == 200
    r = await client.patch(f"{ADMIN}/clauses/{v1_clause['id']}", json={"text": "改过的文本"},
                           headers=bearer(regional))
    assert r.status_code == 409 and r.json()["code"] == "version_not_draft"  # signed: never

    r = await client.post(f"{ADMIN}/agreements/{aid}/renewals", json={
        "starts_on": "2028-01-01", "ends_on": "2028-12-31"}, headers=bearer(regional))
    assert r.status_code == 201, r.text
    v2 = (await client.get(f"{ADMIN}/agreements/{aid}/versions/2",
                           headers=bearer(regional))).json()
    clause_id = v2["clauses"][0]["id"]
    r = await client.patch(f"{ADMIN}/clauses/{clause_id}", json={"text": NEW_TEXT},
                           headers=bearer(regional))
    assert r.status_code == 200, r.text
    assert r.json()["text"] == NEW_TEXT  # taken as written (no template placeholders filled)
    r = await client.patch(f"{ADMIN}/clauses/{clause_id}",
                           json={"parameters": {"rate_pct": 1.5}}, headers=bearer(regional))
    assert r.status_code == 200, r.text
    assert (r.json()["text"], r.json()["parameters"]["rate_pct"]) == (NEW_TEXT, 1.5)

    diff = (await client.get(f"{ADMIN}/agreements/{aid}/versions/1/diff/2",
                             headers=bearer(regional))).json()
    funding = next(d for d in diff["clauses"] if d["key"] == "union.funding")
    assert funding["change"] == "changed"
    text_change = next(c for c in funding["changes"] if c["field"] == "text")
    assert (text_change["before"], text_change["after"]) == (v1_clause["text"], NEW_TEXT)
    assert funding["parameters_changed"] == [{"field": "rate_pct", "before": 2.0, "after": 1.5}]

    assert (await in_force(client, regional, aid, 2)).status_code == 200
    doc = (await client.get(f"{ADMIN}/clauses/{clause_id}/document",
                            headers=bearer(regional))).json()
    assert _payload(doc["document"])["clause"]["text"] == NEW_TEXT
    r = await client.patch(f"{ADMIN}/clauses/{clause_id}", json={"text": "再改"},
                           headers=bearer(regional))
    assert r.status_code == 409 and r.json()["code"] == "version_not_draft"
    async with owner() as s:
        edited = (await s.execute(text(
            "SELECT payload FROM audit_events WHERE object_id = :c"
            " AND action = 'contracts.clause_edited' ORDER BY seq"), {"c": clause_id})
        ).scalars().all()
    assert [e["text_edited"] for e in edited] == [True, False]
    assert edited[0]["text"] == NEW_TEXT
