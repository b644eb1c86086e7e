"""季度整改清单: the owner carries its item (责任方报告, issue 14, the paper's section 3.1).

0019 let only HQ and regional admins (and the carry-over job) write; the owner of an item
could only read it. Now the owner reports on it:

- a step of its own kind, `owner_report` (the `kind` check gains it);
- `rectification_steps` policy `owner_report`: an `owner_report` step, as oneself, on an
  item one owns — the platform partner that owns it (`owner_partner_id =
  flexunion_partner()`), or union staff (hq_admin / regional_admin / station_officer) whose
  subtree holds its owner tenant — and in the item's own federation and tenant;
- `rectification_items` policy `owner_report`: that owner may move an open or in-progress
  item to in_progress, never to done or carried over (`WITH CHECK status = 'in_progress'
  AND done_at IS NULL`). The column grants are the app role's, shared by every caller: the
  service (steps.report) is what keeps an owner's UPDATE to status and updated_at.

Reading is unchanged: 0019 already shows an item to the partner that owns it and to staff
whose subtree holds its owner tenant (a station's officer sees its station's items).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
PRINCIPAL = "flexunion_principal()"
PARTNER = "(SELECT flexunion_partner())"
STAFF = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer):'"
OWNER = (f"(owner_partner_id = {PARTNER}"
         f" OR ({STAFF} AND owner_tenant_id = ANY {SCOPE}))")
# Frozen copies of flexunion.cases.rectification (migrations never import app code).
STEPS = ("created", "updated", "progress", "done", "carried_over", "carried_in",
         "cases_linked", "cases_unlinked")
OWNER_STEP = "owner_report"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    app = _q(op.get_context().config.attributes["app_role"])
    op.drop_constraint(op.f("ck_rectification_steps_kind"), "rectification_steps",
                       type_="check")
    op.create_check_constraint("kind", "rectification_steps",
                               f"kind IN {_in((*STEPS, OWNER_STEP))}")
    own_item = ("EXISTS (SELECT 1 FROM rectification_items i"
                " WHERE i.id = rectification_steps.item_id"
                " AND i.federation_id = rectification_steps.federation_id"
                " AND i.tenant_id = rectification_steps.tenant_id"
                f" AND (i.owner_partner_id = {PARTNER}"
                f" OR ({STAFF} AND i.owner_tenant_id = ANY {SCOPE})))")
    op.execute(f"CREATE POLICY owner_report ON rectification_steps AS PERMISSIVE FOR INSERT"
               f" TO {app} WITH CHECK (actor = {PRINCIPAL} AND kind = '{OWNER_STEP}'"
               f" AND {own_item})")
    op.execute(f"CREATE POLICY owner_report ON rectification_items AS PERMISSIVE FOR UPDATE"
               f" TO {app} USING (status IN ('open', 'in_progress') AND {OWNER})"
               f" WITH CHECK (status = 'in_progress' AND done_at IS NULL AND {OWNER})")


def downgrade() -> None:
    op.execute("DROP POLICY owner_report ON rectification_items")
    op.execute("DROP POLICY owner_report ON rectification_steps")
    op.execute(f"DELETE FROM rectification_steps WHERE kind = '{OWNER_STEP}'")
    op.drop_constraint(op.f("ck_rectification_steps_kind"), "rectification_steps",
                       type_="check")
    op.create_check_constraint("kind", "rectification_steps", f"kind IN {_in(STEPS)}")
