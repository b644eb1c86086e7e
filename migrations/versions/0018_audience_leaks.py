"""Partners read no staff, worker, audit, outbox, census or other platform's roster row (leaks
closed, found by tests/security/test_audience_matrix.py).

0016 closed the leak for members, member_homes and transfers; the same flaw sat in every policy
whose staff arm compared the row's tenant with `flexunion_tenant_scope()` and nothing else. A
partner token carries its client's tenant as scope, so a partner client anchored at HQ (or at a
region: that region's rows) could read:

- admin_accounts (0001): every staff account — username, role, argon2 hash, OIDC subject —
  and INSERT one (tenant_insert) or UPDATE one where a column grant allows;
- worker_accounts (0001): every worker account of the federation (phone HMAC, ciphertext and
  mask); worker_consents (0001): every worker's consents;
- audit_events (0001): the federation's whole audit trail (payloads name members, cases,
  transfers);
- partner_clients (0001): every machine client of every platform of the federation;
- domain_events (0002): the outbox (`member.transferred` with member ids), and write to it;
- census_runs (0004): headcounts by zone; roster_uploads / roster_entries (0004): every
  platform's rosters (worker refs and positions), not just its own;
- station_duties / station_supplies / station_checks (0004, federation_read): officers'
  names and shifts, supplies, weekly checks;
- and write service areas, stations, duty rosters, supplies, checks (0004) and tenants'
  settings (0002) of its scope.

`flexunion_census_members()` (0004, SECURITY DEFINER) answered a partner principal with every
active member of its scope and their last check-in, RLS or not.

Each of these tenant arms now uses `flexunion_people_scope()` (0016: the tenant scope, or
nothing for a `partner:` principal), and the federation-wide arms of the station tables
`flexunion_people_federation()` (the caller's federation, or NULL for a partner). A partner
keeps its own client row (`client_id` = the principal's: read, and `last_used_at`
stamped) and its own roster uploads
(`partner_id = flexunion_partner()`). Every arm still compares an indexed column with a value
computed once per statement. What a partner still sees is listed, with reasons, in
tests/security/audiences.py.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
PEOPLE = "((SELECT flexunion_people_scope())::uuid[])"
FED = "(SELECT flexunion_federation())"
PEOPLE_FED = "(SELECT flexunion_people_federation())"
OWN_CLIENT = ("(SELECT CASE WHEN flexunion_principal() ~ '^partner:'"
              " THEN substr(flexunion_principal(), 9) END)")
PARTNER = "(SELECT flexunion_partner())"
ADMIN_LOGIN = ("flexunion_principal() = 'login:admin:' || username"
               " OR flexunion_principal() = 'login:oidc:' || oidc_issuer || '|' || oidc_subject")
WORKER_SELF = ("flexunion_principal() = 'worker:' || id::text"
               " OR flexunion_principal() = 'login:otp:' || tenant_id::text || ':' || phone_hash")
STATION_TABLES = ("station_duties", "station_supplies", "station_checks")
GEO_WRITES = {  # table: the write policies 0004 gave it
    "service_areas": ("subtree_insert", "subtree_update", "subtree_delete"),
    "service_points": ("subtree_insert", "subtree_update"),
    "station_duties": ("subtree_insert", "subtree_update", "subtree_delete"),
    "station_supplies": ("subtree_insert", "subtree_update"),
    "station_checks": ("subtree_insert", "subtree_update"),
}

CENSUS_MEMBERS = """CREATE OR REPLACE FUNCTION flexunion_census_members(since timestamptz)
 RETURNS TABLE(member_id uuid, home_tenant_id uuid, lon double precision,
               lat double precision, seen_at timestamptz, platforms jsonb)
 LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT m.id, m.tenant_id, c.lon, c.lat, c.recorded_at, m.platforms
            FROM members m
            LEFT JOIN LATERAL (
              SELECT lon, lat, recorded_at FROM location_checkins lc
               WHERE lc.member_id = m.id AND lc.recorded_at >= since
               ORDER BY lc.recorded_at DESC LIMIT 1) c ON true
           WHERE m.status = 'active'
             AND m.tenant_id = ANY ((SELECT flexunion_{fn}())::uuid[])
        $$"""


def _policy(table: str, name: str, *, using: str | None = None,
            check: str | None = None) -> None:
    sql = f"ALTER POLICY {name} ON {table}"
    if using is not None:
        sql += f" USING ({using})"
    if check is not None:
        sql += f" WITH CHECK ({check})"
    op.execute(sql)


def _apply(scope: str, fed: str, *, own: bool) -> None:
    tenant = f"tenant_id = ANY {scope}"
    _policy("admin_accounts", "tenant_insert", check=tenant)
    login = f"{tenant} OR {ADMIN_LOGIN}"
    _policy("admin_accounts", "tenant_or_login_read", using=login)
    _policy("admin_accounts", "tenant_or_login_update", using=login, check=login)
    seen = f"{tenant} OR {WORKER_SELF}"
    _policy("worker_accounts", "tenant_self_or_login_read", using=seen)
    _policy("worker_accounts", "tenant_self_or_login_update", using=seen, check=seen)
    _policy("worker_consents", "tenant_or_self_read",
            using=f"{tenant} OR flexunion_principal() = 'worker:' || worker_id::text")
    _policy("audit_events", "tenant_read", using=tenant)
    _policy("domain_events", "tenant_read", using=tenant)
    _policy("domain_events", "tenant_emit", check=tenant)
    _policy("census_runs", "subtree_read", using=tenant)
    _policy("census_runs", "subtree_insert", check=tenant)
    _policy("roster_entries", "subtree_read", using=tenant)
    _policy("roster_uploads", "subtree_read",
            using=f"{tenant} OR partner_id = {PARTNER}" if own else tenant)
    client = f"{tenant} OR flexunion_principal() = 'login:client:' || client_id"
    if own:  # its own row: GET /v1/partner/me, and last_used_at stamped at a token
        client += f" OR client_id = {OWN_CLIENT}"
    _policy("partner_clients", "tenant_or_login_read", using=client)
    _policy("partner_clients", "tenant_or_login_update", using=client, check=client)
    _policy("partner_clients", "tenant_insert",
            check=f"{tenant} AND partner_id IN (SELECT p.id FROM platform_partners p"
                  f" WHERE p.tenant_id = {FED})")
    _policy("tenants", "tenant_update", using=f"id = ANY {scope}", check=f"id = ANY {scope}")
    for table in STATION_TABLES:
        _policy(table, "federation_read", using=f"federation_id = {fed} OR {tenant}")
    for table, names in GEO_WRITES.items():
        for name in names:
            if name.endswith("insert"):
                _policy(table, name, check=tenant)
            elif name.endswith("delete"):
                _policy(table, name, using=tenant)
            else:
                _policy(table, name, using=tenant, check=tenant)


def upgrade() -> None:
    app = '"' + op.get_context().config.attributes["app_role"].replace('"', '""') + '"'
    op.execute(
        """CREATE FUNCTION flexunion_people_federation() RETURNS uuid
        LANGUAGE sql STABLE SECURITY INVOKER SET search_path = public, pg_temp AS $$
          SELECT CASE WHEN coalesce(current_setting('flexunion.principal', true), '')
                           ~ '^partner:' THEN NULL
                      ELSE flexunion_federation() END
        $$""")
    op.execute("REVOKE ALL ON FUNCTION flexunion_people_federation() FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION flexunion_people_federation() TO {app}")
    _apply(PEOPLE, PEOPLE_FED, own=True)
    op.execute(CENSUS_MEMBERS.replace("{fn}", "people_scope"))


def downgrade() -> None:
    op.execute(CENSUS_MEMBERS.replace("{fn}", "tenant_scope"))
    _apply(SCOPE, FED, own=False)
    op.execute("DROP FUNCTION flexunion_people_federation()")
