"""SLA clocks on cases (在工作日上计时): case_clocks, one row per case per metric.

Each row pins the policy version and the calendar version (and the tenant whose calendar it
counts on) when the clock started, and caches the engine's last answer over the case's
events (cases/clocks/rules.py, engine.py): re-derived after every case event, never
incremented.

Who sees a clock (row-level security): whoever sees its case (the same visibility as
`cases`: the EXISTS goes through the cases policy), and the federation's `system:`
principals (the SLA jobs) for the tenants of their scope. Whoever may write an event on the
case writes its re-derived clocks (INSERT / UPDATE of the cached columns only; no DELETE).

The calendar tables (0013) become readable, too, by whoever sees a case of that federation —
a worker filing from the app, the 12351 platform, the holder of a pick-up code — since a
clock started by their event pins the calendar. The calendar is the public schedule of
working days, no personal data.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
PRINCIPAL = "flexunion_principal()"
CASE_VISIBLE = "EXISTS (SELECT 1 FROM cases c WHERE c.id = case_id)"
SYSTEM = f"({PRINCIPAL} ~ '^system:' AND tenant_id = ANY {SCOPE})"
# The cases policy's own first arm, on the clock's (= its case's) tenant: staff of the
# subtree are answered from the row itself, before the EXISTS through cases is needed.
STAFF_OWN = (f"({PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer|hotline_operator):'"
             f" AND tenant_id = ANY {SCOPE})")
CALENDAR_TABLES = ("calendar_days", "calendar_settings", "calendar_versions")
# Frozen copies of flexunion.cases.clocks (migrations never import app code).
METRICS = ("first_response", "resolution", "follow_up")
STATES = ("running", "paused", "met", "breached", "cancelled")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    app = op.get_context().config.attributes["app_role"]
    qa = _q(app)
    op.create_table(
        "case_clocks",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("federation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "federation_id"],
                                ["tenants.id", "tenants.federation_id"],
                                name="fk_case_clocks_tenant_id_in_federation"),
        sa.Column("case_id", UUID(as_uuid=True), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("metric", sa.Text, nullable=False),
        sa.Column("target_days", sa.Integer, nullable=True),
        sa.Column("target_minutes", sa.Integer, nullable=True),
        sa.Column("policy_version", sa.Integer, nullable=False),
        sa.Column("calendar_version", sa.Integer, nullable=False),
        sa.Column("calendar_tenant_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id"),
                  nullable=False),
        _ts("started_at"),
        sa.Column("state", sa.Text, nullable=False),
        _ts("deadline", nullable=True),
        sa.Column("elapsed_minutes", sa.Integer, nullable=False),
        sa.Column("remaining_minutes", sa.Integer, nullable=False),
        sa.Column("budget_minutes", sa.Integer, nullable=False),
        sa.Column("uncovered_years", ARRAY(sa.Integer), nullable=False),
        _ts("paused_since", nullable=True),
        sa.Column("pause_reason", sa.Text, nullable=True),
        _ts("ended_at", nullable=True),
        _ts("derived_at"),
        sa.CheckConstraint(f"metric IN {_in(METRICS)}", name="metric"),
        sa.CheckConstraint(f"state IN {_in(STATES)}", name="state"),
        sa.CheckConstraint("(target_days IS NULL) <> (target_minutes IS NULL)", name="target"),
        sa.CheckConstraint("state = 'breached' OR (ended_at IS NOT NULL)"
                           " = (state IN ('met', 'cancelled'))", name="ended"),
        sa.UniqueConstraint("case_id", "metric", name="uq_case_clocks_case_metric"),
    )
    op.create_index("ix_case_clocks_open_deadline", "case_clocks", ["deadline", "id"],
                    postgresql_where=sa.text("ended_at IS NULL"))
    op.create_index("ix_case_clocks_open_tenant", "case_clocks", ["tenant_id", "deadline", "id"],
                    postgresql_where=sa.text("ended_at IS NULL"))
    op.execute("ALTER TABLE case_clocks ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE case_clocks FORCE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY owner_all ON case_clocks TO CURRENT_USER USING (true)"
               " WITH CHECK (true)")
    op.execute(f"CREATE POLICY read ON case_clocks AS PERMISSIVE FOR SELECT TO {qa}"
               f" USING ({STAFF_OWN} OR {SYSTEM} OR {CASE_VISIBLE})")
    op.execute(f"CREATE POLICY derive_insert ON case_clocks AS PERMISSIVE FOR INSERT TO {qa}"
               f" WITH CHECK ({CASE_VISIBLE})")
    op.execute(f"CREATE POLICY derive_update ON case_clocks AS PERMISSIVE FOR UPDATE TO {qa}"
               f" USING ({CASE_VISIBLE}) WITH CHECK ({CASE_VISIBLE})")
    op.execute(f"GRANT SELECT, INSERT, UPDATE (target_days, target_minutes, state, deadline,"
               f" elapsed_minutes, remaining_minutes, budget_minutes, uncovered_years,"
               f" paused_since, pause_reason, ended_at, derived_at) ON case_clocks TO {qa}")
    for table in CALENDAR_TABLES:
        op.execute(f"CREATE POLICY case_reader ON {table} AS PERMISSIVE FOR SELECT TO {qa}"
                   f" USING (EXISTS (SELECT 1 FROM cases c"
                   f" WHERE c.federation_id = {table}.federation_id))")


def downgrade() -> None:
    for table in CALENDAR_TABLES:
        op.execute(f"DROP POLICY IF EXISTS case_reader ON {table}")
    op.drop_table("case_clocks")
