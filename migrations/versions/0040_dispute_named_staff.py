"""具名同意 for staff: the union's officers see whether the worker agreed to be named to the
platform in a dispute (issue 15), and when — nothing more of the consent record.

The consent rows (`worker_consents`, 0001/0036) are the federation's record of the worker's
own choices and stay closed to staff: a regional or station officer's scope does not hold
them. `flexunion_dispute_named_staff(dispute)` (owner-owned, SECURITY DEFINER) answers with
one row — `named` (the latest `dispute_named` row for the dispute is a grant; false before
any row and after a withdrawal) and `at` (when that latest row was recorded; NULL before
any) — only to hq / regional / station staff (not the 12351 operator, not a partner, not a
worker, not a job) who see the dispute: its tenant in their subtree (0030 `read`), or the
case in their sight as its origin after a move (0035 `origin_read`), in their federation.
Anyone else: no row.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None

STAFF = "flexunion_principal() ~ '^(hq_admin|regional_admin|station_officer):'"
SCOPE = "(flexunion_tenant_scope())::uuid[]"
SIGHT = "(flexunion_case_sight())::uuid[]"

NAMED_STAFF_FN = f"""CREATE FUNCTION flexunion_dispute_named_staff(dispute uuid)
        RETURNS TABLE (named boolean, at timestamptz)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT coalesce(w.granted, false), w.created_at
            FROM case_disputes d
            JOIN cases c ON c.id = d.case_id
            LEFT JOIN LATERAL (
                 SELECT x.granted, x.created_at FROM worker_consents x
                  WHERE x.worker_id = c.worker_id AND x.purpose = 'dispute_named'
                    AND x.dispute_id = d.id
                  ORDER BY x.created_at DESC, x.id LIMIT 1) w ON true
           WHERE d.id = dispute
             AND {STAFF}
             AND d.federation_id = flexunion_federation()
             AND (d.tenant_id = ANY ({SCOPE}) OR d.case_id = ANY ({SIGHT}))
        $$"""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def upgrade() -> None:
    qa = _q(op.get_context().config.attributes["app_role"])
    op.execute(NAMED_STAFF_FN)
    op.execute("REVOKE ALL ON FUNCTION flexunion_dispute_named_staff(uuid) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION flexunion_dispute_named_staff(uuid) TO {qa}")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS flexunion_dispute_named_staff(uuid)")
