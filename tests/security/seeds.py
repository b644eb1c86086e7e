"""One row of a federation in every tenant table: what the leak tests look for.

`seed_every_table` builds them through the real API where a flow exists (a join, a transfer,
consents, a console sign-in) and as the owner elsewhere; it fails if a tenant table is left
unseeded, so a new table cannot be forgotten. `WHERE_MINE` picks the federation's rows of each
table (every query takes the federation's tenant ids as $1 and a worker id as $2)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx

from flexunion.auth.partners.service import create_partner_client
from flexunion.auth.staff.service import create_admin
from tests.support.console import sign_in
from tests.support.factories import Federation, Joined, bearer, join, worker_login

# Service-wide tables that hold no tenant's data, each with its reason.
GLOBAL_TABLES = {
    "alembic_version": "schema version; app role may only read it",
    "signing_keys": "service token keys; app role may only read them (no tenant data)",
    "audit_chain_head": "one row, written only by the owner-owned audit trigger; no app grants",
}

_BOTH = " AND $1::text[] IS NOT NULL AND $2::text IS NOT NULL"  # every query takes both
WHERE_MINE = {
    "tenants": "id::text = ANY($1)" + _BOTH,
    "idempotency_keys": "principal = 'worker:' || $2" + _BOTH,
    "transfers": "origin_tenant_id::text = ANY($1)" + _BOTH,
    "member_counters": "federation_id::text = ANY($1)" + _BOTH,
    "geo_versions": "federation_id::text = ANY($1)" + _BOTH,
    "card_versions": "federation_id::text = ANY($1)" + _BOTH,  # bumped by the join
    "ballot_papers": "ballot_id IN (SELECT id FROM ballots WHERE tenant_id::text = ANY($1))"
                     + _BOTH,
}


def where_mine(table: str) -> str:
    return WHERE_MINE.get(table, "tenant_id::text = ANY($1)" + _BOTH)


@dataclass(frozen=True)
class Seeded:
    member: Joined  # joined at a station of region 0, then moved to region 1
    worker_id: str  # a second worker: consents and an idempotency key, no membership
    admin_username: str  # a regional admin of region 0, signed in to the console once
    admin_password: str
    fed_ids: list[str]
    tables: list[str]  # every tenant table, each holding at least one row of the federation


async def tenant_tables(conn: asyncpg.Connection) -> list[str]:
    return [r["relname"] for r in await conn.fetch(
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        " AND relkind = 'r' AND relname <> ALL($1::text[]) ORDER BY relname",
        list(GLOBAL_TABLES))]


async def seed_geo(conn: asyncpg.Connection, fed: Federation, member) -> None:
    """One row in every geo table (geo_versions follows by trigger)."""
    import shapely
    from shapely.geometry import box

    hq, region = fed.ids[fed.hq], fed.ids[fed.regions[0]]
    partner = await conn.fetchval(
        "SELECT id FROM platform_partners WHERE tenant_id = $1 AND code = 'alpha'", hq)
    await conn.execute(
        "INSERT INTO service_areas (id, federation_id, tenant_id, kind, code, name_zh, name_en,"
        " partner_id, geom_wkb, min_lon, min_lat, max_lon, max_lat, area_m2, vertices, source,"
        " repaired) VALUES (gen_random_uuid(), $1, $2, 'delivery_zone', 'seed', '种子', 'Seed',"
        " $3, $4, 121.4, 31.1, 121.5, 31.2, 1e8, 5, 'test', false)",
        hq, region, partner, shapely.to_wkb(box(121.4, 31.1, 121.5, 31.2)))
    point = await conn.fetchval(
        "INSERT INTO service_points (id, federation_id, tenant_id, code, name_zh, name_en, address,"
        " lon, lat, amenities, opening_hours, shift_changes, active) VALUES (gen_random_uuid(),"
        " $1, $2, 'seed', '种子驿站', 'Seed', '路', 121.45, 31.15, '{rest}',"
        " '{\"mon\": [[\"00:00\", \"24:00\"]]}', '[\"06:00\"]', true) RETURNING id", hq, region)
    for sql in (
        "INSERT INTO station_duties (id, federation_id, tenant_id, point_id, duty_date, shift_no,"
        " starts_at, ends_at, officer_name, created_by) VALUES (gen_random_uuid(), $1, $2, $3,"
        " current_date, 0, now(), now() + interval '8 hours', '值班员', 'test')",
        "INSERT INTO station_supplies (id, federation_id, tenant_id, point_id, season, item,"
        " quantity, unit, valid_from, valid_to, created_by) VALUES (gen_random_uuid(), $1, $2, $3,"
        " 'heat', '藿香正气水', 10, '盒', current_date, current_date, 'test')",
        "INSERT INTO station_checks (id, federation_id, tenant_id, point_id, iso_week, restocked,"
        " cleaned, equipment, checked_by) VALUES (gen_random_uuid(), $1, $2, $3, '2026-W48',"
        " true, true, 'ok', 'test')",
    ):
        await conn.execute(sql, hq, region, point)
    await conn.execute(
        "INSERT INTO location_checkins (id, federation_id, tenant_id, member_id, worker_id,"
        " recorded_at, local_day, lon, lat) VALUES (gen_random_uuid(), $1, $1, $2, $3, now(),"
        " current_date, 121.45, 31.15)", hq, uuid.UUID(member.member_id),
        uuid.UUID(member.worker_id))
    await conn.execute(
        "INSERT INTO transfer_suggestions (id, federation_id, tenant_id, member_id, worker_id,"
        " to_tenant_id, days_away, window_days, status, offered_at) VALUES (gen_random_uuid(),"
        " $1, $1, $2, $3, $4, 9, 14, 'offered', now())", hq, uuid.UUID(member.member_id),
        uuid.UUID(member.worker_id), region)
    upload = await conn.fetchval(
        "INSERT INTO roster_uploads (id, federation_id, tenant_id, partner_id, source, crs, rows,"
        " uploaded_by) VALUES (gen_random_uuid(), $1, $1, $2, 'api', 'wgs84', 1, 'test')"
        " RETURNING id", hq, partner)
    await conn.execute(
        "INSERT INTO roster_entries (upload_id, federation_id, tenant_id, worker_ref, platform,"
        " lon, lat, active_days) VALUES ($1, $2, $3, 'w-1', 'alpha', 121.45, 31.15, 3)",
        upload, hq, region)
    await conn.execute(
        "INSERT INTO census_runs (id, federation_id, tenant_id, requested_by, engine, params,"
        " zones, totals, started_at, finished_at) VALUES (gen_random_uuid(), $1, $2, 'test',"
        " 'pandas', '{}', '[]', '{}', now(), now())", hq, region)


async def seed_bargaining(conn: asyncpg.Connection, fed: Federation, member) -> None:
    """One row in every bargaining table, ballot papers included."""
    hq, region = fed.ids[fed.hq], fed.ids[fed.regions[0]]
    m, w = uuid.UUID(member.member_id), uuid.UUID(member.worker_id)
    partner = await conn.fetchval(
        "SELECT id FROM platform_partners WHERE tenant_id = $1 AND code = 'alpha'", hq)
    rep = await conn.fetchval(
        "INSERT INTO worker_representatives (id, federation_id, tenant_id, member_id, worker_id,"
        " kind, ref_code, designated_by, started_at) VALUES (gen_random_uuid(), $1, $2, $3, $4,"
        " 'station', 'seed', 'test', now()) RETURNING id", hq, region, m, w)
    report = await conn.fetchval(
        "INSERT INTO problem_reports (id, federation_id, tenant_id, region_id, member_id,"
        " worker_id, topic, partner_id, title, body, details, created_at)"
        " VALUES (gen_random_uuid(), $1, $2, $2, $3, $4, 'rest', $5, '题', '述', '{}', now())"
        " RETURNING id", hq, region, m, w, partner)
    proposal = await conn.fetchval(
        "INSERT INTO rep_proposals (id, federation_id, tenant_id, representative_id, worker_id,"
        " topic, partner_id, title, body, details, status, created_at) VALUES (gen_random_uuid(),"
        " $1, $2, $3, $4, 'rest', $5, '题', '述', '{}', 'submitted', now()) RETURNING id",
        hq, region, rep, w, partner)
    await conn.execute("INSERT INTO rep_proposal_reports (proposal_id, report_id, federation_id,"
                       " tenant_id) VALUES ($1, $2, $3, $4)", proposal, report, hq, region)
    item = await conn.fetchval(
        "INSERT INTO agenda_items (id, federation_id, tenant_id, partner_id, topic, title, summary,"
        " details, status, support_count, support_threshold, created_by, created_at, updated_at)"
        " VALUES (gen_random_uuid(), $1, $2, $3, 'rest', '题', '述', '{}', 'agreed', 1, 5, 'test',"
        " now(), now()) RETURNING id", hq, region, partner)
    await conn.execute(
        "INSERT INTO agenda_item_events (id, federation_id, tenant_id, item_id, partner_id, kind,"
        " actor, payload, audience, created_at) VALUES (gen_random_uuid(), $1, $2, $3, $4,"
        " 'created', 'test', '{}', 'all', now())", hq, region, item, partner)
    await conn.execute(
        "INSERT INTO agenda_item_sources (id, federation_id, tenant_id, item_id, report_id,"
        " proposal_id, via, actor, created_at) VALUES (gen_random_uuid(), $1, $2, $3, $4, $5,"
        " 'created', 'test', now())", hq, region, item, report, proposal)
    await conn.execute("INSERT INTO agenda_supports (item_id, member_id, worker_id, federation_id,"
                       " tenant_id, created_at) VALUES ($1, $2, $3, $4, $5, now())",
                       item, m, w, hq, region)
    # 流动议事: the member (home: region 1 after its transfer) had a grant to region 0's board;
    # it has lapsed, so the worker sees the grant but (audiences.py) none of region 0's items.
    await conn.execute(
        "INSERT INTO participation_grants (id, federation_id, tenant_id, member_id, worker_id,"
        " home_tenant_id, reason, evidence, granted_by, granted_at, expires_at) VALUES"
        " (gen_random_uuid(), $1, $2, $3, $4, $5, 'checkins', '{\"checkins\": 5}',"
        " 'system:jobs:participation', now() - interval '40 days', now() - interval '10 days')",
        hq, region, m, w, fed.ids[fed.regions[1]])
    await conn.execute(
        "INSERT INTO agenda_templates (id, federation_id, tenant_id, code, title_zh, title_en,"
        " body, created_by, created_at, updated_at) VALUES (gen_random_uuid(), $1, $2, 'seed',"
        " '模板', 'Template', '{title}', 'test', now(), now())", hq, region)
    round_id = await conn.fetchval(
        "INSERT INTO negotiation_rounds (id, federation_id, tenant_id, partner_id, held_on,"
        " parties, minutes, created_by, created_at) VALUES (gen_random_uuid(), $1, $2, $3,"
        " current_date, '[]', '纪要', 'test', now()) RETURNING id", hq, region, partner)
    await conn.execute(
        "INSERT INTO negotiation_round_items (round_id, item_id, federation_id, tenant_id,"
        " partner_id, union_position) VALUES ($1, $2, $3, $4, $5, '立场')",
        round_id, item, hq, region, partner)
    response = await conn.fetchval(
        "INSERT INTO partner_responses (id, federation_id, tenant_id, item_id, partner_id,"
        " client_id, body, data, created_at) VALUES (gen_random_uuid(), $1, $2, $3, $4, 'c',"
        " '答复', '{}', now()) RETURNING id", hq, region, item, partner)
    await conn.execute(
        "INSERT INTO data_promises (id, federation_id, tenant_id, round_id, item_id, partner_id,"
        " description, due_on, response_id, created_at) VALUES (gen_random_uuid(), $1, $2, $3, $4,"
        " $5, '数据', current_date, $6, now())", hq, region, round_id, item, partner, response)
    await conn.execute(
        "INSERT INTO agenda_attachments (id, federation_id, tenant_id, item_id, partner_id,"
        " storage_key, filename, content_type, size_bytes, sha256, shared_with_partner,"
        " uploaded_by, created_at) VALUES (gen_random_uuid(), $1, $2, $3, $4, 'seed-' ||"
        " gen_random_uuid(), 'a.pdf', 'application/pdf', 1, 'x', true, 'test', now())",
        hq, region, item, partner)
    ballot = await conn.fetchval(
        "INSERT INTO ballots (id, federation_id, tenant_id, item_id, question, status, quorum,"
        " threshold, electorate, opened_at, closes_at, opened_by) VALUES (gen_random_uuid(), $1,"
        " $2, $3, '是否通过', 'open', 0.5, 0.5, 1, now(), now() + interval '1 day', 'test')"
        " RETURNING id", hq, region, item)
    await conn.execute("INSERT INTO ballot_electors (ballot_id, member_id, worker_id,"
                       " federation_id, tenant_id, voted_at) VALUES ($1, $2, $3, $4, $5, now())",
                       ballot, m, w, hq, region)
    await conn.execute("INSERT INTO ballot_papers (id, ballot_id, choice, receipt_hash) VALUES"
                       " (gen_random_uuid(), $1, 'yes', 'seed')", ballot)


async def seed_cases(conn: asyncpg.Connection, fed: Federation, member) -> None:
    """One row in every cases table."""
    hq, region = fed.ids[fed.hq], fed.ids[fed.regions[0]]
    w, m = uuid.UUID(member.worker_id), uuid.UUID(member.member_id)
    partner = await conn.fetchval(
        "SELECT id FROM platform_partners WHERE tenant_id = $1 AND code = 'alpha'", hq)
    await conn.execute(
        "INSERT INTO case_policies (id, federation_id, tenant_id, code, title_zh, title_en,"
        " source, body, created_by, created_at, updated_at) VALUES (gen_random_uuid(), $1, $1,"
        " 'seed', '政策', 'Policy', '文号', '正文', 'test', now(), now())", hq)
    await conn.execute(
        "INSERT INTO case_intake_partners (id, federation_id, tenant_id, partner_id, kind,"
        " created_by, created_at) VALUES (gen_random_uuid(), $1, $1, $2, 'hotline', 'test',"
        " now())", hq, partner)
    case = await conn.fetchval(
        "INSERT INTO cases (id, federation_id, tenant_id, case_no, worker_id, member_id,"
        " is_member, contact, partner_id, category, description, tags, tier, channel, place,"
        " status, route_details, created_by, created_at, updated_at) VALUES (gen_random_uuid(),"
        " $1, $2, 'seed-1', $3, $4, true, '{}', $5, 'commission', '述', '{}', 'general', 'app',"
        " '{}', 'assigned', '{}', 'test', now(), now()) RETURNING id", hq, region, w, m, partner)
    await conn.execute(
        "INSERT INTO case_events (id, federation_id, tenant_id, case_id, kind, at, actor,"
        " details) VALUES (gen_random_uuid(), $1, $2, $3, 'intake', now(), 'test', '{}')",
        hq, region, case)
    await conn.execute(
        "INSERT INTO case_assignments (id, federation_id, tenant_id, case_id, case_tenant_id,"
        " role, seq, unit_partner_id, evidence_required, status, assigned_by, assigned_at)"
        " VALUES (gen_random_uuid(), $1, $2, $3, $2, 'assist', 1, $4, '{}', 'assigned', 'test',"
        " now())",
        hq, region, case, partner)
    await conn.execute(
        "INSERT INTO case_attachments (id, federation_id, tenant_id, case_id, storage_key,"
        " filename, content_type, size_bytes, sha256, uploaded_by, created_at) VALUES"
        " (gen_random_uuid(), $1, $2, $3, 'case-' || gen_random_uuid(), 'a.pdf',"
        " 'application/pdf', 1, 'x', 'test', now())", hq, region, case)
    await conn.execute(
        "INSERT INTO case_followups (id, federation_id, tenant_id, case_id, closing, outcome,"
        " worker_informed, worker_accepts, by, at) VALUES (gen_random_uuid(), $1, $2, $3, 1,"
        " 'resolved', true, true, 'test', now())", hq, region, case)
    await conn.execute(
        "INSERT INTO case_ratings (id, federation_id, tenant_id, case_id, closing, worker_id,"
        " rating, at) VALUES (gen_random_uuid(), $1, $2, $3, 1, $4, 'satisfied', now())",
        hq, region, case, w)
    await conn.execute(
        "INSERT INTO worker_notifications (id, federation_id, tenant_id, worker_id, case_id,"
        " kind, status, case_no, title_zh, title_en, created_by, created_at) VALUES"
        " (gen_random_uuid(), $1, $2, $3, $4, 'case_status', 'assigned', 'seed-1', '诉求',"
        " 'Case', 'test', now())", hq, region, w, case)
    await conn.execute(
        "INSERT INTO case_clocks (id, federation_id, tenant_id, case_id, metric, target_minutes,"
        " policy_version, calendar_version, calendar_tenant_id, started_at, state, deadline,"
        " elapsed_minutes, remaining_minutes, budget_minutes, uncovered_years, derived_at)"
        " VALUES (gen_random_uuid(), $1, $2, $3, 'first_response', 240, 1, 0, $2, now(),"
        " 'running', now() - interval '1 day', 0, 240, 240, '{2026}', now())", hq, region, case)
    # 会员所属工会 (0045): the seeded member's home is now regions[1] (the transfer above), so
    # the trigger gave that region a `home` sight of the case its old region handles. The
    # matrix keeps regions[1] as "the other region" (regional_admin_b reads none of region a's
    # cases): that row is removed here; the home's sight is tested end to end in
    # tests/transfers/test_case_home_sight.py.
    other = fed.ids[fed.regions[1]]
    assert await conn.fetchval("DELETE FROM case_sight WHERE case_id = $1 AND tenant_id = $2"
                               " AND reason = 'home' RETURNING tenant_id", case, other) == other
    # 跟随转会 (0029): the region's own station handled the case before it moved up.
    station = fed.ids[fed.stations[fed.regions[0]][0]]
    await conn.execute(
        "INSERT INTO case_sight (id, federation_id, tenant_id, case_id, transfer_id, moved_at,"
        " moved_by) VALUES (gen_random_uuid(), $1, $2, $3, NULL, now(), 'test')",
        hq, station, case)
    await seed_rectification(conn, fed, case, partner)
    await seed_disputes(conn, fed, case, partner)
    await seed_referrals(conn, fed, case)
    await seed_weekly_review(conn, fed)


async def seed_disputes(conn: asyncpg.Connection, fed: Federation, case, partner) -> None:
    """争议处置 (migration 0030): the seeded case as a dispute addressed to alpha, a request
    the partner fulfilled with a file in a slot, a step, the partner's reply, the referral;
    and (0033) the platform's written reasons for a decision under appeal, a settlement."""
    hq, region = fed.ids[fed.hq], fed.ids[fed.regions[0]]
    dispute = await conn.fetchval(
        "INSERT INTO case_disputes (id, federation_id, tenant_id, case_id, case_no, kind,"
        " partner_id, statement, step, opened_by, opened_at, updated_at) VALUES"
        " (gen_random_uuid(), $1, $2, $3, 'seed-1', 'unpaid_pay', $4, '请结清', 'handover',"
        " 'test', now(), now()) RETURNING id", hq, region, case, partner)
    request = await conn.fetchval(
        "INSERT INTO dispute_requests (id, federation_id, tenant_id, dispute_id, slot,"
        " partner_id, due_at, requested_by, requested_at, fulfilled_at, fulfilled_by) VALUES"
        " (gen_random_uuid(), $1, $2, $3, 'attendance', $4, now() + interval '3 days', 'test',"
        " now(), now(), 'partner:seed') RETURNING id", hq, region, dispute, partner)
    attachment = await conn.fetchval(
        "INSERT INTO case_attachments (id, federation_id, tenant_id, case_id, storage_key,"
        " filename, content_type, size_bytes, sha256, uploaded_by, created_at) VALUES"
        " (gen_random_uuid(), $1, $2, $3, 'dispute-' || gen_random_uuid(), 'orders.png',"
        " 'image/png', 1, 'y', 'partner:seed', now()) RETURNING id", hq, region, case)
    await conn.execute(
        "INSERT INTO dispute_evidence (id, federation_id, tenant_id, dispute_id, slot,"
        " attachment_id, sha256, supplier, supplied_by, supplied_at, request_id, linked_by,"
        " linked_at) VALUES (gen_random_uuid(), $1, $2, $3, 'attendance', $4, 'y', 'partner',"
        " 'partner:seed', now(), $5, 'partner:seed', now())",
        hq, region, dispute, attachment, request)
    step = await conn.fetchval(
        "INSERT INTO dispute_steps (id, federation_id, tenant_id, dispute_id, step, at, actor,"
        " reason, details) VALUES (gen_random_uuid(), $1, $2, $3, 'reminder', now(), 'test',"
        " '提示', '{}') RETURNING id", hq, region, dispute)
    await conn.execute(
        "INSERT INTO dispute_replies (id, federation_id, tenant_id, dispute_id, step_id,"
        " partner_id, text, actor, at) VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, '收到',"
        " 'partner:seed', now())", hq, region, dispute, step, partner)
    await conn.execute(
        "INSERT INTO dispute_referrals (id, federation_id, tenant_id, dispute_id, step_id,"
        " to_kind, to_name, sent, by, at) VALUES (gen_random_uuid(), $1, $2, $3, $4,"
        " 'labour_inspection', '劳动监察大队', '[]', 'test', now())", hq, region, dispute, step)
    await conn.execute(
        "INSERT INTO dispute_decisions (id, federation_id, tenant_id, dispute_id, reply_due_at,"
        " reasons, reasons_by, reasons_at) VALUES (gen_random_uuid(), $1, $2, $3,"
        " now() + interval '14 days', '系统判定', 'partner:seed', now())", hq, region, dispute)
    await conn.execute(
        "INSERT INTO dispute_resolutions (id, federation_id, tenant_id, dispute_id, cause, path,"
        " text, terms, followup_node, followup_due_at, followup_tenant_id, by, at) VALUES"
        " (gen_random_uuid(), $1, $2, $3, 'individual', 'settlement', '调解达成和解',"
        " '十日内补发', '回访履约', now() + interval '10 days', $2, 'test', now())",
        hq, region, dispute)


async def seed_referrals(conn: asyncpg.Connection, fed: Federation, case) -> None:
    """调解与法律援助衔接 (migration 0031): a region's provider, the case booked with it and
    handed over to it; (0041) the providers' clients and a receipt."""
    hq, region = fed.ids[fed.hq], fed.ids[fed.regions[0]]
    provider = await conn.fetchval(
        "INSERT INTO referral_providers (id, federation_id, tenant_id, code, kind, name_zh,"
        " name_en, address, lon, lat, serves, opening_hours, slot_minutes, created_by,"
        " created_at, updated_at) VALUES (gen_random_uuid(), $1, $2, 'seed-aid', 'legal_aid',"
        " '法律援助站', 'Legal aid', '某路 1 号', 121.47, 31.19, ARRAY[$2]::uuid[],"
        " '{\"mon\": [[\"09:00\", \"17:00\"]]}', 30, 'test', now(), now()) RETURNING id",
        hq, region)
    booking = await conn.fetchval(
        "INSERT INTO case_referrals (id, federation_id, tenant_id, case_id, provider_id, mode,"
        " status, slot_start, slot_end, created_by, created_at) VALUES (gen_random_uuid(), $1,"
        " $2, $3, $4, 'booking', 'booked', now() + interval '1 day',"
        " now() + interval '1 day 30 minutes', 'test', now()) RETURNING id",
        hq, region, case, provider)
    await conn.execute(
        "INSERT INTO case_referrals (id, federation_id, tenant_id, case_id, provider_id, mode,"
        " status, sent_what, sent_to, sent_at, created_by, created_at) VALUES"
        " (gen_random_uuid(), $1, $2, $3, $4, 'handover', 'handed_over', '登记表', '调解员',"
        " now(), 'test', now())", hq, region, case, provider)
    # 机构端 (0041): a client of that provider, its receipt of the booking (the trigger puts
    # it on the case's timeline), and a second provider of the region with a client and no
    # referral at all.
    other = await conn.fetchval(
        "INSERT INTO referral_providers (id, federation_id, tenant_id, code, kind, name_zh,"
        " name_en, address, lon, lat, serves, opening_hours, created_by, created_at,"
        " updated_at) VALUES (gen_random_uuid(), $1, $2, 'seed-med', 'mediation', '调解组织',"
        " 'Mediation', '某路 2 号', 121.46, 31.18, ARRAY[$2]::uuid[], '{}', 'test', now(),"
        " now()) RETURNING id", hq, region)
    for owner_of, code in ((provider, "seed-aid"), (other, "seed-med")):
        await conn.execute(
            "INSERT INTO referral_provider_clients (id, federation_id, tenant_id, provider_id,"
            " client_id, secret_hash, name, disabled, created_by) VALUES (gen_random_uuid(),"
            " $1, $2, $3, $4, 'x', '客户端', false, 'test')",
            hq, region, owner_of, f"rp-{code}-{fed.hq}")
    await conn.execute(
        "INSERT INTO referral_receipts (id, federation_id, tenant_id, referral_id, case_id,"
        " provider_id, seq, status, recorded_by, recorded_at) VALUES (gen_random_uuid(), $1,"
        " $2, $3, $4, $5, 1, 'received', $6, now())",
        hq, region, booking, case, provider, f"provider:rp-seed-aid-{fed.hq}")


async def seed_weekly_review(conn: asyncpg.Connection, fed: Federation) -> None:
    """周研判 (migration 0032): a signal of the first region placed at its first station, judged."""
    hq, region = fed.ids[fed.hq], fed.ids[fed.regions[0]]
    station_code = fed.stations[fed.regions[0]][0]
    await conn.execute(
        "INSERT INTO review_signals (id, federation_id, tenant_id, week, kind, dimension, place,"
        " place_tenant_id, detail, value, baseline, spread, threshold, why_zh, why_en,"
        " computed_at, judgement, action, follow_up_node, follow_up_due, judged_by, judged_at)"
        " VALUES (gen_random_uuid(), $1, $2, '2026-W49', 'cases', 'station', $3, $4, '', 15,"
        " 3.0, 1.0, 6.0, '诉求量激增', 'cases spiked', now(), 'execution_deviation', '约谈站长',"
        " '复核', '2026-12-21', 'test', now())", hq, region, station_code, fed.ids[station_code])


async def seed_rectification(conn: asyncpg.Connection, fed: Federation, case, partner) -> None:
    """季度整改清单 (migrations 0019, 0026): an item owned by a partner, its linked case, a
    step; and one owned by the station officer's station with its owner's report."""
    hq, region = fed.ids[fed.hq], fed.ids[fed.regions[0]]
    station = fed.ids[fed.stations[fed.regions[0]][0]]
    owned = await conn.fetchval(
        "INSERT INTO rectification_items (id, federation_id, tenant_id, quarter, category,"
        " dimension, place, owner_tenant_id, problem, measure, next_node, next_due_on, status,"
        " created_by, created_at, updated_at) VALUES (gen_random_uuid(), $1, $2, '2026Q4',"
        " 'wage_arrears', 'tenant', 'station', $3, '欠薪', '约谈', '台账', '2027-01-15',"
        " 'in_progress', 'test', now(), now()) RETURNING id", hq, region, station)
    await conn.execute(
        "INSERT INTO rectification_steps (id, federation_id, tenant_id, item_id, kind, at, actor,"
        " note, details) VALUES (gen_random_uuid(), $1, $2, $3, 'owner_report', now(), 'test',"
        " '已约谈', '{}')", hq, region, owned)
    item = await conn.fetchval(
        "INSERT INTO rectification_items (id, federation_id, tenant_id, quarter, category,"
        " dimension, place, owner_partner_id, problem, measure, next_node, next_due_on, status,"
        " created_by, created_at, updated_at) VALUES (gen_random_uuid(), $1, $2, '2026Q4',"
        " 'commission', 'partner', 'alpha', $3, '抽成', '复核', '约谈', '2027-01-15', 'open',"
        " 'test', now(), now()) RETURNING id", hq, region, partner)
    await conn.execute(
        "INSERT INTO rectification_item_cases (federation_id, tenant_id, item_id, case_id,"
        " linked_by, linked_at) VALUES ($1, $2, $3, $4, 'test', now())", hq, region, item, case)
    await conn.execute(
        "INSERT INTO rectification_steps (id, federation_id, tenant_id, item_id, kind, at, actor,"
        " details) VALUES (gen_random_uuid(), $1, $2, $3, 'created', now(), 'test', '{}')",
        hq, region, item)


async def seed_platform_rules(conn: asyncpg.Connection, fed: Federation) -> None:
    """劳动规则与算法公示 (migration 0042): alpha's rule filed at the federation, its first
    version and a notified change with its consultation item (recorded by region 0's staff:
    on its board, so the board's own cells stay as they are)."""
    hq, region = fed.ids[fed.hq], fed.ids[fed.regions[0]]
    partner = await conn.fetchval(
        "SELECT id FROM platform_partners WHERE tenant_id = $1 AND code = 'alpha'", hq)
    rule = await conn.fetchval(
        "INSERT INTO platform_rules (id, federation_id, tenant_id, partner_id, category, code,"
        " title_zh, created_by, created_at) VALUES (gen_random_uuid(), $1, $1, $2,"
        " 'working_time_rest', 'seed-rest', '连续接单', 'partner:seed', now()) RETURNING id",
        hq, partner)
    item = await conn.fetchval(
        "INSERT INTO agenda_items (id, federation_id, tenant_id, partner_id, topic, title, summary,"
        " details, status, support_count, support_threshold, created_by, created_at, updated_at)"
        " VALUES (gen_random_uuid(), $1, $2, $3, 'rest', '规则变更', '征求意见', '{}', 'on_agenda',"
        " 0, 5, 'test', now(), now()) RETURNING id", hq, region, partner)
    for version, item_id in ((1, None), (2, item)):
        await conn.execute(
            "INSERT INTO platform_rule_versions (id, federation_id, tenant_id, rule_id,"
            " partner_id, version, effective_from, text_zh, parameters, reason, source, topics,"
            " notified_on, short_notice, consultation_item_id, filed_by, filed_at) VALUES"
            " (gen_random_uuid(), $1, $1, $2, $3, $4, current_date + ($4 * 30 - 30),"
            " '连续 4 小时提示休息', '{\"max_continuous_order_minutes\": 240}',"
            " CASE WHEN $4 > 1 THEN '调整' END, 'partner_api', '{}', current_date, false, $5,"
            " 'partner:seed', now())", hq, rule, partner, version, item_id)


async def seed_contracts(conn: asyncpg.Connection, fed: Federation) -> None:
    """协议条款: an HQ template, and region 0's agreement with alpha in force (one version, one
    clause, published) — the member's platform is alpha, so the worker sees it."""
    hq, region = fed.ids[fed.hq], fed.ids[fed.regions[0]]
    partner = await conn.fetchval(
        "SELECT id FROM platform_partners WHERE tenant_id = $1 AND code = 'alpha'", hq)
    template = await conn.fetchval(
        "INSERT INTO clause_templates (id, federation_id, tenant_id, code, kind, title_zh,"
        " title_en, text, parameters, evidence_schema, condition, revision, created_by,"
        " created_at, updated_at) VALUES (gen_random_uuid(), $1, $1, 'seed.funding', 'union',"
        " '经费列支', 'Funding', '按 ${rate_pct}% 列支',"
        " '[{\"name\": \"rate_pct\", \"type\": \"double\", \"label_zh\": \"比例\","
        " \"label_en\": \"Rate\"}]', '{\"paid_rate_pct\": \"double\"}',"
        " 'paid_rate_pct >= params.rate_pct', 1, 'test', now(), now()) RETURNING id", hq)
    agreement = await conn.fetchval(
        "INSERT INTO agreements (id, federation_id, tenant_id, partner_id, code, title, kind,"
        " status, latest_version, in_force_version, created_by, created_at, updated_at) VALUES"
        " (gen_random_uuid(), $1, $2, $3, 'seed-franchise', '加盟协议', 'franchise', 'in_force',"
        " 1, 1, 'test', now(), now()) RETURNING id", hq, region, partner)
    version = await conn.fetchval(
        "INSERT INTO agreement_versions (id, federation_id, tenant_id, partner_id, agreement_id,"
        " number, status, starts_on, ends_on, renewal, parties, in_force_at, in_force_by,"
        " created_by, created_at, updated_at) VALUES (gen_random_uuid(), $1, $2, $3, $4, 1,"
        " 'in_force', current_date, current_date + 365, 'manual', '[]', now(), 'test', 'test',"
        " now(), now()) RETURNING id", hq, region, partner, agreement)
    clause = await conn.fetchval(
        "INSERT INTO agreement_clauses (id, federation_id, tenant_id, partner_id, agreement_id,"
        " version_id, version_number, clause_key, position, status, template_id, template_code,"
        " template_revision, title_zh, title_en, text, parameters, missing_parameters,"
        " evidence_schema, condition, condition_reads, origin, document, document_sha256,"
        " document_kid, signed_at, created_by, created_at, updated_at) VALUES"
        " (gen_random_uuid(), $1, $2, $3, $4, $5, 1, 'seed.funding', 0, 'in_force', $6,"
        " 'seed.funding', 1, '经费列支', 'Funding', '按 2% 列支', '{\"rate_pct\": 2.0}', '[]',"
        " '{\"paid_rate_pct\": \"double\"}', 'paid_rate_pct >= params.rate_pct',"
        " '[\"paid_rate_pct\", \"params.rate_pct\"]', 'manual', 'seed.seed.seed', 'seed',"
        " 'seed', now(), 'test', now(), now()) RETURNING id", hq, region, partner, agreement,
        version, template)
    # 核验节点 (0049): a checkpoint of that clause, alpha's evidence for it, and one signature
    checkpoint = await conn.fetchval(
        "INSERT INTO clause_checkpoints (id, federation_id, tenant_id, partner_id, agreement_id,"
        " clause_id, version_number, period, due_on, evidence_due_at, created_by, created_at)"
        " VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, 1, 'once', current_date, now(), 'test',"
        " now()) RETURNING id", hq, region, partner, agreement, clause)
    evidence = await conn.fetchval(
        "INSERT INTO checkpoint_evidence (id, federation_id, tenant_id, partner_id,"
        " checkpoint_id, clause_id, evidence, evidence_sha256, condition, condition_version,"
        " parameters, read, result, error, breach, evaluated_at, submitted_by) VALUES"
        " (gen_random_uuid(), $1, $2, $3, $4, $5, '{\"paid_rate_pct\": 2.5}', repeat('a', 64),"
        " 'paid_rate_pct >= params.rate_pct', 'seed', '{\"rate_pct\": 2.0}',"
        " '{\"paid_rate_pct\": 2.5}', true, null, false, now(), 'partner:seed') RETURNING id",
        hq, region, partner, checkpoint, clause)
    await conn.execute(
        "INSERT INTO checkpoint_signatures (id, federation_id, tenant_id, partner_id,"
        " checkpoint_id, role, signer, evidence_id, signed_at) VALUES (gen_random_uuid(), $1,"
        " $2, $3, $4, 'union', 'regional_admin:seed', $5, now())", hq, region, partner,
        checkpoint, evidence)
    await conn.execute(
        "INSERT INTO checkpoint_objections (id, federation_id, tenant_id, partner_id,"
        " checkpoint_id, evidence_id, reasons, lodged_by, lodged_at, due_at, status) VALUES"
        " (gen_random_uuid(), $1, $2, $3, $4, $5, '口径有误', 'partner:seed', now(),"
        " now() + interval '10 days', 'pending')", hq, region, partner, checkpoint, evidence)
    # 核验材料附件 (0051): a file alpha attached to that checkpoint's evidence
    await conn.execute(
        "INSERT INTO checkpoint_evidence_files (id, federation_id, tenant_id, partner_id,"
        " checkpoint_id, storage_key, filename, content_type, size_bytes, sha256, uploaded_by,"
        " created_at) VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, 'receipt.png',"
        " 'image/png', 10, repeat('b', 64), 'partner:seed', now())",
        hq, region, partner, checkpoint, f"seed-cp-{checkpoint}")


async def seed_assistance(conn: asyncpg.Connection, fed: Federation, member) -> None:
    """帮扶台账 (migration 0053): the federation's policy, a case of the seeded member handled
    by region 0 (granted), its sealed details, region 0's budget line, the grant and the
    member's yearly total (at the federation)."""
    hq, region = fed.ids[fed.hq], fed.ids[fed.regions[0]]
    await conn.execute(
        "INSERT INTO assistance_policies (id, federation_id, tenant_id, yearly_cap_fen,"
        " urgent_step_hours, ordinary_step_days, retention_days, updated_by, updated_at)"
        " VALUES (gen_random_uuid(), $1, $1, 500000, 24, 5, 730, 'test', now())", hq)
    case = await conn.fetchval(
        "INSERT INTO assistance_cases (id, federation_id, tenant_id, member_id, worker_id, kind,"
        " urgent, step, source, summary, opened_by, accepted_by, verified_by, approved_fen,"
        " granted_fen, created_at, updated_at) VALUES (gen_random_uuid(), $1, $2, $3, $4,"
        " 'illness', true, 'granted', 'app', '大病', 'test', 'a', 'b', 100000, 100000, now(),"
        " now()) RETURNING id", hq, region, uuid.UUID(member.member_id),
        uuid.UUID(member.worker_id))
    await conn.execute(
        "INSERT INTO assistance_details (id, federation_id, tenant_id, case_id, sealed, fields,"
        " created_by, created_at) VALUES (gen_random_uuid(), $1, $2, $3, '\\x00', '{diagnosis}',"
        " 'test', now())", hq, region, case)
    line = await conn.fetchval(
        "INSERT INTO assistance_budget_lines (id, federation_id, tenant_id, year, code, name_zh,"
        " allocated_fen, used_fen, created_by, created_at) VALUES (gen_random_uuid(), $1, $2,"
        " 2026, 'seed-fund', '帮扶资金', 1000000, 100000, 'test', now()) RETURNING id", hq, region)
    await conn.execute(
        "INSERT INTO assistance_grants (id, federation_id, tenant_id, case_id, member_id,"
        " budget_line_id, year, amount_fen, granted_by, granted_at) VALUES (gen_random_uuid(),"
        " $1, $2, $3, $4, $5, 2026, 100000, 'test', now())", hq, region, case,
        uuid.UUID(member.member_id), line)
    await conn.execute(
        "INSERT INTO assistance_member_totals (id, federation_id, tenant_id, member_id, year,"
        " total_fen) VALUES (gen_random_uuid(), $1, $1, $2, 2026, 100000)", hq,
        uuid.UUID(member.member_id))


async def seed_service_groups(conn: asyncpg.Connection, fed: Federation, member) -> None:
    """分层分类 (0054): alpha's shift event about the member (homed in region 1 after the
    move) and its work signal, a heat warning region 0 loaded, the HQ's group rules, and the
    member's groups — `women` and `hardship` (read by the home region's staff only)."""
    hq, region0 = fed.ids[fed.hq], fed.ids[fed.regions[0]]
    partner = await conn.fetchval(
        "SELECT id FROM platform_partners WHERE tenant_id = $1 AND code = 'alpha'", hq)
    home = await conn.fetchval("SELECT tenant_id FROM members WHERE id = $1",
                               uuid.UUID(member.member_id))
    region = await conn.fetchval(
        "SELECT CASE WHEN kind = 'regional' THEN id ELSE parent_id END FROM tenants"
        " WHERE id = $1", home)
    event = await conn.fetchval(
        "INSERT INTO platform_events (id, federation_id, tenant_id, partner_id, event_id, kind,"
        " rider_id, member_id, occurred_at, payload, received_by, received_at) VALUES"
        " (gen_random_uuid(), $1, $2, $3, 'seed-shift', 'shift_worked', 'A-1001', $4, now(),"
        " '{\"hours\": 8}', 'partner:seed', now()) RETURNING id",
        hq, home, partner, uuid.UUID(member.member_id))
    await conn.execute(
        "INSERT INTO work_signals (id, federation_id, tenant_id, member_id, partner_id,"
        " event_ref, day, hours, night_hours, heat_hours, zone_code) VALUES"
        " (gen_random_uuid(), $1, $2, $3, $4, $5, current_date, 8, 2, 1, 'seed')",
        hq, home, uuid.UUID(member.member_id), partner, event)
    await conn.execute(
        "INSERT INTO weather_warnings (id, federation_id, tenant_id, source_ref, kind, level,"
        " title_zh, area_codes, valid_from, valid_to, loaded_by, loaded_at) VALUES"
        " (gen_random_uuid(), $1, $2, 'seed-heat', 'heat', 'orange', '高温橙色预警',"
        " '{seed}', now(), now() + interval '1 day', 'regional_admin:seed', now())", hq, region0)
    await conn.execute(
        "INSERT INTO service_group_rules (id, federation_id, tenant_id, code, name_zh, name_en,"
        " parameters, offers, revision, updated_at) VALUES (gen_random_uuid(), $1, $1,"
        " 'women', '女骑手/女司机', 'Women', '{}', '{women-workers}', 1, now()),"
        " (gen_random_uuid(), $1, $1, 'hardship', '困难会员', 'Hardship', '{}',"
        " '{winter-warm}', 1, now())", hq)
    for code, why in (("women", '{"sex": "F"}'), ("hardship", '{"sources": ["seed"]}')):
        await conn.execute(
            "INSERT INTO member_groups (id, federation_id, tenant_id, region_id, member_id,"
            " group_code, since, why, updated_by) VALUES (gen_random_uuid(), $1, $2, $3, $4,"
            " $5, now(), $6, 'system:jobs:service-groups')",
            hq, home, region, uuid.UUID(member.member_id), code, why)


async def seed_service_triggers(conn: asyncpg.Connection, fed: Federation, member) -> None:
    """系统衔接 triggers (0055): HQ's and region 0's rule sets; an offer to the member (homed in
    region 1) with its inbox row, a station notice at region 0's first station, and alpha's
    invitation for an unmatched rider (at the federation, for alpha to relay)."""
    hq, region0 = fed.ids[fed.hq], fed.ids[fed.regions[0]]
    station = fed.ids[fed.stations[fed.regions[0]][0]]
    for tenant in (hq, region0):
        await conn.execute(
            "INSERT INTO service_trigger_rules (id, federation_id, tenant_id, version,"
            " effective_from, rules, created_by, created_at) VALUES (gen_random_uuid(), $1, $2,"
            " 1, '2026-01-01', '[]', 'seed', now())", hq, tenant)
    partner = await conn.fetchval(
        "SELECT id FROM platform_partners WHERE tenant_id = $1 AND code = 'alpha'", hq)
    home = await conn.fetchval("SELECT tenant_id FROM members WHERE id = $1",
                               uuid.UUID(member.member_id))
    event = await conn.fetchval(
        "SELECT id FROM platform_events WHERE federation_id = $1 AND event_id = 'seed-shift'", hq)
    common = ("INSERT INTO trigger_actions (id, federation_id, tenant_id, source, source_id,"
              " rule_code, rule_unit, rule_version, action, target, member_id, worker_id,"
              " partner_id, rider_id, station_id, service_code, delivery, title_zh, title_en,"
              " created_by, created_at) VALUES (gen_random_uuid(), $1, $2, $3, $4, 'seed', $1, 1,"
              " $5, $6, $7, $8, $9, $10, $11, $12, $13, '种子', 'seed', 'seed', now())"
              " RETURNING id")
    offer = await conn.fetchval(
        common, hq, home, "platform_event", event, "offer_service",
        f"member:{member.member_id}", uuid.UUID(member.member_id), uuid.UUID(member.worker_id),
        None, None, None, "health-check", "inbox")
    await conn.fetchval(common, hq, station, "weather_warning", uuid.uuid4(), "station_notice",
                        f"station:{station}", None, None, None, None, station, None, "station")
    await conn.fetchval(common, hq, hq, "platform_event", uuid.uuid4(), "invite_join",
                        "rider:seed-9", None, None, partner, "seed-9", None, None,
                        "partner_relay")
    await conn.execute(
        "INSERT INTO worker_notifications (id, federation_id, tenant_id, worker_id,"
        " trigger_action_id, kind, status, case_no, title_zh, title_en, sms, created_by,"
        " created_at) VALUES (gen_random_uuid(), $1, $2, $3, $4, 'service_offer', 'sent',"
        " 'health-check', '体检', 'Health check', 'none', 'seed', now())",
        hq, home, uuid.UUID(member.worker_id), offer)


async def seed_calendar(conn: asyncpg.Connection, fed: Federation) -> None:
    """A version by the HQ with its hours and a holiday, one by a region with a local day."""
    hq, region = fed.ids[fed.hq], fed.ids[fed.regions[0]]
    for version, tenant in ((1, hq), (2, region)):
        await conn.execute(
            "INSERT INTO calendar_versions (id, federation_id, tenant_id, version, change, actor)"
            " VALUES (gen_random_uuid(), $1, $2, $3, 'seed', 'seed')", hq, tenant, version)
        await conn.execute(
            "INSERT INTO calendar_days (id, federation_id, tenant_id, version, day, kind,"
            " name_zh, name_en) VALUES (gen_random_uuid(), $1, $2, $3, '2026-10-01', 'holiday',"
            " '国庆节', 'National Day')", hq, tenant, version)
    await conn.execute(
        "INSERT INTO calendar_settings (id, federation_id, tenant_id, version, weekly_hours,"
        " makeup_day_hours, covered_years) VALUES (gen_random_uuid(), $1, $1, 1,"
        " '{\"mon\": [\"09:00-12:00\"]}', '[]', '{2026}')", hq)


async def seed_services(conn: asyncpg.Connection, fed: Federation, member: Joined) -> None:
    """一个入口 (0052): an HQ catalogue entry with an event of region 0, the member's
    application reviewed by region 0 with one material, and its decision in the inbox."""
    hq, region = fed.ids[fed.hq], fed.ids[fed.regions[0]]
    entry = await conn.fetchval(
        "INSERT INTO service_catalogue (id, federation_id, tenant_id, code, kind, title_zh,"
        " title_en, summary_zh, eligibility, materials, reviewing_unit, time_limit_days,"
        " apply_links, active, revision, created_by, created_at, updated_at) VALUES"
        " (gen_random_uuid(), $1, $1, 'events', 'events', '文体活动', 'Events', '',"
        " '{\"who\": \"any_member\"}', '[{\"code\": \"form\", \"label_zh\": \"表\","
        " \"label_en\": \"Form\", \"required\": true}]', 'region', 5, '{}', true, 1, 'test',"
        " now(), now()) RETURNING id", hq)
    event = await conn.fetchval(
        "INSERT INTO service_events (id, federation_id, tenant_id, service_id, title_zh,"
        " title_en, place, starts_on, places, taken, created_by, created_at) VALUES"
        " (gen_random_uuid(), $1, $2, $3, '篮球赛', 'Basketball', '体育馆', current_date, 10, 1,"
        " 'test', now()) RETURNING id", hq, region, entry)
    application = await conn.fetchval(
        "INSERT INTO service_applications (id, federation_id, tenant_id, number, service_id,"
        " event_id, worker_id, member_id, channel, filed_at, filed_by, status, requested,"
        " clock_started_at, deadline_at, created_at, updated_at) VALUES (gen_random_uuid(),"
        " $1, $2, 'FW-SEED', $3, $4, $5, $6, 'app', NULL, 'test', 'returned', '[\"form\"]',"
        " now(), now() + interval '5 days', now(), now()) RETURNING id", hq, region, entry,
        event, uuid.UUID(member.worker_id), uuid.UUID(member.member_id))
    await conn.execute(
        "INSERT INTO service_materials (id, federation_id, tenant_id, application_id, material,"
        " storage_key, filename, content_type, size_bytes, sha256, uploaded_by, created_at)"
        " VALUES (gen_random_uuid(), $1, $2, $3, 'form', 'svc-' || gen_random_uuid(), 'f.pdf',"
        " 'application/pdf', 1, 'x', 'test', now())", hq, region, application)
    await conn.execute(
        "INSERT INTO worker_notifications (id, federation_id, tenant_id, worker_id,"
        " application_id, kind, status, case_no, title_zh, title_en, sms, created_by,"
        " created_at) VALUES (gen_random_uuid(), $1, $2, $3, $4, 'service_application',"
        " 'returned', 'FW-SEED', '补件', 'More materials', 'none', 'test', now())",
        hq, region, uuid.UUID(member.worker_id), application)


async def seed_every_table(client: httpx.AsyncClient, owner: Any, sms: Any,
                           federation: Federation, owner_conn: asyncpg.Connection,
                           staff_token: Any) -> Seeded:
    """Put rows of `federation` into every tenant table (asserted)."""
    async with owner() as s, s.begin():
        await create_admin(s, tenant_code=federation.regions[0], username=f"{federation.hq}-adm",
                           role="regional_admin", display_name="x", password="pw-123456",
                           oidc_issuer=None, oidc_subject=None)
        await create_partner_client(s, tenant_code=federation.hq, partner_code="alpha", name="x")
    hq = await staff_token(federation, "hq_admin", federation.hq)
    member = await join(client, sms, federation, federation.stations[federation.regions[0]][0],
                        approver_token=hq)
    # A real transfer to another region: the transfers row, the new home and (on acceptance)
    # the member.transferred row in domain_events.
    moved = await client.post("/v1/me/transfers", json={"to": federation.regions[1]},
                              headers=bearer(member.token) | {"Idempotency-Key": "seed-move"})
    assert moved.status_code == 201, moved.text
    for step in ("release", "accept"):
        r = await client.post(f"/v1/admin/transfers/{moved.json()['id']}/{step}",
                              headers=bearer(hq))
        assert r.status_code == 200, r.text
    token, worker_id = await worker_login(client, sms, federation.hq)
    r = await client.post("/v1/me/consents", headers=bearer(token) | {"Idempotency-Key": "seed-1"},
                          json={"purpose": "privacy_policy", "version": "2026-11", "granted": True})
    assert r.status_code == 201, r.text
    await seed_geo(owner_conn, federation, member)
    await seed_bargaining(owner_conn, federation, member)
    await seed_cases(owner_conn, federation, member)
    await seed_calendar(owner_conn, federation)
    await seed_platform_rules(owner_conn, federation)
    await seed_contracts(owner_conn, federation)
    await seed_services(owner_conn, federation, member)
    await seed_service_groups(owner_conn, federation, member)
    await seed_service_triggers(owner_conn, federation, member)
    await seed_assistance(owner_conn, federation, member)
    # A console session, by the real sign-in form.
    async with httpx.AsyncClient(base_url=str(client.base_url)) as browser:
        signed = await sign_in(browser, f"{federation.hq}-adm", "pw-123456")
        assert signed.status_code == 303, signed.text


    fed_ids = [str(i) for i in federation.ids.values()]
    tables = await tenant_tables(owner_conn)
    for table in tables:
        seeded = await owner_conn.fetchval(
            f'SELECT count(*) FROM "{table}" WHERE {where_mine(table)}', fed_ids, worker_id)
        assert seeded > 0, f"seed {table} in tests/security/seeds.py"
    return Seeded(member, worker_id, f"{federation.hq}-adm", "pw-123456", fed_ids, tables)
