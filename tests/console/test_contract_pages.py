"""协议条款 writes over HTTP (the browser tests walk the flows in chromium): a sibling
region's draft cannot be written through the console (the 404 page, nothing added); putting
a version in force needs its confirmation; a regional admin's template revision is refused
above the form and nothing is saved; a version not in force has no document to fetch —
against the real app and database, with each page's own CSRF token."""

from __future__ import annotations

from tests.contracts.conftest import load_templates, make_agreement
from tests.support.console import csrf_of, signed_in
from tests.support.factories import Federation, bearer


async def test_the_console_writes_stay_within_their_sight_and_steps(
        live, client, owner, staff_token, federation: Federation) -> None:
    r1, r2 = federation.regions
    await load_templates(owner, federation)
    admin = await staff_token(federation, "regional_admin", r1)
    aid = (await make_agreement(client, admin, scope=r1))["id"]
    base = f"/console/contracts/{aid}/versions/1"

    async with signed_in(live.url, owner, r2, "regional_admin") as c:
        page = await c.get("/console/contracts/templates/union.venue")
        assert page.status_code == 200 and 'data-testid="template-form"' not in page.text
        answer = await c.post(f"{base}/clauses", data={
            "_csrf": csrf_of(page.text), "template": "union.venue", "p.area_m2": "30"})
        assert answer.status_code == 404 and 'data-testid="not-found"' in answer.text
        answer = await c.post("/console/contracts/templates/union.venue", data={
            "_csrf": csrf_of(page.text), "title_zh": "活动场地", "title_en": "Venue",
            "text": "场地 ${area_m2} 平方米", "parameters": "[]", "condition": ""})
        assert answer.status_code == 403 and 'data-testid="problem"' in answer.text
        assert "条款模板由总部维护" in answer.text

    async with signed_in(live.url, owner, r1, "regional_admin") as c:
        page = await c.get(f"{base}/clauses/new", params={"template": "union.venue"})
        assert 'name="p.area_m2" type="number" step="any" min="1.0" max="10000.0"' in page.text
        answer = await c.post(f"{base}/clauses", data={
            "_csrf": csrf_of(page.text), "template": "union.venue", "p.area_m2": "thirty"})
        assert answer.status_code == 422 and 'id="p.area_m2-error"' in answer.text
        assert "类型不符" in answer.text and 'value="thirty"' in answer.text
        answer = await c.post(f"{base}/clauses", data={
            "_csrf": csrf_of(page.text), "template": "union.venue", "p.area_m2": "30"})
        assert answer.status_code == 303, answer.text
        answer = await c.post(f"{base}/in-force", data={"_csrf": csrf_of(page.text)})
        assert answer.status_code == 422 and "请确认后再生效" in answer.text
        v1 = (await client.get(f"/v1/admin/contracts/agreements/{aid}/versions/1",
                               headers=bearer(admin))).json()
        assert v1["status"]["code"] == "draft" and [c_["key"] for c_ in v1["clauses"]] == [
            "union.venue"]
        clause_id = v1["clauses"][0]["id"]
        assert (await c.get(f"/console/contracts/clauses/{clause_id}/document")
                ).status_code == 404
        answer = await c.post(f"{base}/in-force", data={"_csrf": csrf_of(page.text),
                                                         "confirmed": "yes"})
        assert answer.status_code == 303, answer.text
        document = await c.get(f"/console/contracts/clauses/{clause_id}/document.jws")
        assert document.status_code == 200
        assert document.headers["content-type"].startswith("application/jose")
        signed = (await client.get(f"/v1/admin/contracts/clauses/{clause_id}/document",
                                   headers=bearer(admin))).json()
        assert document.text == signed["document"]
        # A clause in force no longer changes: refused above the form, as the API refuses it.
        answer = await c.post(f"/console/contracts/clauses/{clause_id}", data={
            "_csrf": csrf_of(page.text), "p.area_m2": "40"})
        assert answer.status_code == 409 and 'data-testid="problem"' in answer.text
