"""季度整改清单: the quarterly rectification list of the demand ledger.

Recurring problems (cases grouped by category × place over a quarter, computed from `cases`
and `case_ratings`, nothing stored) become rectification items:

- `rectification_items`: one per quarter and problem, with the unit that owns it (a tenant
  or a platform partner, exactly one), the problem, the measure, the next node and its due
  date, a status (open / in_progress / done / carried_over) and, for an item carried into
  the next quarter, the item it was carried from (UNIQUE: an item is carried once).
- `rectification_item_cases`: the cases linked to an item (many-to-many). A link is never
  deleted: unlinking stamps `unlinked_at` (the app role deletes nothing here).
- `rectification_steps`: the item's history, append-only (INSERT and SELECT only).

Who sees an item (row-level security):
- union staff (hq_admin / regional_admin / station_officer) whose subtree holds the item's
  tenant (the union that keeps the list) or its owner tenant;
- the platform partner that owns it (`owner_partner_id = flexunion_partner()`), read only;
  partners never read the linked cases (no worker data);
- the carry-over job (`system:jobs:rectification-carry-over`) within its federation's scope.
Only hq_admin / regional_admin (and the job) write, within their subtree.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
PRINCIPAL = "flexunion_principal()"
PARTNER = "(SELECT flexunion_partner())"
JOB = "system:jobs:rectification-carry-over"
READERS = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer):|^{JOB}$'"
WRITERS = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin):|^{JOB}$'"
ITEM_VISIBLE = "EXISTS (SELECT 1 FROM rectification_items i WHERE i.id = item_id)"
NOT_PARTNER = f"{PRINCIPAL} !~ '^partner:'"

# Frozen copies of flexunion.cases.rectification (migrations never import app code).
STATUSES = ("open", "in_progress", "done", "carried_over")
DIMENSIONS = ("tenant", "zone", "partner")
STEPS = ("created", "updated", "progress", "done", "carried_over", "carried_in",
         "cases_linked", "cases_unlinked")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _tenancy(table: str) -> list:
    return [
        sa.Column("federation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "federation_id"],
                                ["tenants.id", "tenants.federation_id"],
                                name=f"fk_{table}_tenant_id_in_federation"),
    ]


def protect(table: str, app: str, policies: dict[str, tuple[str, str | None]], grants: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY owner_all ON {table} TO CURRENT_USER USING (true) WITH CHECK (true)")
    for name, (command_and_using, check) in policies.items():
        command, _, using = command_and_using.partition(":")
        sql = f"CREATE POLICY {name} ON {table} AS PERMISSIVE FOR {command} TO {_q(app)}"
        if using:
            sql += f" USING ({using})"
        if check:
            sql += f" WITH CHECK ({check})"
        op.execute(sql)
    op.execute(f"GRANT {grants} ON {table} TO {_q(app)}")


def upgrade() -> None:
    app = op.get_context().config.attributes["app_role"]
    op.create_table(
        "rectification_items",
        sa.Column("id", UUID(as_uuid=True), primary_key=True), *_tenancy("rectification_items"),
        sa.Column("quarter", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("dimension", sa.Text, nullable=False),
        sa.Column("place", sa.Text, nullable=False),
        sa.Column("owner_tenant_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id"),
                  nullable=True),
        sa.Column("owner_partner_id", UUID(as_uuid=True), sa.ForeignKey("platform_partners.id"),
                  nullable=True),
        sa.Column("problem", sa.Text, nullable=False),
        sa.Column("measure", sa.Text, nullable=False),
        sa.Column("next_node", sa.Text, nullable=False),
        sa.Column("next_due_on", sa.Date, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("carried_from_id", UUID(as_uuid=True),
                  sa.ForeignKey("rectification_items.id"), nullable=True),
        sa.Column("created_by", sa.Text, nullable=False),
        _ts("created_at"), _ts("updated_at"), _ts("done_at", nullable=True),
        sa.CheckConstraint("quarter ~ '^2[0-9]{3}Q[1-4]$'", name="quarter"),
        sa.CheckConstraint(f"status IN {_in(STATUSES)}", name="status"),
        sa.CheckConstraint(f"dimension IN {_in(DIMENSIONS)}", name="dimension"),
        sa.CheckConstraint("(owner_tenant_id IS NULL) <> (owner_partner_id IS NULL)",
                           name="one_owner"),
        sa.UniqueConstraint("carried_from_id", name="uq_rectification_items_carried_from_id"),
        # One item per group and quarter in a union's list.
        sa.UniqueConstraint("tenant_id", "quarter", "category", "dimension", "place",
                            name="uq_rectification_items_group"),
    )
    op.create_index("ix_rectification_items_quarter", "rectification_items",
                    ["tenant_id", "quarter", "created_at"])
    op.create_index("ix_rectification_items_owner_partner", "rectification_items",
                    ["owner_partner_id"], postgresql_where=sa.text("owner_partner_id IS NOT NULL"))
    staff_sees = f"({READERS} AND (tenant_id = ANY {SCOPE} OR owner_tenant_id = ANY {SCOPE}))"
    staff_writes = f"({WRITERS} AND tenant_id = ANY {SCOPE})"
    protect("rectification_items", app, {
        "read": (f"SELECT:{staff_sees} OR owner_partner_id = {PARTNER}", None),
        "insert": ("INSERT:", staff_writes),
        "update": ("UPDATE:" + staff_writes, staff_writes),
    }, "SELECT, INSERT, UPDATE (owner_tenant_id, owner_partner_id, problem, measure, next_node,"
       " next_due_on, status, updated_at, done_at)")

    op.create_table(
        "rectification_item_cases", *_tenancy("rectification_item_cases"),
        sa.Column("item_id", UUID(as_uuid=True), sa.ForeignKey("rectification_items.id"),
                  primary_key=True),
        sa.Column("case_id", UUID(as_uuid=True), sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("linked_by", sa.Text, nullable=False),
        _ts("linked_at"),
        sa.Column("unlinked_by", sa.Text, nullable=True),
        _ts("unlinked_at", nullable=True),
    )
    op.create_index("ix_rectification_item_cases_case", "rectification_item_cases", ["case_id"])
    # Staff link cases they can see; the carry-over job (which sees no case) copies the
    # links of the item it carries onto the carried item, and only onto a carried item.
    carried = ("EXISTS (SELECT 1 FROM rectification_items i WHERE i.id = item_id"
               " AND i.carried_from_id IS NOT NULL)")
    link_write = (f"{WRITERS} AND {ITEM_VISIBLE} AND (EXISTS (SELECT 1 FROM cases c"
                  f" WHERE c.id = case_id) OR ({PRINCIPAL} = '{JOB}' AND {carried}))")
    protect("rectification_item_cases", app, {
        "read": (f"SELECT:{ITEM_VISIBLE} AND {NOT_PARTNER}", None),
        "insert": ("INSERT:", link_write),
        "unlink": (f"UPDATE:{WRITERS} AND {ITEM_VISIBLE}", f"{WRITERS} AND {ITEM_VISIBLE}"),
    }, "SELECT, INSERT, UPDATE (unlinked_by, unlinked_at)")

    op.create_table(
        "rectification_steps",
        sa.Column("id", UUID(as_uuid=True), primary_key=True), *_tenancy("rectification_steps"),
        sa.Column("item_id", UUID(as_uuid=True), sa.ForeignKey("rectification_items.id"),
                  nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        _ts("at"),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("details", JSONB, nullable=False),
        sa.CheckConstraint(f"kind IN {_in(STEPS)}", name="kind"),
    )
    op.create_index("ix_rectification_steps_item", "rectification_steps", ["item_id", "at", "id"])
    protect("rectification_steps", app, {
        "read": (f"SELECT:{ITEM_VISIBLE}", None),
        "append_as_self": ("INSERT:", f"actor = {PRINCIPAL} AND {WRITERS} AND {ITEM_VISIBLE}"),
    }, "SELECT, INSERT")


def downgrade() -> None:
    for table in ("rectification_steps", "rectification_item_cases", "rectification_items"):
        op.drop_table(table)
