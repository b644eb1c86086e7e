"""季度整改清单: the database, not only the service, keeps an owner's UPDATE to its report.

0026 let the owner of an item (its platform partner, or staff whose subtree holds the owner
tenant) UPDATE it while open or in progress, to move it to in_progress — but the app role's
column grants are shared by every caller, so under that policy an owner could also rewrite
the problem, the measure, the next node and its due date, or hand the item to another owner;
only the service (steps.report) kept it to `status` and `updated_at`.

A BEFORE UPDATE trigger `owner_guard` now refuses (insufficient_privilege) any change to
owner_tenant_id, owner_partner_id, problem, measure, next_node, next_due_on or done_at by an
app-role caller who is not one of the item's writers (HQ / regional admins whose subtree
holds the item's tenant, or the carry-over job — 0019's `staff_writes`). The table owner
(migrations, seeds, tests' owner sessions) is not the app role and passes.

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None

JOB = "system:jobs:rectification-carry-over"
WRITERS = f"'^(hq_admin|regional_admin):|^{JOB}$'"
# What only a writer may change (0019's column grants, less status/updated_at: the report's).
GUARDED = ("owner_tenant_id", "owner_partner_id", "problem", "measure", "next_node",
           "next_due_on", "done_at")


def upgrade() -> None:
    app = op.get_context().config.attributes["app_role"].replace("'", "''")
    old = ", ".join(f"OLD.{c}" for c in GUARDED)
    new = ", ".join(f"NEW.{c}" for c in GUARDED)
    op.execute(f"""CREATE FUNCTION flexunion_rectification_owner_guard() RETURNS trigger
        LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
        BEGIN
          IF current_user = '{app}'
             AND NOT (coalesce(current_setting('flexunion.principal', true), '') ~ {WRITERS}
                      AND OLD.tenant_id = ANY (flexunion_tenant_scope()))
             AND ROW({new}) IS DISTINCT FROM ROW({old}) THEN
            RAISE EXCEPTION 'an owner reports on a rectification item; only its writers edit it'
              USING ERRCODE = 'insufficient_privilege';
          END IF;
          RETURN NEW;
        END $$""")
    op.execute("CREATE TRIGGER owner_guard BEFORE UPDATE ON rectification_items FOR EACH ROW"
               " EXECUTE FUNCTION flexunion_rectification_owner_guard()")


def downgrade() -> None:
    op.execute("DROP TRIGGER owner_guard ON rectification_items")
    op.execute("DROP FUNCTION flexunion_rectification_owner_guard()")
