"""劳动规则与算法公示: the platform files its rules and their changes through its machine API
(Idempotency-Key, audited); a change touching a bargaining topic needs the notice period on the
federation's working calendar and opens an agenda item for consultation, linked both ways;
union staff read the register federation-wide and record what a platform published elsewhere
(flagged when notified too late); a worker reads the rules of its own platforms in Chinese;
another platform neither reads nor writes the register. Real app, real database under RLS."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from flexunion.core.clock import BEIJING, Clock
from flexunion.db.urls import to_asyncpg
from flexunion.provisioning.service import FederationFileError, plan_directory
from tests.cases.test_intake_paths import demo as demo_federation
from tests.security.test_audience_matrix import as_app
from tests.support.bargaining import partner_client
from tests.support.factories import Federation, bearer, join, worker_login

PARTNER, STAFF = "/v1/partner/platform-rules", "/v1/admin/platform-rules"
ME = "/v1/me/platform-rules"
demo = demo_federation


def key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(8)}


def today() -> date:
    return Clock().now().astimezone(BEIJING).date()


REST = {"category": "working_time_rest", "code": "continuous-orders",
        "title_zh": "连续接单时长与休息提醒",
        "text_zh": "连续接单满 4 小时，系统提示休息 20 分钟。",
        "parameters": {"max_continuous_order_minutes": 240, "rest_prompt_enabled": True,
                       "forced_rest_minutes": 20},
        "effective_from": "2026-01-01"}


async def rows(owner: Any, sql: str, **params: Any) -> list[Any]:
    async with owner() as s:
        return list((await s.execute(text(sql), params)).all())


async def test_a_partner_files_its_rules_and_a_change_needs_the_notice_period(
        client, owner, federation: Federation, staff_token) -> None:
    alpha = await partner_client(client, owner, federation, "alpha")
    headers = bearer(alpha.token) | key()
    made = await client.post(PARTNER, headers=headers, json=REST)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["current"]["parameters"]["max_continuous_order_minutes"] == 240
    assert body["current"]["state"] == "current" and body["current"]["consultation_item_id"] is None
    again = await client.post(PARTNER, headers=headers, json=REST)  # a retry, same key
    assert again.status_code == 201 and again.json()["id"] == body["id"]
    assert len(await rows(owner, "SELECT 1 FROM platform_rules WHERE id = :i",
                          i=body["id"])) == 1

    change = {"text_zh": "连续接单满 3 小时，强制休息 20 分钟。",
              "parameters": {"max_continuous_order_minutes": 180, "rest_prompt_enabled": True},
              "reason": "响应骑手疲劳反馈", "effective_from": str(today() + timedelta(days=3))}
    early = await client.post(f"{PARTNER}/continuous-orders/versions",
                              headers=bearer(alpha.token) | key(), json=change)
    assert early.status_code == 422 and early.json()["code"] == "rule_notice_too_short", early.text
    earliest = date.fromisoformat(early.json()["earliest_effective"])
    assert earliest >= today() + timedelta(days=11)  # 10 working days, the day after
    assert len(await rows(owner, "SELECT 1 FROM platform_rule_versions WHERE rule_id = :i",
                          i=body["id"])) == 1  # nothing half-written
    day_before = change | {"effective_from": str(earliest - timedelta(days=1))}
    refused = await client.post(f"{PARTNER}/continuous-orders/versions",
                                headers=bearer(alpha.token) | key(), json=day_before)
    assert refused.status_code == 422 and refused.json()["code"] == "rule_notice_too_short"
    on_time = change | {"effective_from": str(earliest)}
    filed = await client.post(f"{PARTNER}/continuous-orders/versions",
                              headers=bearer(alpha.token) | key(), json=on_time)
    assert filed.status_code == 201, filed.text
    upcoming = filed.json()["upcoming"]
    assert len(upcoming) == 1 and upcoming[0]["reason"] == "响应骑手疲劳反馈"
    assert upcoming[0]["earliest_effective"] == str(earliest) and upcoming[0]["topics"] == ["rest"]
    assert filed.json()["current"]["parameters"]["max_continuous_order_minutes"] == 240
    item_id = upcoming[0]["consultation_item_id"]
    # the consultation item: on the federation's board, on_agenda, naming the change
    (item,) = await rows(owner, "SELECT tenant_id, status, topic, partner_id, details FROM"
                                " agenda_items WHERE id = :i", i=item_id)
    assert (item.tenant_id, item.status, item.topic) == (
        federation.ids[federation.hq], "on_agenda", "rest")
    assert item.details["proposed_arrangement"].startswith("连续接单满 3 小时")
    (event,) = await rows(owner, "SELECT payload FROM agenda_item_events WHERE item_id = :i",
                          i=item_id)
    assert event.payload["rule_change"] == upcoming[0]["id"]
    # the partner sees the item it caused, staff of a region too
    seen = await client.get(f"/v1/partner/bargaining/items/{item_id}",
                            headers=bearer(alpha.token))
    assert seen.status_code == 200, seen.text
    region = await staff_token(federation, "regional_admin", federation.regions[1])
    board = await client.get(f"/v1/admin/bargaining/items/{item_id}", headers=bearer(region))
    assert board.status_code == 200, board.text
    audited = await rows(owner, "SELECT action FROM audit_events WHERE object_id = :i"
                                " ORDER BY seq", i=body["id"])
    assert [a.action for a in audited] == ["platform_rule.filed", "platform_rule.filed"]
    # a change to monitoring (no bargaining topic) needs no notice and opens no item
    mon = await client.post(PARTNER, headers=bearer(alpha.token) | key(), json={
        "category": "monitoring", "code": "gps", "title_zh": "定位采集",
        "text_zh": "接单期间每 30 秒采集一次定位。", "effective_from": "2026-01-01",
        "parameters": {"data_collected": ["定位"], "retention_days": 90}})
    assert mon.status_code == 201, mon.text
    past = await client.post(f"{PARTNER}/gps/versions", headers=bearer(alpha.token) | key(),
                             json={"text_zh": "改", "reason": "改",
                                   "effective_from": str(today() - timedelta(days=1))})
    assert past.status_code == 422 and past.json()["code"] == "rule_effective_in_past"
    tomorrow = await client.post(f"{PARTNER}/gps/versions", headers=bearer(alpha.token) | key(),
                                 json={"text_zh": "接单期间每 60 秒采集一次定位。",
                                       "reason": "减少采集", "effective_from":
                                       str(today() + timedelta(days=1))})
    assert tomorrow.status_code == 201, tomorrow.text
    assert tomorrow.json()["upcoming"][0]["consultation_item_id"] is None


@pytest.mark.parametrize(("body", "code"), [
    (REST | {"parameters": {"commission_rate": 0.2}}, "invalid_rule_parameters"),
    (REST | {"parameters": {"max_continuous_order_minutes": -5}}, "invalid_rule_parameters"),
    (REST | {"partner": "alpha"}, "rule_fields_staff_only"),
])
async def test_bad_filings_are_refused_and_write_nothing(
        client, owner, federation: Federation, body: dict[str, Any], code: str) -> None:
    alpha = await partner_client(client, owner, federation, "alpha")
    r = await client.post(PARTNER, headers=bearer(alpha.token) | key(), json=body)
    assert r.status_code == 422 and r.json()["code"] == code, r.text
    assert any("\u4e00" <= c <= "\u9fff" for c in r.json()["detail"])
    assert await rows(owner, "SELECT 1 FROM platform_rules WHERE federation_id = :f",
                      f=federation.ids[federation.hq]) == []


async def test_staff_record_what_a_platform_published_and_a_late_change_is_flagged(
        client, owner, federation: Federation, staff_token) -> None:
    region = await staff_token(federation, "regional_admin", federation.regions[0])
    no_source = await client.post(STAFF, headers=bearer(region), json=REST | {"partner": "beta"})
    assert no_source.status_code == 422 and no_source.json()["code"] == "rule_source_required"
    made = await client.post(STAFF, headers=bearer(region), json=REST | {
        "partner": "beta", "category": "pay_commission", "code": "commission",
        "title_zh": "抽成", "text_zh": "每单抽成 20%。",
        "parameters": {"commission_rate": 0.2}, "source": "贝塔骑手 App 公告 2026-01-01"})
    assert made.status_code == 201, made.text
    rule_id = made.json()["id"]
    late = await client.post(f"{STAFF}/{rule_id}/versions", headers=bearer(region), json={
        "text_zh": "每单抽成 25%。", "parameters": {"commission_rate": 0.25},
        "reason": "平台称成本上升", "effective_from": str(today() + timedelta(days=2)),
        "source": "贝塔骑手 App 公告"})
    assert late.status_code == 201, late.text
    (change,) = late.json()["upcoming"]
    assert change["short_notice"] is True and change["source"] == "published"
    (item,) = await rows(owner, "SELECT tenant_id, details FROM agenda_items WHERE id = :i",
                         i=change["consultation_item_id"])
    assert item.tenant_id == federation.ids[federation.regions[0]]
    assert item.details == {"current_rate_pct": 20.0, "proposed_rate_pct": 25.0,
                            "basis": "每单抽成 25%。"}
    # staff of another region read the register (federation-wide), a station officer too
    station = await staff_token(federation, "station_officer",
                                federation.stations[federation.regions[1]][0])
    listed = await client.get(STAFF, params={"partner": "beta"}, headers=bearer(station))
    assert listed.status_code == 200, listed.text
    assert [r["code"] for r in listed.json()["rules"]] == ["commission"]
    refused = await client.post(STAFF, headers=bearer(station), json=REST | {
        "partner": "beta", "source": "x"})
    assert refused.status_code == 403


async def test_a_worker_reads_the_rules_of_its_own_platforms_in_chinese(
        client, owner, sms, federation: Federation, staff_token) -> None:
    alpha = await partner_client(client, owner, federation, "alpha")
    beta = await partner_client(client, owner, federation, "beta")
    for partner in (alpha, beta):
        r = await client.post(PARTNER, headers=bearer(partner.token) | key(), json=REST)
        assert r.status_code == 201, r.text
    hq = await staff_token(federation, "hq_admin", federation.hq)
    member = await join(client, sms, federation, federation.stations[federation.regions[0]][0],
                        approver_token=hq)  # on alpha (tests/support/factories.py)
    mine = await client.get(ME, headers=bearer(member.token))
    assert mine.status_code == 200, mine.text
    (platform,) = mine.json()["platforms"]
    assert platform["partner"] == "alpha" and platform["partner_name_zh"] == "阿尔法平台"
    (rule,) = platform["rules"]
    assert rule["category_zh"] == "工作时长与休息"
    shown = {p["label_zh"]: p["shown_zh"] for p in rule["parameters"]}
    assert shown["连续接单时长上限（分钟）"] == "240" and shown["疲劳休息提醒"] == "是"


async def test_a_partner_cannot_read_or_write_another_partners_register(
        client, owner, federation: Federation, settings) -> None:
    alpha = await partner_client(client, owner, federation, "alpha")
    beta = await partner_client(client, owner, federation, "beta")
    made = await client.post(PARTNER, headers=bearer(alpha.token) | key(), json=REST)
    assert made.status_code == 201
    read = await client.get(f"{PARTNER}/continuous-orders", headers=bearer(beta.token))
    assert read.status_code == 404 and read.json()["code"] == "platform_rule_not_found"
    assert (await client.get(PARTNER, headers=bearer(beta.token))).json()["rules"] == []
    write = await client.post(f"{PARTNER}/continuous-orders/versions",
                              headers=bearer(beta.token) | key(), json={
                                  "text_zh": "改", "reason": "改",
                                  "effective_from": str(today() + timedelta(days=60))})
    assert write.status_code == 404
    assert await rows(owner, "SELECT 1 FROM platform_rule_versions WHERE filed_by = :p"
                             " UNION ALL SELECT 1 FROM platform_rules WHERE created_by = :p",
                      p=f"partner:{beta.client_id}") == []
    # under its principal, the database itself shows beta none of alpha's rows and refuses a
    # version written into alpha's rule
    app = await asyncpg.connect(to_asyncpg(settings.app_database_url or ""))
    try:
        async with app.transaction():
            await as_app(app, str(federation.ids[federation.hq]), f"partner:{beta.client_id}")
            assert await app.fetchval("SELECT count(*) FROM platform_rules") == 0
            assert await app.fetchval("SELECT count(*) FROM platform_rule_versions") == 0
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
                await app.execute(
                    "INSERT INTO platform_rule_versions (id, federation_id, tenant_id, rule_id,"
                    " partner_id, version, effective_from, text_zh, parameters, reason, source,"
                    " topics, notified_on, short_notice, filed_by, filed_at) SELECT"
                    " gen_random_uuid(), $1::uuid, $1::uuid, $2::uuid, p.id, 9, current_date,"
                    " '改', '{}', '改', 'partner_api', '{}', current_date, false,"
                    " flexunion_principal(), now() FROM platform_partners p"
                    " WHERE p.tenant_id = $1::uuid AND p.code = 'alpha'",
                    federation.ids[federation.hq], made.json()["id"])
    finally:
        await app.close()


async def test_the_demo_rules_file_applies_once_and_a_rewritten_version_is_refused(
        client, owner, sms, demo: Federation, staff_token, tmp_path: Path) -> None:
    """tenants/demo/platform-rules.yaml went in with the demo (fixture); a second plan changes
    nothing; staff read it and a worker on 美团 reads it in the app; a file that rewrites a
    version already registered is refused, naming the file."""
    folder = tmp_path / demo.hq.split("-")[0]
    async with owner() as s, s.begin():
        again = await plan_directory(s, folder)
    versions = [c for c in again.changes if c.kind == "platform_rule_version"]
    assert len(versions) == 5 and {c.action for c in versions} == {"unchanged"}
    hq = await staff_token(demo, "hq_admin", demo.hq)
    listed = await client.get(STAFF, params={"partner": "meituan"}, headers=bearer(hq))
    assert listed.status_code == 200, listed.text
    rest = next(r for r in listed.json()["rules"] if r["code"] == "continuous-orders")
    assert rest["current"]["parameters"]["max_continuous_order_minutes"] == 240
    assert rest["current"]["source"] == "published" and "示范" in rest["current"]["source_note"]
    member = await join(client, sms, demo, demo.stations[demo.regions[0]][0],
                        approver_token=hq, platforms=[{"partner": "meituan",
                                                       "platform_worker_id": "M-1"}])
    mine = (await client.get(ME, headers=bearer(member.token))).json()
    assert [p["partner"] for p in mine["platforms"]] == ["meituan"]
    assert len(mine["platforms"][0]["rules"]) == 4
    file = folder / "platform-rules.yaml"
    file.write_text(file.read_text().replace("max_continuous_order_minutes: 480",
                                             "max_continuous_order_minutes: 300"))
    async with owner() as s:
        with pytest.raises(FederationFileError, match=r"platform-rules.yaml: \$.rules\[0\]"):
            await plan_directory(s, folder)


async def test_a_partner_client_of_a_region_files_for_the_federation(
        client, owner, sms, federation: Federation) -> None:
    """A platform's client anchored at a region files at the federation like one at the HQ:
    the notice is counted on the federation's calendar and the consultation item goes on the
    federation's board, written by the partner itself. A worker who is no member gets 403."""
    alpha = await partner_client(client, owner, federation, "alpha", tenant=federation.regions[0])
    made = await client.post(PARTNER, headers=bearer(alpha.token) | key(), json=REST | {
        "category": "deactivation", "code": "deactivation", "title_zh": "封禁依据",
        "text_zh": "刷单封禁。", "parameters": {"grounds": ["刷单"], "human_review": False}})
    assert made.status_code == 201, made.text
    probe = await client.post(f"{PARTNER}/deactivation/versions",
                              headers=bearer(alpha.token) | key(), json={
                                  "text_zh": "刷单封禁，封禁前人工复核。", "reason": "增加人工复核",
                                  "parameters": {"grounds": ["刷单"], "human_review": True},
                                  "effective_from": str(today())})
    assert probe.status_code == 422 and probe.json()["code"] == "rule_notice_too_short"
    filed = await client.post(f"{PARTNER}/deactivation/versions",
                              headers=bearer(alpha.token) | key(), json={
                                  "text_zh": "刷单封禁，封禁前人工复核。", "reason": "增加人工复核",
                                  "parameters": {"grounds": ["刷单"], "human_review": True},
                                  "effective_from": probe.json()["earliest_effective"]})
    assert filed.status_code == 201, filed.text
    (item,) = await rows(owner, "SELECT i.tenant_id, i.topic, i.created_by, v.rule_id FROM"
                                " agenda_items i JOIN platform_rule_versions v"
                                " ON v.consultation_item_id = i.id WHERE v.rule_id = :r",
                         r=made.json()["id"])
    assert (item.tenant_id, item.topic, item.created_by) == (
        federation.ids[federation.hq], "appeals", f"partner:{alpha.client_id}")
    past = await client.post(f"{PARTNER}/deactivation/versions",
                             headers=bearer(alpha.token) | key(), json={
                                 "text_zh": "改", "reason": "改",
                                 "effective_from": str(today() - timedelta(days=1))})
    assert past.status_code == 422 and past.json()["code"] == "rule_effective_before_previous"
    token, _ = await worker_login(client, sms, federation.hq)
    refused = await client.get(ME, headers=bearer(token))
    assert refused.status_code == 403 and refused.json()["code"] == "membership_required"


async def test_simultaneous_changes_to_one_rule_number_their_versions_without_a_gap(
        client, owner, federation: Federation) -> None:
    """Eight changes to one rule at once: each lands as the next version, or is 409
    `rule_version_conflict` (another took that number) or 422 (dated before the version that
    won); never a 500, never two versions with one number, dates rising with the number."""
    import asyncio

    alpha = await partner_client(client, owner, federation, "alpha")
    made = await client.post(PARTNER, headers=bearer(alpha.token) | key(), json={
        "category": "monitoring", "code": "gps", "title_zh": "定位采集",
        "text_zh": "每 30 秒采集定位。", "effective_from": "2026-01-01"})
    assert made.status_code == 201, made.text
    answers = await asyncio.gather(*(client.post(
        f"{PARTNER}/gps/versions", headers=bearer(alpha.token) | key(),
        json={"text_zh": f"每 {60 + n} 秒采集定位。", "reason": f"第 {n} 次调整",
              "effective_from": str(today() + timedelta(days=10 + n))}) for n in range(8)))
    codes = sorted((a.status_code, a.json()["code"] if a.status_code != 201 else "")
                   for a in answers)
    assert {c for c, _ in codes} <= {201, 409, 422}, codes
    assert all(code in ("", "rule_version_conflict", "rule_effective_before_previous")
               for _, code in codes), codes
    versions = await rows(owner, "SELECT version, effective_from FROM platform_rule_versions"
                                 " WHERE rule_id = :r ORDER BY version", r=made.json()["id"])
    assert [v.version for v in versions] == list(range(1, len(versions) + 1))
    assert sum(c == 201 for c, _ in codes) == len(versions) - 1 >= 1
    dates = [v.effective_from for v in versions]
    assert dates == sorted(dates) and len(set(dates)) == len(dates)
