"""The 12351 hotline operator and the SLA sweep see what their work needs, no more (defence in
depth: until now only the routers kept them from the rest; tests/security/audiences.py shows it).

A `hotline_operator:` principal (staff who enter 12351 calls into the demand ledger, cases/) and
the `system:jobs:sla-sweep` job (cases/clocks/sweep.py) passed every tenant arm written as
`flexunion_people_scope()` / `flexunion_people_federation()` (0016, 0018: the tenant scope for
anyone but a partner) and the generic `'^system:'` arms of the calendars (0013) and of
case_clocks (0017, 0021). So an operator read, in its subtree, every staff account (username,
argon2 hash), the audit trail, census runs, machine clients, rosters, transfers, members'
homes, worker accounts and consents and the station rosters, and could write service areas,
stations and tenants' settings; the sweep read all of that for its whole federation.

What each needs (read from the code paths):

- The operator: the ledger (cases and case_* tables, case_policies; their own policies, 0015
  on), the directory, platforms, map and calendars (tenants, platform_partners, service_areas,
  service_points, geo_versions, calendar_*: tenant- or federation-wide arms, unchanged), its own
  console session and idempotency keys, and **members, read only**: a call naming a 会员号 is
  linked to the member (cases/service.py `_staff_fields` → membership.member_by_number), and
  the ledger shows the 会员号 (`membership.member_numbers`). It signs in as `login:admin:…` /
  `login:oidc:…` (the login arms of admin_accounts, unchanged) and reads no staff account as
  itself afterwards; audit rows are appended (`append_as_self`, no RETURNING: the chain is the
  SECURITY DEFINER trigger's), never read back; a worker's inbox row and its SMS opt-in go
  through `case_change_insert` and `flexunion_notice_sms()` (SECURITY DEFINER).
- The sweep: cases (0020's own arms), case_clocks, case_events, case_assignments, the calendars
  its clocks are pinned to, the directory (tenants), and audit appends (`case.escalated`). It
  writes no inbox row and sends no SMS (sweep.py records `reminder` / `escalation` events only).

So:

- `flexunion_people_scope()` is empty, and `flexunion_people_federation()` NULL, for a partner
  (as before), a `hotline_operator:` and every `system:` principal but those that work on
  people: `system:jobs:auto-release` / `system:auto-release` (transfers), `system:jobs:close-
  ballots` (electorates), `system:auto-approve` (a join), `system:census` (headcounts, through
  `flexunion_census_members()`), `system:station-board` (the public duty names). Not
  `system:geo-index` (areas, stations, tenants, geo_versions: tenant- and federation-wide
  arms) nor `system:card-holders` (its own SECURITY DEFINER functions). A new job reads no
  people until it is named here.
- members get `hotline_read`: a `hotline_operator:` reads the members of its subtree (SELECT
  only; updates stay with the union's staff). member_homes get `not_hotline`, a RESTRICTIVE
  policy for every command: their policies follow members (EXISTS), and an operator has no
  business with a member's homes, read or write.
- calendar_days / calendar_settings / calendar_versions `federation_read`: `system:` →
  `system:jobs:sla-sweep` (the only job that counts working time on them; transfers count
  their own days).
- case_clocks `read`: the `'^system:'` arm → `= 'system:jobs:sla-sweep'`.

Every arm still compares an indexed column with a value computed once per statement.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
PRINCIPAL = "flexunion_principal()"
# The system principals that work on people's rows (members, transfers, accounts, audit).
PEOPLE_SYSTEM = ("^system:(auto-approve|auto-release|census|station-board"
                 "|jobs:auto-release|jobs:close-ballots)$")
NO_PEOPLE = (f"p ~ '^(partner|hotline_operator):' OR (p ~ '^system:' AND p !~ '{PEOPLE_SYSTEM}')")
_P = "FROM (SELECT coalesce(current_setting('flexunion.principal', true), '') AS p) s"

PEOPLE_SCOPE_NEW = f"""CREATE OR REPLACE FUNCTION flexunion_people_scope() RETURNS uuid[]
        LANGUAGE sql STABLE SECURITY INVOKER SET search_path = public, pg_temp AS $$
          SELECT CASE WHEN {NO_PEOPLE} THEN '{{}}'::uuid[]
                      ELSE flexunion_tenant_scope() END {_P}
        $$"""
PEOPLE_FED_NEW = f"""CREATE OR REPLACE FUNCTION flexunion_people_federation() RETURNS uuid
        LANGUAGE sql STABLE SECURITY INVOKER SET search_path = public, pg_temp AS $$
          SELECT CASE WHEN {NO_PEOPLE} THEN NULL
                      ELSE flexunion_federation() END {_P}
        $$"""
# As 0016 and 0018 made them.
PEOPLE_SCOPE_OLD = """CREATE OR REPLACE FUNCTION flexunion_people_scope() RETURNS uuid[]
        LANGUAGE sql STABLE SECURITY INVOKER SET search_path = public, pg_temp AS $$
          SELECT CASE WHEN coalesce(current_setting('flexunion.principal', true), '')
                           ~ '^partner:' THEN '{}'::uuid[]
                      ELSE flexunion_tenant_scope() END
        $$"""
PEOPLE_FED_OLD = """CREATE OR REPLACE FUNCTION flexunion_people_federation() RETURNS uuid
        LANGUAGE sql STABLE SECURITY INVOKER SET search_path = public, pg_temp AS $$
          SELECT CASE WHEN coalesce(current_setting('flexunion.principal', true), '')
                           ~ '^partner:' THEN NULL
                      ELSE flexunion_federation() END
        $$"""

CALENDARS = ("calendar_days", "calendar_settings", "calendar_versions")
CALENDAR_OLD = (f"{PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer|system):'"
                " AND federation_id = (SELECT flexunion_federation())")
CALENDAR_NEW = (f"{PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer):"
                "|^system:jobs:sla-sweep$' AND federation_id = (SELECT flexunion_federation())")

# case_clocks `read` as 0021 wrote it, with its system arm as given.
PICKUP = f"(SELECT CASE WHEN {PRINCIPAL} LIKE 'pickup:%' THEN substr({PRINCIPAL}, 8) END)"


def _clocks_read(system: str) -> str:
    return " OR ".join((
        f"({PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer|hotline_operator):'"
        f" AND tenant_id = ANY {SCOPE})",
        f"({system} AND tenant_id = ANY {SCOPE})",
        "case_id = ANY ((SELECT flexunion_case_units())::uuid[])",
        "case_id = ANY ((SELECT flexunion_case_partners())::uuid[])",
        "case_id IN (SELECT c.id FROM cases c"
        " WHERE c.worker_id = (SELECT flexunion_principal_worker()))",
        "case_id IN (SELECT c.id FROM cases c"
        " WHERE c.intake_partner_id = (SELECT flexunion_partner()))",
        f"case_id IN (SELECT c.id FROM cases c WHERE c.pickup_hash = {PICKUP})",
    ))


def _app() -> str:
    return '"' + op.get_context().config.attributes["app_role"].replace('"', '""') + '"'


def _policies(calendar: str, clocks_system: str) -> None:
    app = _app()
    for table in CALENDARS:
        op.execute(f"DROP POLICY federation_read ON {table}")
        op.execute(f"CREATE POLICY federation_read ON {table} AS PERMISSIVE FOR SELECT"
                   f" TO {app} USING ({calendar})")
    op.execute("DROP POLICY read ON case_clocks")
    op.execute(f"CREATE POLICY read ON case_clocks AS PERMISSIVE FOR SELECT TO {app}"
               f" USING ({_clocks_read(clocks_system)})")


def upgrade() -> None:
    app = _app()
    op.execute(PEOPLE_SCOPE_NEW)
    op.execute(PEOPLE_FED_NEW)
    op.execute(f"CREATE POLICY hotline_read ON members AS PERMISSIVE FOR SELECT TO {app}"
               f" USING ({PRINCIPAL} ~ '^hotline_operator:' AND tenant_id = ANY {SCOPE})")
    op.execute(f"CREATE POLICY not_hotline ON member_homes AS RESTRICTIVE FOR ALL TO {app}"
               f" USING ({PRINCIPAL} !~ '^hotline_operator:')"
               f" WITH CHECK ({PRINCIPAL} !~ '^hotline_operator:')")
    _policies(CALENDAR_NEW, f"{PRINCIPAL} = 'system:jobs:sla-sweep'")


def downgrade() -> None:
    _policies(CALENDAR_OLD, f"{PRINCIPAL} ~ '^system:'")
    op.execute("DROP POLICY not_hotline ON member_homes")
    op.execute("DROP POLICY hotline_read ON members")
    op.execute(PEOPLE_FED_OLD)
    op.execute(PEOPLE_SCOPE_OLD)
