"""flexunion_case_units() returns only what the staff arm does not already cover.

The cases' and clocks' read policies let staff see a case through two arms: its tenant lies in
their subtree, or one of their units holds an open assignment on it (`flexunion_case_units()`,
0015). The function returned every open assignment of the caller's units, so for a regional
admin it listed nearly every open case of its own region — cases the first arm already shows —
and PostgreSQL built that array on every read: with 2,504 open lead assignments in a region
(100k cases) the regional overdue list went from 1.5 to 4.5 ms in the database (pgbench), and
at 1M it would carry ~25,000 ids.

Now it returns only the cases whose tenant lies outside the caller's subtree (an assisting
region, a station leading a case of its region), read along a partial index of the
assignments whose unit is not the case's own tenant. For that, `case_assignments` carries its
case's tenant (`case_tenant_id`), kept by a trigger when a case moves (0029's
flexunion_case_move). The sight is unchanged: what the function drops, the tenant arm shows.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

STAFF = "flexunion_principal() ~ '^(hq_admin|regional_admin|station_officer|hotline_operator):'"
UNITS_NEW = f"""CREATE OR REPLACE FUNCTION flexunion_case_units() RETURNS uuid[]
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          WITH s AS (SELECT flexunion_tenant_scope() AS t)
          SELECT coalesce(array_agg(DISTINCT a.case_id), '{{}}') FROM case_assignments a, s
           WHERE a.ended_at IS NULL AND a.unit_tenant_id <> a.case_tenant_id
             AND a.unit_tenant_id = ANY (s.t) AND NOT (a.case_tenant_id = ANY (s.t))
             AND {STAFF}
        $$"""
UNITS_OLD = f"""CREATE OR REPLACE FUNCTION flexunion_case_units() RETURNS uuid[]
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT coalesce(array_agg(DISTINCT case_id), '{{}}') FROM case_assignments
           WHERE ended_at IS NULL AND unit_tenant_id = ANY (flexunion_tenant_scope())
             AND {STAFF}
        $$"""
FOLLOW = """CREATE FUNCTION flexunion_assignments_follow_case() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        BEGIN
          UPDATE case_assignments SET case_tenant_id = NEW.tenant_id WHERE case_id = NEW.id;
          RETURN NULL;
        END $$"""
# The case's tenant is taken from the case, whatever the insert says: the function's answer
# (and so who sees a case) may not rest on a value the app role writes.
STAMP = """CREATE FUNCTION flexunion_assignment_case_tenant() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        BEGIN
          NEW.case_tenant_id := (SELECT c.tenant_id FROM cases c WHERE c.id = NEW.case_id);
          RETURN NEW;
        END $$"""


def upgrade() -> None:
    op.add_column("case_assignments", sa.Column("case_tenant_id", UUID(as_uuid=True),
                                                sa.ForeignKey("tenants.id"), nullable=True))
    op.execute("UPDATE case_assignments a SET case_tenant_id = c.tenant_id"
               " FROM cases c WHERE c.id = a.case_id")
    op.alter_column("case_assignments", "case_tenant_id", nullable=False)
    op.create_index("ix_case_assignments_open_cross", "case_assignments", ["unit_tenant_id"],
                    postgresql_include=["case_tenant_id", "case_id"],
                    postgresql_where="ended_at IS NULL AND unit_tenant_id <> case_tenant_id")
    op.execute(FOLLOW)
    op.execute("REVOKE ALL ON FUNCTION flexunion_assignments_follow_case() FROM PUBLIC")
    op.execute("CREATE TRIGGER assignments_follow_case AFTER UPDATE OF tenant_id ON cases"
               " FOR EACH ROW WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)"
               " EXECUTE FUNCTION flexunion_assignments_follow_case()")
    op.execute(STAMP)
    op.execute("REVOKE ALL ON FUNCTION flexunion_assignment_case_tenant() FROM PUBLIC")
    op.execute("CREATE TRIGGER assignment_case_tenant BEFORE INSERT OR UPDATE OF case_tenant_id,"
               " case_id ON case_assignments FOR EACH ROW"
               " EXECUTE FUNCTION flexunion_assignment_case_tenant()")
    op.execute(UNITS_NEW)


def downgrade() -> None:
    op.execute(UNITS_OLD)
    op.execute("DROP TRIGGER assignment_case_tenant ON case_assignments")
    op.execute("DROP FUNCTION flexunion_assignment_case_tenant()")
    op.execute("DROP TRIGGER assignments_follow_case ON cases")
    op.execute("DROP FUNCTION flexunion_assignments_follow_case()")
    op.drop_index("ix_case_assignments_open_cross", table_name="case_assignments")
    op.drop_column("case_assignments", "case_tenant_id")
