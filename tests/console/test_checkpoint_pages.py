"""核验节点 and 季度合规核查 pages over HTTP (the browser tests walk the flows in chromium): a
sibling region neither sees nor signs nor plans another region's checkpoints (the 404 page,
nothing written) and its compliance run leaves the partner out; a signature without evidence
is refused above the page; a decision where no objection is lodged is refused and nothing
changes — against the real app and database, with each page's own CSRF token."""

from __future__ import annotations

from tests.contracts.conftest import add_clause, in_force, load_templates, make_agreement
from tests.support.console import csrf_of, signed_in
from tests.support.factories import Federation, bearer

ADMIN = "/v1/admin/contracts"


async def test_checkpoint_pages_stay_within_their_sight(
        live, client, owner, staff_token, federation: Federation) -> None:
    r1, r2 = federation.regions
    await load_templates(owner, federation)
    admin = await staff_token(federation, "regional_admin", r1)
    aid = (await make_agreement(client, admin, scope=r1))["id"]
    r = await add_clause(client, admin, aid, 1, template="union.funding",
                         parameters={"rate_pct": 2})
    clause = r.json()["id"]
    assert (await in_force(client, admin, aid, 1)).status_code == 200
    r = await client.post(f"{ADMIN}/clauses/{clause}/checkpoints",
                          json={"schedule": "quarterly", "evidence_days": 10},
                          headers=bearer(admin))
    assert r.status_code == 201, r.text
    q1 = r.json()[0]["id"]

    async with signed_in(live.url, owner, r2, "regional_admin") as c:
        own = await c.get("/console/compliance", params={"quarter": "2027Q1"})
        assert own.status_code == 200 and 'data-partner="alpha"' not in own.text
        token = csrf_of(own.text)
        for path in (f"/console/contracts/checkpoints/{q1}",
                     f"/console/contracts/clauses/{clause}/checkpoints"):
            answer = await c.get(path)
            assert answer.status_code == 404 and 'data-testid="not-found"' in answer.text
        answer = await c.post(f"/console/contracts/checkpoints/{q1}/sign",
                              data={"_csrf": token})
        assert answer.status_code == 404
        answer = await c.post(f"/console/contracts/clauses/{clause}/checkpoints",
                              data={"_csrf": token, "schedule": "once",
                                    "due_on": "2027-05-01", "evidence_days": "5"})
        assert answer.status_code == 404
        csv = await c.get("/console/compliance/export", params={"quarter": "2027Q1"})
        assert csv.status_code == 200 and b"alpha" not in csv.content

    async with signed_in(live.url, owner, r1, "regional_admin") as c:
        page = await c.get(f"/console/contracts/checkpoints/{q1}")
        assert page.status_code == 200 and 'data-testid="sign-form"' not in page.text
        answer = await c.post(f"/console/contracts/checkpoints/{q1}/sign",
                              data={"_csrf": csrf_of(page.text)})
        assert answer.status_code == 409 and "尚无核验材料" in answer.text
        answer = await c.post(f"/console/contracts/checkpoints/{q1}/decision",
                              data={"_csrf": csrf_of(page.text), "outcome": "upheld",
                                    "note": "x"})
        assert answer.status_code == 422 and "没有待决定的复议" in answer.text
        answer = await c.post(f"/console/contracts/clauses/{clause}/checkpoints",
                              data={"_csrf": csrf_of(page.text), "schedule": "once",
                                    "due_on": "2029-01-01", "evidence_days": "5"})
        assert answer.status_code == 422 and 'id="due_on-error"' in answer.text
        run = await c.get("/console/compliance", params={"quarter": "2027Q1"})
        assert 'data-partner="alpha"' in run.text
    r = await client.get(f"{ADMIN}/checkpoints/{q1}", headers=bearer(admin))
    assert r.json()["signatures"] == [] and r.json()["objection"] is None
    r = await client.get(f"{ADMIN}/clauses/{clause}/checkpoints", headers=bearer(admin))
    assert len(r.json()) == 4  # the refused once-checkpoint was not added
