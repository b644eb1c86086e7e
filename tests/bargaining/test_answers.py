"""答复模板与批量答复: templates are checked, and a bulk answer is all-or-nothing."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from tests.support.bargaining import seed_item
from tests.support.factories import bearer

TEMPLATES = "/v1/admin/bargaining/templates"
ANSWERS = "/v1/admin/bargaining/answers"


def template(**over) -> dict:
    return {"title_zh": "暂不列入", "title_en": "Not on the agenda now",
            "body": "关于「{title}」: 暂缓处理。{reason}", "to_status": "deferred"} | over


async def _state(owner, ids) -> list[tuple[str, int]]:
    async with owner() as s:
        rows = (await s.execute(text(
            "SELECT i.status, (SELECT count(*) FROM agenda_item_events e WHERE e.item_id = i.id)"
            " AS n FROM agenda_items i WHERE i.id = ANY(:ids) ORDER BY i.id"),
            {"ids": ids})).all()
    return [(r.status, r.n) for r in rows]


@pytest.mark.parametrize(("body", "code"), [
    ("你好 {name}", "template_placeholder_unknown"),
    ("位置 {0}", "template_placeholder_unknown"),
    ("空 {}", "template_placeholder_unknown"),
    ("属性 {title.upper}", "template_placeholder_unknown"),
    ("格式 {title!r}", "template_placeholder_unknown"),
    ("没关 {title", "template_malformed"),
])
async def test_template_placeholders(client, federation, staff_token, body, code) -> None:
    admin = await staff_token(federation, "regional_admin", federation.regions[0])
    r = await client.put(f"{TEMPLATES}/defer", json=template(body=body), headers=bearer(admin))
    assert r.status_code == 422 and r.json()["code"] == code, r.text
    assert (await client.get(TEMPLATES, headers=bearer(admin))).json() == []


async def test_templates_saved_and_listed(client, federation, staff_token) -> None:
    r1, r2 = federation.regions
    admin = await staff_token(federation, "regional_admin", r1)
    r = await client.put(f"{TEMPLATES}/defer", json=template(), headers=bearer(admin))
    assert r.status_code == 200, r.text
    r = await client.put(f"{TEMPLATES}/defer", json=template(title_en="Deferred"),
                         headers=bearer(admin))
    assert r.json()["title_en"] == "Deferred" and r.json()["tenant"] == r1
    listed = (await client.get(TEMPLATES, headers=bearer(admin))).json()
    assert [(t["code"], t["title_en"]) for t in listed] == [("defer", "Deferred")]
    other = await staff_token(federation, "regional_admin", r2)
    assert (await client.get(TEMPLATES, headers=bearer(other))).json() == []
    for bad in (template(to_status="ratified"), template(to_status="merged")):
        r = await client.put(f"{TEMPLATES}/x", json=bad, headers=bearer(admin))
        assert r.status_code == 422 and r.json()["code"] == "invalid_to_status"
    r = await client.put(f"{TEMPLATES}/Bad Code", json=template(), headers=bearer(admin))
    assert r.status_code in (400, 404, 422)


async def test_bulk_answer_all_or_nothing(client, owner, federation, staff_token) -> None:
    r1, r2 = federation.regions
    admin = await staff_token(federation, "regional_admin", r1, subject="ops")
    assert (await client.put(f"{TEMPLATES}/defer", json=template(),
                             headers=bearer(admin))).status_code == 200
    ok = [await seed_item(owner, federation, title=f"事项{i}") for i in range(3)]
    refused = await seed_item(owner, federation, status="rejected")
    hidden = await seed_item(owner, federation, scope=r2)
    before = await _state(owner, [*ok, refused, hidden])

    r = await client.post(ANSWERS, json={"template": "defer", "item_ids": [
        *map(str, ok), str(refused)], "reason": "本轮不谈"}, headers=bearer(admin))
    assert r.status_code == 409 and r.json()["code"] == "answer_refused"
    assert r.json()["items"] == [{"item_id": str(refused), "status": "rejected"}]
    missing = str(uuid.uuid4())
    r = await client.post(ANSWERS, json={"template": "defer", "item_ids": [
        *map(str, ok), str(hidden), missing]}, headers=bearer(admin))
    assert r.status_code == 404 and sorted(r.json()["missing"]) == sorted([str(hidden), missing])
    r = await client.post(ANSWERS, json={"template": "nope", "item_ids": [str(ok[0])]},
                          headers=bearer(admin))
    assert r.status_code == 404 and r.json()["code"] == "template_not_found"
    r = await client.post(ANSWERS, json={"template": "defer", "item_ids": []},
                          headers=bearer(admin))
    assert r.status_code == 422
    assert await _state(owner, [*ok, refused, hidden]) == before

    r = await client.post(ANSWERS, json={"template": "defer", "item_ids": list(map(str, ok)),
                                         "reason": "本轮不谈"}, headers=bearer(admin))
    assert r.status_code == 200, r.text
    assert [(i["item_id"], i["status"]) for i in r.json()["items"]] == [
        (str(x), "deferred") for x in ok]
    assert r.json()["items"][0]["text"] == "关于「事项0」: 暂缓处理。本轮不谈"
    timeline = (await client.get(f"/v1/admin/bargaining/items/{ok[1]}/timeline",
                                 headers=bearer(admin))).json()
    assert [(e["kind"], e["to_status"]) for e in timeline] == [("answer", None),
                                                                ("transition", "deferred")]
    assert timeline[0]["payload"] == {"template": "defer",
                                      "text": "关于「事项1」: 暂缓处理。本轮不谈"}
    assert timeline[0]["audience"] == "all" and timeline[0]["actor"] == "regional_admin:ops"
    async with owner() as s:
        n = (await s.execute(text("SELECT count(*) FROM audit_events WHERE action ="
                                  " 'agenda.answered' AND object_id = ANY(:i)"),
                             {"i": list(map(str, ok))})).scalar_one()
    assert n == 3


async def test_a_template_without_a_move(client, owner, federation, staff_token) -> None:
    hq = await staff_token(federation, "hq_admin", federation.hq)
    assert (await client.put(f"{TEMPLATES}/ack", json=template(to_status=None,
                                                               body="已收到「{title}」"),
                             headers=bearer(hq))).status_code == 200
    admin = await staff_token(federation, "regional_admin", federation.regions[0])
    item = await seed_item(owner, federation, status="in_negotiation")
    # The federation's template serves the regional union too.
    r = await client.post(ANSWERS, json={"template": "ack", "item_ids": [str(item)]},
                          headers=bearer(admin))
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["status"] == "in_negotiation"
    assert r.json()["items"][0]["text"] == "已收到「抽成比例过高」"
