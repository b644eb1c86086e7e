"""The case policies' constant cost: scope functions that keep their plans, principal tests
computed once per statement, and a cheap first arm for reading assignments (issue 14,
bench/cases.py).

The regional overdue list (督办, first page) under RLS read the same ~330 index rows as the
owner but cost 4–8× the owner's page, every query: EXPLAIN ANALYZE showed ~7 InitPlans of
SECURITY DEFINER SQL functions (flexunion_tenant_scope, flexunion_case_units,
flexunion_case_partners, flexunion_case_sight; 0.1–0.4 ms each, warm). A SECURITY DEFINER
(or `SET search_path`) SQL function is never inlined and its body is parsed and planned again
on every call; PL/pgSQL keeps the plan of each statement for the session. The figures read
each case's answered lead assignment through the assignments' policy, an `EXISTS` on `cases`
(and so the cases' whole policy) per row.

What changes, with the same visibility:

- flexunion_tenant_scope, flexunion_federation, flexunion_partner, flexunion_case_units,
  flexunion_case_partners and flexunion_case_sight are the same queries in PL/pgSQL (same
  volatility, owner, grants and search_path). `SELECT … INTO` keeps the SQL functions'
  "first row, else NULL" for the two scalar ones.
- Every "principal is X AND value in F()" arm of the cases and clocks read policies becomes
  "value in (SELECT CASE WHEN principal is X THEN F() ELSE nothing END)": one InitPlan per
  statement, F() never called for another kind of principal, and no per-row regex. The
  equivalences: flexunion_case_units / flexunion_case_sight answer nothing but to staff (their
  own WHERE), flexunion_partner answers nothing but to a `partner:` principal, so neither does
  flexunion_case_partners; `pickup_hash IS NOT NULL AND principal = 'pickup:' || pickup_hash`
  is `pickup_hash = substr(principal, 8)` for a `pickup:` principal (it was planned as a scan
  of every pick-up hash once the planner OR'ed the arms into a BitmapOr, and the system jobs'
  arms as two more scans of the caller's tenants).
- case_assignments' read policy gets a first arm `case_tenant_id` in the staff caller's
  subtree. `case_tenant_id` is the case's tenant, stamped from `cases` on insert and kept when
  a case moves (0034's triggers), and a staff caller whose subtree holds the case's tenant
  sees the case (the cases read policy's first arm): the EXISTS says yes to every such row, so
  the new arm only answers it without reading `cases`.

Measured (bench/cases.py, 1M cases, RLS and owner calls taking turns, medians of three runs):
the regional overdue list 4.3 / 7.5 ms (p50 / p95) against the owner's 2.5 / 3.9, ratio 0.48,
became 1.2 / 1.4 against 1.2 / 1.4, ratio 1.02; the quarter's figures 443 against 248 ms
(0.56) became 262 against 234 ms (0.89).

Not done: LEAKPROOF (only a superuser may set it, and the queries' own quals already use
leakproof built-in operators, so nothing waits for it); one function for case_units and
case_sight (each now costs ~0.05 ms).

The write policies are left as they are (they run per written row, never over a list).
Other tables whose read policy is an EXISTS on cases (case_events, case_ratings, …) keep it:
they carry no case tenant that follows a move.

Revision ID: 0046
Revises: 0045
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None

P = "flexunion_principal()"
STAFF_RE = "'^(hq_admin|regional_admin|station_officer|hotline_operator):'"
STAFF = f"{P} ~ {STAFF_RE}"
SWEEP = f"{P} = 'system:jobs:sla-sweep'"
FOLLOW = f"{P} = 'system:jobs:case-follow-transfer'"
SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
NONE = "'{}'::uuid[]"


def _scope_if(cond: str) -> str:
    """The caller's subtree when `cond` holds of the principal, else no tenant: an InitPlan."""
    return f"((SELECT CASE WHEN {cond} THEN flexunion_tenant_scope() ELSE {NONE} END)::uuid[])"


def _ids_if(cond: str, fn: str) -> str:
    return f"((SELECT CASE WHEN {cond} THEN {fn}() ELSE {NONE} END)::uuid[])"


PARTNER = f"(SELECT CASE WHEN {P} LIKE 'partner:%' THEN flexunion_partner() END)"
WORKER = f"(SELECT CASE WHEN {P} LIKE 'worker:%' THEN flexunion_principal_worker() END)"
PICKUP = f"(SELECT CASE WHEN {P} LIKE 'pickup:%' THEN substr({P}, 8) END)"
UNITS = _ids_if(STAFF, "flexunion_case_units")
PARTNER_CASES = _ids_if(f"{P} LIKE 'partner:%'", "flexunion_case_partners")
SIGHT = _ids_if(STAFF, "flexunion_case_sight")

# ---- policies: (table, name, new USING, old USING as 0045 left it) --------------------------
CASES_READ_OLD = " OR ".join((
    f"({STAFF} AND tenant_id = ANY {SCOPE})",
    f"({STAFF} AND id = ANY ((SELECT flexunion_case_units())::uuid[]))",
    "worker_id = (SELECT flexunion_principal_worker())",
    "id = ANY ((SELECT flexunion_case_partners())::uuid[])",
    "(intake_partner_id = (SELECT flexunion_partner())"
    " AND federation_id = (SELECT flexunion_federation()))",
    f"(pickup_hash IS NOT NULL AND {P} = 'pickup:' || pickup_hash)",
))
CASES_READ_NEW = " OR ".join((
    f"tenant_id = ANY {_scope_if(STAFF)}",
    f"id = ANY {UNITS}",
    f"worker_id = {WORKER}",
    f"id = ANY {PARTNER_CASES}",
    f"(intake_partner_id = {PARTNER} AND federation_id = (SELECT flexunion_federation()))",
    f"pickup_hash = {PICKUP}",
))
OLD_PICKUP = f"(SELECT CASE WHEN {P} LIKE 'pickup:%' THEN substr({P}, 8) END)"
CLOCKS_READ_OLD = " OR ".join((
    f"({STAFF} AND tenant_id = ANY {SCOPE})",
    f"({SWEEP} AND tenant_id = ANY {SCOPE})",
    "case_id = ANY ((SELECT flexunion_case_units())::uuid[])",
    "case_id = ANY ((SELECT flexunion_case_partners())::uuid[])",
    "case_id IN (SELECT c.id FROM cases c"
    " WHERE c.worker_id = (SELECT flexunion_principal_worker()))",
    "case_id IN (SELECT c.id FROM cases c"
    " WHERE c.intake_partner_id = (SELECT flexunion_partner()))",
    f"case_id IN (SELECT c.id FROM cases c WHERE c.pickup_hash = {OLD_PICKUP})",
))
CLOCKS_READ_NEW = " OR ".join((
    f"tenant_id = ANY {_scope_if(STAFF)}",
    f"tenant_id = ANY {_scope_if(SWEEP)}",
    f"case_id = ANY {UNITS}",
    f"case_id = ANY {PARTNER_CASES}",
    f"case_id IN (SELECT c.id FROM cases c WHERE c.worker_id = {WORKER})",
    f"case_id IN (SELECT c.id FROM cases c WHERE c.intake_partner_id = {PARTNER})",
    f"case_id IN (SELECT c.id FROM cases c WHERE c.pickup_hash = {PICKUP})",
))
CASE_VISIBLE = "EXISTS (SELECT 1 FROM cases c WHERE c.id = case_id)"

POLICIES = (
    ("cases", "read", CASES_READ_NEW, CASES_READ_OLD),
    ("cases", "sla_sweep_read", f"tenant_id = ANY {_scope_if(SWEEP)}",
     f"{SWEEP} AND tenant_id = ANY {SCOPE}"),
    ("cases", "follow_read", f"tenant_id = ANY {_scope_if(FOLLOW)}",
     f"{FOLLOW} AND tenant_id = ANY {SCOPE}"),
    ("cases", "origin_read", f"id = ANY {SIGHT}",
     "id = ANY ((SELECT flexunion_case_sight())::uuid[])"),
    ("case_clocks", "read", CLOCKS_READ_NEW, CLOCKS_READ_OLD),
    ("case_clocks", "follow_read", f"tenant_id = ANY {_scope_if(FOLLOW)}",
     f"{FOLLOW} AND tenant_id = ANY {SCOPE}"),
    ("case_clocks", "origin_read", f"case_id = ANY {SIGHT}",
     "case_id = ANY ((SELECT flexunion_case_sight())::uuid[])"),
    ("case_assignments", "read", f"case_tenant_id = ANY {_scope_if(STAFF)} OR {CASE_VISIBLE}",
     CASE_VISIBLE),
)

# ---- functions: (signature, returns, body) — the bodies as 0045 left them --------------------
# (flexunion_tenant_scope and flexunion_federation with 0041's guard: empty / NULL for a
# referral provider's principal whatever tenant is set.)
NOT_PROVIDER = "coalesce(current_setting('flexunion.principal', true), '') !~ '^provider:'"
FUNCTIONS = (
    ("flexunion_tenant_scope()", "uuid[]", """
          WITH RECURSIVE sub AS (
            SELECT id FROM tenants
             WHERE id = nullif(current_setting('flexunion.tenant_id', true), '')::uuid
               AND """ + NOT_PROVIDER + """
            UNION ALL
            SELECT t.id FROM tenants t JOIN sub ON t.parent_id = sub.id
          )
          SELECT coalesce(array_agg(id), '{}') FROM sub"""),
    ("flexunion_federation()", "uuid", """
          SELECT federation_id FROM tenants
           WHERE id = nullif(current_setting('flexunion.tenant_id', true), '')::uuid
             AND """ + NOT_PROVIDER),
    ("flexunion_partner()", "uuid", """
          SELECT partner_id FROM partner_clients
           WHERE 'partner:' || client_id = current_setting('flexunion.principal', true)
             AND NOT disabled"""),
    ("flexunion_case_partners()", "uuid[]", """
          SELECT coalesce(array_agg(DISTINCT case_id), '{}') FROM case_assignments
           WHERE ended_at IS NULL AND unit_partner_id = flexunion_partner()"""),
    ("flexunion_case_sight()", "uuid[]", f"""
          SELECT coalesce(array_agg(DISTINCT case_id), '{{}}') FROM case_sight
           WHERE tenant_id = ANY (flexunion_tenant_scope()) AND {STAFF}"""),
    ("flexunion_case_units()", "uuid[]", f"""
          WITH s AS (SELECT flexunion_tenant_scope() AS t)
          SELECT coalesce(array_agg(DISTINCT a.case_id), '{{}}') FROM case_assignments a, s
           WHERE a.ended_at IS NULL AND a.unit_tenant_id <> a.case_tenant_id
             AND a.unit_tenant_id = ANY (s.t) AND NOT (a.case_tenant_id = ANY (s.t))
             AND {STAFF}"""),
)
HEAD = "CREATE OR REPLACE FUNCTION {sig} RETURNS {ret} LANGUAGE {lang} STABLE SECURITY DEFINER" \
       " SET search_path = public, pg_temp AS $fn$"


def _plpgsql(sig: str, ret: str, body: str) -> str:
    # SELECT … INTO (not STRICT) takes the first row or leaves NULL, as a SQL function does.
    return (HEAD.format(sig=sig, ret=ret, lang="plpgsql")
            + f"\n        DECLARE answer {ret};\n        BEGIN\n{body}\n          INTO answer;"
            "\n          RETURN answer;\n        END $fn$")


def _sql(sig: str, ret: str, body: str) -> str:
    return HEAD.format(sig=sig, ret=ret, lang="sql") + f"{body}\n        $fn$"


def upgrade() -> None:
    for sig, ret, body in FUNCTIONS:
        op.execute(_plpgsql(sig, ret, body))
    for table, name, new, _old in POLICIES:
        op.execute(f"ALTER POLICY {name} ON {table} USING ({new})")


def downgrade() -> None:
    for table, name, _new, old in POLICIES:
        op.execute(f"ALTER POLICY {name} ON {table} USING ({old})")
    for sig, ret, body in FUNCTIONS:
        op.execute(_sql(sig, ret, body))
