"""平台方接口: a platform's system sees only the items addressed to it, from the moment they
are on the agenda; it answers on them and delivers the data it promised."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.bargaining.test_rounds import round_body
from tests.support.bargaining import partner_client, seed_item
from tests.support.factories import Federation, bearer

Owner = async_sessionmaker[AsyncSession]


def key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(8)}


async def listed(client: httpx.AsyncClient, token: str, **params: Any) -> list[str]:
    r = await client.get("/v1/partner/bargaining/items", params=params, headers=bearer(token))
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["items"]]


async def test_partner_sees_only_its_own_items_once_on_the_agenda(
    client: httpx.AsyncClient, owner: Owner, federation: Federation,
    other_federation: Federation,
) -> None:
    fed = federation
    alpha_agenda = await seed_item(owner, fed, status="on_agenda")
    alpha_hq = await seed_item(owner, fed, status="in_negotiation", scope=fed.hq,
                               topic="dispatch_rules")
    alpha_hidden = [await seed_item(owner, fed, status=s)
                    for s in ("collected", "under_review")]
    beta_agenda = await seed_item(owner, fed, status="on_agenda", partner="beta")
    elsewhere = await seed_item(owner, other_federation, status="on_agenda")
    alpha = await partner_client(client, owner, fed, "alpha")
    beta = await partner_client(client, owner, fed, "beta")

    assert sorted(await listed(client, alpha.token)) == sorted([str(alpha_agenda), str(alpha_hq)])
    assert await listed(client, beta.token) == [str(beta_agenda)]
    assert await listed(client, alpha.token, status="in_negotiation") == [str(alpha_hq)]
    assert await listed(client, alpha.token, topic="commission_rates") == [str(alpha_agenda)]
    first = await client.get("/v1/partner/bargaining/items", params={"limit": 1},
                             headers=bearer(alpha.token))
    second = await client.get("/v1/partner/bargaining/items", headers=bearer(alpha.token),
                              params={"limit": 1, "cursor": first.json()["next_cursor"]})
    assert sorted([first.json()["items"][0]["id"], second.json()["items"][0]["id"]]) == sorted(
        [str(alpha_agenda), str(alpha_hq)])
    assert second.json()["next_cursor"] is None
    # a filter on a status the partner never sees is not a valid question
    hidden = await client.get("/v1/partner/bargaining/items", params={"status": "collected"},
                              headers=bearer(alpha.token))
    assert hidden.status_code == 422, hidden.text

    one = await client.get(f"/v1/partner/bargaining/items/{alpha_agenda}",
                           headers=bearer(alpha.token))
    assert one.status_code == 200, one.text
    assert one.json()["status"] == "on_agenda" and one.json()["scope"] == fed.regions[0]
    for other in [*alpha_hidden, beta_agenda, elsewhere, uuid.uuid4()]:
        r = await client.get(f"/v1/partner/bargaining/items/{other}", headers=bearer(alpha.token))
        assert r.status_code == 404, (other, r.text)
        assert r.json()["code"] == "agenda_item_not_found"
        w = await client.post(f"/v1/partner/bargaining/items/{other}/responses",
                              json={"body": "答复"}, headers=bearer(alpha.token) | key())
        assert w.status_code == 404, w.text


async def test_partner_cannot_use_worker_or_staff_routes(
    client: httpx.AsyncClient, owner: Owner, federation: Federation,
) -> None:
    alpha = await partner_client(client, owner, federation, "alpha")
    item = await seed_item(owner, federation, status="on_agenda")
    for method, path in [
        ("GET", "/v1/bargaining/reports"),
        ("GET", "/v1/admin/bargaining/rounds"),
        ("GET", "/v1/admin/bargaining/promises"),
        ("GET", f"/v1/admin/bargaining/items/{item}/attachments"),
        ("POST", "/v1/admin/bargaining/rounds"),
    ]:
        r = await client.request(method, path, headers=bearer(alpha.token) | key(),
                                 json=round_body([item]) if method == "POST" else None)
        assert r.status_code in (401, 403), (path, r.status_code, r.text)
    async with owner() as s:
        assert (await s.execute(text("SELECT count(*) FROM negotiation_rounds"
                                     " WHERE tenant_id = :t"),
                                {"t": federation.ids[federation.regions[0]]})).scalar_one() == 0


async def test_disabled_client_sees_nothing(
    client: httpx.AsyncClient, owner: Owner, federation: Federation, staff_token,
) -> None:
    admin = await staff_token(federation, "regional_admin", federation.regions[0])
    item = await seed_item(owner, federation, status="on_agenda")
    held = await client.post("/v1/admin/bargaining/rounds", headers=bearer(admin), json=round_body(
        [item], promises=[{"item_id": str(item), "description": "数据", "due_on": "2026-12-01"}]))
    assert held.status_code == 201, held.text
    alpha = await partner_client(client, owner, federation, "alpha")
    assert await listed(client, alpha.token) == [str(item)]
    async with owner() as s, s.begin():
        await s.execute(text("UPDATE partner_clients SET disabled = true WHERE client_id = :c"),
                        {"c": alpha.client_id})
    # the token itself is still signed and unexpired: the database decides it sees nothing
    items = await client.get("/v1/partner/bargaining/items", headers=bearer(alpha.token))
    assert items.status_code == 200 and items.json()["items"] == [], items.text
    detail = await client.get(f"/v1/partner/bargaining/items/{item}", headers=bearer(alpha.token))
    assert detail.status_code == 404, detail.text
    promises = await client.get("/v1/partner/bargaining/promises", headers=bearer(alpha.token))
    assert promises.status_code == 200 and promises.json()["items"] == []
    answer = await client.post(f"/v1/partner/bargaining/items/{item}/responses",
                               json={"body": "答复"}, headers=bearer(alpha.token) | key())
    assert answer.status_code == 404, answer.text
    files = await client.get(f"/v1/partner/bargaining/items/{item}/attachments",
                             headers=bearer(alpha.token))
    assert files.status_code == 404, files.text
    async with owner() as s:
        assert (await s.execute(text("SELECT count(*) FROM partner_responses WHERE item_id = :i"),
                                {"i": item})).scalar_one() == 0


async def test_partner_answers_and_delivers_promised_data(
    client: httpx.AsyncClient, owner: Owner, federation: Federation, staff_token,
) -> None:
    admin = await staff_token(federation, "regional_admin", federation.regions[0])
    item = await seed_item(owner, federation, status="on_agenda")
    other_item = await seed_item(owner, federation, status="on_agenda")
    held = await client.post("/v1/admin/bargaining/rounds", headers=bearer(admin), json=round_body(
        [item, other_item], promises=[
            {"item_id": str(item), "description": "近三个月工资总额", "due_on": "2026-12-01"},
            {"item_id": str(other_item), "description": "考勤工时", "due_on": "2026-12-02"}]))
    assert held.status_code == 201, held.text
    promise, other_promise = (p["id"] for p in sorted(held.json()["promises"],
                                                     key=lambda p: p["due_on"]))
    alpha = await partner_client(client, owner, federation, "alpha")

    detail = (await client.get(f"/v1/partner/bargaining/items/{item}",
                               headers=bearer(alpha.token))).json()
    assert detail["status"] == "in_negotiation"
    assert [p["id"] for p in detail["open_promises"]] == [promise]
    assert detail["rounds"][0]["union_position"] == "降至 18%"
    assert {e["kind"] for e in detail["timeline"]} == {"transition", "round"}
    assert {e["actor_kind"] for e in detail["timeline"]} == {"regional_admin"}

    url = f"/v1/partner/bargaining/items/{item}/responses"
    # a promise of another item cannot be delivered here; oversized data is refused
    wrong = await client.post(url, json={"body": "数据", "promise_id": other_promise},
                              headers=bearer(alpha.token) | key())
    assert wrong.status_code == 404 and wrong.json()["code"] == "promise_not_found"
    big = await client.post(url, json={"body": "数据", "data": {"x": "a" * 70_000}},
                            headers=bearer(alpha.token) | key())
    assert big.status_code == 422 and big.json()["code"] == "response_data_too_large"
    unknown = await client.post(url, json={"body": "数据", "extra": 1},
                                headers=bearer(alpha.token) | key())
    assert unknown.status_code in (400, 422)
    no_key = await client.post(url, json={"body": "数据"}, headers=bearer(alpha.token))
    assert no_key.status_code == 400 and no_key.json()["code"] == "idempotency_key_required"

    body = {"body": "附件为近三个月工资总额", "data": {"wage_total_cny": 1234567.5},
            "promise_id": promise}
    same = key()
    first = await client.post(url, json=body, headers=bearer(alpha.token) | same)
    assert first.status_code == 201, first.text
    replay = await client.post(url, json=body, headers=bearer(alpha.token) | same)
    assert replay.status_code == 201 and replay.json() == first.json()
    assert replay.headers.get("idempotent-replayed") == "true"
    got = first.json()
    assert got["promise"]["delivered"] is True
    assert got["response"]["client_id"] == alpha.client_id
    again = await client.post(url, json=body, headers=bearer(alpha.token) | key())
    assert again.status_code == 409 and again.json()["code"] == "promise_delivered"

    async with owner() as s:
        responses = (await s.execute(text(
            "SELECT id::text, client_id, data FROM partner_responses WHERE item_id = :i"),
            {"i": item})).all()
        kept = (await s.execute(text(
            "SELECT delivered_at IS NOT NULL, response_id::text FROM data_promises WHERE id = :p"),
            {"p": promise})).one()
        event = (await s.execute(text(
            "SELECT actor, audience FROM agenda_item_events WHERE item_id = :i"
            " AND kind = 'partner_response'"), {"i": item})).one()
        audits = (await s.execute(text(
            "SELECT actor FROM audit_events WHERE action = 'partner.responded'"
            " AND object_id = :i"), {"i": str(item)})).all()
    assert [(r.client_id, r.data) for r in responses] == [
        (alpha.client_id, {"wage_total_cny": 1234567.5})]
    assert tuple(kept) == (True, responses[0].id)
    assert tuple(event) == (f"partner:{alpha.client_id}", "all")
    assert [a.actor for a in audits] == [f"partner:{alpha.client_id}"]

    mine = await client.get("/v1/partner/bargaining/promises", headers=bearer(alpha.token))
    assert [(p["id"], p["delivered"]) for p in mine.json()["items"]] == [
        (other_promise, False), (promise, True)]  # open first
    staff = await client.get("/v1/admin/bargaining/promises", params={"item_id": str(item)},
                             headers=bearer(admin))
    assert staff.json()["items"][0]["response_id"] == responses[0].id
    # beta's client sees none of it
    beta = await partner_client(client, owner, federation, "beta")
    theirs = await client.get("/v1/partner/bargaining/promises", headers=bearer(beta.token))
    assert theirs.json()["items"] == []
    after = (await client.get(f"/v1/partner/bargaining/items/{item}",
                              headers=bearer(alpha.token))).json()
    assert after["open_promises"] == [] and len(after["responses"]) == 1
    assert "partner_response" in {e["kind"] for e in after["timeline"]}
