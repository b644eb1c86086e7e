"""Who reads an SLA clock, answered along indexes (bench/cases.py, issue 14).

0017's read policy on `case_clocks` ended in `EXISTS (SELECT 1 FROM cases c WHERE c.id =
case_id)`: PostgreSQL planned that arm as a hashed subplan built from every case of the
federation (each checked against the cases policy), so a regional admin's overdue list took
4.5 s at 1M cases against 4.6 ms as the owner. The same sight, arm by arm, each a value
computed once per query or an indexed lookup:

- staff of the clock's (= its case's) tenant subtree, and the federation's `system:` jobs
  (unchanged);
- staff of a unit with an open assignment on the case: `flexunion_case_units()`;
- a partner with an open assignment: `flexunion_case_partners()`; the hotline platform that
  pushed the case (`cases.intake_partner_id`);
- the worker the case is about;
- the holder of a suggestion's pick-up code.

Measured with bench/cases.py (regional overdue list, first page, p50 / p95 ms, RLS): at 100k
cases 411.7 / 658.6 → 19.7 / 25.6; at 1M 3,931 / 4,536 → 148.6 / 217.0 (the owner: 2.3 /
3.0). Still short of the goal (≤ 50 ms p95, ratio ≥ 0.5): the three `IN (SELECT … FROM
cases …)` arms are planned through the cases policy's OR and read more of `cases` than they
keep. An owner-owned function for them (tried: flexunion_case_own()) was slower, 237 ms at
100k — not kept.

The write policies (derive_insert / derive_update) keep the EXISTS: they run once per
derived clock, never over a list.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
PRINCIPAL = "flexunion_principal()"
STAFF_OWN = (f"({PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer|hotline_operator):'"
             f" AND tenant_id = ANY {SCOPE})")
SYSTEM = f"({PRINCIPAL} ~ '^system:' AND tenant_id = ANY {SCOPE})"
OLD = f"{STAFF_OWN} OR {SYSTEM} OR EXISTS (SELECT 1 FROM cases c WHERE c.id = case_id)"
PICKUP = (f"(SELECT CASE WHEN {PRINCIPAL} LIKE 'pickup:%' THEN substr({PRINCIPAL}, 8) END)")
NEW = " OR ".join((
    STAFF_OWN, SYSTEM,
    "case_id = ANY ((SELECT flexunion_case_units())::uuid[])",
    "case_id = ANY ((SELECT flexunion_case_partners())::uuid[])",
    "case_id IN (SELECT c.id FROM cases c"
    " WHERE c.worker_id = (SELECT flexunion_principal_worker()))",
    "case_id IN (SELECT c.id FROM cases c"
    " WHERE c.intake_partner_id = (SELECT flexunion_partner()))",
    f"case_id IN (SELECT c.id FROM cases c WHERE c.pickup_hash = {PICKUP})",
))


def _read(using: str) -> None:
    qa = '"' + op.get_context().config.attributes["app_role"].replace('"', '""') + '"'
    op.execute("DROP POLICY read ON case_clocks")
    op.execute(f"CREATE POLICY read ON case_clocks AS PERMISSIVE FOR SELECT TO {qa}"
               f" USING ({using})")


def upgrade() -> None:
    _read(NEW)


def downgrade() -> None:
    _read(OLD)
