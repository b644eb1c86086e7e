"""Who sees what inside ONE federation: every tenant table × every kind of principal.

tests/security/seeds.py puts rows of a federation into every tenant table. This test opens
app-role transactions with the scope each audience's requests really get (core/context.py
`Caller.db_scope`, auth/*/service.py, cases/suggestions/service.py, jobs/service.py) and
records, per table, whether any of the federation's rows is visible — no WHERE clause
narrowing by role.
The result must equal `audiences.EXPECTED`, so a new table, or a policy that widens sight,
fails here until someone writes the new cell down (with its reason, for partners and workers).
It also tries the writes a partner must never make (UPDATE/DELETE/INSERT where the app role
holds the grant): each must touch no row or be refused by a policy.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from flexunion.auth.partners.service import create_partner_client
from flexunion.config import Settings
from flexunion.db.urls import to_asyncpg
from tests.security.audiences import AUDIENCES, EXPECTED, PEOPLE_AUDIENCES
from tests.security.seeds import Seeded, seed_every_table, where_mine
from tests.support.factories import Federation, bearer, join

PICKUP_HASH = "f" * 64


@pytest.fixture
async def owner_conn(settings: Settings):
    assert settings.database_url
    conn = await asyncpg.connect(to_asyncpg(settings.database_url))
    yield conn
    await conn.close()


async def scopes(owner: Any, conn: asyncpg.Connection, fed: Federation,
                 seeded: Seeded) -> dict[str, tuple[str, str]]:
    """Each audience's (flexunion.tenant_id, flexunion.principal), as the app sets them."""
    hq, region_a, region_b = fed.ids[fed.hq], fed.ids[fed.regions[0]], fed.ids[fed.regions[1]]
    station = fed.ids[fed.stations[fed.regions[0]][0]]
    clients = {}
    async with owner() as s, s.begin():
        for name, tenant, partner in (("partner_hq", fed.hq, "alpha"),
                                      ("partner_region", fed.regions[0], "alpha"),
                                      ("partner_other_hq", fed.hq, "beta")):
            clients[name], _ = await create_partner_client(s, tenant_code=tenant,
                                                           partner_code=partner, name=name)
    admin = await conn.fetchval("SELECT id FROM admin_accounts WHERE username = $1",
                                seeded.admin_username)
    other = uuid.uuid4()
    found = {
        "anonymous": ("", "anonymous"),
        "worker": ("", f"worker:{seeded.member.worker_id}"),
        "worker_nonmember": ("", f"worker:{seeded.worker_id}"),
        "pickup": ("", f"pickup:{PICKUP_HASH}"),
        "login_admin": ("", f"login:admin:{seeded.admin_username}"),
        "partner_hq": (str(hq), f"partner:{clients['partner_hq']}"),
        "partner_region": (str(region_a), f"partner:{clients['partner_region']}"),
        "partner_other_hq": (str(hq), f"partner:{clients['partner_other_hq']}"),
        "hq_admin": (str(hq), f"hq_admin:{other}"),
        "regional_admin_a": (str(region_a), f"regional_admin:{admin}"),
        "regional_admin_b": (str(region_b), f"regional_admin:{other}"),
        "station_officer": (str(station), f"station_officer:{other}"),
        "hotline_operator": (str(region_a), f"hotline_operator:{other}"),
        "system_jobs": (str(hq), "system:jobs:close-ballots"),
        "system_sla_sweep": (str(hq), "system:jobs:sla-sweep"),  # reads cases (0020)
        # moves cases with a transfer: the outbox's member.transferred rows, cases (0029)
        "system_case_follow": (str(hq), "system:jobs:case-follow-transfer"),
        # 周研判: its own review_signals; counts only through a function (0032)
        "system_weekly_review": (str(hq), "system:jobs:weekly-review"),
        # 流动议事: writes its grants; reads the evidence only through a function (0037)
        "system_participation": (str(hq), "system:jobs:participation"),
        # 违约立案: reads checkpoints, evidence, clauses; only the cases it opens (0050)
        "system_contracts_breach": (str(hq), "system:jobs:contracts-breach"),
        # 机构端 (0041): the seeded legal-aid station's client (the case was referred to it),
        # another provider's client (nothing referred to it), and the first one's principal
        # with the HQ set as tenant — the scope a provider never gets (core/context.py), to
        # show that no tenant arm lets the kind through even then.
        "provider": ("", f"provider:rp-seed-aid-{fed.hq}"),
        "provider_other": ("", f"provider:rp-seed-med-{fed.hq}"),
        "provider_hq_scope": (str(hq), f"provider:rp-seed-aid-{fed.hq}"),
    }
    assert set(found) == set(AUDIENCES)
    return found


async def seed_suggestion(conn: asyncpg.Connection, fed: Federation) -> None:
    """An anonymous QR suggestion at a station of region A, followed by its pick-up code."""
    station = fed.ids[fed.stations[fed.regions[0]][0]]
    await conn.execute(
        "INSERT INTO cases (id, federation_id, tenant_id, case_no, is_member, contact,"
        " category, description, tags, tier, channel, place, status, route_details,"
        " pickup_hash, created_by, created_at, updated_at) VALUES (gen_random_uuid(), $1, $2,"
        " 'seed-qr', false, '{}', 'commission', '述', '{}', 'general', 'qr_suggestion', '{}',"
        " 'received', '{}', $3, 'anonymous', now(), now())",
        fed.ids[fed.hq], station, PICKUP_HASH)


async def as_app(app: asyncpg.Connection, tenant: str, principal: str) -> None:
    await app.execute("SELECT set_config('flexunion.tenant_id', $1, true),"
                      " set_config('flexunion.principal', $2, true)", tenant, principal)


def differences(seen: dict[str, set[str]]) -> list[str]:
    out = []
    for table in sorted(set(seen) | set(EXPECTED)):
        want = set(EXPECTED.get(table, {}))
        got = seen.get(table, set())
        for audience in sorted(got - want):
            out.append(f"{table}: {audience} SEES rows it is not expected to")
        for audience in sorted(want - got):
            out.append(f"{table}: {audience} sees nothing, expected to see rows")
    return out


async def test_each_audience_sees_exactly_the_expected_tables(
    client: httpx.AsyncClient, owner, sms, federation: Federation, settings: Settings,
    owner_conn: asyncpg.Connection, staff_token,
) -> None:
    seeded = await seed_every_table(client, owner, sms, federation, owner_conn, staff_token)
    await seed_suggestion(owner_conn, federation)
    audiences = await scopes(owner, owner_conn, federation, seeded)
    readable = [t for t in seeded.tables if await owner_conn.fetchval(
        "SELECT has_table_privilege($1, $2, 'SELECT')", settings.app_role, t)]
    assert set(EXPECTED) <= set(readable), "EXPECTED names a table the app role cannot read"
    seen: dict[str, set[str]] = {}
    app = await asyncpg.connect(to_asyncpg(settings.app_database_url or ""))
    try:
        for table in readable:
            seen[table] = set()
            for name, (tenant, principal) in audiences.items():
                async with app.transaction():
                    await as_app(app, tenant, principal)
                    if await app.fetchval(
                            f'SELECT EXISTS (SELECT 1 FROM "{table}" WHERE {where_mine(table)})',
                            seeded.fed_ids, seeded.worker_id):
                        seen[table].add(name)
            if not seen[table]:
                del seen[table]
    finally:
        await app.close()
    assert differences(seen) == [], "\n".join(differences(seen))


def test_every_visible_partner_or_worker_cell_states_its_reason() -> None:
    for table, cells in EXPECTED.items():
        assert set(cells) <= set(AUDIENCES), table
        for audience, reason in cells.items():
            if audience in PEOPLE_AUDIENCES:
                assert reason.strip(), f"{table} × {audience}: say why it may see rows"


def test_the_comparison_catches_a_widened_policy() -> None:
    """The matrix is not vacuous: one extra cell, or one missing, is reported."""
    seen = {table: set(cells) for table, cells in EXPECTED.items()}
    assert differences(seen) == [], "\n".join(differences(seen))
    seen.setdefault("members", set()).add("partner_hq")
    seen["tenants"].discard("hq_admin")
    assert differences(seen) == ["members: partner_hq SEES rows it is not expected to",
                                 "tenants: hq_admin sees nothing, expected to see rows"]


# Tables whose rows a partner must not change: UPDATE (of a column the app role may update)
# and DELETE (where the app role holds the grant) must touch no row.
PARTNER_MAY_NOT_UPDATE = (
    "members", "member_homes", "transfers", "worker_accounts", "admin_accounts",
    "partner_clients", "tenants", "service_areas", "service_points", "station_duties",
    "station_supplies", "station_checks", "cases", "case_policies", "console_sessions",
    "idempotency_keys", "worker_notifications", "agenda_items", "ballots",
    "agreements", "agreement_versions", "agreement_clauses", "clause_templates",
)
# ... except its own rows there, with the reason.
PARTNER_OWN_ROWS = {
    "partner_clients": ("'partner:' || client_id <> flexunion_principal()",
                        "its own client: last_used_at is stamped at each token"),
}
PARTNER_MAY_NOT_DELETE = ("service_areas", "station_duties", "location_checkins",
                          "agenda_supports", "agreement_clauses")
# Rows a partner must not create (or an item it must not close): refused by a policy
# ($1 its tenant, $2 the HQ).
PARTNER_MAY_NOT_INSERT = (
    # 协议条款 (0047): a partner reads its own clauses, never writes one (the seeded clause is
    # its own, so this reaches the policy)
    "INSERT INTO agreement_clauses (id, federation_id, tenant_id, partner_id, agreement_id,"
    " version_id, version_number, clause_key, position, status, title_zh, title_en, text,"
    " parameters, missing_parameters, condition_reads, origin, created_by, created_at,"
    " updated_at) SELECT gen_random_uuid(), federation_id, tenant_id, partner_id, agreement_id,"
    " version_id, version_number, 'intruder', 9, 'draft', 'x', 'x', 'x', '{}', '[]', '[]',"
    " 'manual', 'x', now(), now() FROM agreement_clauses"
    " WHERE $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL",
    # 核验节点 (0049): a partner submits evidence for its own checkpoints, never makes one,
    # and never signs as the union (the seeded checkpoint is its own: these reach the policy)
    "INSERT INTO clause_checkpoints (id, federation_id, tenant_id, partner_id, agreement_id,"
    " clause_id, version_number, period, due_on, evidence_due_at, created_by, created_at)"
    " SELECT gen_random_uuid(), federation_id, tenant_id, partner_id, agreement_id, clause_id,"
    " version_number, 'once', due_on + 1, now(), 'x', now() FROM clause_checkpoints"
    " WHERE $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL",
    "INSERT INTO checkpoint_signatures (id, federation_id, tenant_id, partner_id,"
    " checkpoint_id, role, signer, evidence_id, signed_at) SELECT gen_random_uuid(),"
    " federation_id, tenant_id, partner_id, checkpoint_id, 'platform_hr',"
    " flexunion_principal(), id, now() FROM checkpoint_evidence"
    " WHERE $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL",
    "INSERT INTO admin_accounts (id, tenant_id, username, display_name, role)"
    " VALUES (gen_random_uuid(), $1::uuid, 'intruder', 'x', left('hq_admin' || $2::text, 8))",
    "INSERT INTO service_points (id, federation_id, tenant_id, code, name_zh, name_en, address,"
    " lon, lat, amenities, opening_hours, shift_changes, active) VALUES (gen_random_uuid(),"
    " $2::uuid, $1::uuid, 'intruder', '假', 'Fake', '路', 121.4, 31.1, '{}', '{}', '[]', true)",
    "INSERT INTO census_runs (id, federation_id, tenant_id, requested_by, engine, params,"
    " zones, totals, started_at, finished_at) VALUES (gen_random_uuid(), $2::uuid, $1::uuid,"
    " 'x', 'pandas', '{}', '[]', '{}', now(), now())",
    # on the item it owns, a partner reports (0026) but never closes it: no union step, no
    # 完成 (the seeded item is visible to both partner clients, so these reach the policy)
    "INSERT INTO rectification_steps (id, federation_id, tenant_id, item_id, kind, at, actor,"
    " details) SELECT gen_random_uuid(), federation_id, tenant_id, id, 'done', now(),"
    " flexunion_principal(), '{}' FROM rectification_items"
    " WHERE $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL",
    # (done_at too is refused, by 0043's trigger before the policy: test_rectification_owners)
    "UPDATE rectification_items SET status = 'done'"
    " WHERE $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL",
)


async def partner_writes(conn: asyncpg.Connection, app_role: str) -> list[tuple[str, bool]]:
    """(statement, must be refused) for every write above the app role holds a grant for."""
    out: list[tuple[str, bool]] = []
    for table in PARTNER_MAY_NOT_UPDATE:
        column = await conn.fetchval(
            "SELECT column_name FROM information_schema.column_privileges WHERE grantee = $1"
            " AND table_name = $2 AND privilege_type = 'UPDATE' ORDER BY column_name LIMIT 1",
            app_role, table)
        if column:
            own = PARTNER_OWN_ROWS.get(table)
            out.append((f'UPDATE "{table}" SET "{column}" = "{column}"'
                        + (f" WHERE {own[0]}" if own else ""), False))
    for table in PARTNER_MAY_NOT_DELETE:
        if await conn.fetchval("SELECT has_table_privilege($1, $2, 'DELETE')", app_role, table):
            out.append((f'DELETE FROM "{table}"', False))
    out += [(sql, True) for sql in PARTNER_MAY_NOT_INSERT]
    return out


async def test_a_partner_writes_nothing_it_may_not(
    client: httpx.AsyncClient, owner, sms, federation: Federation, settings: Settings,
    owner_conn: asyncpg.Connection, staff_token,
) -> None:
    """As each partner client (HQ- and region-anchored), every write outside the partner's
    own rows touches nothing or is refused by a policy (not merely by a missing grant)."""
    seeded = await seed_every_table(client, owner, sms, federation, owner_conn, staff_token)
    audiences = await scopes(owner, owner_conn, federation, seeded)
    hq = str(federation.ids[federation.hq])
    writes = await partner_writes(owner_conn, settings.app_role)
    assert len(writes) >= 12, writes
    app = await asyncpg.connect(to_asyncpg(settings.app_database_url or ""))
    try:
        for name in ("partner_hq", "partner_region"):
            tenant, principal = audiences[name]
            for sql, refused in writes:
                tx = app.transaction()
                await tx.start()
                try:
                    await as_app(app, tenant, principal)
                    if refused:
                        with pytest.raises(asyncpg.InsufficientPrivilegeError,
                                           match="row-level security"):
                            await app.execute(sql, tenant, hq)
                    else:
                        status = await app.execute(sql)
                        assert status.split()[-1] == "0", (name, sql, status)
                finally:
                    await tx.rollback()
    finally:
        await app.close()


async def test_a_hotline_operator_reads_the_members_it_links_and_nothing_of_their_homes(
    client: httpx.AsyncClient, owner, sms, federation: Federation, settings: Settings,
    owner_conn: asyncpg.Connection, staff_token,
) -> None:
    """Migration 0027, where the member lives (the matrix's operator sits elsewhere): a 12351
    operator reads the member — a call names its 会员号 and the ledger shows it — but changes
    no member, and reads or writes none of its homes, transfers, accounts or audit trail;
    the union's own staff there still see the homes (the check is not vacuous)."""
    seeded = await seed_every_table(client, owner, sms, federation, owner_conn, staff_token)
    member = uuid.UUID(seeded.member.member_id)
    home = await owner_conn.fetchval("SELECT tenant_id FROM members WHERE id = $1", member)
    column = await owner_conn.fetchval(
        "SELECT column_name FROM information_schema.column_privileges WHERE grantee = $1"
        " AND table_name = 'members' AND privilege_type = 'UPDATE' ORDER BY column_name"
        " LIMIT 1", settings.app_role)
    homes = "SELECT count(*) FROM member_homes WHERE member_id = $1"
    app = await asyncpg.connect(to_asyncpg(settings.app_database_url or ""))
    try:
        async with app.transaction():
            await as_app(app, str(home), f"hotline_operator:{uuid.uuid4()}")
            assert await app.fetchval("SELECT count(*) FROM members WHERE id = $1", member) == 1
            assert await app.fetchval(homes, member) == 0
            for table in ("transfers", "worker_accounts", "worker_consents", "admin_accounts",
                          "audit_events", "domain_events", "station_duties"):
                assert await app.fetchval(
                    f'SELECT count(*) FROM "{table}" WHERE {where_mine(table)}',
                    seeded.fed_ids, seeded.worker_id) == 0, table
            if column:
                status = await app.execute(f'UPDATE members SET "{column}" = "{column}"')
                assert status.split()[-1] == "0"
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
                await app.execute(
                    "INSERT INTO member_homes (id, member_id, federation_id, tenant_id)"
                    " SELECT gen_random_uuid(), id, federation_id, tenant_id FROM members"
                    " WHERE id = $1", member)
        async with app.transaction():
            await as_app(app, str(home), f"regional_admin:{uuid.uuid4()}")
            assert await app.fetchval(homes, member) >= 1
    finally:
        await app.close()


async def test_a_hotline_call_naming_a_member_number_is_linked_to_the_member(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token,
) -> None:
    """The flow behind the operator's members arm (0027 `hotline_read`): a 12351 call taken
    by an operator of the region names a 会员号; the case is the member's and shows the
    number. An operator of the sibling region does not find that member."""
    r1, r2 = federation.regions
    hq = await staff_token(federation, "hq_admin", federation.hq)
    member = await join(client, sms, federation, federation.stations[r1][0], approver_token=hq)
    number = member.body["member_no"]
    call = {"channel": "hotline", "category": "wage_arrears", "description": "拖欠三个月工资",
            "member_no": number, "contact_phone": "13700002222"}
    operator = await staff_token(federation, "hotline_operator", r1)
    made = await client.post("/v1/cases", headers=bearer(operator), json=call)
    assert made.status_code == 201, made.text
    assert made.json()["worker"]["is_member"] is True
    assert made.json()["worker"]["member_no"] == number
    shown = await client.get(f"/v1/cases/{made.json()['id']}", headers=bearer(operator))
    assert shown.status_code == 200 and shown.json()["worker"]["member_no"] == number
    sibling = await staff_token(federation, "hotline_operator", r2)
    refused = await client.post("/v1/cases", headers=bearer(sibling), json=call)
    assert refused.status_code == 422 and refused.json()["code"] == "unknown_member"
